package drill

import (
	"testing"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/scenario"
	"github.com/voicedr/voicedr/internal/store"
)

// TestOutcomeOf: how a run's end maps to a drill's outcome; a completed
// run that was not validated is a failed drill.
func TestOutcomeOf(t *testing.T) {
	for _, c := range []struct {
		res       *execute.Result
		validated bool
		want      string
	}{
		{nil, false, OutcomeRefused},
		{&execute.Result{State: store.RunCompleted}, true, OutcomeCompleted},
		{&execute.Result{State: store.RunCompleted}, false, OutcomeFailed},
		{&execute.Result{State: store.RunRolledBack}, true, OutcomeRolledBack},
		{&execute.Result{State: store.RunPaused}, true, OutcomePaused},
		{&execute.Result{State: store.RunRunning}, true, OutcomeFailed}, // stopped on an error
		{&execute.Result{State: store.RunAborted}, true, OutcomeFailed},
	} {
		if got := outcomeOf(c.res, c.validated); got != c.want {
			t.Errorf("outcomeOf(%+v, validated %v) = %s; want %s", c.res, c.validated, got, c.want)
		}
	}
}

// TestAsExpected: the outcome and every expected gap kind must match.
func TestAsExpected(t *testing.T) {
	rep := &report.Drill{Outcome: OutcomeRolledBack, Gaps: []report.Gap{{Kind: "cohort_no_go"}}}
	for _, c := range []struct {
		ex   scenario.Expect
		want bool
	}{
		{scenario.Expect{}, true},
		{scenario.Expect{Outcome: OutcomeRolledBack}, true},
		{scenario.Expect{Outcome: OutcomeCompleted}, false},
		{scenario.Expect{Outcome: OutcomeRolledBack, Gaps: []string{"cohort_no_go"}}, true},
		{scenario.Expect{Outcome: OutcomeRolledBack, Gaps: []string{"cohort_no_go", "not_detected"}}, false},
	} {
		if got := asExpected(rep, c.ex); got != c.want {
			t.Errorf("asExpected(%+v) = %v; want %v", c.ex, got, c.want)
		}
	}
}
