package twilioemu

func (e *Emulator) registerMonitor() {}
