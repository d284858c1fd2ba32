package readiness_test

import (
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// now is the injected clock of every test: attestations expire against it.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func opts() readiness.Options { return readiness.Options{Now: func() time.Time { return now }} }

// generatedWorkbook covers every number the generator makes: its flows are
// named by friendly-name prefix, and the SIP domain belongs to support.
func generatedWorkbook() *workbook.Workbook {
	wb := &workbook.Workbook{Version: 1, Program: "test", Regions: []workbook.RegionProfile{
		{Profile: region.Profile{Region: region.US1, Edge: "ashburn"}, Role: workbook.RolePrimary},
		{Profile: region.Profile{Region: region.IE1, Edge: "dublin"}, Role: workbook.RoleStandby},
	}}
	for _, p := range []string{"support", "sales", "contact-center", "dispatch", "billing", "marketing"} {
		f := workbook.Flow{Name: p, Criticality: "critical", Selectors: workbook.Selectors{FriendlyNamePrefix: []string{p + "-"}}}
		if p == "support" {
			f.SIPDomains = []string{"acme-agents.sip.twilio.com"}
		}
		wb.Flows = append(wb.Flows, f)
	}
	return wb
}

type key struct{ Kind, Region, Resource string }

func sortKeys(ks []key) {
	sort.Slice(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Resource < b.Resource
	})
}

// TestGeneratedAccountGapsEqualPlanted is the golden test: over every flow,
// readiness finds exactly the standby gaps the generator planted, no more
// (false alarms) and no fewer (blind spots).
func TestGeneratedAccountGapsEqualPlanted(t *testing.T) {
	for _, seed := range []uint64{1, 7, 42} {
		s, planted := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 400, RandSeed: seed})
		wb := generatedWorkbook()
		var want, got []key
		for _, g := range planted.Gaps {
			if g.Region == planted.Standby { // the rest are posture's (primary region) findings
				want = append(want, key{g.Kind, g.Region, g.Resource})
			}
		}
		numbers := 0
		for _, f := range wb.Flows {
			rep, err := readiness.Check(s, wb, f.Name, opts())
			if err != nil {
				t.Fatal(err)
			}
			numbers += rep.Numbers
			for _, g := range rep.Gaps {
				got = append(got, key{g.Kind, g.Region, g.Resource})
				if g.Remediation == "" || g.Severity == "" {
					t.Errorf("seed %d: gap %+v lacks a severity or remediation", seed, g)
				}
			}
			if rep.Ready != (rep.Errors() == 0) {
				t.Errorf("seed %d flow %s: ready %v with %d errors", seed, f.Name, rep.Ready, rep.Errors())
			}
		}
		if numbers != 400 {
			t.Fatalf("seed %d: flows cover %d numbers, want 400", seed, numbers)
		}
		if len(want) == 0 {
			t.Fatalf("seed %d: generator planted no standby gaps", seed)
		}
		sortKeys(want)
		sortKeys(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("seed %d: gaps (-planted +found):\n%s", seed, diff)
		}
	}
}

// TestExampleWorkbookChecksDemoAccount runs the documented example workbook
// against the generated demo account, as the README's quickstart does.
func TestExampleWorkbookChecksDemoAccount(t *testing.T) {
	wb, err := workbook.Load("../../examples/voicedr.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 400, RandSeed: 1})
	rep, err := readiness.Check(s, wb, "sales", opts())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Numbers == 0 || rep.Ready {
		t.Fatalf("sales: %d numbers, ready %v; want numbers and not ready (sales-ivr is missing in ie1)", rep.Numbers, rep.Ready)
	}
	if got := rep.GapCounts()[readiness.GapAppMissing]; got != 1 {
		t.Errorf("app_missing gaps = %d, want 1", got)
	}
	if _, err := readiness.Check(s, wb, "nope", opts()); err == nil {
		t.Error("unknown flow: no error")
	}
}
