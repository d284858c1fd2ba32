package twilioemu_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	insights "github.com/twilio/twilio-go/rest/insights/v1"
	monitor "github.com/twilio/twilio-go/rest/monitor/v1"
	trunking "github.com/twilio/twilio-go/rest/trunking/v1"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// app is a customer webhook server: per path it answers TwiML, fails, hangs
// or records a status callback.
type app struct {
	*httptest.Server
	mu       sync.Mutex
	hits     map[string]int
	statuses []map[string]string
	sigs     map[string]string // path → last signature
	urls     map[string]string
	forms    map[string]map[string]string
	hang     chan struct{}
}

func newApp(t *testing.T) *app {
	a := &app{hits: map[string]int{}, sigs: map[string]string{}, urls: map[string]string{}, forms: map[string]map[string]string{}, hang: make(chan struct{})}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		form := map[string]string{}
		for k := range r.PostForm {
			form[k] = r.PostForm.Get(k)
		}
		a.mu.Lock()
		a.hits[r.URL.Path]++
		a.sigs[r.URL.Path], a.urls[r.URL.Path], a.forms[r.URL.Path] = r.Header.Get("X-Twilio-Signature"), "http://"+r.Host+r.URL.Path, form
		if r.URL.Path == "/status" {
			a.statuses = append(a.statuses, form)
		}
		a.mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/fail"):
			http.Error(w, "boom", http.StatusInternalServerError)
		case strings.HasPrefix(r.URL.Path, "/hang"):
			select {
			case <-a.hang:
			case <-r.Context().Done():
			}
		case r.URL.Path == "/status":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Write([]byte(`<?xml version="1.0"?><Response><Say>hello</Say></Response>`))
		}
	}))
	t.Cleanup(func() { close(a.hang); a.Close() })
	return a
}

func (a *app) count(path string) int { a.mu.Lock(); defer a.mu.Unlock(); return a.hits[path] }

func seedWith(t *testing.T, h *harness, s *snapshot.Snapshot) {
	t.Helper()
	s.Format, s.Regions = snapshot.Format, []string{"us1", "ie1", "au1"}
	if err := h.emu.Seed(s); err != nil {
		t.Fatal(err)
	}
}

