package twilioemu

func (e *Emulator) registerSIP() {}
