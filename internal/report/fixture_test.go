package report_test

import (
	"time"

	"github.com/voicedr/voicedr/internal/report"
)

// start is the fixture's injected clock: every time in the fixture is an
// offset from it, so the goldens never depend on when the tests run.
var start = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// at is start plus s seconds.
func at(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }

// fixture is an unattended tabletop drill of the standby-webhook-failing
// scenario: the canary commits, wave-1 fails its gate and is rolled back,
// wave-2 never runs. It has a no-go gate point, a missing measurement,
// stand-ins, gaps, actions, a history of three drills and user text with a
// URL in it, so every section of the report has something to show.
func fixture() *report.Drill {
	return &report.Drill{
		Version: report.Version,
		ID:      "drill-20260314-0900",
		Program: "Acme Support DR",
		Flow:    "support-line",
		Kind:    "tabletop",
		Scenario: report.Scenario{
			Name:        "standby-webhook-failing",
			Description: "us1 voice is down and ie1's webhook answers 500 to 30% of calls; the cohort in flight must roll back.",
		},
		Workbook: report.Workbook{
			Path:      "workbooks/acme.yaml",
			SHA256:    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			GitCommit: "3e1f0c2",
		},
		Primary:    "us1",
		Standby:    "ie1",
		Started:    start,
		Ended:      at(214.6),
		Outcome:    "rolled_back",
		Expected:   "rolled_back",
		AsExpected: true,
		Reason:     "cohort wave-1 failed its gate: error_rate 0.18 >= 0.05",
		RunID:      "run-7f3a",
		RTO: report.RTO{
			ObjectiveSeconds: 300,
			Cohorts: []report.CohortRTO{
				{Name: "canary", Numbers: 5, Started: at(20), Routed: at(24.5), Proven: at(31.2), Decided: at(62), Outcome: "go", RTOSeconds: 62},
				{Name: "wave-1", Numbers: 45, Started: at(70), Routed: at(78.3), Proven: at(85.1), Decided: at(128.4), Outcome: "no_go", RolledBack: true},
				{Name: "wave-2", Numbers: 450, Outcome: "not_run"},
			},
		},
		Timeline: []report.Event{
			{At: at(-1.5), Kind: "fault", Actor: "scenario", Text: "emulator: us1 voice 503; ie1 webhook 500 on 30% of calls"},
			{At: at(0), Kind: "scenario", Text: "scenario standby-webhook-failing started"},
			{At: at(8.2), Kind: "detection", Actor: "trigger:us1-voice-errors", Text: "us1 voice error rate 0.97 over 30s"},
			{At: at(12), Kind: "decision_step", Actor: "alice", Text: "confirmed the primary outage (stand-in)"},
			{At: at(15.3), Kind: "plan", Text: "plan 9f86d081 reviewed: 3 cohorts, 500 numbers"},
			{At: at(17.9), Kind: "approval", Actor: "bob", Text: "approved plan 9f86d081 (stand-in)"},
			{At: at(20), Kind: "cohort_started", Cohort: "canary", Text: "moving 5 numbers to ie1"},
			{At: at(24.5), Kind: "cohort_routed", Cohort: "canary", Text: "5 of 5 numbers route to ie1"},
			{At: at(31.2), Kind: "proof", Cohort: "canary", Text: "12 calls landed in ie1"},
			{At: at(62), Kind: "gate", Cohort: "canary", Text: "go: error_rate 0.008 < 0.05"},
			{At: at(62.1), Kind: "cohort_committed", Cohort: "canary", Text: "canary committed"},
			{At: at(70), Kind: "cohort_started", Cohort: "wave-1", Text: "moving 45 numbers to ie1"},
			{At: at(78.3), Kind: "cohort_routed", Cohort: "wave-1", Text: "45 of 45 numbers route to ie1"},
			{At: at(85.1), Kind: "proof", Cohort: "wave-1", Text: "40 calls landed in ie1"},
			{At: at(128.4), Kind: "gate", Cohort: "wave-1", Text: "no-go: error_rate 0.18 >= 0.05"},
			{At: at(140.2), Kind: "cohort_rolled_back", Cohort: "wave-1", Text: "45 numbers back on us1"},
			{At: at(141), Kind: "run_ended", Text: "rolled back"},
		},
		Calls: report.Calls{
			Source: "emulator ledger", Placed: 1240, Lost: 31, Fallback: 17,
			Phases: []report.Phase{
				{Name: "before the move", Placed: 310},
				{Name: "during the move", Placed: 620, Lost: 29, Fallback: 17},
				{Name: "after the move", Placed: 310, Lost: 2},
			},
		},
		Gates: []report.GateSeries{
			{
				Gate: "error-rate", Signal: "error_rate", Op: "<", Threshold: 0.05,
				Points: []report.Point{
					{At: at(45), Cohort: "canary", Value: 0.012, Sample: 48, Pass: true},
					{At: at(62), Cohort: "canary", Value: 0.008, Sample: 121, Pass: true},
					{At: at(100), Cohort: "wave-1", Value: 0.09, Sample: 35},
					{At: at(128.4), Cohort: "wave-1", Value: 0.18, Sample: 210},
				},
			},
			{
				Gate: "answer-latency", Signal: "p95_answer_ms", Op: "<=", Threshold: 1500, Unit: "ms",
				Points: []report.Point{
					{At: at(45), Cohort: "canary", Value: 820, Sample: 48, Pass: true},
					{At: at(62), Cohort: "canary", Missing: "no answered calls in the window"},
					{At: at(128.4), Cohort: "wave-1", Value: 910, Sample: 190, Pass: true},
				},
			},
		},
		Gaps: []report.Gap{
			{Source: "drill", Kind: "standby_webhook_failing", Severity: "error", Resource: "number:+15005550006",
				Text: "ie1 webhook https://ie1.app.acme.example/voice answers 500 to 30% of calls"},
			{Source: "readiness", Kind: "key_expiring", Severity: "warning", Resource: "key:SK0123",
				Text: "the ie1 API key expires in 12 days"},
		},
		Actions: []report.Action{
			{ID: "A-1", Title: "Fix the ie1 webhook's 500s under load", Owner: "carol@acme.example", Status: "open"},
			{ID: "A-2", Title: "Rehearse wave-1's gate with the support team", Owner: "dave", Status: "open"},
		},
		StandIns: []report.StandIn{
			{Person: "alice", Role: "incident commander", Step: "confirm primary outage"},
			{Person: "bob", Role: "approver", Step: "approval"},
		},
		History: []report.HistoryPoint{
			{DrillID: "drill-20250910-0900", At: time.Date(2025, 9, 10, 9, 0, 0, 0, time.UTC), Kind: "tabletop",
				Scenario: "primary-voice-down", Outcome: "completed", RTOSeconds: 240, CallsLost: 12, GapsOpen: 3},
			{DrillID: "drill-20251211-0900", At: time.Date(2025, 12, 11, 9, 0, 0, 0, time.UTC), Kind: "live",
				Scenario: "primary-api-down", Outcome: "completed", RTOSeconds: 210.5, CallsLost: 8, GapsOpen: 2},
			{DrillID: "drill-20260314-0900", At: start, Kind: "tabletop",
				Scenario: "standby-webhook-failing", Outcome: "rolled_back", CallsLost: 31, GapsOpen: 2},
		},
		Notes: []string{
			"Run unattended by the scheduler; approvals were recorded by stand-ins.",
			"Runbook: https://wiki.acme.example/dr/support-line",
		},
	}
}

// userURLs are the URLs the fixture's own text carries: the only ones the
// HTML may contain, and only as text.
var userURLs = []string{
	"https://ie1.app.acme.example/voice",
	"https://wiki.acme.example/dr/support-line",
}
