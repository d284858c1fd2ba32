package twilioemu

import "net/http"

func (e *Emulator) serveLedger(w http.ResponseWriter, r *http.Request) {
	writeOpError(w, http.StatusNotImplemented, "the call ledger is not built yet")
}
