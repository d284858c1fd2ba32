package twilioemu

func (e *Emulator) registerTrunking() {}
