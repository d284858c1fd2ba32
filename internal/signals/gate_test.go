package signals_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// The workbook's signals as a team would declare them for a flow.
var (
	answered  = workbook.Signal{Name: "answered", Source: "calls"}
	callCount = workbook.Signal{Name: "calls", Source: "calls", Params: map[string]string{"measure": "count"}}
	failures  = workbook.Signal{Name: "webhook_failures", Source: "alerts"}
	synthetic = workbook.Signal{Name: "synthetic", Source: "synthetic"}
	allSigs   = []workbook.Signal{answered, callCount, failures, synthetic}
)

func cond(sig, op string, v float64, unit string) workbook.Condition {
	return workbook.Condition{Signal: sig, Threshold: workbook.Threshold{Op: op, Value: v, Unit: unit}}
}

// healthyGate is the usual cohort gate: callers are answered and the
// standby's webhooks do not fail.
func healthyGate(window time.Duration, minSample int) workbook.Gate {
	return workbook.Gate{Name: "cohort-1", Window: workbook.Duration(window), MinSample: minSample, Conditions: []workbook.Condition{
		cond("answered", ">=", 99, "percent"), cond("webhook_failures", "<=", 0, "count"),
	}}
}

func (w *world) scope(since time.Time) signals.Scope {
	return signals.Scope{Flow: "sales", Target: region.IE1, Old: region.US1, Numbers: w.numbers, Since: since,
		Webhooks: []string{w.apps[region.IE1].url("/voice"), w.apps[region.IE1].url("/fallback")}}
}

// outcomes lists a result's measurements as signal → pass, for messages.
func finals(r signals.Result) map[string]signals.Measurement {
	m := map[string]signals.Measurement{}
	for _, x := range r.Measurements {
		m[x.Signal] = x
	}
	return m
}

// TestGateGoWithHealthyStandby: live traffic to the moved numbers is
// answered by the healthy standby app, so the gate goes, with a series of
// evaluations behind the decision.
func TestGateGoWithHealthyStandby(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 4, twilioemu.Options{})
	since := w.flip(t, region.IE1, w.numbers...)
	if err := w.emu.StartTraffic(&twilioemu.Traffic{Version: twilioemu.TrafficVersion, CallsPerSecond: 20,
		Numbers: twilioemu.TrafficNumbers{List: w.numbers}, For: twilioemu.Duration(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.emu.StopTraffic)
	got, err := signals.EvaluateGate(t.Context(), w.env(), healthyGate(2*time.Second, 5), allSigs, w.scope(since))
	if err != nil {
		t.Fatalf("EvaluateGate: %v", err)
	}
	if got.Outcome != signals.Go {
		t.Fatalf("outcome %s (%s), want go; measurements %+v", got.Outcome, got.Reason, got.Measurements)
	}
	f := finals(got)
	if m := f["answered"]; m.Value != 100 || m.Unit != "percent" || m.Sample < 5 || !m.Pass {
		t.Errorf("answered = %+v, want 100 percent on at least 5 calls", m)
	}
	if m := f["webhook_failures"]; m.Value != 0 || m.Sample < 5 {
		t.Errorf("webhook_failures = %+v, want 0 on at least 5 calls", m)
	}
	if len(got.Series) <= len(got.Measurements) {
		t.Errorf("series has %d points for %d conditions, want several evaluations", len(got.Series), len(got.Measurements))
	}
}

// TestGateNoGoWhenStandbyWebhookFails: the standby app's webhook and
// fallback fail. The calls still read "completed" (Twilio answers with its
// error message), so only the 11200 alerts show the failure: completed_percent
// must subtract them, and the alert count already above its bound decides
// no_go without waiting out the window.
func TestGateNoGoWhenStandbyWebhookFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3, twilioemu.Options{})
	w.setMode(t, region.IE1, sampleapp.Mode{Voice: sampleapp.Fail, Fallback: sampleapp.Fail, Slow: sampleapp.Duration(time.Second), Healthy: true})
	since := w.flip(t, region.IE1, w.numbers...)
	for _, n := range w.numbers {
		if out := w.call(t, n); out.Status != "completed" || out.Outcome != twilioemu.OutcomeAppError {
			t.Fatalf("call to %s: %+v, want an app error whose log reads completed", n, out)
		}
	}
	// The decision must come from the first evaluation: sleeping towards
	// the end of the minute is a failure.
	env := w.env()
	env.Sleep = func(context.Context, time.Duration) error {
		return errors.New("the gate waited instead of deciding no_go at once")
	}
	got, err := signals.EvaluateGate(t.Context(), env, healthyGate(time.Minute, 3), allSigs, w.scope(since))
	if err != nil {
		t.Fatalf("EvaluateGate: %v", err)
	}
	if got.Outcome != signals.NoGo || !contains(got.Reason, "webhook_failures") {
		t.Fatalf("outcome %s (%s), want no_go on webhook_failures", got.Outcome, got.Reason)
	}
	f := finals(got)
	if m := f["answered"]; m.Value != 0 || m.Sample != 3 || m.Pass {
		t.Errorf("answered = %+v, want 0 percent of 3 calls: completed calls with 11200 alerts are failures", m)
	}
	if m := f["webhook_failures"]; m.Value != 6 || m.Sample != 3 || m.Pass {
		t.Errorf("webhook_failures = %+v, want 6 alerts (webhook and fallback of 3 calls)", m)
	}
}

