package readiness_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/workbook"
)

// TestOverdueDrillIsAWarningGap: an overdue drill of the flow is a warning
// gap naming when it last ran, when it was due and the command that runs
// it; it leaves a ready standby ready. Another flow's drill is ignored, and
// without a drill history there is no drill line at all.
func TestOverdueDrillIsAWarningGap(t *testing.T) {
	wb := caseWorkbook()
	wb.Drills = []workbook.Drill{
		{Name: "f-tabletop", Flow: "f", Kind: "tabletop", Cadence: "quarterly"},
		{Name: "f-live", Flow: "f", Kind: "live", Cadence: "annual", Cohort: "drill"},
		{Name: "g-tabletop", Flow: "g", Kind: "tabletop", Cadence: "monthly"},
	}
	o := opts()
	o.DrillsChecked = true
	o.OverdueDrills = []readiness.OverdueDrill{
		{Name: "f-tabletop", Flow: "f", Kind: "tabletop", Cadence: "quarterly",
			Last: time.Date(2025, 10, 31, 9, 0, 0, 0, time.UTC), Due: time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)},
		{Name: "f-live", Flow: "f", Kind: "live", Cadence: "annual", Due: now},
		{Name: "g-tabletop", Flow: "g", Kind: "tabletop", Cadence: "monthly", Due: now},
	}
	rep, err := readiness.Check(readySnapshot(), wb, "f", o)
	if err != nil {
		t.Fatal(err)
	}
	want := []readiness.Gap{
		{Kind: readiness.GapDrillOverdue, Severity: readiness.SeverityWarning, Resource: "drill:f-live",
			Detail:      "live drill f-live (annual) has never been run; it was due 2026-03-01",
			Remediation: "run it: voicedr drill --flow f --kind live --scenario primary-voice-down"},
		{Kind: readiness.GapDrillOverdue, Severity: readiness.SeverityWarning, Resource: "drill:f-tabletop",
			Detail:      "tabletop drill f-tabletop (quarterly) last ran 2025-10-31 and was due 2026-01-31",
			Remediation: "run it: voicedr drill --flow f --kind tabletop --scenario primary-voice-down"},
	}
	if diff := cmp.Diff(want, rep.Gaps); diff != "" {
		t.Errorf("gaps (-want +got):\n%s", diff)
	}
	if !rep.Ready {
		t.Error("overdue drills made the flow not ready; they are warnings")
	}
	wantItem := readiness.Item{ID: "drills", Title: "Drills of the flow are run on their workbook cadence", Checked: 2, Failed: 2,
		Evidence: []string{"workbook#/drills/0", "workbook#/drills/1"}}
	if diff := cmp.Diff(wantItem, drillItem(rep)); diff != "" {
		t.Errorf("drill checklist item (-want +got):\n%s", diff)
	}

	o.OverdueDrills = nil
	rep, err = readiness.Check(readySnapshot(), wb, "f", o)
	if err != nil {
		t.Fatal(err)
	}
	if it := drillItem(rep); !it.Pass || it.Checked != 2 || len(rep.Gaps) != 0 {
		t.Errorf("no overdue drills: item %+v, gaps %v; want a passing item over 2 drills and no gaps", it, rep.Gaps)
	}

	rep, err = readiness.Check(readySnapshot(), wb, "f", opts())
	if err != nil {
		t.Fatal(err)
	}
	if it := drillItem(rep); it.ID != "" {
		t.Errorf("without a drill history the checklist has %+v; want no drill line", it)
	}
}

func drillItem(rep *readiness.Report) readiness.Item {
	for _, it := range rep.Checklist {
		if it.ID == "drills" {
			return it
		}
	}
	return readiness.Item{}
}

// TestOverdueDrillInPackage: the drill line and its gap reach the
// readiness package an auditor reads (checklist.md, gaps.json), and the
// package still verifies.
func TestOverdueDrillInPackage(t *testing.T) {
	wb := caseWorkbook()
	wb.Drills = []workbook.Drill{{Name: "f-tabletop", Flow: "f", Kind: "tabletop", Cadence: "monthly"}}
	o := opts()
	o.DrillsChecked = true
	o.OverdueDrills = []readiness.OverdueDrill{{Name: "f-tabletop", Kind: "tabletop", Cadence: "monthly", Due: now}}
	rep, err := readiness.Check(readySnapshot(), wb, "f", o)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pkg")
	if err := rep.WritePackage(dir); err != nil {
		t.Fatal(err)
	}
	if err := readiness.VerifyPackage(dir); err != nil {
		t.Error(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "checklist.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Drills of the flow are run on their workbook cadence", "drill:f-tabletop",
		"voicedr drill --flow f --kind tabletop --scenario primary-voice-down"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("checklist.md lacks %q:\n%s", want, md)
		}
	}
	var gaps struct{ Gaps []readiness.Gap }
	b, err := os.ReadFile(filepath.Join(dir, "gaps.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &gaps); err != nil {
		t.Fatal(err)
	}
	if len(gaps.Gaps) != 1 || gaps.Gaps[0].Kind != readiness.GapDrillOverdue {
		t.Errorf("gaps.json = %+v, want the one overdue drill", gaps.Gaps)
	}
}
