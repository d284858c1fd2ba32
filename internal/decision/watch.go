// Package decision is the decision runbook: the workbook's triggers
// evaluated continuously over signals that still speak when calls die at the
// edge, and the decision a fired trigger opens, walked through Twilio's four
// functions (detection, technical assessment, business impact assessment,
// approval) and execution as recorded steps, each with its owner role, time,
// actor, note and data.
//
// Signals are measured with the signals package's exported API only (a
// one-condition gate per trigger), plus two probes the workbook's signal
// sources do not name: a signal with params.probe "api" is the region's API
// probe (twilio.Probe; value = percent of probe requests answered) and one
// with params.probe "readiness" is the flow's standby readiness
// (readiness.Check on the injected snapshot; value = count of blocking gaps).
// Both keep the workbook's schema: the source stays one of its enum (write
// calls), and params is free-form.
package decision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Defaults for windows the workbook leaves empty.
const (
	DefaultInterval       = 30 * time.Second
	DefaultSignalWindow   = 5 * time.Minute
	DefaultBaselineWindow = time.Hour
	// maxEvidence bounds the measurements a firing carries: the first one
	// that held and the most recent ones.
	maxEvidence = 20
	// parallel bounds concurrent trigger evaluations.
	parallel = 4
)

// Probe kinds named by a signal's params.probe.
const (
	ProbeAPI       = "api"
	ProbeReadiness = "readiness"
)

// Firing is a trigger whose condition held continuously for its For
// duration, with the evidence.
type Firing struct {
	Trigger   string             `json:"trigger"`
	Flow      string             `json:"flow"`
	Signal    string             `json:"signal"`
	Source    string             `json:"source"`
	Region    region.Region      `json:"region,omitempty"`
	Condition workbook.Threshold `json:"condition"`
	For       workbook.Duration  `json:"for"`
	// Since is the first evaluation the condition held at; At the
	// evaluation it fired at (At-Since >= For).
	Since time.Time `json:"since"`
	At    time.Time `json:"at"`
	// Evaluations is how many consecutive evaluations it held.
	Evaluations int `json:"evaluations"`
	// Evidence are the measurements while it held (Pass means the trouble
	// condition held), oldest first: the first and the latest ones.
	Evidence []signals.Measurement `json:"evidence"`
}

// Watcher evaluates the workbook's triggers and keeps the decisions they
// open. A Watcher that is never Run still records decisions (Open, Advance,
// Assess): the server uses it for both. Fields are read-only once in use.
type Watcher struct {
	Workbook *workbook.Workbook
	Env      signals.Env
	Store    store.Store
	// Interval between evaluations; zero means DefaultInterval.
	Interval time.Duration
	// Now is the clock of trigger durations, windows and step times; nil
	// means time.Now.
	Now func() time.Time
	// OnOpen is called with every decision a firing opened.
	OnOpen func(store.Decision)
	// OnEvaluate, if set, is called after every evaluation Run makes.
	OnEvaluate func(now time.Time, firings []Firing, err error)
	// Snapshot reads the account's observed state for readiness and plan
	// assessment; nil makes those unavailable (recorded as such).
	Snapshot func(ctx context.Context) (*snapshot.Snapshot, error)
	// Owners maps a step name to the roles that may own it, overriding
	// DefaultOwners per step. incident_commander may own every step.
	Owners map[string][]string
	// Audit and Notify report every change; both may be nil. They are
	// called after the change is saved and never fail or undo it.
	Audit  func(ctx context.Context, kind, actor, subject string, body any) error
	Notify func(event string, d store.Decision)
	Logger *slog.Logger

	mu     sync.Mutex // serialises decision changes (one open per flow)
	state  map[string]*held
	notify sync.WaitGroup
}

