package sampleapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"
)

// Behavior is what an endpoint does with a valid request.
type Behavior string

// Behaviors. Each is a failure Twilio reports differently: fail is 11200
// (HTTP retrieval failure), slow beyond Twilio's 15 s timer is 11205,
// bad-twiml is 12100 (document parse failure).
const (
	OK       Behavior = "ok"
	Fail     Behavior = "fail"
	Slow     Behavior = "slow"
	BadTwiML Behavior = "bad-twiml"
)

func (b Behavior) valid() bool {
	switch b {
	case OK, Fail, Slow, BadTwiML:
		return true
	}
	return false
}

// DefaultSlow is longer than Twilio's 15-second webhook timer, so a slow
// webhook makes Twilio give up (11205) and try the fallback, which is the
// failure slow mode exists to rehearse.
const DefaultSlow = 20 * time.Second

// Mode is the app's behaviour, set at start and through the control
// endpoint.
type Mode struct {
	Voice    Behavior `json:"voice"`
	Fallback Behavior `json:"fallback"`
	// Slow is how long slow mode waits before answering.
	Slow Duration `json:"slow"`
	// Healthy is what /health reports; it does not change the webhooks, so
	// a health-based trigger can be rehearsed on its own.
	Healthy bool `json:"healthy"`
}

// DefaultMode answers everything and reports healthy.
func DefaultMode() Mode {
	return Mode{Voice: OK, Fallback: OK, Slow: Duration(DefaultSlow), Healthy: true}
}

// Validate checks every field and reports all problems at once.
func (m Mode) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		b    Behavior
	}{{"voice", m.Voice}, {"fallback", m.Fallback}} {
		if !f.b.valid() {
			errs = append(errs, fmt.Errorf("%s %q: use ok, fail, slow or bad-twiml", f.name, f.b))
		}
	}
	if m.Slow < 0 {
		errs = append(errs, fmt.Errorf("slow %s: must not be negative", m.Slow))
	}
	if m.Slow == 0 && (m.Voice == Slow || m.Fallback == Slow) {
		errs = append(errs, errors.New("slow is 0 while a behaviour is slow: give a duration such as 20s"))
	}
	return errors.Join(errs...)
}

// Duration is a time.Duration written in JSON as Go's duration string
// ("2s", "1m30s"), the form people type.
type Duration time.Duration

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"2s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Counters are what the app has counted since it started; probes are only in
// Probes. Maps are never nil, so the JSON shape is stable.
type Counters struct {
	// Requests by endpoint, then outcome.
	Requests map[string]map[string]int64 `json:"requests"`
	// FallbackHits by the ErrorCode Twilio sent ("none" when absent).
	FallbackHits      map[string]int64 `json:"fallback_hits"`
	SignatureFailures int64            `json:"signature_failures"`
	// FinalStatuses by CallStatus of status callbacks.
	FinalStatuses map[string]int64 `json:"final_statuses"`
	// Probes by endpoint.
	Probes map[string]int64 `json:"probes"`
}

func newCounters() Counters {
	return Counters{Requests: map[string]map[string]int64{}, FallbackHits: map[string]int64{},
		FinalStatuses: map[string]int64{}, Probes: map[string]int64{}}
}

func (c Counters) clone() Counters {
	out := newCounters()
	for ep, byOutcome := range c.Requests {
		out.Requests[ep] = maps.Clone(byOutcome)
	}
	maps.Copy(out.FallbackHits, c.FallbackHits)
	maps.Copy(out.FinalStatuses, c.FinalStatuses)
	maps.Copy(out.Probes, c.Probes)
	out.SignatureFailures = c.SignatureFailures
	return out
}

// Mode returns the current behaviour.
func (a *App) Mode() Mode {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mode
}

// SetMode replaces the behaviour after validating it; requests already in
// flight keep the mode they started with.
func (a *App) SetMode(m Mode) error {
	if err := m.Validate(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mode = m
	return nil
}

// Counters returns a copy of the counters.
func (a *App) Counters() Counters {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts.clone()
}

// State is what GET and PUT /__sampleapp/mode answer.
type State struct {
	Region   string   `json:"region"`
	Mode     Mode     `json:"mode"`
	Counters Counters `json:"counters"`
}

func (a *App) state() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return State{Region: string(a.region), Mode: a.mode, Counters: a.counts.clone()}
}

func (a *App) serveGetMode(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.state())
}

// modePatch is the PUT body: fields left out keep their value, so
// `{"voice":"fail"}` does not also reset health or the slow duration.
type modePatch struct {
	Voice    *Behavior `json:"voice"`
	Fallback *Behavior `json:"fallback"`
	Slow     *Duration `json:"slow"`
	Healthy  *bool     `json:"healthy"`
}

type errorBody struct {
	Error string `json:"error"`
}

func (a *App) servePutMode(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields() // a typo must not look like it worked
	var p modePatch
	if err := dec.Decode(&p); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{"mode: " + strings.TrimPrefix(err.Error(), "json: ")})
		return
	}
	a.mu.Lock()
	m := a.mode
	if p.Voice != nil {
		m.Voice = *p.Voice
	}
	if p.Fallback != nil {
		m.Fallback = *p.Fallback
	}
	if p.Slow != nil {
		m.Slow = *p.Slow
	}
	if p.Healthy != nil {
		m.Healthy = *p.Healthy
	}
	err := m.Validate()
	if err == nil {
		a.mode = m
	}
	a.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{"mode: " + err.Error()})
		return
	}
	a.log.Info("sample app mode changed", "region", a.region, "voice", m.Voice, "fallback", m.Fallback,
		"slow", m.Slow.String(), "healthy", m.Healthy)
	writeJSON(w, http.StatusOK, a.state())
}
