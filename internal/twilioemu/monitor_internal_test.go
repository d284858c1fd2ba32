package twilioemu

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	monitor "github.com/twilio/twilio-go/rest/monitor/v1"

	"github.com/voicedr/voicedr/internal/region"
)

// seedAlerts records, in us1, one alert 31 days old and then seven webhook
// alerts ten minutes apart (k=0 oldest, k=6 ten minutes ago; k=2 and k=5 are
// warnings), and one alert in ie1. It returns the us1 SIDs by k.
func seedAlerts(l *v1Loop) (sids []string, old, ie string) {
	now := l.clock.Now()
	l.seed(region.US1, func(a *account, rs *regionState) {
		old = a.addAlert(rs, alert{errorCode: "11200", alertText: "expired", generated: now.Add(-31 * 24 * time.Hour)}).sid
		for k := 0; k < 7; k++ {
			al := alert{
				errorCode: "11200", alertText: fmt.Sprintf("Msg=HTTP+retrieval+failure&k=%d", k),
				requestURL: "https://app.example.com/voice", requestMethod: "POST", resourceSID: fmt.Sprintf("CA%032x", k),
				requestVariables: "To=%2B15005550006&From=%2B14155550100", responseBody: "<html>502</html>",
				responseHeaders: "Content-Type=text/html", requestHeaders: "X-Twilio-Signature=abc",
				generated: now.Add(-time.Duration(7-k) * 10 * time.Minute),
			}
			if k%3 == 2 {
				al.logLevel, al.errorCode = "warning", "11205"
			}
			sids = append(sids, a.addAlert(rs, al).sid)
		}
	})
	l.seed(region.IE1, func(a *account, rs *regionState) {
		ie = a.addAlert(rs, alert{errorCode: "11200", generated: now.Add(-time.Minute)}).sid
	})
	return sids, old, ie
}

func monSIDs(list []monitor.MonitorV1Alert) []string {
	out := []string{}
	for _, a := range list {
		out = append(out, *a.Sid)
	}
	return out
}

func monPick(sids []string, ks ...int) []string {
	out := []string{}
	for _, k := range ks {
		out = append(out, sids[k])
	}
	return out
}