// held is a trigger's condition history.
type held struct {
	since    time.Time
	n        int
	fired    bool
	evidence []signals.Measurement
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Watcher) log() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Run evaluates the triggers now and every Interval, opening a decision per
// firing, until ctx ends; it waits for its notifications before returning.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Workbook == nil || w.Store == nil {
		return errors.New("decision watcher: workbook and store are required")
	}
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	defer w.notify.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Wait waits for notifications in flight (Run waits for them itself).
func (w *Watcher) Wait() { w.notify.Wait() }

// tick is one evaluation and the decisions it opens.
func (w *Watcher) tick(ctx context.Context) {
	now := w.now()
	firings, err := w.EvaluateOnce(ctx, now)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		w.log().Warn("decision: triggers not evaluated", "err", err)
	}
	for _, f := range firings {
		d, err := w.Open(ctx, f)
		switch {
		case errors.Is(err, ErrAlreadyOpen):
			w.log().Info("decision: trigger fired while a decision is open", "trigger", f.Trigger, "decision", d.ID)
		case err != nil:
			// Forget the firing so the next evaluation fires it again.
			w.mu.Lock()
			if h := w.state[f.Trigger]; h != nil {
				h.fired = false
			}
			w.mu.Unlock()
			w.log().Warn("decision: not opened", "trigger", f.Trigger, "err", err)
		default:
			if w.OnOpen != nil {
				w.OnOpen(d)
			}
		}
	}
	if w.OnEvaluate != nil {
		w.OnEvaluate(now, firings, err)
	}
}

