package twilioemu

import "net/http"

const operatorPrefix = "/__emulator/"

func (e *Emulator) serveOperator(w http.ResponseWriter, r *http.Request) {
	writeError(w, errNotFound(r.URL.Path))
}
