package twilioemu

func (e *Emulator) registerAccounts() {}
