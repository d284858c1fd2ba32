package twilioemu_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	insights "github.com/twilio/twilio-go/rest/insights/v1"
	monitor "github.com/twilio/twilio-go/rest/monitor/v1"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func TestAlertListIsEmptyAndWellFormedInEveryRegion(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 21})
	for _, r := range region.All {
		c := h.client(r).MonitorV1
		got, err := c.ListAlert(nil)
		if err != nil {
			t.Fatalf("%s list: %v", r, err)
		}
		if len(got) != 0 {
			t.Errorf("%s lists %d alerts of an idle account", r, len(got))
		}
		now := time.Now().UTC()
		filtered, err := c.ListAlert(new(monitor.ListAlertParams).SetLogLevel("warning").
			SetStartDate(now.Add(-24 * time.Hour)).SetEndDate(now))
		if err != nil || len(filtered) != 0 {
			t.Errorf("%s filtered list = %v, %v", r, filtered, err)
		}
	}
	if n := h.judgedOps()["ListAlert"]; n != 6 {
		t.Errorf("judged %d ListAlert responses, want 6", n)
	}
	_, err := h.client(region.AU1).MonitorV1.FetchAlert("NO" + strings.Repeat("c", 32))
	if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
		t.Errorf("unknown alert: got %d/%d, want 404/20404", te.Status, te.Code)
	}
}

func TestAlertListFiltersAreChecked(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 22})
	now := time.Now().UTC()
	day := func(d int) string { return now.AddDate(0, 0, -d).Format(time.DateOnly) }
	cases := []struct {
		query string
		want  int
	}{
		{"LogLevel=fatal", 400},
		{"LogLevel=ERROR", 400},
		{"StartDate=last-week", 400},
		{"EndDate=2024-13-01", 400},
		// Twilio does not serve queries older than 30 days, counted in days.
		{"StartDate=" + day(31), 400},
		{"StartDate=" + day(30), 200},
		{"StartDate=" + now.Add(-time.Hour).Format(time.RFC3339) + "&EndDate=" + now.Add(-2*time.Hour).Format(time.RFC3339), 400},
		{"StartDate=" + day(1) + "&EndDate=" + day(1), 200},
		{"LogLevel=notice&StartDate=" + now.Add(-time.Hour).Format(time.RFC3339), 200},
		{"PageSize=1001", 400},
	}
	for _, tc := range cases {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		st, body := v1RawGet(t, h, region.IE1, "monitor", "/v1/Alerts?"+q.Encode())
		if st != tc.want {
			t.Errorf("%s: got %d %s, want %d", tc.query, st, body, tc.want)
		}
		if st == http.StatusBadRequest && tc.query != "PageSize=1001" && v1ErrorCode(t, body) != 20001 {
			t.Errorf("%s: code %d, want 20001", tc.query, v1ErrorCode(t, body))
		}
	}
}

// Calls placed through the simulation leave their summary and alerts in the
// region that processed them, and nowhere else.
func TestPlacedCallsLeaveSummariesAndAlertsInTheProcessingRegion(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	t.Cleanup(broken.Close)
	h := newHarness(t, twilioemu.Options{RandSeed: 41})
	trunkSID := "TK" + strings.Repeat("4", 32)
	err := h.emu.Seed(&snapshot.Snapshot{
		Format: snapshot.Format, Regions: []string{"us1", "ie1", "au1"},
		Resources: map[string]*snapshot.RegionResources{
			// A trunk with no origination URL cannot take a call (32010).
			"us1": {AdvancedInsights: ptr(true), Trunks: []snapshot.Trunk{{SID: trunkSID, DomainName: "dead.pstn.twilio.com"}}},
			"ie1": {AdvancedInsights: ptr(true)},
		},
		Numbers: []snapshot.Number{
			{PhoneNumber: "+14155550100", Routing: snapshot.Route{VoiceRegion: "ie1", Explicit: true},
				Records: map[string]*snapshot.NumberRecord{"ie1": {VoiceURL: broken.URL + "/voice", VoiceFallbackURL: broken.URL + "/fallback"}}},
			{PhoneNumber: "+14155550101", Records: map[string]*snapshot.NumberRecord{"us1": {TrunkSID: trunkSID}}},
		},
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	ieCall, err := h.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "+14155550100", From: "+447700900123"})
	if err != nil || ieCall.Region != "ie1" {
		t.Fatalf("call to the ie1-routed number: %+v, %v", ieCall, err)
	}
	usCall, err := h.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "+14155550101", From: "+14155550199"})
	if err != nil || usCall.Region != "us1" {
		t.Fatalf("call to the trunked number: %+v, %v", usCall, err)
	}
	type alertView struct{ Code, Resource, URL string }
	alerts := func(r region.Region) []alertView {
		list, err := h.client(r).MonitorV1.ListAlert(nil)
		if err != nil {
			t.Fatalf("%s alerts: %v", r, err)
		}
		out := []alertView{}
		for _, a := range list {
			out = append(out, alertView{tkStr(a.ErrorCode), tkStr(a.ResourceSid), tkStr(a.RequestUrl)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
		return out
	}
	wantIE := []alertView{{"11200", ieCall.CallSID, broken.URL + "/fallback"}, {"11200", ieCall.CallSID, broken.URL + "/voice"}}
	if diff := cmp.Diff(wantIE, alerts(region.IE1)); diff != "" {
		t.Errorf("ie1 alerts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]alertView{{"32010", usCall.CallSID, "<nil>"}}, alerts(region.US1)); diff != "" {
		t.Errorf("us1 alerts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]alertView{}, alerts(region.AU1)); diff != "" {
		t.Errorf("au1 alerts (-want +got):\n%s", diff)
	}
	summaries := func(r region.Region, from string) map[string]string {
		list, err := h.client(r).InsightsV1.ListCallSummaries(new(insights.ListCallSummariesParams).SetFrom(from))
		if err != nil {
			t.Fatalf("%s summaries: %v", r, err)
		}
		out := map[string]string{}
		for _, s := range list {
			out[*s.CallSid] = tkStr(s.CallState)
		}
		return out
	}
	if diff := cmp.Diff(map[string]string{ieCall.CallSID: "completed"}, summaries(region.IE1, "+447700900123")); diff != "" {
		t.Errorf("ie1 summaries (-want +got):\n%s", diff)
	}
	// The trunk call failed; Insights words that "fail".
	if diff := cmp.Diff(map[string]string{usCall.CallSID: "fail"}, summaries(region.US1, "+14155550199")); diff != "" {
		t.Errorf("us1 summaries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{}, summaries(region.US1, "+447700900123")); diff != "" {
		t.Errorf("us1 lists the ie1 call (-want +got):\n%s", diff)
	}
	if s, err := h.client(region.IE1).InsightsV1.FetchSummary(ieCall.CallSID, nil); err != nil || *s.CallSid != ieCall.CallSID {
		t.Errorf("fetch the ie1 summary: %v, %v", s, err)
	}
	if _, err := h.client(region.US1).InsightsV1.FetchSummary(ieCall.CallSID, nil); restError(t, err).Status != 404 {
		t.Errorf("the ie1 call's summary was found in us1")
	}
	list, err := h.client(region.IE1).MonitorV1.ListAlert(nil)
	if err != nil || len(list) == 0 {
		t.Fatalf("ie1 alerts: %v, %v", list, err)
	}
	if a, err := h.client(region.IE1).MonitorV1.FetchAlert(*list[0].Sid); err != nil || tkStr(a.ResourceSid) != ieCall.CallSID {
		t.Errorf("fetch an ie1 alert: %v, %v", a, err)
	}
}
