package initwb_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/voicedr/voicedr/internal/initwb"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

var update = flag.Bool("update", false, "rewrite testdata/draft.golden.yaml from the current output")

func generated(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 300, RandSeed: 1})
	return s
}

func draft(t *testing.T, s *snapshot.Snapshot, primary, standby region.Region) (*workbook.Workbook, []byte) {
	t.Helper()
	b, err := initwb.Draft(s, primary, standby)
	if err != nil {
		t.Fatalf("Draft: %v", err)
	}
	wb, err := workbook.Parse("draft.yaml", b)
	if err != nil {
		t.Fatalf("the draft does not parse:\n%v\n--- draft ---\n%s", err, b)
	}
	return wb, b
}

// flowsOf maps every number of s to its flow, failing on a number no flow covers.
func flowsOf(t *testing.T, wb *workbook.Workbook, s *snapshot.Snapshot) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, n := range s.Numbers {
		f, ok := wb.FlowOf(n)
		if !ok {
			t.Errorf("%s (%s) is in no flow", n.PhoneNumber, n.FriendlyName)
			continue
		}
		got[n.PhoneNumber] = f
	}
	return got
}

func TestDraftGeneratedAccount(t *testing.T) {
	s := generated(t)
	wb, b := draft(t, s, region.US1, region.IE1)

	golden := filepath.Join("testdata", "draft.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("draft differs from %s (run go test -update after checking the change):\n%s", golden, b)
	}

	// Every number lands in the flow named after the generator's prefix.
	flows := flowsOf(t, wb, s)
	for _, n := range s.Numbers {
		prefix := n.FriendlyName[:strings.LastIndex(n.FriendlyName, "-")]
		if flows[n.PhoneNumber] != prefix {
			t.Errorf("%s (%s) is in flow %q, want %q", n.PhoneNumber, n.FriendlyName, flows[n.PhoneNumber], prefix)
		}
	}
	var names []string
	for _, f := range wb.Flows {
		if len(f.Selectors.FriendlyNamePrefix) > 0 || len(f.Numbers) > 0 {
			names = append(names, f.Name)
		}
	}
	if got, want := strings.Join(names, ","), "billing,contact-center,dispatch,marketing,sales,support"; got != want {
		t.Errorf("number flows = %s, want %s", got, want)
	}

	// Selectors, not lists: the generated names all carry a prefix.
	trunks := map[string]string{}
	for _, f := range wb.Flows {
		if len(f.Numbers) > 0 {
			t.Errorf("flow %s lists %d numbers; selectors should cover them", f.Name, len(f.Numbers))
		}
		for _, tr := range f.Trunks {
			trunks[tr] = f.Name
		}
		if len(f.Selectors.FriendlyNamePrefix) == 0 {
			continue
		}
		if f.Criticality != "medium" || f.RTO.String() != "15m0s" {
			t.Errorf("flow %s: criticality %s rto %s, want medium 15m", f.Name, f.Criticality, f.RTO)
		}
		if len(f.Cohorts) != 2 || f.Cohorts[0].Name != "canary" || f.Cohorts[1].Name != "rest" ||
			len(f.Cohorts[0].Numbers) < 1 || len(f.Cohorts[0].Numbers) > 5 ||
			f.Cohorts[1].Share == nil || *f.Cohorts[1].Share != 1 {
			t.Errorf("flow %s: cohorts %+v, want canary (1-5 numbers) then rest share 1", f.Name, f.Cohorts)
			continue
		}
		for _, c := range f.Cohorts[0].Numbers {
			if flows[c] != f.Name {
				t.Errorf("flow %s: canary %s belongs to flow %q", f.Name, c, flows[c])
			}
		}
	}
	if trunks["acme-cc.pstn.twilio.com"] != "contact-center" || trunks["acme-dispatch.pstn.twilio.com"] != "dispatch" {
		t.Errorf("trunks by flow = %v", trunks)
	}

	var primary, standby *workbook.RegionProfile
	for i := range wb.Regions {
		switch wb.Regions[i].Role {
		case workbook.RolePrimary:
			primary = &wb.Regions[i]
		case workbook.RoleStandby:
			standby = &wb.Regions[i]
		}
	}
	if primary == nil || standby == nil || primary.Region != region.US1 || standby.Region != region.IE1 {
		t.Fatalf("regions = %+v", wb.Regions)
	}
	if standby.APIKey != "env:TWILIO_IE1_API_KEY" || standby.AuthToken != "env:TWILIO_IE1_AUTH_TOKEN" {
		t.Errorf("standby credentials = %q %q", standby.APIKey, standby.AuthToken)
	}
	if !strings.HasPrefix(standby.App.VoiceURL, "https://ie1.") {
		t.Errorf("standby voice_url = %q, want the primary's with ie1 for us1", standby.App.VoiceURL)
	}
	if wb.Governance.Approval.Policy != "none" {
		t.Errorf("approval policy = %q, want none", wb.Governance.Approval.Policy)
	}
	for _, c := range []string{"# TODO: your standby endpoint", "# TODO: review", "friendly_name_prefix: [support-]"} {
		if !bytes.Contains(b, []byte(c)) {
			t.Errorf("draft lacks %q", c)
		}
	}
}

func TestDraftDeterministic(t *testing.T) {
	a, err := initwb.Draft(generated(t), region.US1, region.IE1)
	if err != nil {
		t.Fatal(err)
	}
	s := generated(t)
	// Order of the input must not matter either.
	sort.Slice(s.Numbers, func(i, j int) bool { return s.Numbers[i].PhoneNumber > s.Numbers[j].PhoneNumber })
	b, err := initwb.Draft(s, region.US1, region.IE1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two drafts of the same account differ")
	}
}

func TestDraftOtherPrimary(t *testing.T) {
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 120, RandSeed: 7, Primary: region.IE1, Standby: region.AU1})
	wb, b := draft(t, s, region.IE1, region.AU1)
	if len(flowsOf(t, wb, s)) != len(s.Numbers) {
		t.Errorf("not every number is covered")
	}
	if !bytes.Contains(b, []byte("env:TWILIO_AU1_API_SECRET")) || !bytes.Contains(b, []byte("https://au1.")) {
		t.Errorf("standby au1 not drafted:\n%s", b)
	}
}

func TestDraftErrors(t *testing.T) {
	s := generated(t)
	for _, tc := range []struct{ p, s region.Region }{{region.US1, region.US1}, {"xx9", region.IE1}, {region.US1, ""}} {
		if _, err := initwb.Draft(s, tc.p, tc.s); err == nil {
			t.Errorf("Draft(%q, %q) = nil error", tc.p, tc.s)
		}
	}
	if _, err := initwb.Draft(nil, region.US1, region.IE1); err == nil {
		t.Error("Draft(nil) = nil error")
	}
}

func TestPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"support-001":        "support-",
		"contact-center-042": "contact-center-",
		"sales7":             "sales",
		"sales-east":         "sales-",
		"support":            "",
		"":                   "",
		"(415) 555-0100":     "",
		"+14155550100":       "",
		"-001":               "",
	} {
		if got := initwb.Prefix(in); got != want {
			t.Errorf("Prefix(%q) = %q, want %q", in, got, want)
		}
	}
}
