package twilioemu

func (e *Emulator) registerApplications() {}
