package twilioemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the inbound traffic generator: a versioned traffic document
// (set with --traffic FILE, PUT /__emulator/v1/traffic or StartTraffic) makes
// the emulator place calls from the PSTN to owned numbers at a steady rate
// through PlaceInboundCall, exactly as single calls are placed. Every run is
// bounded (max_calls and/or for) so a forgotten drill cannot run forever, and
// stoppable (DELETE, StopTraffic, Close).

// TrafficVersion is the version of the traffic document this emulator reads.
const TrafficVersion = 1

// MaxTrafficCPS is the highest calls_per_second a traffic document may ask
// for: five times the busiest contact centres' inbound peaks, and about what
// one machine can simulate with real webhooks.
const MaxTrafficCPS = 5000

// DefaultTrafficMaxInFlight bounds the calls of a run in flight at once
// unless the document says otherwise: slow or blackholed webhooks then hold
// 64 goroutines, not one per call.
const DefaultTrafficMaxInFlight = 64

// maxTrafficInFlight caps max_in_flight: enough for 15 s webhook timeouts at
// several hundred calls per second, small enough to stay a bound.
const maxTrafficInFlight = 10000

// DefaultTrafficCallerID is the caller of every call when caller_ids is
// empty (a 555-01xx number, reserved for fiction).
const DefaultTrafficCallerID = "+12025550100"

// Traffic is the versioned traffic document. Drill scenarios embed it next to
// the faults document, so it is plain JSON with snake_case fields:
//
//	{"version": 1, "calls_per_second": 20, "numbers": {"share": 0.25},
//	 "caller_ids": ["+447700900123"], "duration": "45s",
//	 "max_calls": 10000, "for": "10m", "rand_seed": 7}
type Traffic struct {
	Version int `json:"version"`
	// CallsPerSecond is the target arrival rate, above 0 and at most
	// MaxTrafficCPS. Pacing follows the wall clock, never Options.Clock: a
	// fake clock does not advance by itself.
	CallsPerSecond float64 `json:"calls_per_second"`
	// Numbers selects the called numbers among those the account owns when
	// the run starts.
	Numbers TrafficNumbers `json:"numbers"`
	// CallerIDs are the From numbers, picked at random per call; empty means
	// DefaultTrafficCallerID alone.
	CallerIDs []string `json:"caller_ids,omitempty"`
	// Duration is how long each call lasts once answered. It is recorded on
	// the call, never waited for, so a run is not slowed by long calls.
	Duration Duration `json:"duration,omitempty"`
	// MaxCalls stops the run after that many calls; For stops it that long
	// after it started (wall clock). At least one of them is required.
	MaxCalls int64    `json:"max_calls,omitempty"`
	For      Duration `json:"for,omitempty"`
	// MaxInFlight bounds the run's calls in progress at once (default
	// DefaultTrafficMaxInFlight, at most 10000). When every slot is taken the
	// next call waits and is counted as delayed; raise it for slow webhooks.
	MaxInFlight int `json:"max_in_flight,omitempty"`
	// RandSeed makes the sequence of (number, caller) pairs repeatable.
	RandSeed uint64 `json:"rand_seed,omitempty"`
}

// TrafficNumbers selects called numbers: exactly one field is set.
type TrafficNumbers struct {
	// All calls every owned number.
	All bool `json:"all,omitempty"`
	// List calls these numbers (E.164), each of which must be owned.
	List []string `json:"list,omitempty"`
	// Share (0 < share ≤ 1) calls that share of the owned numbers, chosen by
	// a hash of each E.164 alone: the same share picks the same numbers in
	// every run and every emulator, and a smaller share picks a subset of a
	// larger one.
	Share float64 `json:"share,omitempty"`
	// Prefix calls numbers whose E.164 starts with it (when it starts with
	// "+") or whose friendly name starts with it ("support-").
	Prefix string `json:"prefix,omitempty"`
}

// ParseTraffic decodes a traffic document strictly and validates it.
func ParseTraffic(b []byte) (*Traffic, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var t Traffic
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("traffic document: %s%w", badDurationField(b), err)
	}
	return &t, t.Validate()
}

