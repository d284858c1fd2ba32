package twilioemu

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/voicedr/voicedr/internal/snapshot"
)

// The operator API, version 1, under /__emulator/v1/. It is how tests,
// drills and the demo steer the emulator; it has no authentication and the
// emulator listens on loopback by default. docs/emulator.md documents it.
const operatorPrefix = "/__emulator/"

const maxOperatorBody = 256 << 20 // a 100,000-number seed is ~60 MB

func (e *Emulator) serveOperator(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, operatorPrefix+"v1/")
	if path == r.URL.Path {
		writeOpError(w, http.StatusNotFound, "unknown operator API version: use /__emulator/v1/")
		return
	}
	switch r.Method + " " + path {
	case "GET health":
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "account_sid": e.AccountSID()})
	case "GET stats":
		writeJSON(w, http.StatusOK, e.Stats())
	case "POST stats/reset":
		e.ResetStats()
		writeJSON(w, http.StatusOK, e.Stats())
	case "GET faults":
		writeJSON(w, http.StatusOK, e.faults.Load())
	case "PUT faults":
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeOpError(w, http.StatusBadRequest, err.Error())
			return
		}
		f, err := ParseFaults(b)
		if err != nil {
			writeOpError(w, http.StatusBadRequest, err.Error())
			return
		}
		e.SetFaults(f)
		writeJSON(w, http.StatusOK, f)
	case "DELETE faults":
		e.SetFaults(&Faults{Version: FaultsVersion})
		w.WriteHeader(http.StatusNoContent)
	case "GET routing/writes":
		e.serveRouteWrites(w, r)
	case "GET requests":
		n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		writeJSON(w, http.StatusOK, map[string]any{"requests": e.reqlog.last(n)})
	case "GET snapshot":
		writeJSON(w, http.StatusOK, e.Snapshot(r.URL.Query().Get("credentials") == "true"))
	case "PUT snapshot":
		s, err := snapshot.Read(io.LimitReader(r.Body, maxOperatorBody))
		if err != nil {
			writeOpError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := e.Seed(s); err != nil {
			writeOpError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"numbers": len(s.Numbers)})
	case "POST reset":
		e.Reset()
		w.WriteHeader(http.StatusNoContent)
	case "GET env":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_ = e.WriteEnv(w, "http://"+r.Host)
	case "POST calls":
		var in InboundCall
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeOpError(w, http.StatusBadRequest, "call: "+err.Error()+`: send {"to":"+1…","from":"+1…"}`)
			return
		}
		out, err := e.PlaceInboundCall(r.Context(), in)
		if err != nil {
			writeOpError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, out)
	case "GET traffic", "PUT traffic", "DELETE traffic":
		e.serveTraffic(w, r)
	case "GET ledger":
		e.serveLedger(w, r)
	default:
		writeOpError(w, http.StatusNotFound, "unknown operator endpoint "+r.Method+" "+r.URL.Path+": see docs/emulator.md")
	}
}

func writeOpError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}

// SetFaults replaces the faults document (already validated).
func (e *Emulator) SetFaults(f *Faults) { e.faults.Store(f) }

// Faults returns the faults document in force.
func (e *Emulator) Faults() *Faults { return e.faults.Load() }

// Reset empties the account: no numbers or resources, same credentials.
func (e *Emulator) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.acct
	a := newAccount(old.sid, e.opts.RandSeed, e.clock.Now().UTC(), e.opts.Regions)
	a.sharedSIDs = old.sharedSIDs
	for id, rs := range a.regions {
		ors := old.regions[id]
		rs.accountSID, rs.authToken, rs.keys = ors.accountSID, ors.authToken, ors.keys
	}
	e.acct = a
}
