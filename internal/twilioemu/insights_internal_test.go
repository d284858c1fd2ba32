package twilioemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	insights "github.com/twilio/twilio-go/rest/insights/v1"

	"github.com/voicedr/voicedr/internal/oasjudge"
	"github.com/voicedr/voicedr/internal/region"
)

// These tests seed summaries and alerts with the constructors the call
// simulation uses, which black-box tests cannot reach, and then drive the
// handlers through twilio-go over loopback HTTP, judging every response
// against the OpenAPI specs as the black-box harness does.

// v1TestClock is a settable clock, so windows and retention are exact.
type v1TestClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *v1TestClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *v1TestClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type v1Loop struct {
	t      *testing.T
	emu    *Emulator
	srv    *httptest.Server
	clock  *v1TestClock
	judge  *oasjudge.Judge
	mu     sync.Mutex
	judged map[string]int
}

func newV1Loop(t *testing.T) *v1Loop {
	t.Helper()
	dir, err := oasjudge.SpecDir()
	if err != nil {
		t.Fatalf("spec dir: %v", err)
	}
	j, err := oasjudge.Load(dir)
	if err != nil {
		t.Fatalf("judge: %v", err)
	}
	clock := &v1TestClock{now: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)}
	emu := New(Options{Clock: clock, RandSeed: 31})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	return &v1Loop{t: t, emu: emu, srv: srv, clock: clock, judge: j, judged: map[string]int{}}
}

// client is a twilio-go client for a region's Standard key with region and
// edge set, as voicedr builds them.
func (l *v1Loop) client(r region.Region) *twilio.RestClient {
	k := l.emu.Credentials()[r].Standard
	bc := &client.Client{Credentials: client.NewCredentials(k.SID, k.Secret), HTTPClient: &http.Client{Transport: l}}
	bc.SetAccountSid(l.emu.AccountSID())
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: bc})
	rc.SetRegion(string(r))
	rc.SetEdge(r.HomeEdge())
	return rc
}

// RoundTrip sends *.twilio.com requests to the emulator with their Host kept
// and judges each response: successes against the spec, errors against
// Twilio's four-field error body.
func (l *v1Loop) RoundTrip(req *http.Request) (*http.Response, error) {
	target, _ := url.Parse(l.srv.URL)
	out := req.Clone(req.Context())
	out.Host = req.URL.Host
	out.URL.Scheme, out.URL.Host = target.Scheme, target.Host
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	hi, _ := region.ParseHost(req.URL.Host)
	if err := l.judgeOne(hi.Product, req.Method, req.URL.EscapedPath(), resp.StatusCode, body); err != nil {
		l.t.Errorf("%s %s%s → %d: %v", req.Method, req.URL.Host, req.URL.Path, resp.StatusCode, err)
	}
	return resp, nil
}

func (l *v1Loop) judgeOne(product, method, path string, status int, body []byte) error {
	if status >= 400 {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return fmt.Errorf("error body is not JSON: %q", body)
		}
		for _, k := range []string{"code", "message", "more_info", "status"} {
			if _, ok := m[k]; !ok {
				return fmt.Errorf("error body lacks %q: %s", k, body)
			}
		}
		if len(m) != 4 || int(m["status"].(float64)) != status {
			return fmt.Errorf("error body %s does not match status %d", body, status)
		}
		return nil
	}
	op, err := l.judge.Operation(product, method, path)
	if err != nil {
		return err
	}
	if err := l.judge.Check(product, method, path, status, body); err != nil {
		return err
	}
	l.mu.Lock()
	l.judged[op]++
	l.mu.Unlock()
	return nil
}

func (l *v1Loop) judgedCount(op string) int { l.mu.Lock(); defer l.mu.Unlock(); return l.judged[op] }

// seed changes a region's state under the emulator's lock, as the call
// simulation does.
func (l *v1Loop) seed(r region.Region, f func(a *account, rs *regionState)) {
	l.emu.mu.Lock()
	defer l.emu.mu.Unlock()
	f(l.emu.acct, l.emu.acct.regions[r])
}

// getJSON fetches an absolute Twilio URL (a next_page_url) with the
// region's key, through the judging transport.
func (l *v1Loop) getJSON(r region.Region, rawURL string, into any) {
	l.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		l.t.Fatalf("request: %v", err)
	}
	k := l.emu.Credentials()[r].Standard
	req.SetBasicAuth(k.SID, k.Secret)
	resp, err := (&http.Client{Transport: l}).Do(req)
	if err != nil {
		l.t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.t.Fatalf("GET %s: status %d", rawURL, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		l.t.Fatalf("decode: %v", err)
	}
}

