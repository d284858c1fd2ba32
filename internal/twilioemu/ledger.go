package twilioemu

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The call ledger is the emulator's ground truth: every simulated call, with
// where it was processed (or that it died), what answered it and how. Tests,
// drills and benchmarks count "calls lost" against it. voicedr itself never
// reads it: on Twilio it would see only Calls, Alerts, Insights and its own
// probes.

// Call outcomes in the ledger.
const (
	OutcomeAnswered = "answered"  // a handler answered with TwiML (possibly the fallback or a DR URL)
	OutcomeAppError = "app_error" // webhook and fallback failed: the caller heard Twilio's application error
	OutcomeFailed   = "failed"    // the call failed in the region (e.g. no trunk origination answered)
	OutcomeRejected = "rejected"  // died at the edge: no record in any region
)

// LedgerEntry is one simulated call.
type LedgerEntry struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"` // inbound, api-leg, termination, sip-domain, registration
	To       string    `json:"to"`
	From     string    `json:"from"`
	Region   string    `json:"region,omitempty"`
	CallSID  string    `json:"call_sid,omitempty"`
	Handler  string    `json:"handler,omitempty"`
	AnswerBy string    `json:"answered_by_url,omitempty"`
	Fallback bool      `json:"fallback_used,omitempty"`
	Outcome  string    `json:"outcome"`
	Rejected string    `json:"rejected,omitempty"`
	AnswerMS float64   `json:"answer_ms"`
}

// LedgerCounts are totals that never roll off, by outcome and by region.
type LedgerCounts struct {
	Total     int64            `json:"total"`
	ByOutcome map[string]int64 `json:"by_outcome"`
	ByRegion  map[string]int64 `json:"by_region"`
	Rejected  map[string]int64 `json:"rejected"`
}

// ledger keeps the last ledgerCap entries and all-time counts.
type ledger struct {
	mu      sync.Mutex
	entries []LedgerEntry
	seq     int64
	counts  LedgerCounts
}

const ledgerCap = 1_000_000

func (l *ledger) add(e LedgerEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq = l.seq
	if len(l.entries) == ledgerCap {
		l.entries = append(l.entries[:0], l.entries[ledgerCap/2:]...)
	}
	l.entries = append(l.entries, e)
	c := &l.counts
	if c.ByOutcome == nil {
		c.ByOutcome, c.ByRegion, c.Rejected = map[string]int64{}, map[string]int64{}, map[string]int64{}
	}
	c.Total++
	c.ByOutcome[e.Outcome]++
	if e.Region != "" {
		c.ByRegion[e.Region]++
	}
	if e.Rejected != "" {
		c.Rejected[e.Rejected]++
	}
}

// Ledger returns the entries after seq (at most limit; 0 means all kept)
// and the all-time counts.
func (e *Emulator) Ledger(after int64, limit int) ([]LedgerEntry, LedgerCounts) {
	l := &e.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LedgerEntry
	for _, en := range l.entries {
		if en.Seq > after {
			out = append(out, en)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	c := LedgerCounts{Total: l.counts.Total, ByOutcome: copyCounts(l.counts.ByOutcome),
		ByRegion: copyCounts(l.counts.ByRegion), Rejected: copyCounts(l.counts.Rejected)}
	return out, c
}

func copyCounts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// serveLedger: GET /__emulator/v1/ledger?after=SEQ&limit=N.
func (e *Emulator) serveLedger(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	entries, counts := e.Ledger(after, limit)
	if entries == nil {
		entries = []LedgerEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "counts": counts})
}
