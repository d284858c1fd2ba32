package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/notify"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/schedule"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/workbook"
)

// TestDrillScheduleCommand shows the example workbook's drills against a
// history where the live support drill ran an hour ago and the
// contact-center tabletop never ran.
func TestDrillScheduleCommand(t *testing.T) {
	ended := time.Now().Add(-time.Hour)
	db := scheduleTestDB(t, []store.Drill{{ID: "d1", Flow: "support", Name: "support-quarterly", Kind: "live", Scenario: "primary-voice-down",
		Outcome: "passed", StartedAt: ended.Add(-20 * time.Minute), EndedAt: ended}}, nil)
	wb := "../../examples/voicedr.yaml"
	out, err := runDrillSubcmd(newDrillScheduleCmd, nil, "--workbook", wb, "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	for _, want := range [][]string{{"support-quarterly", "quarterly", "ok, due in"}, {"contact-center-tabletop", "never", "OVERDUE: never run"}} {
		if !slices.ContainsFunc(lines, func(l string) bool {
			return strings.Contains(l, want[0]) && strings.Contains(l, want[1]) && strings.Contains(l, want[2])
		}) {
			t.Errorf("no line with %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "1 overdue") {
		t.Errorf("output lacks the overdue count:\n%s", out)
	}

	out, err = runDrillSubcmd(newDrillScheduleCmd, nil, "--workbook", wb, "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ds []schedule.Due
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	type row struct {
		Name           string
		Overdue, Never bool
		Last           bool
	}
	var got []row
	for _, d := range ds {
		got = append(got, row{d.Drill.Name, d.Overdue, d.Never, d.Last.Equal(ended)})
	}
	want := []row{{"support-quarterly", false, false, true}, {"contact-center-tabletop", true, true, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("--json (-want +got):\n%s", diff)
	}

	var ee *ExitError
	if _, err := runDrillSubcmd(newDrillScheduleCmd, nil, "--workbook", wb, "--db", db, "--flow", "nope"); !errors.As(err, &ee) || ee.Code != ExitUsage {
		t.Errorf("unknown flow: err = %v, want exit %d", err, ExitUsage)
	}
	if _, err := runDrillSubcmd(newDrillScheduleCmd, nil, "--workbook", wb, "--db", filepath.Join(t.TempDir(), "none.db")); !errors.As(err, &ee) || ee.Code != ExitUsage {
		t.Errorf("missing database: err = %v, want exit %d", err, ExitUsage)
	}
}

// webhookSink is a webhook notification target that records the events it
// receives.
type webhookSink struct {
	mu     sync.Mutex
	events []map[string]any
}

func (s *webhookSink) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		s.mu.Lock()
		s.events = append(s.events, m)
		s.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestServeDrillScheduler is serve's wiring: without a tabletop runner
// every due drill becomes a drill.due notification; with one, the due
// tabletop runs (and records itself) and only the live drill is announced.
func TestServeDrillScheduler(t *testing.T) {
	ctx := context.Background()
	wb := &workbook.Workbook{Drills: []workbook.Drill{
		{Name: "cc-tabletop", Flow: "contact-center", Kind: "tabletop", Cadence: "monthly"},
		{Name: "support-live", Flow: "support", Kind: "live", Cadence: "annual", Cohort: "drill"},
	}, Notifications: []workbook.Notification{{Name: "ops", Type: notify.TypeWebhook, URL: region.EnvRef("OPS_HOOK")}}}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "voicedr.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := &globals{stdout: io.Discard, stderr: io.Discard, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	tick := func(run func(ctx context.Context, g *globals, wb *workbook.Workbook, st store.Store, d workbook.Drill) error) []map[string]any {
		t.Helper()
		sink := &webhookSink{}
		srv := sink.start(t)
		n := &notify.Notifier{Targets: wb.Notifications, Getenv: func(string) string { return srv.URL }, Logger: g.logger}
		n.Start(ctx)
		saved := runScheduledTabletop
		runScheduledTabletop = run
		defer func() { runScheduledTabletop = saved }()
		s := newDrillScheduler(ctx, g, wb, db, n, &audit.Log{Store: db}, time.Hour)
		if err := s.Tick(ctx, now); err != nil {
			t.Fatal(err)
		}
		if err := n.Close(ctx); err != nil {
			t.Fatal(err)
		}
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.events
	}
	summary := func(events []map[string]any) []string {
		var out []string
		for _, e := range events {
			fields, _ := e["fields"].(map[string]any)
			out = append(out, e["event"].(string)+" "+e["dedup_key"].(string)+" "+fields["command"].(string))
		}
		slices.Sort(out)
		return out
	}

	got := summary(tick(nil))
	want := []string{
		"drill.due drill:cc-tabletop voicedr drill --flow contact-center --kind tabletop --scenario primary-voice-down",
		"drill.due drill:support-live voicedr drill --flow support --kind live --scenario primary-voice-down",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("without a runner (-want +got):\n%s", diff)
	}

	var ran []string
	got = summary(tick(func(ctx context.Context, _ *globals, _ *workbook.Workbook, st store.Store, d workbook.Drill) error {
		ran = append(ran, d.Name)
		return st.SaveDrill(ctx, store.Drill{ID: "t1", Flow: d.Flow, Name: d.Name, Kind: d.Kind, StartedAt: now, EndedAt: now.Add(time.Minute)})
	}))
	if diff := cmp.Diff(want[1:], got); diff != "" {
		t.Errorf("with a runner, notifications (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cc-tabletop"}, ran); diff != "" {
		t.Errorf("with a runner, runs (-want +got):\n%s", diff)
	}
}
