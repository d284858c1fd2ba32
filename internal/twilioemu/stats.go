package twilioemu

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// stats are the counters tests and benchmarks read through the operator API:
// peak in flight proves a client's concurrency limit without timing.
type stats struct {
	inFlight    atomic.Int64
	peak        atomic.Int64
	tooMany     atomic.Int64
	retiredHost atomic.Int64
	mu          sync.Mutex
	byOp        map[string]int64
}

// enter counts a request in and returns the number now in flight.
func (s *stats) enter() int64 {
	n := s.inFlight.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			return n
		}
	}
}

func (s *stats) leave() { s.inFlight.Add(-1) }

func (s *stats) count(op string) {
	s.mu.Lock()
	if s.byOp == nil {
		s.byOp = map[string]int64{}
	}
	s.byOp[op]++
	s.mu.Unlock()
}

// Stats is the operator view of the counters.
type Stats struct {
	InFlight            int64 `json:"in_flight"`
	PeakInFlight        int64 `json:"peak_in_flight"`
	TooManyRequestsSent int64 `json:"too_many_requests_sent"`
	RetiredHostRequests int64 `json:"retired_host_requests"`
	// RequestsByOperation counts requests routed to an operation (those
	// refused by authentication included); requests refused earlier by a
	// fault or the concurrency limit are not counted.
	RequestsByOperation map[string]int64 `json:"requests_by_operation"`
}

// Stats returns a copy of the counters.
func (e *Emulator) Stats() Stats {
	s := &e.stats
	s.mu.Lock()
	ops := make(map[string]int64, len(s.byOp))
	for k, v := range s.byOp {
		ops[k] = v
	}
	s.mu.Unlock()
	return Stats{InFlight: s.inFlight.Load(), PeakInFlight: s.peak.Load(), TooManyRequestsSent: s.tooMany.Load(),
		RetiredHostRequests: s.retiredHost.Load(), RequestsByOperation: ops}
}

// ResetStats zeroes the counters (peak restarts from what is in flight now).
func (e *Emulator) ResetStats() {
	s := &e.stats
	s.mu.Lock()
	s.byOp = nil
	s.mu.Unlock()
	s.peak.Store(s.inFlight.Load())
	s.tooMany.Store(0)
	s.retiredHost.Store(0)
}

// requestEntry is one line of the operator request log.
type requestEntry struct {
	Time       time.Time `json:"time"`
	Method     string    `json:"method"`
	Host       string    `json:"host"`
	Path       string    `json:"path"`
	Operation  string    `json:"operation"`
	Region     string    `json:"region"`
	Status     int       `json:"status"`
	DurationMS float64   `json:"duration_ms"`
}

// requestLog keeps the last size requests in a ring.
type requestLog struct {
	mu   sync.Mutex
	size int
	buf  []requestEntry
	next int
	full bool
}

func (l *requestLog) add(e requestEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) < l.size {
		l.buf = append(l.buf, e)
		return
	}
	l.buf[l.next] = e
	l.next = (l.next + 1) % l.size
	l.full = true
}

// last returns up to n entries, oldest first.
func (l *requestLog) last(n int) []requestEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]requestEntry, 0, len(l.buf))
	if l.full {
		out = append(out, l.buf[l.next:]...)
		out = append(out, l.buf[:l.next]...)
	} else {
		out = append(out, l.buf...)
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