// badDurationField names the duration field that failed to decode ("for: "),
// as encoding/json does not for errors of a field's own UnmarshalJSON.
func badDurationField(b []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	for _, k := range []string{"duration", "for"} {
		var d Duration
		if raw, ok := m[k]; ok && d.UnmarshalJSON(raw) != nil {
			return k + ": "
		}
	}
	return ""
}

// Validate names the first field that is out of range and what to write.
func (t *Traffic) Validate() error {
	if t.Version != TrafficVersion {
		return fmt.Errorf("traffic document: version %d: this emulator reads version %d", t.Version, TrafficVersion)
	}
	// The negated form also refuses NaN, which Go callers can set.
	if !(t.CallsPerSecond > 0 && t.CallsPerSecond <= MaxTrafficCPS) {
		return fmt.Errorf("traffic document: calls_per_second %v: use a rate above 0 and at most %d", t.CallsPerSecond, MaxTrafficCPS)
	}
	if err := t.Numbers.validate(); err != nil {
		return err
	}
	for i, c := range t.CallerIDs {
		if !ValidE164(c) {
			return fmt.Errorf("traffic document: caller_ids[%d] %q: not an E.164 number such as +14155550100", i, c)
		}
	}
	if t.Duration < 0 {
		return fmt.Errorf("traffic document: duration %v: must be >= 0", time.Duration(t.Duration))
	}
	if t.MaxCalls < 0 {
		return fmt.Errorf("traffic document: max_calls %d: must be >= 0", t.MaxCalls)
	}
	if t.For < 0 {
		return fmt.Errorf("traffic document: for %v: must be >= 0", time.Duration(t.For))
	}
	if t.MaxCalls == 0 && t.For == 0 {
		return errors.New(`traffic document: max_calls or for: set at least one bound (e.g. "max_calls": 1000 or "for": "10m") so the traffic stops by itself`)
	}
	if t.MaxInFlight < 0 || t.MaxInFlight > maxTrafficInFlight {
		return fmt.Errorf("traffic document: max_in_flight %d: use 1 to %d (0: %d)", t.MaxInFlight, maxTrafficInFlight, DefaultTrafficMaxInFlight)
	}
	return nil
}

func (n *TrafficNumbers) validate() error {
	var set []string
	if n.All {
		set = append(set, "all")
	}
	if len(n.List) > 0 {
		set = append(set, "list")
	}
	if n.Share != 0 {
		set = append(set, "share")
	}
	if n.Prefix != "" {
		set = append(set, "prefix")
	}
	switch len(set) {
	case 0:
		return errors.New(`traffic document: numbers: choose one of all, list, share or prefix, e.g. {"all": true}`)
	case 1:
	default:
		return fmt.Errorf("traffic document: numbers: %s are set: choose exactly one of all, list, share or prefix", strings.Join(set, " and "))
	}
	for i, e := range n.List {
		if !ValidE164(e) {
			return fmt.Errorf("traffic document: numbers.list[%d] %q: not an E.164 number such as +14155550100", i, e)
		}
	}
	if n.Share != 0 && !(n.Share > 0 && n.Share <= 1) {
		return fmt.Errorf("traffic document: numbers.share %v: use a share above 0 and at most 1", n.Share)
	}
	if rest, ok := strings.CutPrefix(n.Prefix, "+"); ok && strings.Trim(rest, "0123456789") != "" {
		return fmt.Errorf("traffic document: numbers.prefix %q: an E.164 prefix is + and digits (or give a friendly-name prefix)", n.Prefix)
	}
	return nil
}

// clone copies the document so a caller changing its slices later cannot
// race with the run or change what the status reports.
func (t *Traffic) clone() *Traffic {
	c := *t
	c.CallerIDs = append([]string(nil), t.CallerIDs...)
	c.Numbers.List = append([]string(nil), t.Numbers.List...)
	return &c
}

