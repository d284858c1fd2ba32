package cli

import (
	"testing"

	"github.com/voicedr/voicedr/internal/drill"
	"github.com/voicedr/voicedr/internal/report"
)

// TestDrillExit: a scenario's expectation decides the exit code when it
// states one; otherwise the outcome maps to the usual codes.
func TestDrillExit(t *testing.T) {
	for _, c := range []struct {
		rep  report.Drill
		want int
	}{
		{report.Drill{Expected: drill.OutcomeRolledBack, Outcome: drill.OutcomeRolledBack, AsExpected: true}, ExitOK},
		{report.Drill{Expected: drill.OutcomeCompleted, Outcome: drill.OutcomeRolledBack}, ExitFailed},
		{report.Drill{Outcome: drill.OutcomeCompleted}, ExitOK},
		{report.Drill{Outcome: drill.OutcomePaused}, ExitNeedsHuman},
		{report.Drill{Outcome: drill.OutcomeRolledBack}, ExitNoGo},
		{report.Drill{Outcome: drill.OutcomeRefused}, ExitRefused},
		{report.Drill{Outcome: drill.OutcomeNotRestored}, ExitFailed},
		{report.Drill{Outcome: drill.OutcomeFailed}, ExitFailed},
	} {
		if got := drillExit(&c.rep); got != c.want {
			t.Errorf("drillExit(outcome %s, expected %q) = %d; want %d", c.rep.Outcome, c.rep.Expected, got, c.want)
		}
	}
}
