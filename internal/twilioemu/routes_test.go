package twilioemu_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
	routes "github.com/twilio/twilio-go/rest/routes/v2"
	trunking "github.com/twilio/twilio-go/rest/trunking/v1"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func buyNumber(t *testing.T, h *harness, r region.Region, e164, voiceURL string) string {
	t.Helper()
	p := new(api.CreateIncomingPhoneNumberParams).SetPhoneNumber(e164)
	if voiceURL != "" {
		p.SetVoiceUrl(voiceURL)
	}
	n, err := h.client(r).Api.CreateIncomingPhoneNumber(p)
	if err != nil {
		t.Fatalf("buy %s in %s: %v", e164, r, err)
	}
	return *n.Sid
}

func TestRoutingIsOneGlobalTable(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 3})
	buyNumber(t, h, region.US1, "+14155550100", "")

	// Never set: 404, which Twilio documents as "routes to us1".
	_, err := h.client(region.US1).RoutesV2.FetchPhoneNumber("+14155550100")
	if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
		t.Fatalf("fetch unset routing = %d/%d, want 404/20404", te.Status, te.Code)
	}
	// An update works even after a 404, written through the ie1 host with ie1 credentials.
	got, err := h.client(region.IE1).RoutesV2.UpdatePhoneNumber("+14155550100", new(routes.UpdatePhoneNumberParams).SetVoiceRegion("ie1").SetFriendlyName("support"))
	if err != nil {
		t.Fatalf("update via ie1: %v", err)
	}
	if *got.VoiceRegion != "ie1" {
		t.Errorf("answer to the write shows %q, want ie1", *got.VoiceRegion)
	}
	// Every region's routes host reads the same table.
	for _, r := range region.All {
		got, err := h.client(r).RoutesV2.FetchPhoneNumber("+14155550100")
		if err != nil {
			t.Fatalf("fetch via %s: %v", r, err)
		}
		if *got.VoiceRegion != "ie1" || *got.FriendlyName != "support" {
			t.Errorf("via %s: voice_region %q friendly %q, want ie1 support", r, *got.VoiceRegion, *got.FriendlyName)
		}
	}
	// Bad region and unowned number.
	_, err = h.client(region.US1).RoutesV2.UpdatePhoneNumber("+14155550100", new(routes.UpdatePhoneNumberParams).SetVoiceRegion("jp1"))
	if te := restError(t, err); te.Status != 400 {
		t.Errorf("VoiceRegion jp1: status %d, want 400", te.Status)
	}
	_, err = h.client(region.US1).RoutesV2.UpdatePhoneNumber("+14155559999", new(routes.UpdatePhoneNumberParams).SetVoiceRegion("ie1"))
	if te := restError(t, err); te.Status != 404 {
		t.Errorf("unowned number: status %d, want 404", te.Status)
	}
}