// inShare reports whether a number belongs to a share. The hash depends on
// the E.164 alone, so selections are stable and nested across runs. SHA-256
// rather than FNV: numbers differ in their last digits, which FNV leaves out
// of the high bits this compares.
func inShare(e164 string, share float64) bool {
	sum := sha256.Sum256([]byte(e164))
	return float64(binary.BigEndian.Uint64(sum[:8]))/math.MaxUint64 < share
}

// selectNumbers picks the called numbers from the account as it is now, in
// ownership (or list) order so the same seed gives the same calls.
func (e *Emulator) selectNumbers(n TrafficNumbers) ([]string, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []string
	if len(n.List) > 0 {
		seen := make(map[string]bool, len(n.List))
		for i, e164 := range n.List {
			if _, ok := e.acct.byE164[e164]; !ok {
				return nil, fmt.Errorf("traffic document: numbers.list[%d] %s: the account does not own it", i, e164)
			}
			if !seen[e164] {
				seen[e164] = true
				out = append(out, e164)
			}
		}
		return out, nil
	}
	for _, num := range e.acct.numbers {
		var ok bool
		switch {
		case n.All:
			ok = true
		case n.Share != 0:
			ok = inShare(num.e164, n.Share)
		case strings.HasPrefix(n.Prefix, "+"):
			ok = strings.HasPrefix(num.e164, n.Prefix)
		default:
			ok = strings.HasPrefix(num.friendlyName, n.Prefix)
		}
		if ok {
			out = append(out, num.e164)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("traffic document: numbers: the selection matches none of the account's %d numbers", len(e.acct.numbers))
	}
	return out, nil
}

// TrafficStatus is what GET /__emulator/v1/traffic answers: the current run,
// or the last one once it has ended. Before any run, Running is false and
// Document is null.
type TrafficStatus struct {
	// Running is true until the run has stopped placing calls and every call
	// it placed has finished; after that the counts are final.
	Running bool `json:"running"`
	// StartedAt and EndedAt use the emulator's clock, like call records.
	StartedAt *time.Time `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	// EndReason: max_calls, for (the bounds), stopped (DELETE, StopTraffic),
	// replaced (a new run started) or closed (the emulator closed).
	EndReason string `json:"end_reason,omitempty"`
	// Numbers is how many numbers the selection picked.
	Numbers int `json:"numbers"`
	// Placed calls have been handed to call processing; InFlight of them are
	// still being processed.
	Placed   int64 `json:"placed"`
	InFlight int64 `json:"in_flight"`
	// Delayed calls waited for a free slot because max_in_flight calls were
	// in progress: the run fell behind its rate.
	Delayed int64 `json:"delayed"`
	// ByOutcome counts finished calls by the ledger's outcome (answered,
	// app_error, failed, rejected).
	ByOutcome map[string]int64 `json:"by_outcome"`
	// Processed counts calls by the region that processed them; Rejected
	// counts calls that died before any record, by CallOutcome.Rejected
	// (region_down, no_handler, not_owned); Errors counts calls it could not
	// place at all, LastError says why.
	Processed map[string]int64 `json:"processed"`
	Rejected  map[string]int64 `json:"rejected"`
	Errors    int64            `json:"errors"`
	LastError string           `json:"last_error,omitempty"`
	Document  *Traffic         `json:"document"`
}

// trafficState holds the emulator's traffic run. Its zero value is ready.
type trafficState struct {
	// ctl serializes starting and stopping runs; readers of the current run
	// never take it, so status answers while a stop waits for calls.
	ctl sync.Mutex
	run atomic.Pointer[trafficRun]
}

// trafficRun is one run of a traffic document.
type trafficRun struct {
	doc     *Traffic
	numbers []string
	callers []string
	started time.Time
	// cancel stops pacing; done closes once pacing has ended and every call
	// placed has finished.
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	placed    int64
	inFlight  int64
	delayed   int64
	errors    int64
	lastError string
	processed map[string]int64
	rejected  map[string]int64
	outcomes  map[string]int64
	ended     time.Time
	reason    string
}

// StartTraffic validates a traffic document, selects its numbers from the
// account as it is now and starts placing calls, replacing any run in
// progress. A document that fails changes nothing: the previous run goes on.
// The run belongs to the emulator, not to the caller: it outlives the
// request that started it and ends at its bound, StopTraffic or Close.
func (e *Emulator) StartTraffic(t *Traffic) error {
	if t == nil {
		return errors.New("traffic document: missing")
	}
	if err := t.Validate(); err != nil {
		return err
	}
	doc := t.clone()
	numbers, err := e.selectNumbers(doc.Numbers)
	if err != nil {
		return err
	}
	ts := &e.traffic
	ts.ctl.Lock()
	defer ts.ctl.Unlock()
	select {
	case <-e.done:
		return errors.New("traffic: the emulator is closed")
	default:
	}
	if old := ts.run.Load(); old != nil {
		old.stop("replaced")
	}
	callers := doc.CallerIDs
	if len(callers) == 0 {
		callers = []string{DefaultTrafficCallerID}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &trafficRun{doc: doc, numbers: numbers, callers: callers, started: e.clock.Now().UTC(),
		cancel: cancel, done: make(chan struct{}), processed: map[string]int64{}, rejected: map[string]int64{},
		outcomes: map[string]int64{}}
	ts.run.Store(r)
	go e.runTraffic(ctx, r)
	e.log.Info("traffic started", "calls_per_second", doc.CallsPerSecond, "numbers", len(numbers),
		"max_calls", doc.MaxCalls, "for", time.Duration(doc.For))
	return nil
}

// StopTraffic stops the run in progress, if any, and returns once every call
// it placed has finished (bounded by the webhook timeouts), so the counts,
// call records and alerts it reports are final. Emulator.Close calls it.
func (e *Emulator) StopTraffic() {
	ts := &e.traffic
	ts.ctl.Lock()
	defer ts.ctl.Unlock()
	if r := ts.run.Load(); r != nil {
		reason := "stopped"
		select {
		case <-e.done:
			reason = "closed" // called from Close: say so, as the watcher would
		default:
		}
		r.stop(reason)
	}
}

// TrafficStatus reports the current (or last) run.
func (e *Emulator) TrafficStatus() TrafficStatus {
	r := e.traffic.run.Load()
	if r == nil {
		return TrafficStatus{ByOutcome: map[string]int64{}, Processed: map[string]int64{}, Rejected: map[string]int64{}}
	}
	return r.status()
}

// stop ends pacing and waits for the calls in flight. The first reason to
// end a run is the one reported.
func (r *trafficRun) stop(reason string) {
	r.mu.Lock()
	if r.reason == "" {
		r.reason = reason
	}
	r.mu.Unlock()
	r.cancel()
	<-r.done
}

func (r *trafficRun) status() TrafficStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	started := r.started
	s := TrafficStatus{StartedAt: &started, Numbers: len(r.numbers), Placed: r.placed, InFlight: r.inFlight,
		Delayed: r.delayed, Errors: r.errors, LastError: r.lastError, Document: r.doc.clone(),
		ByOutcome: maps.Clone(r.outcomes), Processed: maps.Clone(r.processed), Rejected: maps.Clone(r.rejected)}
	if r.ended.IsZero() {
		s.Running = true
	} else {
		ended := r.ended
		s.EndedAt, s.EndReason = &ended, r.reason
	}
	return s
}

// record counts one finished call.
func (r *trafficRun) record(out CallOutcome, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
	switch {
	case err != nil:
		r.errors++
		r.lastError = err.Error()
	case out.Rejected != "":
		r.rejected[out.Rejected]++
	default:
		r.processed[out.Region]++
	}
	if err == nil && out.Outcome != "" {
		r.outcomes[out.Outcome]++
	}
}

// runTraffic paces the run, then waits for its calls and marks it ended.
// Calls get a context of their own that only Close cancels: stopping a run
// lets calls already in progress finish as Twilio would, rather than leave
// alerts for webhooks the emulator itself cut short.
func (e *Emulator) runTraffic(ctx context.Context, r *trafficRun) {
	callCtx, cancelCalls := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		select {
		case <-e.done:
			r.cancel()
			cancelCalls()
		case <-finished:
		}
	}()
	var calls sync.WaitGroup
	if reason := e.paceTraffic(ctx, callCtx, r, &calls); reason != "" {
		// A bound was reached: that is why the run ends, even if a stop
		// arrives while its last calls finish.
		r.mu.Lock()
		if r.reason == "" {
			r.reason = reason
		}
		r.mu.Unlock()
	}
	calls.Wait()
	close(finished)
	cancelCalls()
	end := e.clock.Now().UTC()
	r.mu.Lock()
	if r.reason == "" {
		r.reason = "closed" // pacing was cancelled by nobody but Close
	}
	r.ended = end
	reason, placed := r.reason, r.placed
	r.mu.Unlock()
	close(r.done)
	e.log.Info("traffic ended", "reason", reason, "placed", placed)
}

// pacingSlack is how early a call may be placed: calls due within it go out
// together instead of one timer each, which keeps 5,000 calls/s cheap; the
// schedule itself (call k at start + k/rate) never drifts.
const pacingSlack = time.Millisecond

// paceTraffic places calls on schedule until a bound is reached ("max_calls"
// or "for") or ctx ends (""). Each call runs in its own goroutine, at most
// max_in_flight at once.
func (e *Emulator) paceTraffic(ctx, callCtx context.Context, r *trafficRun, calls *sync.WaitGroup) string {
	doc := r.doc
	slots := doc.MaxInFlight
	if slots == 0 {
		slots = DefaultTrafficMaxInFlight
	}
	sem := make(chan struct{}, slots)
	rng := rand.New(rand.NewPCG(doc.RandSeed, 0x7472616666696300)) // "traffic"
	interval := float64(time.Second) / doc.CallsPerSecond
	start := time.Now()
	var deadline time.Time
	var over <-chan time.Time // fires at the deadline, for a pacer waiting on a slot
	if doc.For > 0 {
		deadline = start.Add(time.Duration(doc.For))
		t := time.NewTimer(time.Duration(doc.For))
		defer t.Stop()
		over = t.C
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k := int64(0); ; k++ {
		if doc.MaxCalls > 0 && k >= doc.MaxCalls {
			return "max_calls"
		}
		due := start.Add(time.Duration(float64(k) * interval))
		if !deadline.IsZero() && (!due.Before(deadline) || !time.Now().Before(deadline)) {
			return "for"
		}
		if wait := time.Until(due); wait > pacingSlack {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return ""
			case <-timer.C:
			}
		}
		// Pick before waiting for a slot so the sequence of calls depends on
		// the seed alone, not on how fast webhooks answer.
		in := InboundCall{To: r.numbers[rng.IntN(len(r.numbers))], From: r.callers[rng.IntN(len(r.callers))], Duration: doc.Duration}
		select {
		case sem <- struct{}{}:
		default:
			r.mu.Lock()
			r.delayed++
			r.mu.Unlock()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ""
			case <-over:
				return "for"
			}
		}
		if ctx.Err() != nil {
			<-sem
			return ""
		}
		r.mu.Lock()
		r.placed++
		r.inFlight++
		r.mu.Unlock()
		calls.Add(1)
		go func() {
			defer calls.Done()
			defer func() { <-sem }()
			out, err := e.PlaceInboundCall(callCtx, in)
			r.record(out, err)
		}()
	}
}

// serveTraffic is the operator API's GET, PUT and DELETE /__emulator/v1/traffic.
func (e *Emulator) serveTraffic(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, e.TrafficStatus())
	case http.MethodPut:
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeOpError(w, http.StatusBadRequest, err.Error())
			return
		}
		t, err := ParseTraffic(b)
		if err == nil {
			err = e.StartTraffic(t)
		}
		if err != nil {
			writeOpError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, e.TrafficStatus())
	case http.MethodDelete:
		// Answers once the run's calls have finished, with its final counts.
		e.StopTraffic()
		writeJSON(w, http.StatusOK, e.TrafficStatus())
	default:
		writeOpError(w, http.StatusMethodNotAllowed, "traffic: use GET, PUT or DELETE")
	}
}
