package twilioemu

import "net/http"

func (e *Emulator) serveTraffic(w http.ResponseWriter, r *http.Request) {
	writeOpError(w, http.StatusNotImplemented, "traffic generation is not built yet")
}
