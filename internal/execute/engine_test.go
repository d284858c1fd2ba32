package execute_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// These tests drive the engine's ledger, cohort and recovery logic with
// hand-written fakes of routing and signals, on a real SQLite store, so
// each outcome can be scripted; emulator_test.go runs the same engine
// against the emulator's real Routes and Calls APIs.

const fakeWB = `version: 1
program: t
regions:
  - {region: us1, role: primary}
  - {region: ie1, edge: dublin, role: standby}
flows:
  - name: support
    criticality: critical
    selectors: {friendly_name_prefix: [support-]}
    rto: 15m
    cohorts:
      - {name: first, order: 1, share: 0.1, gate: g, no_go: rollback}
      - {name: second, order: 2, share: 0.5, gate: g, no_go: rollback}
      - {name: rest, order: 3, share: 1, gate: g, no_go: pause}
signals:
  - {name: s, source: calls}
gates:
  - {name: g, window: 1s, conditions: [{signal: s, threshold: {op: ">=", value: 95, unit: percent}}]}
`

// fakeRoutes is the global routing table, counting writes per key.
type fakeRoutes struct {
	mu     sync.Mutex
	region map[string]string
	writes map[string]int
	fail   map[string]bool // keys whose writes Twilio refuses
}

func (f *fakeRoutes) Write(_ context.Context, a plan.Action, r string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes[a.Key]++
	if f.fail[a.Key] {
		return "", "ie1", errors.New("twilio: invalid (HTTP 400 code 21452)")
	}
	f.region[a.Key] = r
	return r, "ie1", nil
}

func (f *fakeRoutes) Read(_ context.Context, a plan.Action) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.region[a.Key], nil
}

// fakeSignals proves everything and answers gates per cohort from a script.
type fakeSignals struct {
	mu      sync.Mutex
	outcome map[int]signals.Outcome // by gate call number (1-based); default go
	calls   int
}

func (f *fakeSignals) Prove(_ context.Context, in signals.ProveInput) ([]signals.NumberProof, error) {
	var out []signals.NumberProof
	for _, n := range in.Numbers {
		out = append(out, signals.NumberProof{Number: n, Proven: true, TargetCallSID: "CA1"})
	}
	return out, nil
}

func (f *fakeSignals) EvaluateGate(_ context.Context, g workbook.Gate, _ []workbook.Signal, sc signals.Scope) (signals.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	o, ok := f.outcome[f.calls]
	if !ok {
		o = "go"
	}
	return signals.Result{Gate: g.Name, Outcome: o, Reason: fmt.Sprintf("scripted %s over %d numbers", o, len(sc.Numbers)),
		Measurements: []signals.Measurement{{Signal: "s", Source: "calls", Value: 99, Unit: "percent", Sample: 20, Pass: o == "go"}}}, nil
}

func (f *fakeSignals) Baseline(context.Context, region.Region, []string, time.Time, time.Time) (float64, int, error) {
	return 10, 50, nil
}

type rig struct {
	p      *plan.Plan
	snap   *snapshot.Snapshot
	st     store.Store
	routes *fakeRoutes
	sigs   *fakeSignals
}

