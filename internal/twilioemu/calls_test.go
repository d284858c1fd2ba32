package twilioemu_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func callSIDs(calls []api.ApiV2010Call) []string {
	out := []string{}
	for _, c := range calls {
		out = append(out, *c.Sid)
	}
	return out
}

func TestCallsArePlacedAndKeptInTheirRegion(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)}
	// Calls stay queued: this test inspects queued records.
	h := newHarness(t, twilioemu.Options{RandSeed: 31, Clock: clock, CallsPerSecond: -1})
	us, ie, au := h.client(region.US1).Api, h.client(region.IE1).Api, h.client(region.AU1).Api
	sid := h.emu.AccountSID()
	if _, err := us.CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).SetPhoneNumber("+14155550100")); err != nil {
		t.Fatalf("buy number: %v", err)
	}
	ieNums, err := ie.ListIncomingPhoneNumber(nil)
	if err != nil || len(ieNums) != 1 {
		t.Fatalf("ie1 numbers: %v %v", ieNums, err)
	}

	ieCall, err := ie.CreateCall(new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").
		SetUrl("https://ie.example.com/twiml").SetStatusCallback("https://ie.example.com/status").
		SetStatusCallbackEvent([]string{"initiated", "completed"}).SetTimeout(30).SetRecord(false))
	if err != nil {
		t.Fatalf("create in ie1: %v", err)
	}
	base := "/2010-04-01/Accounts/" + sid + "/Calls/" + *ieCall.Sid
	subs := *ieCall.SubresourceUris
	if len(subs) != 9 || subs["recordings"] != base+"/Recordings.json" || subs["events"] != base+"/Events.json" {
		t.Errorf("subresource_uris = %v, want the spec example's 9 under %s", subs, base)
	}
	ieCall.SubresourceUris = nil
	now := v2010Date(clock.Now())
	want := api.ApiV2010Call{
		Sid: ieCall.Sid, DateCreated: now, DateUpdated: now, AccountSid: &sid,
		To: v2010Ptr("+14155550199"), ToFormatted: v2010Ptr("(415) 555-0199"),
		From: v2010Ptr("+14155550100"), FromFormatted: v2010Ptr("(415) 555-0100"),
		PhoneNumberSid: ieNums[0].Sid, Status: v2010Ptr("queued"), Direction: v2010Ptr("outbound-api"),
		ApiVersion: v2010Ptr("2010-04-01"), QueueTime: v2010Ptr("0"), Uri: v2010Ptr(base + ".json"),
	}
	if diff := cmp.Diff(want, *ieCall); diff != "" {
		t.Errorf("ie1 call (-want +got):\n%s", diff)
	}

	// us1 finalizes the price unit at once; its call is only in us1.
	usCall, err := us.CreateCall(new(api.CreateCallParams).SetTo("client:alice").SetFrom("+14155550100").SetTwiml("<Response><Say>hi</Say></Response>"))
	if err != nil {
		t.Fatalf("create in us1: %v", err)
	}
	if usCall.PriceUnit == nil || *usCall.PriceUnit != "USD" {
		t.Errorf("us1 price_unit = %v, want USD", usCall.PriceUnit)
	}
	for _, tc := range []struct {
		r    region.Region
		svc  *api.ApiService
		want []string
	}{{region.US1, us, []string{*usCall.Sid}}, {region.IE1, ie, []string{*ieCall.Sid}}, {region.AU1, au, []string{}}} {
		got, err := tc.svc.ListCall(nil)
		if err != nil {
			t.Fatalf("%s list: %v", tc.r, err)
		}
		if diff := cmp.Diff(tc.want, callSIDs(got)); diff != "" {
			t.Errorf("%s calls (-want +got):\n%s", tc.r, diff)
		}
	}
	if _, err := us.FetchCall(*ieCall.Sid, nil); restError(t, err).Status != 404 {
		t.Errorf("us1 fetched the ie1 call")
	}
	got, err := ie.FetchCall(*ieCall.Sid, nil)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	got.SubresourceUris = nil
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("fetched ie1 call (-want +got):\n%s", diff)
	}

	// An app handles a call only in its own region.
	app, err := ie.CreateApplication(new(api.CreateApplicationParams).SetFriendlyName("dialer").SetVoiceUrl("https://ie.example.com/app"))
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	if _, err := ie.CreateCall(new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").SetApplicationSid(*app.Sid)); err != nil {
		t.Errorf("call with the ie1 app in ie1: %v", err)
	}
	_, err = us.CreateCall(new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").SetApplicationSid(*app.Sid))
	if te := restError(t, err); te.Status != 400 || te.Code != 21218 {
		t.Errorf("call with the ie1 app in us1: %d/%d, want 400/21218", te.Status, te.Code)
	}

	// Refused calls leave no record.
	ok := func() *api.CreateCallParams {
		return new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100").SetUrl("https://ie.example.com/twiml")
	}
	for _, tc := range []struct {
		name   string
		params *api.CreateCallParams
		code   int
		msg    string
	}{
		{"From not owned", ok().SetFrom("+14155550111"), 21210, "The source phone number provided, +14155550111, is not yet verified for your account"},
		{"no To", new(api.CreateCallParams).SetFrom("+14155550100").SetUrl("https://ie.example.com/twiml"), 21201, ""},
		{"no From", new(api.CreateCallParams).SetTo("+14155550199").SetUrl("https://ie.example.com/twiml"), 21213, ""},
		{"bad To", ok().SetTo("not a number"), 21211, ""},
		{"no handler", new(api.CreateCallParams).SetTo("+14155550199").SetFrom("+14155550100"), 21205, ""},
		{"bad Url", ok().SetUrl("/relative"), 21205, ""},
		{"bad StatusCallback", ok().SetStatusCallback("nope"), 21502, ""},
		{"bad Method", ok().SetMethod("DELETE"), 21218, ""},
		{"bad event", ok().SetStatusCallbackEvent([]string{"exploded"}), 21218, ""},
	} {
		_, err := ie.CreateCall(tc.params)
		te := restError(t, err)
		if te.Status != 400 || te.Code != tc.code || (tc.msg != "" && te.Message != tc.msg) {
			t.Errorf("%s: got %d/%d %q, want 400/%d %q", tc.name, te.Status, te.Code, te.Message, tc.code, tc.msg)
		}
	}
	if list, err := ie.ListCall(nil); err != nil || len(list) != 2 {
		t.Errorf("ie1 lists %d calls after refused creates (err %v), want 2", len(list), err)
	}
}