func TestAlertsListNewestFirstWithFilters(t *testing.T) {
	l := newV1Loop(t)
	sids, _, ieSID := seedAlerts(l)
	c := l.client(region.US1).MonitorV1
	now := l.clock.Now()
	P := func() *monitor.ListAlertParams { return new(monitor.ListAlertParams) }
	cases := []struct {
		name   string
		params *monitor.ListAlertParams
		want   []string
	}{
		{"everything in 30 days, 3 a page", P().SetPageSize(3), monPick(sids, 6, 5, 4, 3, 2, 1, 0)},
		{"LogLevel=warning", P().SetLogLevel("warning"), monPick(sids, 5, 2)},
		{"LogLevel=debug", P().SetLogLevel("debug"), []string{}},
		{"StartDate..EndDate", P().SetStartDate(now.Add(-35 * time.Minute)).SetEndDate(now.Add(-15 * time.Minute)), monPick(sids, 5, 4)},
		{"bounds are inclusive", P().SetStartDate(now.Add(-30 * time.Minute)).SetEndDate(now.Add(-20 * time.Minute)), monPick(sids, 5, 4)},
		{"StartDate in another zone", P().SetStartDate(now.Add(-15 * time.Minute).In(time.FixedZone("CET", 3600))), monPick(sids, 6)},
		{"errors after an hour ago", P().SetLogLevel("error").SetStartDate(now.Add(-time.Hour)), monPick(sids, 6, 4, 3, 1)},
	}
	for _, tc := range cases {
		got, err := c.ListAlert(tc.params)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, monSIDs(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	if n := l.judgedCount("ListAlert"); n != len(cases)+2 {
		t.Errorf("judged %d ListAlert pages, want %d (the first list takes 3 pages)", n, len(cases)+2)
	}
	if got, err := l.client(region.IE1).MonitorV1.ListAlert(nil); err != nil || !cmp.Equal([]string{ieSID}, monSIDs(got)) {
		t.Errorf("ie1 alerts = %v, %v; want only its own", monSIDs(got), err)
	}
}

func TestAlertsRawDateForms(t *testing.T) {
	l := newV1Loop(t)
	sids, _, _ := seedAlerts(l)
	// A bare EndDate covers its whole day; a bare StartDate starts at midnight.
	today := l.clock.Now().Format(time.DateOnly)
	var page monitor.ListAlertResponse
	l.getJSON(region.US1, "https://monitor.ashburn.us1.twilio.com/v1/Alerts?StartDate="+today+"&EndDate="+today, &page)
	if diff := cmp.Diff(monPick(sids, 6, 5, 4, 3, 2, 1, 0), monSIDs(page.Alerts)); diff != "" {
		t.Errorf("today's alerts (-want +got):\n%s", diff)
	}
}

func TestAlertPagesStayStableWhileAlertsArrive(t *testing.T) {
	l := newV1Loop(t)
	sids, _, _ := seedAlerts(l)
	c := l.client(region.US1).MonitorV1
	first, err := c.PageAlert(new(monitor.ListAlertParams).SetPageSize(3), "", "")
	if err != nil {
		t.Fatalf("page: %v", err)
	}
	if diff := cmp.Diff(monPick(sids, 6, 5, 4), monSIDs(first.Alerts)); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	// An alert recorded between two page requests goes on the first page of
	// a new listing, not onto the next page of this one.
	l.seed(region.US1, func(a *account, rs *regionState) {
		a.addAlert(rs, alert{errorCode: "11200", generated: l.clock.Now()})
	})
	var second monitor.ListAlertResponse
	l.getJSON(region.US1, *first.Meta.NextPageUrl, &second)
	if diff := cmp.Diff(monPick(sids, 3, 2, 1), monSIDs(second.Alerts)); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
}

func TestFetchAlertAndRetention(t *testing.T) {
	l := newV1Loop(t)
	sids, old, ieSID := seedAlerts(l)
	c := l.client(region.US1).MonitorV1
	got, err := c.FetchAlert(sids[5])
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	gen := l.clock.Now().Add(-20 * time.Minute)
	want := []any{
		sids[5], "11205", "warning", "Msg=HTTP+retrieval+failure&k=5", "https://www.twilio.com/docs/errors/11205",
		"https://app.example.com/voice", "POST", fmt.Sprintf("CA%032x", 5), "To=%2B15005550006&From=%2B14155550100",
		"<html>502</html>", "Content-Type=text/html", "X-Twilio-Signature=abc", "2010-04-01",
		"https://monitor.ashburn.us1.twilio.com/v1/Alerts/" + sids[5], gen, gen, gen, true,
	}
	gotView := []any{
		*got.Sid, *got.ErrorCode, *got.LogLevel, *got.AlertText, *got.MoreInfo, *got.RequestUrl, *got.RequestMethod,
		*got.ResourceSid, *got.RequestVariables, *got.ResponseBody, *got.ResponseHeaders, *got.RequestHeaders,
		*got.ApiVersion, *got.Url, *got.DateGenerated, *got.DateCreated, *got.DateUpdated, got.ServiceSid == nil,
	}
	if diff := cmp.Diff(want, gotView); diff != "" {
		t.Errorf("alert (-want +got):\n%s", diff)
	}
	_, err = c.FetchAlert(old)
	insWantCode(t, "31-day-old alert", err, 404, 20404)
	_, err = c.FetchAlert(ieSID)
	insWantCode(t, "ie1 alert through us1", err, 404, 20404)
	// Thirty days on, every alert has aged out.
	l.clock.advance(30*24*time.Hour + time.Minute)
	if got, err := c.ListAlert(nil); err != nil || len(got) != 0 {
		t.Errorf("after 30 days: %v, %v; want none", monSIDs(got), err)
	}
	_, err = c.FetchAlert(sids[6])
	insWantCode(t, "aged-out alert", err, 404, 20404)
	if n := l.judgedCount("FetchAlert"); n != 1 {
		t.Errorf("judged %d FetchAlert responses, want 1", n)
	}
}