func newRig(t *testing.T) *rig {
	t.Helper()
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 300, RandSeed: 9, StandbyShare: 1})
	wb, err := workbook.Parse("t.yaml", []byte(fakeWB))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(plan.Input{Snapshot: s, Workbook: wb, Flow: "support", Kind: plan.Failover, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fr := &fakeRoutes{region: map[string]string{}, writes: map[string]int{}, fail: map[string]bool{}}
	for _, a := range p.Actions() {
		fr.region[a.Key] = a.From
	}
	return &rig{p: p, snap: s, st: st, routes: fr, sigs: &fakeSignals{outcome: map[int]signals.Outcome{}}}
}

func (r *rig) engine() *execute.Engine {
	return &execute.Engine{Store: r.st, Router: r.routes, Signals: r.sigs, LeaseTTL: time.Minute, Workers: 8}
}

// lastSteps is every key's last ledger step.
func lastSteps(t *testing.T, st store.Store, run string) map[string]store.Step {
	t.Helper()
	recs, err := st.Actions(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Step{}
	for _, r := range recs {
		out[r.ActionKey] = r.Step
	}
	return out
}

func TestApplyCompletes(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	res, err := r.engine().Apply(ctx, r.p, execute.ApplyOptions{Fresh: r.snap})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != store.RunCompleted || len(res.Cohorts) != 3 {
		t.Fatalf("run %s with %d cohorts (%s); want completed with 3", res.State, len(res.Cohorts), res.Reason)
	}
	steps := lastSteps(t, r.st, res.RunID)
	for _, a := range r.p.Actions() {
		if got := r.routes.region[a.Key]; got != "ie1" {
			t.Errorf("%s routed to %s; want ie1", a.Key, got)
		}
		if steps[a.Key] != store.StepCommitted || r.routes.writes[a.Key] != 1 {
			t.Errorf("%s: last step %s after %d writes; want committed after exactly 1", a.Key, steps[a.Key], r.routes.writes[a.Key])
		}
	}
	// Applying the same plan again is refused: it was applied.
	if _, err := r.engine().Apply(ctx, r.p, execute.ApplyOptions{}); !errors.Is(err, execute.ErrRefused) {
		t.Errorf("second apply of a completed plan: %v; want a refusal", err)
	}
}

func TestNoGoRollsTheCohortBackToTheObservedState(t *testing.T) {
	r := newRig(t)
	r.sigs.outcome[2] = "no_go" // the second cohort's gate
	res, err := r.engine().Apply(context.Background(), r.p, execute.ApplyOptions{Fresh: r.snap})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != store.RunRolledBack || !strings.Contains(res.Reason, "second") {
		t.Fatalf("run %s (%s); want rolled_back naming cohort second", res.State, res.Reason)
	}
	steps := lastSteps(t, r.st, res.RunID)
	for _, c := range r.p.Cohorts {
		for _, a := range c.Actions {
			switch c.Name {
			case "first":
				if r.routes.region[a.Key] != "ie1" || steps[a.Key] != store.StepCommitted {
					t.Errorf("%s (committed cohort): %s, %s; want ie1, committed", a.Key, r.routes.region[a.Key], steps[a.Key])
				}
			case "second":
				if r.routes.region[a.Key] != a.From || steps[a.Key] != store.StepRolledBack {
					t.Errorf("%s (no-go cohort): %s, %s; want %s, rolled_back", a.Key, r.routes.region[a.Key], steps[a.Key], a.From)
				}
			default:
				if r.routes.writes[a.Key] != 0 {
					t.Errorf("%s (later cohort) was written %d times; want never", a.Key, r.routes.writes[a.Key])
				}
			}
		}
	}
}

func TestInconclusivePausesAndResumeFinishes(t *testing.T) {
	r := newRig(t)
	r.sigs.outcome[1] = "inconclusive"
	ctx := context.Background()
	res, err := r.engine().Apply(ctx, r.p, execute.ApplyOptions{Fresh: r.snap})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != store.RunPaused {
		t.Fatalf("run %s (%s); want paused", res.State, res.Reason)
	}
	// A human looked; the gate is judged again on resume and goes.
	res2, err := r.engine().Apply(ctx, r.p, execute.ApplyOptions{RunID: res.RunID})
	if err != nil {
		t.Fatal(err)
	}
	if res2.State != store.RunCompleted || res2.RunID != res.RunID {
		t.Fatalf("resumed run %s is %s; want %s completed", res2.RunID, res2.State, res.RunID)
	}
	for _, a := range r.p.Actions() {
		if r.routes.writes[a.Key] != 1 {
			t.Errorf("%s written %d times across pause and resume; want 1", a.Key, r.routes.writes[a.Key])
		}
	}
}

func TestStalePlanIsRefusedUnlessForced(t *testing.T) {
	r := newRig(t)
	moved := *r.snap
	moved.Numbers = append([]snapshot.Number(nil), r.snap.Numbers...)
	key := r.p.Cohorts[0].Actions[0]
	for i := range moved.Numbers {
		if moved.Numbers[i].PhoneNumber == key.Target {
			moved.Numbers[i].Routing = snapshot.Route{VoiceRegion: "au1", Explicit: true}
		}
	}
	_, err := r.engine().Apply(context.Background(), r.p, execute.ApplyOptions{Fresh: &moved})
	var stale *execute.StaleError
	if !errors.As(err, &stale) || !errors.Is(err, execute.ErrRefused) || !strings.Contains(err.Error(), key.Target) {
		t.Fatalf("got %v; want a stale-plan refusal naming %s", err, key.Target)
	}
	if n := len(r.routes.writes); n != 0 {
		t.Fatalf("a refused apply wrote %d routes", n)
	}
	res, err := r.engine().Apply(context.Background(), r.p, execute.ApplyOptions{Fresh: &moved, Force: true})
	if err != nil || res.State != store.RunCompleted || len(res.Drift) != 1 {
		t.Fatalf("forced: %v, %+v; want completed with the drift recorded", err, res)
	}
}

func TestLeaseHeldByAnotherRunIsRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.st.AcquireLease(ctx, "flow:support", "other-run@host/1", time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := r.engine().Apply(ctx, r.p, execute.ApplyOptions{Fresh: r.snap})
	if !errors.Is(err, execute.ErrRefused) || !strings.Contains(err.Error(), "other-run") {
		t.Fatalf("got %v; want a refusal naming the holder", err)
	}
	if n := len(r.routes.writes); n != 0 {
		t.Fatalf("a refused apply wrote %d routes", n)
	}
}

func TestCrashMidFlipResumesWithoutRepeatingWrites(t *testing.T) {
	for _, step := range []store.Step{store.StepIntended, store.StepApplied, store.StepRouted, store.StepCommitted} {
		t.Run(string(step), func(t *testing.T) {
			r := newRig(t)
			ctx, cancel := context.WithCancel(context.Background())
			n := 0
			var mu sync.Mutex
			e := r.engine()
			e.Workers = 1
			// The "crash": after the 7th record of the step, everything
			// stops as if the process died (the context is gone).
			e.Failpoint = func(s string) {
				mu.Lock()
				defer mu.Unlock()
				if s == string(step) {
					if n++; n == 7 {
						cancel()
					}
				}
			}
			res, err := e.Apply(ctx, r.p, execute.ApplyOptions{Fresh: r.snap})
			if err == nil {
				t.Fatalf("apply survived the crash: %+v", res)
			}
			// The run is still running; a new process resumes it. Leases
			// of the dead process are released by its deferred stop here;
			// the emulator crash tests cover expiry.
			res, err = r.engine().Apply(context.Background(), r.p, execute.ApplyOptions{})
			if err != nil || res.State != store.RunCompleted {
				t.Fatalf("resume: %v, %+v", err, res)
			}
			recs, _ := r.st.Actions(context.Background(), res.RunID)
			applied := map[string]int{}
			for _, rec := range recs {
				if rec.Step == store.StepApplied {
					applied[rec.ActionKey]++
				}
			}
			for _, a := range r.p.Actions() {
				if r.routes.region[a.Key] != "ie1" {
					t.Errorf("%s ends in %s; want ie1", a.Key, r.routes.region[a.Key])
				}
				if w := r.routes.writes[a.Key]; w > 1 && applied[a.Key] > 1 {
					t.Errorf("%s: %d writes and %d applied records: a committed write was sent twice", a.Key, w, applied[a.Key])
				}
				if w := r.routes.writes[a.Key]; w > 2 || w == 0 {
					t.Errorf("%s written %d times", a.Key, w)
				}
			}
		})
	}
}

func TestPauseAskedMidRunStopsAtTheNextSafePoint(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	e := r.engine()
	e.OnEvent = func(ev execute.Event) {
		if ev.Type == "cohort_committed" && ev.Cohort == "first" {
			if err := e.Pause(ctx, ev.Run); err != nil {
				t.Errorf("pause: %v", err)
			}
		}
	}
	res, err := e.Apply(ctx, r.p, execute.ApplyOptions{Fresh: r.snap})
	if err != nil || res.State != store.RunPaused || len(res.Cohorts) != 1 {
		t.Fatalf("got %v, %+v; want paused after the first cohort", err, res)
	}
	st, err := e.Status(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cohorts[0].Step != store.StepCommitted || st.Cohorts[1].Steps["pending"] != st.Cohorts[1].Actions {
		t.Errorf("status after pause: %+v", st.Cohorts)
	}
	e.OnEvent = nil
	res, err = e.Apply(ctx, r.p, execute.ApplyOptions{RunID: res.RunID})
	if err != nil || res.State != store.RunCompleted {
		t.Fatalf("resume: %v, %+v", err, res)
	}
}

func TestRollbackOfACompletedRun(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	res, err := r.engine().Apply(ctx, r.p, execute.ApplyOptions{Fresh: r.snap})
	if err != nil || res.State != store.RunCompleted {
		t.Fatal(err, res)
	}
	if _, err := r.engine().Rollback(ctx, res.RunID, ""); err != nil {
		t.Fatal(err)
	}
	for _, a := range r.p.Actions() {
		if got := r.routes.region[a.Key]; got != a.From {
			t.Errorf("%s: %s after rollback; want %s", a.Key, got, a.From)
		}
	}
	run, _ := r.st.GetRun(ctx, res.RunID)
	if run.State != store.RunRolledBack {
		t.Errorf("run state %s; want rolled_back", run.State)
	}
}

func TestTheRunIsInTheAuditChain(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	key, err := signing.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := &audit.Log{Store: r.st, Key: key, CheckpointEvery: 2}
	e := r.engine()
	e.Audit, e.Actor = log, "Ada"
	res, err := e.Apply(ctx, r.p, execute.ApplyOptions{Fresh: r.snap})
	if err != nil || res.State != store.RunCompleted {
		t.Fatal(err, res)
	}
	recs, err := r.st.AuditRecords(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, rec := range recs {
		kinds = append(kinds, rec.Kind)
		if rec.Subject != res.RunID || rec.Actor != "Ada" {
			t.Errorf("entry %d is about %q by %q; want run %s by Ada", rec.Seq, rec.Subject, rec.Actor, res.RunID)
		}
	}
	want := []string{"run.started", "run.cohort", "run.cohort", "run.cohort", "run.finished"}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("audit kinds %v; want %v", kinds, want)
	}
	rep, err := log.Verify(ctx, map[string]ed25519.PublicKey{key.ID(): key.Public})
	if err != nil || !rep.OK || rep.Checkpoints == 0 {
		t.Errorf("verify: %+v, %v; want an intact, checkpointed chain", rep, err)
	}
}