func TestCallsListFiltersByDayAndPagesNewestFirst(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	h := newHarness(t, twilioemu.Options{RandSeed: 32, Clock: clock})
	us := h.client(region.US1).Api
	at := func(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, time.UTC) }
	const a, b, c, d = "+14155550001", "+14155550002", "+14155550003", "+14155550004"
	inject := func(tc twilioemu.CallForTest) string { return h.emu.InjectCallForTest(region.US1, tc) }
	c1 := inject(twilioemu.CallForTest{To: a, From: b, Status: "completed", Direction: "inbound", Start: at(24, 23, 30), End: at(25, 0, 10), Duration: 2400})
	c2 := inject(twilioemu.CallForTest{To: a, From: c, ParentCallSID: c1, Status: "completed", Direction: "outbound-dial", Start: at(25, 8, 0), End: at(25, 8, 5), Duration: 300})
	c3 := inject(twilioemu.CallForTest{To: b, From: a, Status: "no-answer", Direction: "inbound", Start: at(25, 23, 59), End: at(26, 0, 1), Duration: 0})
	c4 := inject(twilioemu.CallForTest{To: d, From: a, Status: "failed", Direction: "inbound", Start: at(26, 10, 0), End: at(26, 10, 1), Duration: 0})
	c5 := inject(twilioemu.CallForTest{To: a, From: b, Status: "queued", Direction: "outbound-api"})
	// A call in another region never matches here.
	h.emu.InjectCallForTest(region.IE1, twilioemu.CallForTest{To: a, From: b, Status: "completed", Direction: "inbound", Start: at(25, 9, 0), End: at(25, 9, 1)})

	plus5 := time.FixedZone("+05", 5*3600)
	p := func() *api.ListCallParams { return new(api.ListCallParams) }
	for _, tc := range []struct {
		name   string
		params *api.ListCallParams
		want   []string
	}{
		{"all, newest first", nil, []string{c5, c4, c3, c2, c1}},
		{"To", p().SetTo(a), []string{c5, c2, c1}},
		{"From", p().SetFrom(c), []string{c2}},
		{"ParentCallSid", p().SetParentCallSid(c1), []string{c2}},
		{"Status", p().SetStatus("completed"), []string{c2, c1}},
		{"StartTime is a UTC day", p().SetStartTime(at(25, 15, 0)), []string{c3, c2}},
		{"StartTime in +05:00 is its UTC day", p().SetStartTime(time.Date(2026, 11, 26, 2, 0, 0, 0, plus5)), []string{c3, c2}},
		{"StartTime<", p().SetStartTimeBefore(at(25, 15, 0)), []string{c1}},
		{"StartTime>", p().SetStartTimeAfter(at(25, 15, 0)), []string{c4, c3, c2}},
		{"StartTime> and <", p().SetStartTimeAfter(at(25, 0, 0)).SetStartTimeBefore(at(26, 0, 0)), []string{c3, c2}},
		{"EndTime", p().SetEndTime(at(25, 18, 0)), []string{c2, c1}},
		{"EndTime<", p().SetEndTimeBefore(at(26, 0, 0)), []string{c2, c1}},
		{"EndTime>", p().SetEndTimeAfter(at(26, 23, 0)), []string{c4, c3}},
		{"filters combine", p().SetTo(a).SetStatus("completed").SetStartTimeAfter(at(25, 0, 0)), []string{c2}},
	} {
		got, err := us.ListCall(tc.params)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, callSIDs(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	// The documented YYYY-MM-DD form, and the forms the spec's examples show.
	std := h.creds[region.US1].Standard
	path := "/2010-04-01/Accounts/" + h.emu.AccountSID() + "/Calls.json"
	for _, tc := range []struct {
		q    url.Values
		want []string
	}{
		{url.Values{"StartTime>": {"2026-11-25"}}, []string{c4, c3, c2}},
		{url.Values{"StartTime": {"2026-11-25"}}, []string{c3, c2}},
		{url.Values{"EndTime<": {"2026-11-25"}}, []string{}},
		{url.Values{"StartTime": {"2026-11-25 12:00:00.000"}}, []string{c3, c2}},
		{url.Values{"StartTime<": {"11/25/2026 12:00:00 UTC"}}, []string{c1}},
	} {
		st, body := v2010Raw(t, h, region.US1, std.SID, std.Secret, "GET", path, tc.q)
		var page struct{ Calls []struct{ Sid string } }
		if err := json.Unmarshal(body, &page); st != 200 || err != nil {
			t.Fatalf("%v: %d %s", tc.q, st, body)
		}
		got := []string{}
		for _, c := range page.Calls {
			got = append(got, c.Sid)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.q, diff)
		}
	}
	for _, q := range []url.Values{{"StartTime": {"yesterday"}}, {"EndTime>": {"2026-13-01"}}, {"Status": {"exploded"}}} {
		if st, body := v2010Raw(t, h, region.US1, std.SID, std.Secret, "GET", path, q); st != 400 {
			t.Errorf("%v: %d %s, want 400", q, st, body)
		}
	}

	// Durations and times show once a call has ended, not before.
	got, err := us.FetchCall(c1, nil)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if diff := cmp.Diff([]*string{v2010Ptr("2400"), v2010Date(at(24, 23, 30)), v2010Date(at(25, 0, 10))},
		[]*string{got.Duration, got.StartTime, got.EndTime}); diff != "" {
		t.Errorf("ended call duration/start/end (-want +got):\n%s", diff)
	}
	got, err = us.FetchCall(c5, nil)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if got.Duration != nil || got.StartTime != nil || got.EndTime != nil {
		t.Errorf("queued call shows duration %v start %v end %v, want all null", got.Duration, got.StartTime, got.EndTime)
	}

	// Paging: 2 a page over 5 calls is 3 pages, newest first, each once.
	before := h.judgedOps()["ListCall"]
	all, err := us.ListCall(p().SetPageSize(2))
	if err != nil {
		t.Fatalf("paged list: %v", err)
	}
	if diff := cmp.Diff([]string{c5, c4, c3, c2, c1}, callSIDs(all)); diff != "" {
		t.Errorf("paged list (-want +got):\n%s", diff)
	}
	if n := h.judgedOps()["ListCall"] - before; n != 3 {
		t.Errorf("judged %d pages, want 3", n)
	}

	// A call arriving between pages neither repeats nor hides older ones.
	first, err := us.PageCall(p().SetPageSize(2), "", "")
	if err != nil || first.NextPageUri == nil {
		t.Fatalf("first page: %v %v", first, err)
	}
	inject(twilioemu.CallForTest{To: a, From: b, Status: "queued", Direction: "outbound-api"})
	nu, err := url.Parse(*first.NextPageUri)
	if err != nil {
		t.Fatal(err)
	}
	second, err := us.PageCall(p().SetPageSize(2), nu.Query().Get("PageToken"), nu.Query().Get("Page"))
	if err != nil {
		t.Fatalf("second page: %v", err)
	}
	if diff := cmp.Diff([]string{c5, c4, c3, c2}, append(callSIDs(first.Calls), callSIDs(second.Calls)...)); diff != "" {
		t.Errorf("pages across a new call (-want +got):\n%s", diff)
	}
}
