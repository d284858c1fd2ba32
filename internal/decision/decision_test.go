package decision_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/decision"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/workbook"
)

// edgeTriggers are two triggers on us1 inbound volume, both watching the
// flow "support" over a 1m window (compressed) for 30s.
func edgeTriggers(wb *workbook.Workbook) {
	wb.Signals = append(wb.Signals,
		workbook.Signal{Name: "us1_volume", Source: "calls", Region: "us1", Window: workbook.Duration(time.Minute),
			Params: map[string]string{"measure": "volume_vs_baseline", "baseline_window": "10m"}},
		workbook.Signal{Name: "us1_rate", Source: "calls", Region: "us1", Window: workbook.Duration(time.Minute),
			Params: map[string]string{"measure": "per_minute"}})
	wb.Triggers = append(wb.Triggers,
		workbook.Trigger{Name: "volume_drop", Signal: "us1_volume", Flow: "support", For: workbook.Duration(30 * time.Second),
			Condition: workbook.Threshold{Op: "<", Value: 50, Unit: "percent"}},
		workbook.Trigger{Name: "rate_drop", Signal: "us1_rate", Flow: "support", For: workbook.Duration(30 * time.Second),
			Condition: workbook.Threshold{Op: "<", Value: 1, Unit: "per_minute"}})
}

