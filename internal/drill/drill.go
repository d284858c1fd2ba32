// Package drill rehearses a flow's failover: tabletop drills against an
// in-process emulated copy of the account (its webhooks rewritten to
// in-process sample apps, so nothing leaves loopback) under a scenario's
// faults and traffic (package scenario), running the real decision → plan
// → approvals → apply → validation path; and live drills that move only
// the workbook's drill cohort in the real account and fail it back. Each
// drill ends in a report (package report), stored with the drill so
// history and evidence can find it.
package drill

import (
	_ "embed"
	"os"
	"path/filepath"

	"github.com/voicedr/voicedr/internal/scenario"
)

// Outcomes a drill ends with (the scenario package owns the vocabulary,
// since scenarios expect them).
const (
	OutcomeCompleted   = scenario.OutcomeCompleted
	OutcomeRolledBack  = scenario.OutcomeRolledBack
	OutcomePaused      = scenario.OutcomePaused
	OutcomeFailed      = scenario.OutcomeFailed
	OutcomeRefused     = scenario.OutcomeRefused
	OutcomeNotRestored = scenario.OutcomeNotRestored
	// OutcomeError: the drill itself could not run to its end (bad input,
	// shutdown); it rehearsed nothing, and the schedule does not count it.
	OutcomeError = "error"
)

// drillDir makes a drill's directory, stored absolute so serve and
// evidence find it from any working directory.
func drillDir(root, id string) (string, error) {
	dir, err := filepath.Abs(filepath.Join(root, id))
	if err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// ExampleWorkbook is the demo account's rehearsal workbook (the support
// flow with compressed windows, triggers and a two-person approval).
//
//go:embed example_workbook.yaml
var ExampleWorkbook []byte