func call(t *testing.T, h *harness, in twilioemu.InboundCall) twilioemu.CallOutcome {
	t.Helper()
	out, err := h.emu.PlaceInboundCall(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBothURLsFailingWritesAlertsInTheProcessingRegion(t *testing.T) {
	a := newApp(t)
	h := newHarness(t, twilioemu.Options{RandSeed: 40, AppErrorCallStatus: "failed", WebhookTimeout: 200 * time.Millisecond})
	seedWith(t, h, &snapshot.Snapshot{Numbers: []snapshot.Number{{
		PhoneNumber: "+14155550100", Routing: snapshot.Route{VoiceRegion: "ie1", Explicit: true},
		Records: map[string]*snapshot.NumberRecord{"ie1": {VoiceURL: a.URL + "/fail", VoiceFallbackURL: a.URL + "/hang", StatusCallback: a.URL + "/status"}},
	}}})
	out := call(t, h, twilioemu.InboundCall{To: "+14155550100", From: "+447700900123"})
	want := twilioemu.CallOutcome{Region: "ie1", CallSID: out.CallSID, Status: "failed", Handler: "url", Outcome: twilioemu.OutcomeAppError,
		FallbackUsed: true, Alerts: []string{"11200", "11205"}, AnswerMS: out.AnswerMS}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if got := a.forms["/hang"]; got["ErrorCode"] != "11200" || got["ErrorUrl"] != a.URL+"/fail" {
		t.Errorf("fallback got ErrorCode %q ErrorUrl %q", got["ErrorCode"], got["ErrorUrl"])
	}
	// The alerts are in ie1's Monitor only, naming the call and the URL.
	ieAlerts, err := h.client(region.IE1).MonitorV1.ListAlert(nil)
	if err != nil || len(ieAlerts) != 2 {
		t.Fatalf("ie1 alerts %d, %v", len(ieAlerts), err)
	}
	for _, al := range ieAlerts {
		if *al.ResourceSid != out.CallSID {
			t.Errorf("alert %s names %s, want the call %s", *al.ErrorCode, *al.ResourceSid, out.CallSID)
		}
	}
	if us, _ := h.client(region.US1).MonitorV1.ListAlert(new(monitor.ListAlertParams)); len(us) != 0 {
		t.Errorf("us1 has %d alerts for an ie1 call", len(us))
	}
	c, err := h.client(region.IE1).Api.FetchCall(out.CallSID, nil)
	if err != nil || *c.Status != "failed" {
		t.Errorf("call record: %v %v, want status failed (configured)", c, err)
	}
	// The number's status callback heard the end, signed with ie1's token.
	if len(a.statuses) != 1 || a.statuses[0]["CallStatus"] != "failed" || a.statuses[0]["CallSid"] != out.CallSID {
		t.Errorf("status callbacks %v", a.statuses)
	}
	ieV, usV := client.NewRequestValidator(h.creds[region.IE1].AuthToken), client.NewRequestValidator(h.creds[region.US1].AuthToken)
	if !ieV.Validate(a.urls["/status"], a.statuses[0], a.sigs["/status"]) {
		t.Errorf("status callback signature does not validate with the ie1 token")
	}
	if usV.Validate(a.urls["/status"], a.statuses[0], a.sigs["/status"]) {
		t.Errorf("status callback signature validates with the us1 token")
	}
}

func TestTrunkOriginationPriorityWeightAndDisasterRecoveryURL(t *testing.T) {
	a := newApp(t)
	h := newHarness(t, twilioemu.Options{RandSeed: 41})
	const tk = "TK00000000000000000000000000000001"
	seedWith(t, h, &snapshot.Snapshot{
		Resources: map[string]*snapshot.RegionResources{"us1": {Trunks: []snapshot.Trunk{{SID: tk, DomainName: "cc.pstn.twilio.com",
			DisasterRecoveryURL: a.URL + "/dr", OriginationURLs: []snapshot.OriginationURL{
				{FriendlyName: "a", SIPURL: "sip:a.example", Priority: 10, Weight: 75, Enabled: true},
				{FriendlyName: "b", SIPURL: "sip:b.example", Priority: 10, Weight: 25, Enabled: true},
				{FriendlyName: "backup", SIPURL: "sip:backup.example", Priority: 20, Weight: 10, Enabled: true},
				{FriendlyName: "off", SIPURL: "sip:off.example", Priority: 0, Weight: 10, Enabled: false},
			}}}}},
		Numbers: []snapshot.Number{{PhoneNumber: "+14155550100", Records: map[string]*snapshot.NumberRecord{"us1": {TrunkSID: tk}}}},
	})
	by := map[string]int{}
	for i := 0; i < 400; i++ {
		by[call(t, h, twilioemu.InboundCall{To: "+14155550100", From: "+1415"}).AnsweredBy]++
	}
	if by["sip:backup.example"] != 0 || by["sip:off.example"] != 0 || by["sip:a.example"] < 240 || by["sip:a.example"] > 360 {
		t.Errorf("answers by URL %v: want priority 10 only, a:b about 75:25", by)
	}
	// The preferred group down: the backup priority answers.
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, UnreachableSIPURLs: []string{"sip:a.example", "sip:b.example"}})
	if got := call(t, h, twilioemu.InboundCall{To: "+14155550100", From: "+1415"}).AnsweredBy; got != "sip:backup.example" {
		t.Errorf("with priority 10 down answered by %q", got)
	}
	// Every SBC down: the trunk's disaster_recovery_url answers with TwiML.
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, UnreachableSIPURLs: []string{"sip:a.example", "sip:b.example", "sip:backup.example"}})
	out := call(t, h, twilioemu.InboundCall{To: "+14155550100", From: "+1415"})
	if out.AnsweredBy != a.URL+"/dr" || out.Outcome != twilioemu.OutcomeAnswered || a.count("/dr") != 1 {
		t.Errorf("all SBCs down: %+v", out)
	}
	// No DR URL: the call fails with an alert.
	if _, err := h.client(region.US1).TrunkingV1.UpdateTrunk(tk, new(trunking.UpdateTrunkParams).SetDisasterRecoveryUrl("")); err != nil {
		t.Fatal(err)
	}
	out = call(t, h, twilioemu.InboundCall{To: "+14155550100", From: "+1415"})
	if out.Outcome != twilioemu.OutcomeFailed || out.Status != "failed" || len(out.Alerts) != 1 {
		t.Errorf("no DR URL: %+v", out)
	}
}