// TestGateInconclusive: no traffic and no caller ID, or a target region
// whose API does not answer, is never go.
func TestGateInconclusive(t *testing.T) {
	t.Parallel()
	t.Run("no traffic and no caller ID", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, 2, twilioemu.Options{})
		since := w.flip(t, region.IE1, w.numbers...)
		got, err := signals.EvaluateGate(t.Context(), w.env(), healthyGate(time.Second, 1), allSigs, w.scope(since))
		if err != nil {
			t.Fatalf("EvaluateGate: %v", err)
		}
		if got.Outcome != signals.Inconclusive || !contains(got.Reason, "no caller ID") || got.SyntheticPlaced != 0 {
			t.Errorf("outcome %s (%s), %d synthetic; want inconclusive saying no caller ID, none placed", got.Outcome, got.Reason, got.SyntheticPlaced)
		}
	})
	t.Run("target region down", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, 2, twilioemu.Options{})
		since := w.flip(t, region.IE1, w.numbers...)
		for _, n := range w.numbers {
			w.call(t, n)
		}
		w.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "ie1", Product: "*", Down: "503"}}})
		got, err := signals.EvaluateGate(t.Context(), w.env(), healthyGate(time.Second, 1), allSigs, w.scope(since))
		if err != nil {
			t.Fatalf("EvaluateGate: %v", err)
		}
		if got.Outcome != signals.Inconclusive {
			t.Fatalf("outcome %s (%s), want inconclusive", got.Outcome, got.Reason)
		}
		for _, m := range got.Measurements {
			if m.Missing == "" || !contains(m.Missing, "ie1") {
				t.Errorf("%s: missing %q, want it to name ie1", m.Signal, m.Missing)
			}
		}
	})
}

// TestGateSyntheticCallsMakeUpTheSample: with no live traffic but a caller
// ID, the gate places synthetic calls through the target until it has its
// sample, and they are answered there.
func TestGateSyntheticCallsMakeUpTheSample(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, twilioemu.Options{})
	since := w.flip(t, region.IE1, w.numbers...)
	sc := w.scope(since)
	sc.CallerID, sc.Synthetic, sc.CallsPerSecond = callerID, w.numbers, 50
	g := healthyGate(3*time.Second, 3)
	g.Conditions = append(g.Conditions, cond("synthetic", ">=", 1, "ratio"))
	got, err := signals.EvaluateGate(t.Context(), w.env(), g, allSigs, sc)
	if err != nil {
		t.Fatalf("EvaluateGate: %v", err)
	}
	if got.Outcome != signals.Go {
		t.Fatalf("outcome %s (%s), want go; measurements %+v", got.Outcome, got.Reason, got.Measurements)
	}
	if got.SyntheticPlaced < 3 || got.SyntheticSeen != got.SyntheticPlaced {
		t.Errorf("synthetic placed %d seen %d, want at least 3, all seen", got.SyntheticPlaced, got.SyntheticSeen)
	}
	if m := finals(got)["synthetic"]; m.Value != 1 || m.Sample != got.SyntheticPlaced {
		t.Errorf("synthetic = %+v, want ratio 1 on every placed call", m)
	}
}

// TestGateSyntheticCallsNeverSeenFail: synthetic calls that never reach the
// target (here Twilio keeps them queued: the account's call rate is used
// up) are failures, not a missing sample.
func TestGateSyntheticCallsNeverSeenFail(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, twilioemu.Options{CallsPerSecond: -1})
	since := w.flip(t, region.IE1, w.numbers...)
	sc := w.scope(since)
	sc.CallerID, sc.Synthetic, sc.CallsPerSecond = callerID, w.numbers, 50
	g := workbook.Gate{Name: "synthetic-only", Window: workbook.Duration(time.Second), MinSample: 1,
		Conditions: []workbook.Condition{cond("synthetic", ">=", 100, "percent")}}
	got, err := signals.EvaluateGate(t.Context(), w.env(), g, allSigs, sc)
	if err != nil {
		t.Fatalf("EvaluateGate: %v", err)
	}
	want := signals.Measurement{Signal: "synthetic", Source: "synthetic", Value: 0, Unit: "percent",
		Sample: got.SyntheticPlaced, Threshold: g.Conditions[0].Threshold}
	if diff := cmp.Diff([]signals.Measurement{want}, got.Measurements, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".At" }, cmp.Ignore())); diff != "" {
		t.Errorf("measurements (-want +got):\n%s", diff)
	}
	if got.Outcome != signals.NoGo || got.SyntheticPlaced < 1 || got.SyntheticSeen != 0 {
		t.Errorf("outcome %s (%s), placed %d seen %d; want no_go with calls placed and none seen", got.Outcome, got.Reason, got.SyntheticPlaced, got.SyntheticSeen)
	}
}