func insCallSID(i int) string { return fmt.Sprintf("CA%032x", i) }

// seedSummaries records 30 calls five minutes apart, the newest (i=0) five
// minutes ago; every third failed, every fifth has a tag, i=9/19/29 are
// still partial, odd calls lasted ten minutes longer, i=7 went to a SIP URI.
func seedSummaries(l *v1Loop) {
	now := l.clock.Now()
	l.seed(region.US1, func(_ *account, rs *regionState) {
		old := callSummary{callSID: insCallSID(100), callType: "carrier", callState: "completed", start: now.Add(-40 * 24 * time.Hour)}
		rs.addSummary(old)
		rs.addSummary(callSummary{callSID: insCallSID(99), callType: "carrier", callState: "completed", start: now.Add(-5 * time.Hour)})
		for i := 29; i >= 0; i-- {
			start := now.Add(-time.Duration(i+1) * 5 * time.Minute)
			s := callSummary{
				callSID: insCallSID(i), callType: "carrier", callState: "completed", start: start, end: start.Add(5 * time.Minute),
				duration: 300, connectDuration: 290,
				from:        map[string]any{"caller": fmt.Sprintf("+1415555%04d", i%3), "carrier": "Acme Telecom", "country_code": "US"},
				to:          map[string]any{"callee": "+15005550006", "connection": "landline", "country_code": "US"},
				properties:  map[string]any{"direction": "inbound", "last_sip_response_num": 200, "pdd_ms": 120},
				carrierEdge: map[string]any{"properties": map[string]any{"signaling_region": "us1", "media_region": "us1", "edge_location": "ashburn"}},
			}
			if i%2 == 1 {
				s.callType, s.end = "sip", s.end.Add(10*time.Minute)
				s.carrierEdge, s.sipEdge = nil, map[string]any{"properties": map[string]any{"signaling_region": "us1"}}
			}
			if i%3 == 0 {
				s.callState, s.properties["last_sip_response_num"] = "fail", 503
			}
			if i%5 == 0 {
				s.tags = []string{"high_jitter"}
			}
			if i%10 == 9 {
				s.processingState = "partial"
			}
			if i == 7 {
				s.to = map[string]any{"callee": "sip:agent@pbx.example.com", "connection": "sip_interface"}
			}
			rs.addSummary(s)
		}
	})
}

func insSIDs(list []insights.InsightsV1CallSummaries) []string {
	out := []string{}
	for _, s := range list {
		out = append(out, *s.CallSid)
	}
	return out
}

func insRange(idx ...int) []string {
	out := []string{}
	for _, i := range idx {
		out = append(out, insCallSID(i))
	}
	return out
}

func insWhere(keep func(i int) bool) []string {
	var idx []int
	for i := 0; i < 30; i++ {
		if keep(i) {
			idx = append(idx, i)
		}
	}
	return insRange(idx...)
}