// TestVoiceDownAtTheEdgeOpensOneDecision: us1 voice fails so inbound calls
// die at the edge and nothing is logged; the volume triggers fire at the
// first evaluation their For has elapsed, and one decision opens.
func TestVoiceDownAtTheEdgeOpensOneDecision(t *testing.T) {
	w := newWorld(t, 3)
	wb := w.workbook()
	edgeTriggers(wb)
	wt := w.watcher(t, wb)

	// Healthy traffic: 6 calls answered in us1 make the baseline.
	for _, o := range w.call(t, 2) {
		if o.Region != "us1" || o.Rejected != "" {
			t.Fatalf("healthy call: got %+v, want processed in us1", o)
		}
	}
	// While the calls are in the window nothing fires, however long.
	for range 5 {
		f, err := wt.EvaluateOnce(t.Context(), w.clock.Now())
		if err != nil || len(f) != 0 {
			t.Fatalf("healthy: got firings %+v, err %v; want none", f, err)
		}
		w.clock.Advance(10 * time.Second)
	}

	w.faults(t, "voice")
	for _, o := range w.call(t, 2) {
		if o.Rejected != "region_down" || o.CallSID != "" {
			t.Fatalf("call while us1 voice is down: got %+v, want it to die at the edge unlogged", o)
		}
	}
	// Step the virtual clock past the healthy calls' window.
	w.clock.Advance(30 * time.Second)

	const step = 10 * time.Second
	var (
		mu      sync.Mutex
		evals   int
		firedAt int
		firings []decision.Firing
	)
	opened := make(chan store.Decision, 4)
	wt.Interval = 20 * time.Millisecond
	wt.OnOpen = func(d store.Decision) { opened <- d }
	wt.OnEvaluate = func(now time.Time, f []decision.Firing, err error) {
		mu.Lock()
		defer mu.Unlock()
		evals++
		if err != nil {
			t.Errorf("evaluation %d: %v", evals, err)
		}
		if len(f) > 0 && firedAt == 0 {
			firedAt = evals
		}
		firings = append(firings, f...)
		w.clock.Advance(step)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- wt.Run(ctx) }()
	var d store.Decision
	select {
	case d = <-opened:
	case <-time.After(20 * time.Second):
		t.Fatal("no decision opened")
	}
	// Let it evaluate a few more times: the triggers stay fired, and no
	// second decision opens.
	for {
		mu.Lock()
		n := evals
		mu.Unlock()
		if n >= firedAt+3 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	// Held at evaluations 1..4 (0s, 10s, 20s, 30s): fires at the 4th, the
	// first one at which For (30s) has elapsed.
	if firedAt != 4 {
		t.Errorf("fired at evaluation %d, want 4 (For 30s at one evaluation per %s)", firedAt, step)
	}
	if len(firings) != 2 {
		t.Fatalf("got %d firings, want 2 (one per trigger, once per episode): %+v", len(firings), firings)
	}
	for _, f := range firings {
		if held := f.At.Sub(f.Since); held < time.Duration(f.For) || held >= time.Duration(f.For)+step {
			t.Errorf("%s: fired after holding %s, want within one evaluation of For %s", f.Trigger, held, f.For)
		}
		if f.Evaluations != 4 || len(f.Evidence) != 4 {
			t.Errorf("%s: evaluations %d, evidence %d; want 4 and 4", f.Trigger, f.Evaluations, len(f.Evidence))
		}
		for _, m := range f.Evidence {
			if !m.Pass || m.Missing != "" || m.Value != 0 || m.Sample != 0 || m.At.IsZero() {
				t.Errorf("%s evidence: got %+v, want a measured 0 on 0 calls that held", f.Trigger, m)
			}
		}
	}
	select {
	case d2 := <-opened:
		t.Errorf("second decision opened: %+v", d2)
	default:
	}
	ds, err := wt.Store.ListDecisions(t.Context(), 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("got decisions %v, err %v; want exactly one", ds, err)
	}
	if d.Flow != "support" || d.State != decision.StepDetection || d.ID != ds[0].ID {
		t.Errorf("got decision %+v, want support at detection", d)
	}
	b, err := decision.ReadBody(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Steps) != 1 || b.Steps[0].Name != decision.StepDetection || b.Steps[0].OwnerRole != "incident_commander" || len(b.Firing.Evidence) == 0 {
		t.Errorf("got body %+v, want the detection step owned by incident_commander with evidence", b)
	}
}

// TestDecisionWalksTheSteps: technical assessment computed, order and
// roles enforced, every change audited and notified.
func TestDecisionWalksTheSteps(t *testing.T) {
	w := newWorld(t, 3)
	wb := w.workbook()
	edgeTriggers(wb)
	wt := w.watcher(t, wb)
	var mu sync.Mutex
	var audited, notified []string
	wt.Audit = func(_ context.Context, kind, actor, subject string, _ any) error {
		mu.Lock()
		defer mu.Unlock()
		audited = append(audited, kind+" "+actor)
		return errors.New("audit log unavailable") // must not fail the decision
	}
	wt.Notify = func(event string, _ store.Decision) {
		mu.Lock()
		defer mu.Unlock()
		notified = append(notified, event)
	}
	ctx := t.Context()
	f := decision.Firing{Trigger: "volume_drop", Flow: "support", Signal: "us1_volume", Source: "calls", Region: "us1",
		Condition: wb.Triggers[0].Condition, For: wb.Triggers[0].For, Since: w.clock.Now(), At: w.clock.Now()}
	d, err := wt.Open(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if d2, err := wt.Open(ctx, f); !errors.Is(err, decision.ErrAlreadyOpen) || d2.ID != d.ID {
		t.Fatalf("second open: got %s, %v; want %s and ErrAlreadyOpen", d2.ID, err, d.ID)
	}
	refuse := func(step, actor string, want error) {
		t.Helper()
		if _, err := wt.Advance(ctx, d.ID, step, actor, "", nil); !errors.Is(err, want) {
			t.Errorf("advance %s by %s: got %v, want %v", step, actor, err, want)
		}
	}
	refuse(decision.StepApproval, "ada", decision.ErrOutOfOrder)
	refuse(decision.StepImpact, "bob", decision.ErrOutOfOrder)
	refuse("launch", "ada", decision.ErrOutOfOrder)

	if d, err = wt.Assess(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	b, _ := decision.ReadBody(d)
	var tech decision.Technical
	if err := json.Unmarshal(b.Steps[1].Data, &tech); err != nil {
		t.Fatal(err)
	}
	if !tech.Ready || !tech.Executable || tech.From != "us1" || tech.To != "ie1" || tech.Actions == 0 || tech.PlanDigest == "" {
		t.Errorf("technical assessment: got %+v, want a ready standby and an executable us1→ie1 plan", tech)
	}
	refuse(decision.StepImpact, "olga", decision.ErrForbidden)    // operator
	refuse(decision.StepImpact, "mallory", decision.ErrForbidden) // not a person
	refuse(decision.StepImpact, decision.SystemActor, decision.ErrForbidden)

	if d, err = wt.Advance(ctx, d.ID, decision.StepImpact, "bob", "queue times will rise", map[string]string{"revenue": "high"}); err != nil {
		t.Fatal(err)
	}
	b, _ = decision.ReadBody(d)
	var impact struct {
		Computed decision.Impact   `json:"computed"`
		Human    map[string]string `json:"human"`
	}
	if err := json.Unmarshal(b.Steps[2].Data, &impact); err != nil {
		t.Fatal(err)
	}
	wantAffected := []string{"inbound calls answered", "call recording", "callback scheduling", "outbound campaigns"}
	if diff := cmp.Diff(wantAffected, impact.Computed.Affected); diff != "" || !impact.Computed.PrimaryFailing || impact.Human["revenue"] != "high" {
		t.Errorf("impact (-want +got): %s; got %+v", diff, impact)
	}
	refuse(decision.StepApproval, "olga", decision.ErrForbidden)
	for _, s := range []struct{ step, actor string }{{decision.StepApproval, "bob"}, {decision.StepExecution, "olga"}, {decision.StepClosed, "ada"}} {
		if d, err = wt.Advance(ctx, d.ID, s.step, s.actor, "", nil); err != nil {
			t.Fatalf("advance %s by %s: %v", s.step, s.actor, err)
		}
	}
	refuse(decision.StepAbandoned, "ada", decision.ErrClosed)
	wt.Wait()

	b, _ = decision.ReadBody(d)
	var got []string
	for _, s := range b.Steps {
		got = append(got, s.Name+" "+s.Actor+" "+s.ActorRole+" owner:"+s.OwnerRole)
	}
	want := []string{
		"detection voicedr voicedr owner:incident_commander",
		"technical_assessment voicedr voicedr owner:incident_commander",
		"business_impact bob business_owner owner:business_owner",
		"approval bob business_owner owner:incident_commander",
		"execution olga operator owner:incident_commander",
		"closed ada incident_commander owner:incident_commander",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	mu.Lock()
	wantAudit := []string{"decision.opened voicedr", "decision.technical_assessment voicedr", "decision.business_impact bob",
		"decision.approval bob", "decision.execution olga", "decision.closed ada"}
	if diff := cmp.Diff(wantAudit, audited); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	if len(notified) != len(wantAudit) {
		t.Errorf("notified %v, want %d events", notified, len(wantAudit))
	}
	mu.Unlock()
	// Closed, the flow can open a new decision.
	if d3, err := wt.Open(ctx, f); err != nil || d3.ID == d.ID {
		t.Errorf("open after close: got %s, %v; want a new decision", d3.ID, err)
	}
}

// TestProbesAndReadinessTriggers: the region's API probe and standby
// readiness lost fire; healthy ones do not.
func TestProbesAndReadinessTriggers(t *testing.T) {
	w := newWorld(t, 2)
	wb := w.workbook()
	wb.Signals = []workbook.Signal{
		{Name: "us1_api", Source: "calls", Region: "us1", Params: map[string]string{"probe": "api", "samples": "2"}},
		{Name: "standby_ready", Source: "calls", Params: map[string]string{"probe": "readiness"}},
	}
	wb.Triggers = []workbook.Trigger{
		{Name: "api_down", Signal: "us1_api", Flow: "support", Condition: workbook.Threshold{Op: "<", Value: 50, Unit: "percent"}},
		{Name: "readiness_lost", Signal: "standby_ready", Flow: "support", Condition: workbook.Threshold{Op: ">", Value: 0, Unit: "count"}},
	}
	wt := w.watcher(t, wb)
	if f, err := wt.EvaluateOnce(t.Context(), w.clock.Now()); err != nil || len(f) != 0 {
		t.Fatalf("healthy: got %+v, %v; want no firing", f, err)
	}
	// Standby readiness lost: ie1 no longer has the number's record.
	wt.Snapshot = w.snapshotFn(dropStandbyRecord)
	f, err := wt.EvaluateOnce(t.Context(), w.clock.Now())
	if err != nil || len(f) != 1 || f[0].Trigger != "readiness_lost" || f[0].Evidence[0].Value < 1 {
		t.Fatalf("readiness lost: got %+v, %v; want readiness_lost fired on the gap count", f, err)
	}
	// The us1 API stops answering: the probe fires (the snapshot cannot be
	// read then, so readiness is missing, which fires nothing).
	w.faults(t, "api")
	if f, err = wt.EvaluateOnce(t.Context(), w.clock.Now()); err != nil || len(f) != 1 || f[0].Trigger != "api_down" {
		t.Fatalf("us1 api down: got %+v, %v; want api_down fired", f, err)
	}
	if m := f[0].Evidence[0]; m.Value != 0 || m.Sample != 2 || m.Unit != "percent" {
		t.Errorf("api probe evidence: got %+v, want 0 percent of 2 samples", m)
	}
}