// TestGatePrometheus: a customer metric scraped from the standby sample
// app's /metrics, a Prometheus server's instant query, and an unreachable
// endpoint (missing, so inconclusive).
func TestGatePrometheus(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, twilioemu.Options{})
	since := w.flip(t, region.IE1, w.numbers...)
	for _, n := range append(w.numbers, w.numbers...) {
		w.call(t, n)
	}
	prom := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" || r.URL.Query().Get("query") != "sum(rate(errors[1m]))" {
			http.Error(rw, `{"status":"error","error":"unexpected query"}`, http.StatusBadRequest)
			return
		}
		rw.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.25"]}]}}`))
	}))
	t.Cleanup(prom.Close)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()

	for _, tc := range []struct {
		name, url, query string
		threshold        workbook.Threshold
		want             signals.Outcome
		value            float64
	}{
		{"scrape", w.apps[region.IE1].url("/metrics"), `voicedr_sampleapp_requests_total{region="ie1",endpoint="voice",outcome="ok"}`,
			workbook.Threshold{Op: ">=", Value: 4, Unit: "count"}, signals.Go, 4},
		{"scrape histogram count", w.apps[region.IE1].url("/metrics"), `voicedr_sampleapp_request_duration_seconds_count{endpoint="voice"}`,
			workbook.Threshold{Op: ">=", Value: 4, Unit: "count"}, signals.Go, 4},
		{"instant query", prom.URL, "sum(rate(errors[1m]))", workbook.Threshold{Op: "<", Value: 0.1, Unit: "ratio"}, signals.NoGo, 0.25},
		{"unreachable", dead.URL + "/metrics", "up", workbook.Threshold{Op: ">=", Value: 1, Unit: "count"}, signals.Inconclusive, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := workbook.Signal{Name: "app", Source: "prometheus", Query: tc.query, Params: map[string]string{"url": tc.url}}
			// MinSample is about calls: a customer metric has none and must
			// not be made inconclusive by it.
			g := workbook.Gate{Name: "app", Window: workbook.Duration(time.Second), MinSample: 50,
				Conditions: []workbook.Condition{{Signal: "app", Threshold: tc.threshold}}}
			got, err := signals.EvaluateGate(t.Context(), w.env(), g, []workbook.Signal{sig}, w.scope(since))
			if err != nil {
				t.Fatalf("EvaluateGate: %v", err)
			}
			if got.Outcome != tc.want || got.Measurements[0].Value != tc.value {
				t.Errorf("outcome %s (%s) value %v, want %s with %v", got.Outcome, got.Reason, got.Measurements[0].Value, tc.want, tc.value)
			}
		})
	}
}

// TestBaseline: the inbound rate to the flow's numbers in a window,
// leaving out other numbers and the test calls' outbound parents.
func TestBaseline(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3, twilioemu.Options{})
	start := time.Now().Add(-time.Minute)
	for range 2 {
		for _, n := range w.numbers {
			w.call(t, n)
		}
	}
	w.call(t, callerID) // not a flow number
	perMinute, sample, err := signals.Baseline(t.Context(), w.env(), region.US1, w.numbers, start, start.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("Baseline: %v", err)
	}
	if sample != 6 || perMinute != 3 {
		t.Errorf("baseline %v/min on %d calls, want 3/min on 6", perMinute, sample)
	}
}

// TestGateInsights: Voice Insights summaries of the flow's calls in the
// standby; in a region where Insights does not answer (Advanced Features
// off) the value is missing and the gate inconclusive, not failed.
func TestGateInsights(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, twilioemu.Options{})
	since := w.flip(t, region.IE1, w.numbers...)
	for _, n := range w.numbers {
		w.call(t, n)
	}
	for _, tc := range []struct {
		name   string
		region region.Region
		want   signals.Outcome
	}{{"standby", "", signals.Go}, {"insights off", region.US1, signals.Inconclusive}} {
		t.Run(tc.name, func(t *testing.T) {
			sig := workbook.Signal{Name: "insights", Source: "insights", Region: tc.region}
			g := workbook.Gate{Name: "insights", Window: workbook.Duration(time.Second), MinSample: 2,
				Conditions: []workbook.Condition{cond("insights", ">=", 0.99, "ratio")}}
			got, err := signals.EvaluateGate(t.Context(), w.env(), g, []workbook.Signal{sig}, w.scope(since))
			if err != nil {
				t.Fatalf("EvaluateGate: %v", err)
			}
			if got.Outcome != tc.want {
				t.Errorf("outcome %s (%s), want %s; measurements %+v", got.Outcome, got.Reason, tc.want, got.Measurements)
			}
		})
	}
}