func TestRoutingChangeTakesEffectAfterPropagationDelay(t *testing.T) {
	clock := newFakeClock()
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<?xml version="1.0"?><Response><Say>hi</Say></Response>`))
	}))
	defer webhook.Close()
	h := newHarness(t, twilioemu.Options{RandSeed: 4, Clock: clock,
		Faults: &twilioemu.Faults{Version: 1, PropagationDelay: twilioemu.Duration(5 * time.Minute)}})
	buyNumber(t, h, region.US1, "+14155550100", webhook.URL)
	ieSID := ""
	list, _ := h.client(region.IE1).Api.ListIncomingPhoneNumber(nil)
	ieSID = *list[0].Sid
	if _, err := h.client(region.IE1).Api.UpdateIncomingPhoneNumber(ieSID, new(api.UpdateIncomingPhoneNumberParams).SetVoiceUrl(webhook.URL)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client(region.US1).RoutesV2.UpdatePhoneNumber("+14155550100", new(routes.UpdatePhoneNumberParams).SetVoiceRegion("ie1")); err != nil {
		t.Fatal(err)
	}
	call := func() string {
		out, err := h.emu.PlaceInboundCall(context.Background(), twilioemu.InboundCall{To: "+14155550100", From: "+447700900123"})
		if err != nil {
			t.Fatal(err)
		}
		return out.Region
	}
	if got := call(); got != "us1" {
		t.Errorf("call right after the write processed in %q, want us1 (change still propagating)", got)
	}
	clock.Advance(5*time.Minute - time.Second)
	if got := call(); got != "us1" {
		t.Errorf("call 1 s before the delay ends processed in %q, want us1", got)
	}
	clock.Advance(time.Second)
	if got := call(); got != "ie1" {
		t.Errorf("call after the delay processed in %q, want ie1", got)
	}
	// Call logs live only in the processing region.
	usCalls, _ := h.client(region.US1).Api.ListCall(nil)
	ieCalls, _ := h.client(region.IE1).Api.ListCall(nil)
	if len(usCalls) != 2 || len(ieCalls) != 1 {
		t.Errorf("call logs: us1 %d, ie1 %d; want 2 and 1", len(usCalls), len(ieCalls))
	}
}

func TestTrunkAndSIPDomainRouting(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 5})
	// A trunk that exists only in ie1 and a SIP domain only in us1 can both be routed.
	if _, err := h.client(region.IE1).TrunkingV1.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName("acme-cc.pstn.twilio.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client(region.US1).Api.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName("acme.sip.twilio.com")); err != nil {
		t.Fatal(err)
	}
	_, err := h.client(region.US1).RoutesV2.FetchTrunks("acme-cc.pstn.twilio.com")
	if te := restError(t, err); te.Status != 404 {
		t.Errorf("never-routed trunk: %d, want 404 (us1)", te.Status)
	}
	tr, err := h.client(region.US1).RoutesV2.UpdateTrunks("acme-cc.pstn.twilio.com", new(routes.UpdateTrunksParams).SetVoiceRegion("ie1"))
	if err != nil || *tr.VoiceRegion != "ie1" || *tr.SipTrunkDomain != "acme-cc.pstn.twilio.com" {
		t.Fatalf("route trunk: %+v, %v", tr, err)
	}
	if tr, err = h.client(region.AU1).RoutesV2.FetchTrunks("acme-cc.pstn.twilio.com"); err != nil || *tr.VoiceRegion != "ie1" {
		t.Errorf("trunk routing read via au1: %+v, %v", tr, err)
	}
	sd, err := h.client(region.IE1).RoutesV2.UpdateSipDomain("acme.sip.twilio.com", new(routes.UpdateSipDomainParams).SetVoiceRegion("au1"))
	if err != nil || *sd.VoiceRegion != "au1" {
		t.Fatalf("route SIP domain: %+v, %v", sd, err)
	}
	if sd, err = h.client(region.US1).RoutesV2.FetchSipDomain("acme.sip.twilio.com"); err != nil || *sd.SipDomain != "acme.sip.twilio.com" {
		t.Errorf("SIP domain routing: %+v, %v", sd, err)
	}
	_, err = h.client(region.US1).RoutesV2.FetchTrunks("nope.pstn.twilio.com")
	if te := restError(t, err); te.Status != 404 {
		t.Errorf("unknown trunk domain: %d, want 404", te.Status)
	}
	_, err = h.client(region.US1).RoutesV2.UpdateSipDomain("nope.sip.twilio.com", new(routes.UpdateSipDomainParams).SetVoiceRegion("ie1"))
	if te := restError(t, err); te.Status != 404 {
		t.Errorf("unknown SIP domain: %d, want 404", te.Status)
	}
}

func TestRoutesWritesThroughStandbyHostWhileUS1IsDown(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 6})
	buyNumber(t, h, region.US1, "+14155550100", "")
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "routes", Down: "503"}}})
	// By default routing writes through ie1 still work while us1 routes is down.
	if _, err := h.client(region.IE1).RoutesV2.UpdatePhoneNumber("+14155550100", new(routes.UpdatePhoneNumberParams).SetVoiceRegion("ie1")); err != nil {
		t.Fatalf("write via ie1 with us1 down: %v", err)
	}
	// The configurable pessimistic answer: they fail too.
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, RoutesWritesNeedUS1: true, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "routes", Down: "503"}}})
	_, err := h.client(region.IE1).RoutesV2.UpdatePhoneNumber("+14155550100", new(routes.UpdatePhoneNumberParams).SetVoiceRegion("us1"))
	if te := restError(t, err); te.Status != 503 {
		t.Errorf("write via ie1 with routes_writes_need_us1: %d, want 503", te.Status)
	}
	// Reads through ie1 still answer.
	if _, err := h.client(region.IE1).RoutesV2.FetchPhoneNumber("+14155550100"); err != nil {
		t.Errorf("read via ie1: %v", err)
	}
}

func TestRoutingWritesAreJournalled(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 3})
	buyNumber(t, h, region.US1, "+14155550100", "")
	for _, r := range []string{"ie1", "ie1", "us1"} {
		if _, err := h.client(region.IE1).RoutesV2.UpdatePhoneNumber("+14155550100", new(routes.UpdatePhoneNumberParams).SetVoiceRegion(r)); err != nil {
			t.Fatal(err)
		}
	}
	// A refused write is not journalled.
	_, _ = h.client(region.IE1).RoutesV2.UpdatePhoneNumber("+14155550100", new(routes.UpdatePhoneNumberParams).SetVoiceRegion("jp1"))
	ws := h.emu.RouteWrites(0)
	if len(ws) != 3 || ws[0].VoiceRegion != "ie1" || ws[2].VoiceRegion != "us1" || ws[2].Seq != 3 || ws[0].Via != "ie1" || ws[0].Key != "+14155550100" || ws[0].Kind != "phone_number" {
		t.Fatalf("journal %+v; want three writes ie1, ie1, us1 via ie1", ws)
	}
	if got := h.emu.RouteWrites(2); len(got) != 1 || got[0].Seq != 3 {
		t.Errorf("after 2: %+v; want only the third", got)
	}
}
