package twilioemu

func (e *Emulator) registerCalls() {}
