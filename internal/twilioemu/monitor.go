package twilioemu

import (
	"net/http"
	"net/url"
	"time"
)

// Monitor (monitor v1): the account's alerts, one per error or warning
// Twilio met calling a webhook or serving a request, kept only in the region
// where it happened. Failed webhooks of calls (11200, 11205) land here; they
// are the Twilio-side signal voicedr's gates read, because a call whose
// webhook and fallback both failed is answered with an error message and its
// Call record can still read "completed".
func (e *Emulator) registerMonitor() {
	e.router.add("monitor", "GET", "/v1/Alerts", "ListAlert", listAlerts)
	e.router.add("monitor", "GET", "/v1/Alerts/{Sid}", "FetchAlert", fetchAlert)
}

// alertRetention is how far back Twilio keeps and answers alert queries.
const alertRetention = 30 * 24 * time.Hour

// addAlert records an alert in rs and returns it; the call simulation calls
// it (under Emulator.mu). al.generated must be set: it is the alert's time,
// which the list filters and the retention window use. The SID, log level
// (error), created/updated dates and more_info are filled in when empty.
// Alerts list newest first by recording order, so record them in the order
// they happen.
func (a *account) addAlert(rs *regionState, al alert) *alert {
	p := &al
	if p.sid == "" {
		p.sid = a.newSID("NO")
	}
	if p.logLevel == "" {
		p.logLevel = "error"
	}
	if p.created.IsZero() {
		p.created = p.generated
	}
	if p.updated.IsZero() {
		p.updated = p.created
	}
	if p.moreInfo == "" && p.errorCode != "" {
		p.moreInfo = "https://www.twilio.com/docs/errors/" + p.errorCode
	}
	rs.alerts.put(p.sid, p)
	return p
}

// alertJSON is monitor.v1.alert, the list item.
type alertJSON struct {
	AccountSID    string   `json:"account_sid"`
	AlertText     nstr     `json:"alert_text"`
	APIVersion    nstr     `json:"api_version"`
	DateCreated   date3339 `json:"date_created"`
	DateGenerated date3339 `json:"date_generated"`
	DateUpdated   date3339 `json:"date_updated"`
	ErrorCode     nstr     `json:"error_code"`
	LogLevel      nstr     `json:"log_level"`
	MoreInfo      nstr     `json:"more_info"`
	RequestMethod nstr     `json:"request_method"`
	RequestURL    nstr     `json:"request_url"`
	ResourceSID   nstr     `json:"resource_sid"`
	SID           string   `json:"sid"`
	URL           string   `json:"url"`
	ServiceSID    nstr     `json:"service_sid"`
}

// alertInstanceJSON is monitor.v1.alert-instance: a fetch adds the request
// and response details the list leaves out.
type alertInstanceJSON struct {
	alertJSON
	RequestVariables nstr `json:"request_variables"`
	ResponseBody     nstr `json:"response_body"`
	ResponseHeaders  nstr `json:"response_headers"`
	RequestHeaders   nstr `json:"request_headers"`
}

func alertToJSON(c *call, al *alert) alertJSON {
	return alertJSON{
		AccountSID: c.region.accountSID, AlertText: nstr(al.alertText),
		// Every alert the emulator records comes from a voice webhook of the
		// 2010-04-01 API.
		APIVersion:  "2010-04-01",
		DateCreated: date3339(al.created), DateGenerated: date3339(al.generated), DateUpdated: date3339(al.updated),
		ErrorCode: nstr(al.errorCode), LogLevel: nstr(al.logLevel), MoreInfo: nstr(al.moreInfo),
		RequestMethod: nstr(al.requestMethod), RequestURL: nstr(al.requestURL), ResourceSID: nstr(al.resourceSID),
		SID: al.sid, URL: c.baseURL() + "/v1/Alerts/" + al.sid, ServiceSID: nstr(al.serviceSID),
	}
}

// parseAlertDate reads StartDate/EndDate: YYYY-MM-DD or an RFC 3339 time
// (twilio-go sends RFC 3339). A bare EndDate date covers that whole day.
func parseAlertDate(v string, end bool) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), true
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, false
	}
	if end {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t, true
}

