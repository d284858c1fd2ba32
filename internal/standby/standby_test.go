package standby_test

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/standby"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/twilioemu/emutest"
	"github.com/voicedr/voicedr/internal/workbook"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// account runs an emulator seeded with a generated account over loopback and
// returns a client set reaching it the way voicedr reaches Twilio.
func account(tb testing.TB, numbers int, seed uint64) *twilio.Set {
	return emutest.Start(tb, numbers, nil, twilio.Options{Limits: twilio.Limits{Rate: 100000}}, twilioemu.GenerateOptions{RandSeed: seed}).Set
}

// generatedWorkbook covers every number the generator makes, as the
// readiness tests build it: flows by friendly-name prefix, the SIP domain in
// support.
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

func read(t *testing.T, set *twilio.Set) *snapshot.Snapshot {
	t.Helper()
	s, err := inventory.Read(t.Context(), set, inventory.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func check(t *testing.T, s *snapshot.Snapshot, wb *workbook.Workbook, flow string) *readiness.Report {
	t.Helper()
	rep, err := readiness.Check(s, wb, flow, readiness.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func plan(t *testing.T, s *snapshot.Snapshot, wb *workbook.Workbook, flow string) *standby.Plan {
	t.Helper()
	p, err := standby.MakePlan(s, wb, flow)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// routing is every routing entry that was set explicitly: what standby
// provisioning must never change.
func routing(s *snapshot.Snapshot) map[string]snapshot.Route {
	out := map[string]snapshot.Route{}
	for _, n := range s.Numbers {
		out[n.PhoneNumber] = n.Routing
	}
	for _, r := range s.TrunkRouting {
		if r.Explicit {
			out["trunk:"+r.Key] = r
		}
	}
	for _, r := range s.SIPDomainRouting {
		if r.Explicit {
			out["sip:"+r.Key] = r
		}
	}
	return out
}

// TestApplyClosesReadinessGaps is the acceptance test: on a
// generated account every flow has gaps; plan and apply each; a fresh read
// is ready for every flow, a second plan is empty, and routing is unchanged.
func TestApplyClosesReadinessGaps(t *testing.T) {
	set := account(t, 300, 5)
	wb := generatedWorkbook()
	before := read(t, set)
	for _, f := range wb.Flows {
		if rep := check(t, before, wb, f.Name); len(rep.Gaps) == 0 {
			t.Errorf("flow %s: the generator plants gaps in every flow, readiness found none", f.Name)
		}
		p := plan(t, before, wb, f.Name)
		if p.Empty() {
			t.Errorf("flow %s: plan is empty, want actions", f.Name)
		}
		if len(p.Manual) != 0 && f.Name != "support" {
			t.Errorf("flow %s: manual actions %+v; the generator seeds every list in ie1", f.Name, p.Manual)
		}
		res, err := standby.Apply(t.Context(), set, p, standby.ApplyOptions{})
		if err != nil {
			t.Fatalf("flow %s: apply: %v", f.Name, err)
		}
		if got, want := len(res.Done), len(p.Actions); got != want {
			t.Errorf("flow %s: %d actions done, want %d", f.Name, got, want)
		}
	}
	after := read(t, set)
	for _, f := range wb.Flows {
		rep := check(t, after, wb, f.Name)
		if len(rep.Gaps) != 0 {
			t.Errorf("flow %s: gaps left after apply: %+v", f.Name, rep.Gaps)
		}
		if p := plan(t, after, wb, f.Name); !p.Empty() {
			t.Errorf("flow %s: second plan is not empty: %+v", f.Name, p.Actions)
		}
	}
	if diff := cmp.Diff(routing(before), routing(after)); diff != "" {
		t.Errorf("routing changed (-before +after):\n%s", diff)
	}
}

// TestApplyAfterPartialApplyConverges applies the first half of a plan (as
// if the process died there), then the whole plan: creates are reconciled
// by name, so nothing exists twice and the flow ends ready.
func TestApplyAfterPartialApplyConverges(t *testing.T) {
	set := account(t, 300, 9)
	wb := generatedWorkbook()
	for _, flow := range []string{"sales", "dispatch"} {
		before := read(t, set)
		p := plan(t, before, wb, flow)
		half := *p
		half.Actions = p.Actions[:len(p.Actions)/2]
		if _, err := standby.Apply(t.Context(), set, &half, standby.ApplyOptions{}); err != nil {
			t.Fatalf("%s: partial apply: %v", flow, err)
		}
		res, err := standby.Apply(t.Context(), set, p, standby.ApplyOptions{Concurrency: 4})
		if err != nil {
			t.Fatalf("%s: full apply: %v", flow, err)
		}
		present := 0
		for _, d := range res.Done {
			if d.Outcome == standby.Present {
				present++
			}
		}
		if present == 0 {
			t.Errorf("%s: the full apply found nothing the partial one had created", flow)
		}
		after := read(t, set)
		if rep := check(t, after, wb, flow); len(rep.Gaps) != 0 {
			t.Errorf("%s: gaps left: %+v", flow, rep.Gaps)
		}
		ie1 := after.Resources["ie1"]
		count := map[string]int{}
		for _, a := range ie1.Applications {
			count["app:"+a.FriendlyName]++
		}
		for _, tr := range ie1.Trunks {
			count["trunk:"+tr.DomainName]++
			urls := map[string]int{}
			for _, o := range tr.OriginationURLs {
				if urls[o.SIPURL]++; urls[o.SIPURL] > 1 {
					t.Errorf("%s: trunk %s has origination URL %s twice", flow, tr.DomainName, o.SIPURL)
				}
			}
			if len(tr.IPAccessControlLists) != 1 || len(tr.CredentialLists) != 1 {
				t.Errorf("%s: trunk %s lists %v %v, want one of each", flow, tr.DomainName, tr.IPAccessControlLists, tr.CredentialLists)
			}
		}
		for k, n := range count {
			if n != 1 {
				t.Errorf("%s: %s exists %d times in ie1, want 1", flow, k, n)
			}
		}
	}
}

// TestPlanNeedsManualActionForMissingList removes a list from the standby:
// the plan must say so and never create it (it would need secrets).
func TestPlanNeedsManualActionForMissingList(t *testing.T) {
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 100, RandSeed: 3})
	s.Resources["ie1"].CredentialLists = nil
	p := plan(t, s, generatedWorkbook(), "dispatch")
	var got []string
	for _, m := range p.Manual {
		got = append(got, m.Region+" "+m.Resource)
	}
	if diff := cmp.Diff([]string{"ie1 acme-agents"}, got); diff != "" {
		t.Errorf("manual (-want +got):\n%s", diff)
	}
	for _, a := range p.Actions {
		if a.Kind == standby.KindTrunkCred {
			t.Errorf("plan attaches a list the standby lacks: %s", a.Key)
		}
	}
	var buf bytes.Buffer
	if err := p.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+ trunk:ie1:acme-dispatch.pstn.twilio.com", "Needs manual action (1)", "secret store", "to create"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestPlanRoundTripsAsJSON: the reviewed file is what apply reads.
func TestPlanRoundTripsAsJSON(t *testing.T) {
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 100, RandSeed: 3})
	p := plan(t, s, generatedWorkbook(), "sales")
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := standby.ReadPlan(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := standby.ReadPlan(strings.NewReader(`{"format":"other"}`)); err == nil {
		t.Errorf("a plan of another format is accepted")
	}
}

// TestPlanMapsWorkbookEndpoints: a created app takes the standby's workbook
// endpoint where the primary's URL is the primary's workbook endpoint, and
// the primary's own URL otherwise (the workbook does not say where it runs).
func TestPlanMapsWorkbookEndpoints(t *testing.T) {
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 100, RandSeed: 3})
	wb := generatedWorkbook()
	wb.Regions[0].App = workbook.AppEndpoints{VoiceURL: "https://us1.sales.acme.example/voice"}
	wb.Regions[1].App = workbook.AppEndpoints{VoiceURL: "https://ie1.sales.acme.example/voice"}
	p := plan(t, s, wb, "sales")
	want := &standby.AppSpec{FriendlyName: "sales-ivr",
		VoiceURL: "https://ie1.sales.acme.example/voice", VoiceMethod: "POST",
		VoiceFallbackURL: "https://us1.fallback.sales.acme.example/fallback", VoiceFallbackMethod: "POST",
		StatusCallback: "https://us1.sales.acme.example/status", StatusCallbackMethod: "POST"}
	if len(p.Actions) == 0 || p.Actions[0].Key != "app:ie1:sales-ivr" || p.Actions[0].Op != standby.OpCreate {
		t.Fatalf("first action %+v, want create app:ie1:sales-ivr", p.Actions)
	}
	if diff := cmp.Diff(want, p.Actions[0].App); diff != "" {
		t.Errorf("app spec (-want +got):\n%s", diff)
	}
	for _, a := range p.Actions[1:] {
		if a.Kind != standby.KindNumber || a.Number.App != "sales-ivr" {
			t.Errorf("action %s: want numbers joining sales-ivr", a.Key)
		}
	}
}

// TestApplyStopsAtTheFirstError: with trunking down in the standby, apply
// fails with the classified Twilio error and reports what it did.
func TestApplyStopsAtTheFirstError(t *testing.T) {
	emu := twilioemu.New(twilioemu.Options{RandSeed: 4,
		Faults: &twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "ie1", Product: "trunking", Down: "503"}}}})
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 50, RandSeed: 4})
	p := plan(t, s, generatedWorkbook(), "dispatch")
	if err := emu.Seed(s); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	pool, err := twilio.NewPool(twilio.Options{Endpoint: srv.URL, Limits: twilio.Limits{Rate: 100000}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	set, err := twilio.NewSet(pool, emu.Profile(region.IE1))
	if err != nil {
		t.Fatal(err)
	}
	res, err := standby.Apply(t.Context(), set, p, standby.ApplyOptions{})
	var te *twilio.Error
	if !errors.As(err, &te) || te.Region != region.IE1 || te.Kind != twilio.KindUnavailable {
		t.Fatalf("err = %v, want ie1 unavailable", err)
	}
	if !strings.Contains(err.Error(), p.Actions[0].Key) {
		t.Errorf("error %q does not name the failed action %s", err, p.Actions[0].Key)
	}
	if len(res.Done) != 0 {
		t.Errorf("done = %+v, want nothing", res.Done)
	}
}

// TestPlanFillsAMissingStatusCallback: a URL-routed standby record that
// lacks only the primary's status callback gets just that field.
func TestPlanFillsAMissingStatusCallback(t *testing.T) {
	set := account(t, 120, 9)
	wb := generatedWorkbook()
	s := read(t, set)
	target := ""
	for _, n := range s.Numbers {
		p, sb := n.Records["us1"], n.Records["ie1"]
		if p != nil && sb != nil && p.VoiceURL != "" && sb.VoiceURL != "" && sb.VoiceFallbackURL != "" && p.StatusCallback != "" {
			sb.StatusCallback, target = "", n.PhoneNumber
			break
		}
	}
	if target == "" {
		t.Fatal("the generated account has no configured URL-routed standby record")
	}
	flow, _ := wb.FlowOf(numberOf(s, target))
	if rep := check(t, s, wb, flow); rep.GapCounts()[readiness.GapStandbyNoStatusCallback] != 1 {
		t.Fatalf("readiness gaps %v, want one missing status callback", rep.GapCounts())
	}
	p := plan(t, s, wb, flow)
	var got *standby.Action
	for i := range p.Actions {
		if p.Actions[i].Key == "number:ie1:"+target {
			got = &p.Actions[i]
		}
	}
	if got == nil || got.Number.StatusCallback == "" || got.Number.VoiceURL != "" || got.Number.VoiceFallbackURL != "" {
		t.Fatalf("action for %s: %+v, want only the status callback set", target, got)
	}
}

func numberOf(s *snapshot.Snapshot, e164 string) snapshot.Number {
	for _, n := range s.Numbers {
		if n.PhoneNumber == e164 {
			return n
		}
	}
	return snapshot.Number{}
}
