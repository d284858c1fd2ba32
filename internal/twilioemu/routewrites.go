package twilioemu

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The routing-write journal is ground truth for crash and load tests: every
// accepted routing write, in order, with what it set. voicedr never reads it
// (Twilio has no such API); tests count duplicate writes against it, which
// the bounded request log cannot do for thousands of writes.

// RouteWrite is one accepted routing write.
type RouteWrite struct {
	Seq         int64     `json:"seq"`
	Time        time.Time `json:"time"`
	Kind        string    `json:"kind"` // phone_number, trunk, sip_domain
	Key         string    `json:"key"`  // E.164 or domain
	VoiceRegion string    `json:"voice_region"`
	Via         string    `json:"via"` // region whose routes host took the write
}

type routeWrites struct {
	mu  sync.Mutex
	all []RouteWrite
}

func (w *routeWrites) add(rw RouteWrite) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rw.Seq = int64(len(w.all)) + 1
	w.all = append(w.all, rw)
}

// RouteWrites returns the accepted routing writes after seq, oldest first.
func (e *Emulator) RouteWrites(after int64) []RouteWrite {
	w := &e.routeWrites
	w.mu.Lock()
	defer w.mu.Unlock()
	if after < 0 || after >= int64(len(w.all)) {
		return []RouteWrite{}
	}
	return append([]RouteWrite(nil), w.all[after:]...)
}

// serveRouteWrites is GET /__emulator/v1/routing/writes?after=SEQ.
func (e *Emulator) serveRouteWrites(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	writeJSON(w, http.StatusOK, map[string]any{"writes": e.RouteWrites(after)})
}