// alertWindow reads the list filters. Without StartDate the list covers the
// retention window. A StartDate before the first day of that window is
// refused, as Twilio does not serve queries older than 30 days; comparing by
// day lets a client that computes "30 days ago" as a date stay within it.
func alertWindow(q url.Values, now time.Time) (start, end time.Time, ae *apiError) {
	floor := now.Add(-alertRetention)
	start = floor
	if v := q.Get("StartDate"); v != "" {
		t, ok := parseAlertDate(v, false)
		if !ok {
			return start, end, v1ParamInvalid("StartDate", v)
		}
		if t.Before(floor.Truncate(24 * time.Hour)) {
			return start, end, newAPIError(http.StatusBadRequest, 20001, "Invalid StartDate %q: queries for alerts older than 30 days are not supported", v)
		}
		start = t
	}
	if v := q.Get("EndDate"); v != "" {
		t, ok := parseAlertDate(v, true)
		if !ok {
			return start, end, v1ParamInvalid("EndDate", v)
		}
		if t.Before(start) {
			return start, end, newAPIError(http.StatusBadRequest, 20001, "Invalid EndDate %q: it is before StartDate", v)
		}
		end = t
	}
	return start, end, nil
}

func listAlerts(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	level := q.Get("LogLevel")
	switch level {
	case "", "error", "warning", "notice", "debug":
	default:
		return 0, nil, v1ParamInvalid("LogLevel", level)
	}
	start, end, ae := alertWindow(q, c.now)
	if ae != nil {
		return 0, nil, ae
	}
	p, ae := parsePage(q)
	if ae != nil {
		return 0, nil, ae
	}
	// Retention applies even to a StartDate inside the first allowed day.
	if floor := c.now.Add(-alertRetention); start.Before(floor) {
		start = floor
	}
	as := &c.region.alerts
	hits, next := p.scanDown(as.len(), func(i int) bool {
		al := as.at(i)
		return !al.generated.Before(start) && (end.IsZero() || !al.generated.After(end)) && (level == "" || al.logLevel == level)
	})
	items := make([]any, len(hits))
	for i, h := range hits {
		items[i] = alertToJSON(c, as.at(h))
	}
	return http.StatusOK, pageMeta(c, "alerts", p, items, next), nil
}

func fetchAlert(c *call) (int, any, *apiError) {
	al, ok := c.region.alerts.get(c.params["Sid"])
	// An alert past retention is gone, as on Twilio.
	if !ok || al.generated.Before(c.now.Add(-alertRetention)) {
		return 0, nil, errNotFound(c.r.URL.Path)
	}
	return http.StatusOK, alertInstanceJSON{
		alertJSON: alertToJSON(c, al), RequestVariables: nstr(al.requestVariables),
		ResponseBody: nstr(al.responseBody), ResponseHeaders: nstr(al.responseHeaders), RequestHeaders: nstr(al.requestHeaders),
	}, nil
}

// Helpers shared by the v1 products of this package (trunking, insights,
// monitor).

// The v1 APIs answer a missing or malformed parameter with 400 / 20001,
// not with the 2010 API's 21xxx codes. Insights and Monitor use these too.
func v1ParamMissing(param string) *apiError {
	return newAPIError(http.StatusBadRequest, 20001, "Missing required parameter %s in the post body", param)
}

func v1ParamInvalid(param, value string) *apiError {
	return newAPIError(http.StatusBadRequest, 20001, "Invalid %s: %q", param, value)
}

// v1Enum sets *dst from an optional form parameter that must be one of allowed.
func v1Enum(f url.Values, param string, allowed []string, dst *string) *apiError {
	v, ok := f[param]
	if !ok {
		return nil
	}
	for _, a := range allowed {
		if v[0] == a {
			*dst = a
			return nil
		}
	}
	return v1ParamInvalid(param, v[0])
}

// v1Bool sets *dst from an optional boolean form parameter.
func v1Bool(f url.Values, param string, dst *bool) *apiError {
	v, ok := f[param]
	if !ok {
		return nil
	}
	b, err := formBool(v[0])
	if err != nil {
		return v1ParamInvalid(param, v[0])
	}
	*dst = b
	return nil
}

// v1ListPage serves a v1 list: it pages over n items in their order, keeps
// those match accepts (nil: all) and renders each with item.
func v1ListPage(c *call, key string, n int, match func(i int) bool, item func(i int) any) (int, any, *apiError) {
	p, ae := parsePage(c.r.URL.Query())
	if ae != nil {
		return 0, nil, ae
	}
	hits, next := p.scan(n, match)
	items := make([]any, len(hits))
	for i, h := range hits {
		items[i] = item(h)
	}
	return http.StatusOK, pageMeta(c, key, p, items, next), nil
}