// EvaluateOnce measures every trigger's signal at now and returns the
// triggers that fire: whose condition has held at every evaluation since
// one at least For before now. A trigger fires once per episode; a
// measurement that does not hold (or is missing: silence is not proof of
// trouble, and the region's API probe is its own trigger) resets it.
func (w *Watcher) EvaluateOnce(ctx context.Context, now time.Time) ([]Firing, error) {
	if w.Workbook == nil {
		return nil, errors.New("decision watcher: no workbook")
	}
	ts := w.Workbook.Triggers
	ms := make([]signals.Measurement, len(ts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i := range ts {
		g.Go(func() error {
			ms[i] = w.measure(gctx, ts[i], now)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == nil {
		w.state = map[string]*held{}
	}
	var out []Firing
	for i, t := range ts {
		m := ms[i]
		h := w.state[t.Name]
		if !m.Pass {
			delete(w.state, t.Name)
			continue
		}
		if h == nil {
			h = &held{since: now}
			w.state[t.Name] = h
		}
		h.n++
		h.evidence = appendEvidence(h.evidence, m)
		if h.fired || now.Sub(h.since) < time.Duration(t.For) {
			continue
		}
		h.fired = true
		s := w.signal(t.Signal)
		out = append(out, Firing{Trigger: t.Name, Flow: t.Flow, Signal: t.Signal, Source: m.Source,
			Region: w.regionOf(s), Condition: t.Condition, For: t.For, Since: h.since, At: now,
			Evaluations: h.n, Evidence: append([]signals.Measurement(nil), h.evidence...)})
	}
	return out, nil
}

// appendEvidence keeps the first measurement and the latest ones.
func appendEvidence(ev []signals.Measurement, m signals.Measurement) []signals.Measurement {
	ev = append(ev, m)
	if len(ev) > maxEvidence {
		ev = append(ev[:1], ev[len(ev)-maxEvidence+1:]...)
	}
	return ev
}

func (w *Watcher) signal(name string) workbook.Signal {
	for _, s := range w.Workbook.Signals {
		if s.Name == name {
			return s
		}
	}
	return workbook.Signal{Name: name}
}

// regionOf is the region a signal measures: its own, or the primary.
func (w *Watcher) regionOf(s workbook.Signal) region.Region {
	if s.Region != "" {
		return s.Region
	}
	for _, r := range w.Workbook.Regions {
		if r.Role == workbook.RolePrimary {
			return r.Region
		}
	}
	return ""
}

// measure evaluates one trigger's condition at now; Pass means the trouble
// condition holds.
func (w *Watcher) measure(ctx context.Context, t workbook.Trigger, now time.Time) signals.Measurement {
	s := w.signal(t.Signal)
	m := signals.Measurement{Signal: t.Signal, Source: s.Source, Threshold: t.Condition, At: now}
	if s.Source == "" {
		m.Missing = "signal not declared in the workbook"
		return m
	}
	switch s.Params["probe"] {
	case ProbeAPI:
		return w.probeAPI(ctx, s, t.Condition, now)
	case ProbeReadiness:
		return w.probeReadiness(ctx, t, now)
	case "":
	default:
		m.Missing = fmt.Sprintf("unknown probe %q: use api or readiness", s.Params["probe"])
		return m
	}
	sc, err := w.scope(ctx, t, s, now)
	if err != nil {
		m.Missing = err.Error()
		return m
	}
	window := time.Duration(s.Window)
	if window <= 0 {
		window = DefaultSignalWindow
	}
	env := w.Env
	if s.Source != "synthetic" {
		// One measurement at now: the gate's own window is a virtual
		// instant, so it decides after reading each source once or twice.
		env.Now, env.Sleep = virtualClock(now)
		window = time.Nanosecond
	}
	gate := workbook.Gate{Name: "trigger " + t.Name, Window: workbook.Duration(window),
		Conditions: []workbook.Condition{{Signal: s.Name, Threshold: t.Condition}}}
	res, err := signals.EvaluateGate(ctx, env, gate, w.Workbook.Signals, sc)
	if err != nil || len(res.Measurements) == 0 {
		m.Missing = fmt.Sprintf("not evaluated: %v", err)
		return m
	}
	m = res.Measurements[0]
	m.At = now
	return m
}

// virtualClock stands still at now except where the gate sleeps.
func virtualClock(now time.Time) (func() time.Time, func(context.Context, time.Duration) error) {
	var mu sync.Mutex
	t := now
	return func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return t
		}, func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			t = t.Add(d)
			mu.Unlock()
			return ctx.Err()
		}
}

// scope is what a trigger's signal is measured over: the flow's numbers in
// the signal's region over the trailing window, with the baseline rate over
// params.baseline_window (default 1h) ending now, as rate(5m)/rate(1h) is
// written in Prometheus.
func (w *Watcher) scope(ctx context.Context, t workbook.Trigger, s workbook.Signal, now time.Time) (signals.Scope, error) {
	flow := w.flow(t.Flow)
	if flow == nil {
		return signals.Scope{}, fmt.Errorf("flow %q is not in the workbook", t.Flow)
	}
	window := time.Duration(s.Window)
	if window <= 0 {
		window = DefaultSignalWindow
	}
	r := w.regionOf(s)
	sc := signals.Scope{Flow: t.Flow, Target: r, Since: now.Add(-window), Numbers: w.numbers(ctx, flow),
		Trunks: flow.Trunks, SIPDomains: flow.SIPDomains, CallsPerSecond: w.Workbook.Execution.CallsPerSecond}
	for _, rp := range w.Workbook.Regions {
		if rp.Region == r {
			for _, u := range []string{rp.App.VoiceURL, rp.App.FallbackURL, rp.App.StatusCallback} {
				if u != "" {
					sc.Webhooks = append(sc.Webhooks, u)
				}
			}
		}
	}
	if s.Source == "synthetic" {
		sc.CallerID = w.Workbook.Execution.CallerID
		if sc.CallerID == "" && len(sc.Numbers) > 0 {
			sc.CallerID = sc.Numbers[0]
		}
		n := w.Workbook.Execution.Proof.Sample
		if n <= 0 {
			n = 3
		}
		sc.Synthetic = sc.Numbers[:min(n, len(sc.Numbers))]
	}
	if s.Source == "calls" && s.Params["measure"] == "volume_vs_baseline" {
		bw := DefaultBaselineWindow
		if v := s.Params["baseline_window"]; v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return sc, fmt.Errorf("signal %s: params.baseline_window %q is not a positive duration", s.Name, v)
			}
			bw = d
		}
		if v := s.Params["baseline_per_minute"]; v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return sc, fmt.Errorf("signal %s: params.baseline_per_minute %q is not a positive number", s.Name, v)
			}
			sc.Baseline = f
		} else {
			b, _, err := signals.Baseline(ctx, w.Env, r, sc.Numbers, now.Add(-bw), now)
			if err != nil {
				return sc, fmt.Errorf("baseline: %w", err)
			}
			sc.Baseline = b
		}
	}
	return sc, nil
}

