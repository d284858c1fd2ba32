package twilioemu

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// Calls (2010 API). A call log lives only in the region that processed the
// call: it is listed and fetched there and nowhere else, which is how a
// failover is proved (calls land in the target region, none in the old one).
// The API places outbound calls; inbound ones come from the call simulation,
// which stores records with regionState.addCall.
func (e *Emulator) registerCalls() {
	e.router.add("api", "GET", v2010+"/Calls.json", "ListCall", listCalls)
	e.router.add("api", "POST", v2010+"/Calls.json", "CreateCall", createCall)
	e.router.add("api", "GET", v2010+"/Calls/{Sid}.json", "FetchCall", fetchCall)
}

// addCall stores a call log in the region.
func (rs *regionState) addCall(cr *callRecord) { rs.calls.put(cr.sid, cr) }

// callJSON is api.v2010.account.call.
type callJSON struct {
	SID             string            `json:"sid"`
	DateCreated     date2822          `json:"date_created"`
	DateUpdated     date2822          `json:"date_updated"`
	ParentCallSID   nstr              `json:"parent_call_sid"`
	AccountSID      string            `json:"account_sid"`
	To              string            `json:"to"`
	ToFormatted     string            `json:"to_formatted"`
	From            string            `json:"from"`
	FromFormatted   string            `json:"from_formatted"`
	PhoneNumberSID  nstr              `json:"phone_number_sid"`
	Status          string            `json:"status"`
	StartTime       date2822          `json:"start_time"`
	EndTime         date2822          `json:"end_time"`
	Duration        nstr              `json:"duration"`
	Price           nstr              `json:"price"`
	PriceUnit       nstr              `json:"price_unit"`
	Direction       string            `json:"direction"`
	AnsweredBy      nstr              `json:"answered_by"`
	APIVersion      string            `json:"api_version"`
	ForwardedFrom   nstr              `json:"forwarded_from"`
	GroupSID        nstr              `json:"group_sid"`
	CallerName      nstr              `json:"caller_name"`
	QueueTime       nstr              `json:"queue_time"`
	TrunkSID        nstr              `json:"trunk_sid"`
	URI             string            `json:"uri"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
}

// callSubresources are the keys of the spec example's subresource_uris.
var callSubresources = map[string]string{
	"notifications": "Notifications", "recordings": "Recordings", "payments": "Payments", "events": "Events",
	"siprec": "Siprec", "streams": "Streams", "transcriptions": "Transcriptions",
	"user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
	"user_defined_messages":              "UserDefinedMessages",
}

func toCallJSON(c *call, cr *callRecord) callJSON {
	base := "/2010-04-01/Accounts/" + c.region.accountSID + "/Calls/" + cr.sid
	subs := make(map[string]string, len(callSubresources))
	for k, p := range callSubresources {
		subs[k] = base + "/" + p + ".json"
	}
	// Twilio leaves duration empty until the call has ended.
	var duration nstr
	if !cr.end.IsZero() {
		duration = nstr(strconv.Itoa(cr.duration))
	}
	return callJSON{
		SID: cr.sid, DateCreated: date2822(cr.created), DateUpdated: date2822(cr.updated),
		ParentCallSID: nstr(cr.parentCallSID), AccountSID: c.region.accountSID,
		To: cr.to, ToFormatted: formatEndpoint(cr.to), From: cr.from, FromFormatted: formatEndpoint(cr.from),
		PhoneNumberSID: nstr(cr.phoneNumberSID), Status: cr.status,
		StartTime: date2822(cr.start), EndTime: date2822(cr.end), Duration: duration,
		Price: nstr(cr.price), PriceUnit: nstr(cr.priceUnit), Direction: cr.direction,
		AnsweredBy: nstr(cr.answeredBy), APIVersion: "2010-04-01", ForwardedFrom: nstr(cr.forwardedFrom),
		GroupSID: nstr(cr.groupSID), CallerName: nstr(cr.callerName), QueueTime: nstr(cr.queueTime),
		TrunkSID: nstr(cr.trunkSID), URI: base + ".json", SubresourceURIs: subs,
	}
}

// formatEndpoint is Twilio's display form: North American numbers as
// "(415) 867-5309", everything else as given.
func formatEndpoint(s string) string {
	if len(s) == 12 && strings.HasPrefix(s, "+1") && ValidE164(s) {
		return "(" + s[2:5] + ") " + s[5:8] + "-" + s[8:]
	}
	return s
}

var callStatuses = map[string]bool{
	"queued": true, "ringing": true, "in-progress": true, "completed": true,
	"busy": true, "failed": true, "no-answer": true, "canceled": true,
}

func listCalls(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	p, ae := parsePage(q)
	if ae != nil {
		return 0, nil, ae
	}
	var preds []func(*callRecord) bool
	for _, f := range []struct {
		param string
		field func(*callRecord) string
	}{
		{"To", func(cr *callRecord) string { return cr.to }},
		{"From", func(cr *callRecord) string { return cr.from }},
		{"ParentCallSid", func(cr *callRecord) string { return cr.parentCallSID }},
		{"Status", func(cr *callRecord) string { return cr.status }},
	} {
		v, ok := q[f.param]
		if !ok {
			continue
		}
		if f.param == "Status" && !callStatuses[v[0]] {
			return 0, nil, errInvalid("Status", v[0])
		}
		want, field := v[0], f.field
		preds = append(preds, func(cr *callRecord) bool { return field(cr) == want })
	}
	for _, f := range []struct {
		param string
		at    func(*callRecord) time.Time
	}{
		{"StartTime", func(cr *callRecord) time.Time { return cr.start }},
		{"EndTime", func(cr *callRecord) time.Time { return cr.end }},
	} {
		dp, ae := dayPredicates(q, f.param, f.at)
		if ae != nil {
			return 0, nil, ae
		}
		preds = append(preds, dp...)
	}
	calls := &c.region.calls
	var match func(i int) bool
	if len(preds) > 0 {
		match = func(i int) bool {
			cr := calls.at(i)
			for _, pr := range preds {
				if !pr(cr) {
					return false
				}
			}
			return true
		}
	}
	hits, next := p.scanDown(calls.len(), match)
	items := make([]any, len(hits))
	for i, h := range hits {
		items[i] = toCallJSON(c, calls.at(h))
	}
	return http.StatusOK, pageV2010(c, "calls", p, items, next), nil
}

// dayPredicates reads the date filters of one time field: P (on that UTC
// day), P< (before that day) and P> (on or after that day), as the spec
// describes them. Twilio compares whole UTC days, so a timestamp value (what
// twilio-go sends, RFC 3339) stands for its UTC day. A call without the time
// (a queued call has no start) matches no date filter of that field.
func dayPredicates(q url.Values, param string, at func(*callRecord) time.Time) ([]func(*callRecord) bool, *apiError) {
	var preds []func(*callRecord) bool
	for _, op := range []string{"", "<", ">"} {
		v, ok := q[param+op]
		if !ok {
			continue
		}
		day, ae := parseDay(param+op, v[0])
		if ae != nil {
			return nil, ae
		}
		next := day.AddDate(0, 0, 1)
		switch op {
		case "":
			preds = append(preds, func(cr *callRecord) bool { t := at(cr); return !t.IsZero() && !t.Before(day) && t.Before(next) })
		case "<":
			preds = append(preds, func(cr *callRecord) bool { t := at(cr); return !t.IsZero() && t.Before(day) })
		case ">":
			preds = append(preds, func(cr *callRecord) bool { t := at(cr); return !t.IsZero() && !t.Before(day) })
		}
	}
	return preds, nil
}

// dayLayouts are the date forms accepted: the documented YYYY-MM-DD,
// twilio-go's RFC 3339, and the two other forms the spec's examples show
// Twilio accepting ("2019-06-11 22:05:25.000", "06/11/2019 22:05:25 MST").
var dayLayouts = []string{time.DateOnly, time.RFC3339, time.DateTime, "01/02/2006 15:04:05 MST"}

// parseDay returns the UTC midnight that starts the day v names.
func parseDay(param, v string) (time.Time, *apiError) {
	for _, layout := range dayLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			y, m, d := t.UTC().Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, errInvalid(param, v)
}

func fetchCall(c *call) (int, any, *apiError) {
	cr, ok := c.region.calls.get(c.params["Sid"])
	if !ok {
		return 0, nil, errNotFound(c.r.URL.Path)
	}
	return http.StatusOK, toCallJSON(c, cr), nil
}

var (
	sipEndpoint = regexp.MustCompile(`^sips?:[^@\s]+@[^@\s]+$`)
	apSID       = regexp.MustCompile(`^AP[0-9a-fA-F]{32}$`)
)

// validEndpoint accepts what a call can be placed to: an E.164 number, a
// SIP address or a Client identity.
func validEndpoint(s string) bool {
	return ValidE164(s) || sipEndpoint.MatchString(s) || (strings.HasPrefix(s, "client:") && len(s) > len("client:"))
}

// createCall places an outbound API call from the region of the host: it is
// recorded there, queued. Its handler (Url, Twiml or ApplicationSid) and
// callbacks are validated as Twilio validates them; the record does not keep
// them (callRecord has no fields for them yet).
func createCall(c *call) (int, any, *apiError) {
	f := c.form
	to, from := f.Get("To"), f.Get("From")
	switch {
	case to == "":
		return 0, nil, newAPIError(http.StatusBadRequest, 21201, "No 'To' number is specified")
	case from == "":
		return 0, nil, newAPIError(http.StatusBadRequest, 21213, "No 'From' number is specified")
	case !validEndpoint(to):
		return 0, nil, newAPIError(http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: %s", to)
	}
	// The caller ID must be a number of the account, except a Client
	// identity, and except towards a SIP address, which takes any caller ID.
	var phoneSID string
	if n, owned := c.acct.byE164[from]; owned {
		phoneSID = n.records[c.region.id].sid
	} else if !strings.HasPrefix(from, "client:") && !sipEndpoint.MatchString(to) {
		return 0, nil, newAPIError(http.StatusBadRequest, 21210, "The source phone number provided, %s, is not yet verified for your account", from)
	}
	if ae := checkCallHandler(c, f); ae != nil {
		return 0, nil, ae
	}
	if ae := checkCallOptions(f); ae != nil {
		return 0, nil, ae
	}
	cr := &callRecord{
		sid: c.acct.newSID("CA"), to: to, from: from, phoneNumberSID: phoneSID,
		status: "queued", direction: "outbound-api", queueTime: "0", created: c.now, updated: c.now,
	}
	// Outside us1 the price unit stays empty until the call is finalized.
	if c.region.id == region.US1 {
		cr.priceUnit = "USD"
	}
	c.region.addCall(cr)
	c.e.enqueueAPICall(c.region.id, cr.sid)
	return http.StatusCreated, toCallJSON(c, cr), nil
}

// checkCallHandler insists on one of Url, Twiml or ApplicationSid, each
// valid; an application must exist in this region, since apps are regional.
func checkCallHandler(c *call, f url.Values) *apiError {
	u, tw, app := f.Get("Url"), f.Get("Twiml"), f.Get("ApplicationSid")
	if u == "" && tw == "" && app == "" {
		return newAPIError(http.StatusBadRequest, 21205, "Url, Twiml or ApplicationSid is required")
	}
	if u != "" && !validURL(u) {
		return newAPIError(http.StatusBadRequest, 21205, "Url is not a valid URL: %s", u)
	}
	if app != "" {
		if _, ok := c.region.apps.get(app); !apSID.MatchString(app) || !ok {
			return errInvalid("ApplicationSid", app)
		}
	}
	return nil
}

// checkCallOptions validates the optional parameters twilio-go may send.
func checkCallOptions(f url.Values) *apiError {
	var sink string
	if ae := applyURLParams(f, []strParam{
		{"FallbackUrl", &sink}, {"StatusCallback", &sink}, {"RecordingStatusCallback", &sink},
		{"AsyncAmdStatusCallback", &sink}, {"ClientNotificationUrl", &sink},
	}); ae != nil {
		return ae
	}
	if ae := applyMethodParams(f, []strParam{
		{"Method", &sink}, {"FallbackMethod", &sink}, {"StatusCallbackMethod", &sink},
		{"RecordingStatusCallbackMethod", &sink}, {"AsyncAmdStatusCallbackMethod", &sink},
	}); ae != nil {
		return ae
	}
	var b bool
	if ae := applyBoolParams(f, []boolParam{{"Record", &b}}); ae != nil {
		return ae
	}
	for _, ev := range f["StatusCallbackEvent"] {
		switch ev {
		case "initiated", "ringing", "answered", "completed":
		default:
			return errInvalid("StatusCallbackEvent", ev)
		}
	}
	for _, p := range []string{"Timeout", "MachineDetectionTimeout", "MachineDetectionSpeechThreshold",
		"MachineDetectionSpeechEndThreshold", "MachineDetectionSilenceTimeout", "TimeLimit"} {
		if v, ok := f[p]; ok {
			if n, err := strconv.Atoi(v[0]); err != nil || n < 0 {
				return errInvalid(p, v[0])
			}
		}
	}
	if v := f.Get("Byoc"); v != "" && !byocSID.MatchString(v) {
		return errInvalid("Byoc", v)
	}
	return nil
}