func TestCallSummariesListNewestFirstWithFilters(t *testing.T) {
	l := newV1Loop(t)
	seedSummaries(l)
	c := l.client(region.US1).InsightsV1
	now := l.clock.Now()
	P := func() *insights.ListCallSummariesParams { return new(insights.ListCallSummariesParams) }
	cases := []struct {
		name   string
		params *insights.ListCallSummariesParams
		want   []string
	}{
		{"default: last 4h, newest first", nil, insWhere(func(int) bool { return true })},
		{"StartTime=6h", P().SetStartTime("6h"), append(insWhere(func(int) bool { return true }), insCallSID(99))},
		{"StartTime=8w stops at 30 days", P().SetStartTime("8w"), append(insWhere(func(int) bool { return true }), insCallSID(99))},
		{"EndTime an hour ago", P().SetEndTime(now.Add(-time.Hour).Format(time.RFC3339)), insWhere(func(i int) bool { return i >= 11 })},
		{"StartTime as a date-time", P().SetStartTime(now.Add(-16 * time.Minute).Format(time.RFC3339)), insRange(0, 1, 2)},
		{"CallState=fail", P().SetCallState("fail"), insWhere(func(i int) bool { return i%3 == 0 })},
		{"CallState=fail,completed", P().SetCallState("fail,completed"), insWhere(func(int) bool { return true })},
		{"CallType=sip", P().SetCallType("sip"), insWhere(func(i int) bool { return i%2 == 1 })},
		{"HasTag=true", P().SetHasTag(true), insWhere(func(i int) bool { return i%5 == 0 })},
		{"HasTag=false", P().SetHasTag(false), insWhere(func(i int) bool { return i%5 != 0 })},
		{"From", P().SetFrom("+14155550001"), insWhere(func(i int) bool { return i%3 == 1 })},
		{"To a SIP URI", P().SetTo("sip:agent@pbx.example.com"), insRange(7)},
		{"FromCarrier and ToCountryCode", P().SetFromCarrier("Acme Telecom").SetToCountryCode("us"), insWhere(func(i int) bool { return i != 7 })},
		{"ProcessingState=completed", P().SetProcessingState("completed"), insWhere(func(i int) bool { return i%10 != 9 })},
		{"ProcessingState=partial", P().SetProcessingState("partial"), insRange(9, 19, 29)},
		{"AbnormalSession=true", P().SetAbnormalSession(true), insWhere(func(i int) bool { return i%3 == 0 })},
		{"Direction=inbound", P().SetDirection("inbound"), insWhere(func(int) bool { return true })},
		{"Direction=outbound_api", P().SetDirection("outbound_api"), []string{}},
		{"VerifiedCaller=true matches no emulated call", P().SetVerifiedCaller(true), []string{}},
		{"SpamAnnotation=false matches every call", P().SetSpamAnnotation(false), insWhere(func(int) bool { return true })},
		{"QualityIssueAnnotation", P().SetQualityIssueAnnotation("echo"), []string{}},
		{"own account as Subaccount", P().SetSubaccount(l.emu.AccountSID()), insWhere(func(int) bool { return true })},
		{"other Subaccount", P().SetSubaccount(fmt.Sprintf("AC%032x", 5)), []string{}},
		// i=3 started before i=2 but ended after it.
		{"SortBy=end_time", P().SetSortBy("end_time").SetHasTag(false).SetStartTime("36m"), insRange(1, 3, 2, 4, 6)},
		{"SortBy=start_time", P().SetSortBy("start_time").SetHasTag(false).SetStartTime("36m"), insRange(1, 2, 3, 4, 6)},
	}
	for _, tc := range cases {
		got, err := c.ListCallSummaries(tc.params)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, insSIDs(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// 30 summaries at 25 a page: the default list took two pages.
	if n := l.judgedCount("ListCallSummaries"); n < len(cases)+1 {
		t.Errorf("judged %d list pages, want at least %d", n, len(cases)+1)
	}
	if got, err := l.client(region.IE1).InsightsV1.ListCallSummaries(nil); err != nil || len(got) != 0 {
		t.Errorf("ie1 lists us1's summaries: %d, %v", len(got), err)
	}
}

func TestCallSummariesPageByTwentyFive(t *testing.T) {
	l := newV1Loop(t)
	seedSummaries(l)
	c := l.client(region.US1).InsightsV1
	first, err := c.PageCallSummaries(nil, "", "")
	if err != nil {
		t.Fatalf("page: %v", err)
	}
	if len(first.CallSummaries) != 25 || first.Meta.NextPageUrl == nil {
		t.Fatalf("first page: %d items, next %v; want 25 and a next page", len(first.CallSummaries), first.Meta.NextPageUrl)
	}
	var second insights.ListCallSummariesResponse
	l.getJSON(region.US1, *first.Meta.NextPageUrl, &second)
	if diff := cmp.Diff(insWhere(func(i int) bool { return i >= 25 }), insSIDs(second.CallSummaries)); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
	if second.Meta.NextPageUrl != nil || second.Meta.PreviousPageUrl == nil || second.Meta.Page != 1 {
		t.Errorf("second page meta = %+v", second.Meta)
	}
}

func TestFetchSummary(t *testing.T) {
	l := newV1Loop(t)
	seedSummaries(l)
	c := l.client(region.US1).InsightsV1
	got, err := c.FetchSummary(insCallSID(0), nil)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	start := l.clock.Now().Add(-5 * time.Minute)
	type view struct {
		Sid, Type, State, Processing, URL string
		Start, Created                    time.Time
		Duration                          int
		From, Props, Attributes           any
		Tags                              []string
		Null                              []bool
	}
	want := view{
		Sid: insCallSID(0), Type: "carrier", State: "fail", Processing: "complete",
		URL:   "https://insights.ashburn.us1.twilio.com/v1/Voice/" + insCallSID(0) + "/Summary",
		Start: start, Created: start, Duration: 300,
		From:       map[string]any{"caller": "+14155550000", "carrier": "Acme Telecom", "country_code": "US"},
		Props:      map[string]any{"direction": "inbound", "last_sip_response_num": float64(503), "pdd_ms": float64(120)},
		Attributes: map[string]any{"conference_participant": false},
		Tags:       []string{"high_jitter"},
		Null:       []bool{true, true, true, true, true},
	}
	gotView := view{
		Sid: *got.CallSid, Type: *got.CallType, State: *got.CallState, Processing: *got.ProcessingState, URL: *got.Url,
		Start: *got.StartTime, Created: *got.CreatedTime, Duration: *got.Duration, From: *got.From, Props: *got.Properties,
		Attributes: *got.Attributes, Tags: *got.Tags,
		Null: []bool{got.AnsweredBy == nil, got.SipEdge == nil, got.ClientEdge == nil, got.Trust == nil, got.Annotation == nil},
	}
	if diff := cmp.Diff(want, gotView); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	// A partial summary is 17001 unless partial or all is asked for.
	_, err = c.FetchSummary(insCallSID(9), nil)
	insWantCode(t, "partial, default", err, 404, 17001)
	for _, ps := range []string{"partial", "all"} {
		if s, err := c.FetchSummary(insCallSID(9), new(insights.FetchSummaryParams).SetProcessingState(ps)); err != nil || *s.ProcessingState != "partial" {
			t.Errorf("ProcessingState=%s: %v, %v", ps, s, err)
		}
	}
	_, err = c.FetchSummary(insCallSID(9), new(insights.FetchSummaryParams).SetProcessingState("done"))
	insWantCode(t, "bad ProcessingState", err, 400, 20001)
	// Completing it replaces the summary in place.
	l.seed(region.US1, func(_ *account, rs *regionState) {
		s := *rs.summaries[insCallSID(9)]
		s.processingState = "complete"
		rs.addSummary(s)
		rs.calls.put(insCallSID(200), &callRecord{sid: insCallSID(200)})
	})
	if _, err := c.FetchSummary(insCallSID(9), nil); err != nil {
		t.Errorf("completed summary: %v", err)
	}
	if all, err := c.ListCallSummaries(nil); err != nil || len(all) != 30 {
		t.Errorf("list after completing a summary: %d, %v; want 30", len(all), err)
	}
	// A known call without a summary yet; a call past retention; an unknown
	// call; a call of another region.
	_, err = c.FetchSummary(insCallSID(200), nil)
	insWantCode(t, "call without summary", err, 404, 17001)
	_, err = c.FetchSummary(insCallSID(100), new(insights.FetchSummaryParams).SetProcessingState("all"))
	insWantCode(t, "40 days old", err, 404, 17002)
	_, err = c.FetchSummary(insCallSID(300), nil)
	insWantCode(t, "unknown call", err, 404, 20404)
	_, err = l.client(region.AU1).InsightsV1.FetchSummary(insCallSID(0), nil)
	insWantCode(t, "us1 call through au1", err, 404, 20404)
	// Without Advanced Features.
	l.seed(region.US1, func(_ *account, rs *regionState) { rs.advancedInsights = false })
	_, err = c.FetchSummary(insCallSID(0), nil)
	insWantCode(t, "no Advanced Features, fetch", err, 404, 17007)
	_, err = c.ListCallSummaries(nil)
	insWantCode(t, "no Advanced Features, list", err, 403, 17000)
	if n := l.judgedCount("FetchSummary"); n != 4 {
		t.Errorf("judged %d FetchSummary responses, want 4", n)
	}
}

func insWantCode(t *testing.T, what string, err error, status, code int) {
	t.Helper()
	var te *client.TwilioRestError
	if !errors.As(err, &te) {
		t.Errorf("%s: got %v, want a %d/%d Twilio error", what, err, status, code)
		return
	}
	if te.Status != status || te.Code != code {
		t.Errorf("%s: got %d/%d (%s), want %d/%d", what, te.Status, te.Code, te.Message, status, code)
	}
}
