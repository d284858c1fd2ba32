package drill_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/drill"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/scenario"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// account is a generated account whose standby is complete, as stored by
// voicedr readiness before the drill.
func account(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 200, RandSeed: 7, StandbyShare: 1, TakenAt: time.Now().Add(-time.Hour)})
	return s
}

func exampleWorkbook(t testing.TB) *workbook.Workbook {
	t.Helper()
	wb, err := workbook.Parse("example_workbook.yaml", drill.ExampleWorkbook)
	if err != nil {
		t.Fatal(err)
	}
	return wb
}

func runTabletop(t *testing.T, snap *snapshot.Snapshot, name string, extra ...string) *drill.Outcome {
	t.Helper()
	text, err := scenario.LibraryFile(name)
	if err != nil {
		t.Fatal(err)
	}
	text = append(text, strings.Join(extra, "")...)
	sc, err := scenario.Parse(name+".yaml", text)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "voicedr.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tt := &drill.Tabletop{Workbook: exampleWorkbook(t), Flow: "support", Scenario: sc, ScenarioText: text,
		Snapshot: snap, Store: st, Dir: dir, Warmup: 2 * time.Second,
		Progress: func(ev report.Event) {
			t.Logf("%s %-16s %-8s %s %s", ev.At.Format("15:04:05.000"), ev.Kind, ev.Cohort, ev.Actor, ev.Text)
		}}
	out, err := tt.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTabletopReachesNothingBeyondLoopback: the stored snapshot's webhooks
// point at a customer endpoint (here a loopback server standing in for
// one); a whole tabletop drill of a primary voice outage sends it nothing,
// every connection the drill opened was to loopback, none was refused, and
// the drill completes as the scenario expects.
func TestTabletopReachesNothingBeyondLoopback(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	customer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer customer.Close()
	snap := account(t)
	snap.RewriteWebhooks(func(_ string, _ snapshot.WebhookKind, u string) string {
		return customer.URL + "/" + strings.TrimPrefix(u, "https://")
	})

	// A timed event mid-drill (the same outage, noted), so the timed-event
	// path runs under the race detector too.
	out := runTabletop(t, snap, "primary-voice-down", `events:
  - after: 4s
    note: the outage goes on
    faults:
      version: 1
      regions: [{region: primary, product: voice, down: "503"}]
`)
	rep := out.Report
	if hits.Load() != 0 {
		t.Errorf("the customer's endpoint got %d requests from a tabletop drill; want 0", hits.Load())
	}
	if len(out.Network.Refused) != 0 {
		t.Errorf("the drill tried to reach %v; want loopback only", out.Network.Refused)
	}
	for addr := range out.Network.Dialed {
		if strings.HasSuffix(customer.URL, addr) {
			t.Errorf("the drill dialed the customer's endpoint %s", addr)
		}
	}
	if len(out.Network.Dialed) == 0 {
		t.Error("the guard saw no connection: the drill's traffic did not go through it")
	}
	if rep.Outcome != drill.OutcomeCompleted || !rep.AsExpected {
		t.Fatalf("outcome %s (as expected %v, reason %q); want completed", rep.Outcome, rep.AsExpected, rep.Reason)
	}
	if !slices.ContainsFunc(rep.Timeline, func(e report.Event) bool { return e.Kind == "fault" && e.Text == "the outage goes on" }) {
		t.Error("the timed scenario event is not on the timeline")
	}
	if rep.Calls.Placed == 0 || rep.Calls.Phases[2].Lost != 0 {
		t.Errorf("calls %+v; want calls placed and none lost after the move", rep.Calls)
	}
	if !rep.RTO.Met || rep.RTO.OverallSeconds <= 0 || len(rep.RTO.Cohorts) != 3 {
		t.Errorf("RTO %+v; want three cohorts recovered within the objective", rep.RTO)
	}
}