func (w *Watcher) flow(name string) *workbook.Flow {
	for i := range w.Workbook.Flows {
		if w.Workbook.Flows[i].Name == name {
			return &w.Workbook.Flows[i]
		}
	}
	return nil
}

// numbers are the flow's numbers: those the snapshot resolves (selectors
// included) when a snapshot is at hand, else those the workbook lists.
func (w *Watcher) numbers(ctx context.Context, f *workbook.Flow) []string {
	if w.Snapshot != nil {
		if s, err := w.Snapshot(ctx); err == nil && s != nil {
			var out []string
			for _, n := range s.Numbers {
				if name, ok := w.Workbook.FlowOf(n); ok && name == f.Name {
					out = append(out, n.PhoneNumber)
				}
			}
			if len(out) > 0 {
				return out
			}
		}
	}
	return f.Numbers
}

// probeAPI is the region's API probe: the percent of probe requests that
// got an answer (an outage is the value, never missing).
func (w *Watcher) probeAPI(ctx context.Context, s workbook.Signal, th workbook.Threshold, now time.Time) signals.Measurement {
	m := signals.Measurement{Signal: s.Name, Source: s.Source, Threshold: th, At: now, Unit: "percent"}
	if w.Env.Set == nil {
		m.Missing = "no twilio clients"
		return m
	}
	c, err := w.Env.Set.Get(w.regionOf(s))
	if err != nil {
		m.Missing = err.Error()
		return m
	}
	samples, _ := strconv.Atoi(s.Params["samples"])
	h := twilio.Probe(ctx, c, twilio.ProbeOptions{Samples: samples})
	m.Sample = h.Samples
	if h.Samples > 0 {
		m.Value = 100 * float64(h.Samples-h.Failures) / float64(h.Samples)
	}
	if th.Unit == "ratio" {
		m.Value, m.Unit = m.Value/100, "ratio"
	}
	if m.Unit != th.Unit {
		m.Missing = fmt.Sprintf("the API probe measures percent or ratio but the threshold is in %s", th.Unit)
		return m
	}
	m.Pass = th.Holds(m.Value)
	return m
}

// probeReadiness counts the flow's blocking readiness gaps in the standby.
func (w *Watcher) probeReadiness(ctx context.Context, t workbook.Trigger, now time.Time) signals.Measurement {
	s := w.signal(t.Signal)
	m := signals.Measurement{Signal: s.Name, Source: s.Source, Threshold: t.Condition, At: now, Unit: "count"}
	if w.Snapshot == nil {
		m.Missing = "no snapshot source"
		return m
	}
	snap, err := w.Snapshot(ctx)
	if err != nil || snap == nil {
		m.Missing = fmt.Sprintf("snapshot unavailable: %v", err)
		return m
	}
	rep, err := readiness.Check(snap, w.Workbook, t.Flow, readiness.Options{Now: func() time.Time { return now }})
	if err != nil {
		m.Missing = err.Error()
		return m
	}
	m.Value, m.Sample = float64(rep.Errors()), len(rep.Checklist)
	if t.Condition.Unit != "count" {
		m.Missing = fmt.Sprintf("the readiness probe counts gaps but the threshold is in %s", t.Condition.Unit)
		return m
	}
	m.Pass = t.Condition.Holds(m.Value)
	return m
}
