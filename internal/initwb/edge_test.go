package initwb_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
)

// messy is an account whose names do not line up with its handlers: one
// prefix on two handlers, a prefix inside another, default friendly names,
// a number with no handler, a trunk no number uses and a SIP domain on a
// flow's host.
func messy() *snapshot.Snapshot {
	res := &snapshot.RegionResources{
		Applications: []snapshot.Application{{SID: "AP1", FriendlyName: "ivr", VoiceURL: "https://us1.ivr.example/voice"}},
		Trunks: []snapshot.Trunk{
			{SID: "TK1", DomainName: "pbx.pstn.twilio.com"},
			{SID: "TK2", DomainName: "spare.pstn.twilio.com"},
		},
		SIPDomains: []snapshot.SIPDomain{{SID: "SD1", DomainName: "desk.sip.twilio.com", VoiceURL: "https://hooks.example/sip"}},
	}
	app := func() *snapshot.NumberRecord { return &snapshot.NumberRecord{VoiceApplicationSID: "AP1"} }
	hook := func() *snapshot.NumberRecord { return &snapshot.NumberRecord{VoiceURL: "https://hooks.example/voice"} }
	num := func(e164, name string, rec *snapshot.NumberRecord) snapshot.Number {
		n := snapshot.Number{PhoneNumber: e164, FriendlyName: name, Records: map[string]*snapshot.NumberRecord{}}
		if rec != nil {
			n.Records["us1"] = rec
		}
		return n
	}
	return &snapshot.Snapshot{
		Format: snapshot.Format, TakenAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), AccountSID: "AC00000000000000000000000000000001",
		Regions: []string{"us1", "ie1"}, Resources: map[string]*snapshot.RegionResources{"us1": res},
		Numbers: []snapshot.Number{
			num("+14155550001", "support-001", app()),
			num("+14155550002", "support-002", app()),
			num("+14155550003", "support-003", app()),
			num("+14155550004", "support-004", hook()), // same prefix, other handler
			num("+14155550005", "support-vip-001", &snapshot.NumberRecord{TrunkSID: "TK1"}),
			num("+14155550006", "(415) 555-0006", hook()), // default friendly name
			num("+14155550007", "+14155550007", hook()),
			num("+14155550008", "lab-001", nil),                                           // no record in the primary
			num("+14155550009", "reception-001", &snapshot.NumberRecord{TrunkSID: "TK1"}), // shares support-vip's trunk
		},
	}
}

func TestDraftMessyAccount(t *testing.T) {
	s := messy()
	wb, b := draft(t, s, region.US1, region.IE1)
	want := map[string]string{
		"+14155550001": "support",
		"+14155550002": "support",
		"+14155550003": "support",
		"+14155550004": "support-hooks-example",
		"+14155550005": "support-vip",
		"+14155550006": "hooks-example",
		"+14155550007": "hooks-example",
		"+14155550008": "lab",
		"+14155550009": "reception",
	}
	got := flowsOf(t, wb, s)
	for n, f := range want {
		if got[n] != f {
			t.Errorf("%s is in flow %q, want %q", n, got[n], f)
		}
	}
	flows := map[string]int{}
	for i, f := range wb.Flows {
		flows[f.Name] = i
	}
	sup := wb.Flows[flows["support"]]
	if len(sup.Selectors.FriendlyNamePrefix) != 1 || sup.Selectors.FriendlyNamePrefix[0] != "support-" {
		t.Errorf("support selectors = %+v", sup.Selectors)
	}
	// "support-" would also select support-vip-001: the draft lists it.
	// Two flows on one trunk: the trunk is listed once (the parse checks it).
	if vip := wb.Flows[flows["support-vip"]]; len(vip.Numbers) != 1 || len(vip.Trunks) != 0 {
		t.Errorf("support-vip = %+v", vip)
	}
	if rec := wb.Flows[flows["reception"]]; len(rec.Trunks) != 1 || rec.Trunks[0] != "pbx.pstn.twilio.com" {
		t.Errorf("reception = %+v", rec)
	}
	if !bytes.Contains(b, []byte("is listed under flow reception")) {
		t.Errorf("the shared trunk is not explained:\n%s", b)
	}
	if hooks := wb.Flows[flows["hooks-example"]]; len(hooks.Numbers) != 2 || len(hooks.Selectors.FriendlyNamePrefix) != 0 {
		t.Errorf("hooks-example = %+v", hooks)
	}
	if other := wb.Flows[flows["support-hooks-example"]]; len(other.Numbers) != 1 || len(other.Selectors.FriendlyNamePrefix) != 0 ||
		len(other.SIPDomains) != 0 {
		t.Errorf("support-hooks-example = %+v", other)
	}
	// The SIP domain shares the hooks.example host; the spare trunk is unassigned.
	domainFlow, trunkFlow := "", ""
	for _, f := range wb.Flows {
		for _, d := range f.SIPDomains {
			if d == "desk.sip.twilio.com" {
				domainFlow = f.Name
			}
		}
		for _, tr := range f.Trunks {
			if tr == "spare.pstn.twilio.com" {
				trunkFlow = f.Name
			}
		}
	}
	if domainFlow == "" || domainFlow == "unassigned" || trunkFlow != "unassigned" {
		t.Errorf("desk.sip.twilio.com in %q, spare trunk in %q", domainFlow, trunkFlow)
	}
	if lab := wb.Flows[flows["lab"]]; len(lab.Cohorts) != 1 || lab.Cohorts[0].Name != "all" {
		t.Errorf("a one-number flow should have a single cohort: %+v", lab.Cohorts)
	}
	if !bytes.Contains(b, []byte("no voice handler")) {
		t.Errorf("the unrouted number's flow is not explained:\n%s", b)
	}
}
