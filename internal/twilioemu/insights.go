package twilioemu

func (e *Emulator) registerInsights() {}