func TestTestCallProducesTheInboundLegInTheRoutedRegion(t *testing.T) {
	a := newApp(t)
	h := newHarness(t, twilioemu.Options{RandSeed: 42, CallsPerSecond: 1000})
	seedWith(t, h, &snapshot.Snapshot{Numbers: []snapshot.Number{
		{PhoneNumber: "+14155550100", Records: map[string]*snapshot.NumberRecord{"us1": {VoiceURL: a.URL + "/voice"}}},
		{PhoneNumber: "+14155550111", Routing: snapshot.Route{VoiceRegion: "au1", Explicit: true},
			Records: map[string]*snapshot.NumberRecord{"au1": {VoiceURL: a.URL + "/au"}}},
	}})
	// Placed from us1 to the owned number routed to au1.
	c, err := h.client(region.US1).Api.CreateCall(new(api.CreateCallParams).SetTo("+14155550111").SetFrom("+14155550100").SetUrl(a.URL + "/voice"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var legs []api.ApiV2010Call
	for time.Now().Before(deadline) {
		if legs, _ = h.client(region.AU1).Api.ListCall(nil); len(legs) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(legs) != 1 || *legs[0].Direction != "inbound" || *legs[0].ParentCallSid != *c.Sid {
		t.Fatalf("au1 legs %+v, want one inbound leg whose parent is %s", legs, *c.Sid)
	}
	if a.count("/au") != 1 {
		t.Errorf("the au1 webhook was requested %d times", a.count("/au"))
	}
	us, _ := h.client(region.US1).Api.ListCall(nil)
	if len(us) != 1 || *us[0].Sid != *c.Sid {
		t.Errorf("us1 calls %d, want only the outbound-api call", len(us))
	}
}

func TestCallsBeyondTheAccountRateStayQueued(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 43, CallsPerSecond: 0.0001})
	buyNumber(t, h, region.US1, "+14155550100", "")
	var sids []string
	for i := 0; i < 3; i++ {
		c, err := h.client(region.US1).Api.CreateCall(new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").SetTwiml("<Response/>"))
		if err != nil {
			t.Fatal(err)
		}
		sids = append(sids, *c.Sid)
	}
	status := func(sid string) string {
		c, err := h.client(region.US1).Api.FetchCall(sid, nil)
		if err != nil {
			t.Fatal(err)
		}
		return *c.Status
	}
	deadline := time.Now().Add(10 * time.Second)
	for status(sids[0]) != "completed" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := []string{status(sids[0]), status(sids[1]), status(sids[2])}; !cmp.Equal(got, []string{"completed", "queued", "queued"}) {
		t.Errorf("statuses %v: at 1 call per 10,000 s only the first leaves", got)
	}
}

func TestInsightsLagAndAdvancedFeatures(t *testing.T) {
	a := newApp(t)
	clock := newFakeClock()
	h := newHarness(t, twilioemu.Options{RandSeed: 44, Clock: clock, InsightsPartialLag: 2 * time.Minute, InsightsCompleteLag: 30 * time.Minute})
	off := false
	seedWith(t, h, &snapshot.Snapshot{
		Resources: map[string]*snapshot.RegionResources{"ie1": {AdvancedInsights: &off}},
		Numbers: []snapshot.Number{
			{PhoneNumber: "+14155550100", Records: map[string]*snapshot.NumberRecord{"us1": {VoiceURL: a.URL + "/voice"}}},
			{PhoneNumber: "+14155550111", Routing: snapshot.Route{VoiceRegion: "ie1", Explicit: true}, Records: map[string]*snapshot.NumberRecord{"ie1": {VoiceURL: a.URL + "/voice"}}},
		}})
	out := call(t, h, twilioemu.InboundCall{To: "+14155550100", From: "+1415"})
	ins := h.client(region.US1).InsightsV1
	all := new(insights.FetchSummaryParams).SetProcessingState("partial")
	if _, err := ins.FetchSummary(out.CallSID, all); restError(t, err).Code != 17001 {
		t.Errorf("summary before the partial lag: %v", err)
	}
	clock.Advance(2*time.Minute + time.Second) // the lag runs from the call's end
	s, err := ins.FetchSummary(out.CallSID, all)
	if err != nil || *s.ProcessingState != "partial" {
		t.Fatalf("after 2 min: %v %v, want partial", s, err)
	}
	if _, err := ins.FetchSummary(out.CallSID, nil); restError(t, err).Code != 17001 {
		t.Errorf("complete summary before 30 min: %v", err)
	}
	clock.Advance(28 * time.Minute)
	if s, err = ins.FetchSummary(out.CallSID, nil); err != nil || *s.ProcessingState != "complete" {
		t.Fatalf("after 30 min: %v %v", s, err)
	}
	props := (*s.Properties).(map[string]any)
	if props["last_sip_response_num"] != float64(200) || props["pdd_ms"] == nil {
		t.Errorf("properties %v", props)
	}
	edge := (*s.CarrierEdge).(map[string]any)["properties"].(map[string]any)
	if edge["signaling_region"] != "us1" {
		t.Errorf("signaling_region %v", edge["signaling_region"])
	}
	// ie1 without Advanced Features: no summaries there.
	ieOut := call(t, h, twilioemu.InboundCall{To: "+14155550111", From: "+1415"})
	clock.Advance(time.Hour)
	if _, err := h.client(region.IE1).InsightsV1.FetchSummary(ieOut.CallSID, nil); restError(t, err).Code != 17007 {
		t.Errorf("ie1 without Advanced Features: %v, want 17007", err)
	}
}

func TestTerminationAndSIPDomainFollowTheirOwnRouting(t *testing.T) {
	a := newApp(t)
	h := newHarness(t, twilioemu.Options{RandSeed: 45})
	trunks := func(sid string) []snapshot.Trunk {
		return []snapshot.Trunk{{SID: sid, DomainName: "cc.pstn.twilio.com"}}
	}
	seedWith(t, h, &snapshot.Snapshot{
		Resources: map[string]*snapshot.RegionResources{
			"us1": {Trunks: trunks("TK00000000000000000000000000000001"), SIPDomains: []snapshot.SIPDomain{{DomainName: "agents.sip.twilio.com", VoiceURL: a.URL + "/sip-us", SIPRegistration: true}}},
			"ie1": {Trunks: trunks("TK00000000000000000000000000000002"), SIPDomains: []snapshot.SIPDomain{{DomainName: "agents.sip.twilio.com", VoiceURL: a.URL + "/sip-ie"}}},
		},
		TrunkRouting: []snapshot.Route{{Key: "cc.pstn.twilio.com", VoiceRegion: "ie1", Explicit: true}},
	})
	out := call(t, h, twilioemu.InboundCall{TrunkDomain: "cc.pstn.twilio.com", To: "+442071838750", From: "+14155550100"})
	if out.Region != "ie1" || out.Outcome != twilioemu.OutcomeAnswered {
		t.Errorf("termination: %+v, want processed in ie1", out)
	}
	out = call(t, h, twilioemu.InboundCall{SIPDomain: "agents.sip.twilio.com", To: "alice", From: "+14155550100"})
	if out.Region != "us1" || a.count("/sip-us") != 1 {
		t.Errorf("SIP domain call: %+v", out)
	}
	if r := h.emu.RegisterSIP("agents.sip.twilio.com", "alice"); !r.Accepted || r.Region != "us1" {
		t.Errorf("registration in us1: %+v", r)
	}
	// Flip the domain: ie1 has it without registration.
	if _, err := h.client(region.US1).RoutesV2.UpdateSipDomain("agents.sip.twilio.com", nil); err != nil {
		t.Fatal(err)
	}
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "voice", Down: "503"}}})
	if r := h.emu.RegisterSIP("agents.sip.twilio.com", "alice"); r.Accepted {
		t.Errorf("registration accepted while us1 voice is down: %+v", r)
	}
	_, counts := h.emu.Ledger(0, 0)
	if counts.ByRegion["ie1"] != 1 || counts.ByRegion["us1"] != 2 || counts.Rejected["region_down"] != 1 {
		t.Errorf("ledger counts %+v", counts)
	}
}
