package drill_test

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/drill"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/scenario"
	"github.com/voicedr/voicedr/internal/store/sqlite"
)

// TestAttendedTabletopWaitsForPeople: with Attended, the plan is approved
// by people through the drill's own state.db (as voicedr approve --db
// would), not by stand-ins; the requester's own approval is refused.
func TestAttendedTabletopWaitsForPeople(t *testing.T) {
	t.Parallel()
	sc, text, err := scenario.Load("primary-voice-down")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "voicedr.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wb := exampleWorkbook(t)
	waiting := make(chan [2]string, 1)
	wantWait := regexp.MustCompile(`approve plan \w+: voicedr approve (\w{64}) .* --db (\S+state\.db) `)
	tt := &drill.Tabletop{Workbook: wb, Flow: "support", Scenario: sc, ScenarioText: text, Snapshot: account(t), Store: st,
		Dir: dir, Warmup: 2 * time.Second, Attended: time.Minute, As: "Otto Operator",
		Progress: func(ev report.Event) {
			if m := wantWait.FindStringSubmatch(ev.Text); m != nil {
				waiting <- [2]string{m[1], m[2]}
			}
		}}
	errc := make(chan error, 1)
	go func() {
		// The people: they open the drill's state.db, as voicedr approve
		// --db would, once the drill says what to approve.
		var w [2]string
		select {
		case w = <-waiting:
		case <-time.After(2 * time.Minute):
			errc <- nil
			return
		}
		db, err := sqlite.Open(context.Background(), w[1])
		if err != nil {
			errc <- err
			return
		}
		defer db.Close()
		pol, err := governance.NewPolicy(wb)
		if err != nil {
			errc <- err
			return
		}
		apps := &governance.Approvals{Store: db, Policy: pol}
		if _, err := apps.Record(context.Background(), w[0], "", "Otto Operator", governance.DecisionApprove, ""); err == nil {
			t.Error("the requester approved their own drill plan")
		}
		for _, p := range []string{"Ada Lovelace", "Grace Hopper"} {
			if _, err := apps.Record(context.Background(), w[0], "", p, governance.DecisionApprove, ""); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	out, err := tt.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	rep := out.Report
	if rep.Outcome != drill.OutcomeCompleted {
		t.Fatalf("outcome %s (%s); want completed once people approved", rep.Outcome, rep.Reason)
	}
	if slices.ContainsFunc(rep.StandIns, func(s report.StandIn) bool { return s.Step == "approval" }) {
		t.Errorf("stand-ins %+v: an attended drill's approvals come from people", rep.StandIns)
	}
	for _, p := range []string{"Ada Lovelace", "Grace Hopper"} {
		if !slices.ContainsFunc(rep.Timeline, func(e report.Event) bool {
			return e.Kind == "approval" && e.Actor == p && strings.Contains(e.Text, "approve")
		}) {
			t.Errorf("timeline lacks %s's approval", p)
		}
	}
}
