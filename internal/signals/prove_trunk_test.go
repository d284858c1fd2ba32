package signals_test

import (
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
	routes "github.com/twilio/twilio-go/rest/routes/v2"
	trunking "github.com/twilio/twilio-go/rest/trunking/v1"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// TestProveTrunkAndSIPDomainFlips: a trunk's termination routing is proven
// by calls from the customer's SBC into the trunk's termination URI landing
// in the target region (logged there with that region's trunk SID), and a
// SIP domain's by calls to sip:...@domain; before the flip they land in the
// old region and prove nothing.
func TestProveTrunkAndSIPDomainFlips(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, twilioemu.Options{})
	const trunk, domain = "acme-cc.pstn.twilio.com", "acme-agents.sip.twilio.com"
	for _, r := range []region.Region{region.US1, region.IE1} {
		c, _ := w.set.Get(r)
		if _, err := c.Trunking(t.Context()).CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName(trunk)); err != nil {
			t.Fatal(err)
		}
		p := new(api.CreateSipDomainParams).SetDomainName(domain).SetVoiceUrl(w.apps[r].url("/voice"))
		if _, err := c.API(t.Context()).CreateSipDomain(p); err != nil {
			t.Fatal(err)
		}
	}
	sbc := func() {
		t.Helper()
		if _, err := w.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "+442071838750", From: "+14155550100", TrunkDomain: trunk}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "agent7", From: "+14155550100", SIPDomain: domain}); err != nil {
			t.Fatal(err)
		}
	}
	prove := func(kind, key string, since time.Time) signals.NumberProof {
		t.Helper()
		got, err := signals.Prove(t.Context(), w.env(), signals.ProveInput{Kind: kind, Numbers: []string{key},
			Target: region.IE1, Old: region.US1, Since: since, Wait: 300 * time.Millisecond, Interval: 50 * time.Millisecond,
			CallerID: callerID})
		if err != nil {
			t.Fatal(err)
		}
		return got[0]
	}
	before := time.Now()
	sbc() // still routed to us1
	if p := prove(signals.KindTrunk, trunk, before); p.Proven || p.TestCalls != 0 {
		t.Errorf("trunk before the flip: %+v; want unproven and no test calls (voicedr cannot call from the SBC)", p)
	}
	us, _ := w.set.Get(region.US1)
	if _, err := us.Routes(t.Context()).UpdateTrunks(trunk, new(routes.UpdateTrunksParams).SetVoiceRegion("ie1")); err != nil {
		t.Fatal(err)
	}
	if _, err := us.Routes(t.Context()).UpdateSipDomain(domain, new(routes.UpdateSipDomainParams).SetVoiceRegion("ie1")); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(time.Second) // after the us1 calls' second
	time.Sleep(time.Until(since))
	sbc()
	if p := prove(signals.KindTrunk, trunk, since); !p.Proven || p.TargetCallSID == "" {
		t.Errorf("trunk after the flip: %+v; want proven by the SBC's call in ie1", p)
	}
	if p := prove(signals.KindSIPDomain, domain, since); !p.Proven {
		t.Errorf("SIP domain after the flip: %+v; want proven", p)
	}
}
