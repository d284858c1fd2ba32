package twilioemu

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Voice Insights call summaries (insights v1). Like call logs, summaries
// live only in the region that processed the call, so after a failover the
// standby region's insights host is where new calls show up. They need Voice
// Insights Advanced Features on the account (regionState.advancedInsights).
func (e *Emulator) registerInsights() {
	e.router.add("insights", "GET", "/v1/Voice/Summaries", "ListCallSummaries", listCallSummaries)
	e.router.add("insights", "GET", "/v1/Voice/{CallSid}/Summary", "FetchSummary", fetchCallSummary)
}

const (
	// summaryRetention: Voice Insights keeps 30 days of call data (17002).
	summaryRetention = 30 * 24 * time.Hour
	// summaryPageMax is the most summaries one page holds. The spec says
	// PageSize may be up to 1000, but its examples page by 25 and twilio-go
	// v1.31.0 documents "default is 25, and the maximum is 25"; larger
	// requests (twilio-go asks for 50 by default) get pages of 25, which a
	// client following next_page_url cannot tell apart.
	summaryPageMax = 25
)

// addSummary records the summary of a call in the region that processed it,
// or replaces it (a partial summary becoming complete) keeping its place.
// The call simulation calls it under Emulator.mu. processing_state defaults
// to complete and created_time to the start time.
// at is the summary as Insights shows it at now: none before partialAt,
// partial until completeAt, then as recorded.
func (s *callSummary) at(now time.Time) *callSummary {
	switch {
	case s == nil:
		return nil
	case !s.partialAt.IsZero() && now.Before(s.partialAt):
		return nil
	case !s.completeAt.IsZero() && now.Before(s.completeAt):
		p := *s
		p.processingState = "partial"
		return &p
	}
	return s
}

func (rs *regionState) addSummary(s callSummary) *callSummary {
	if s.processingState == "" {
		s.processingState = "complete"
	}
	if s.created.IsZero() {
		s.created = s.start
	}
	if _, ok := rs.summaries[s.callSID]; !ok {
		rs.summaryOrder = append(rs.summaryOrder, s.callSID)
	}
	p := &s
	rs.summaries[s.callSID] = p
	return p
}

// callSummaryJSON is insights.v1.call_summaries (list) and
// insights.v1.call.summary (fetch): the two schemas have the same fields.
type callSummaryJSON struct {
	AccountSID      string         `json:"account_sid"`
	CallSID         string         `json:"call_sid"`
	AnsweredBy      nstr           `json:"answered_by"`
	CallType        nstr           `json:"call_type"`
	CallState       nstr           `json:"call_state"`
	ProcessingState nstr           `json:"processing_state"`
	CreatedTime     date3339       `json:"created_time"`
	StartTime       date3339       `json:"start_time"`
	EndTime         date3339       `json:"end_time"`
	Duration        int            `json:"duration"`
	ConnectDuration int            `json:"connect_duration"`
	From            map[string]any `json:"from"`
	To              map[string]any `json:"to"`
	CarrierEdge     map[string]any `json:"carrier_edge"`
	ClientEdge      map[string]any `json:"client_edge"`
	SDKEdge         map[string]any `json:"sdk_edge"`
	SIPEdge         map[string]any `json:"sip_edge"`
	Tags            []string       `json:"tags"`
	URL             string         `json:"url"`
	Attributes      map[string]any `json:"attributes"`
	Properties      map[string]any `json:"properties"`
	Trust           map[string]any `json:"trust"`
	Annotation      map[string]any `json:"annotation"`
}

func summaryToJSON(c *call, s *callSummary, url string) callSummaryJSON {
	tags := s.tags
	if len(tags) == 0 {
		tags = nil // Twilio sends null, not [], for a call without tags
	}
	return callSummaryJSON{
		AccountSID: c.region.accountSID, CallSID: s.callSID, AnsweredBy: nstr(s.answeredBy),
		CallType: nstr(s.callType), CallState: nstr(summaryCallState(s)), ProcessingState: nstr(s.processingState),
		CreatedTime: date3339(s.created), StartTime: date3339(s.start), EndTime: date3339(s.end),
		Duration: s.duration, ConnectDuration: s.connectDuration, From: s.from, To: s.to,
		CarrierEdge: s.carrierEdge, SIPEdge: s.sipEdge, Tags: tags, URL: url, Properties: s.properties,
		// Emulated calls are never conference legs, branded or annotated;
		// client and SDK edges exist only for Voice SDK calls, which the
		// emulator does not place.
		Attributes: map[string]any{"conference_participant": false},
	}
}

// summaryCallState maps Call status words, as the call simulation may
// record them, onto Insights' call_state vocabulary (fail, noanswer, ...).
func summaryCallState(s *callSummary) string {
	switch s.callState {
	case "failed":
		return "fail"
	case "no-answer":
		return "noanswer"
	case "in-progress":
		return "answered"
	case "queued":
		return "ringing"
	}
	return s.callState
}

// summaryTime is the time a summary is filtered and kept by: its call's start.
func summaryTime(s *callSummary) time.Time {
	if s.start.IsZero() {
		return s.created
	}
	return s.start
}

func fetchCallSummary(c *call) (int, any, *apiError) {
	sid := c.params["CallSid"]
	s := c.region.summaries[sid].at(c.now)
	found := s != nil
	_, isCall := c.region.calls.get(sid)
	if !found && !isCall {
		return 0, nil, errNotFound(c.r.URL.Path)
	}
	// The Insights error codes are documented; their HTTP statuses are not.
	// 404 keeps them in the "not available" class a client retries later.
	if !c.region.advancedInsights {
		return 0, nil, newAPIError(http.StatusNotFound, 17007, "Voice Insights Advanced Features were not enabled when call %s was made", sid)
	}
	ps := c.r.URL.Query().Get("ProcessingState")
	switch ps {
	case "":
		ps = "complete" // the default: a partial summary is 17001 unless asked for
	case "complete", "partial", "all":
	default:
		return 0, nil, v1ParamInvalid("ProcessingState", ps)
	}
	if found && summaryTime(s).Before(c.now.Add(-summaryRetention)) {
		return 0, nil, newAPIError(http.StatusNotFound, 17002, "Call %s ended more than 30 days ago", sid)
	}
	if !found || (ps == "complete" && s.processingState != "complete") {
		return 0, nil, newAPIError(http.StatusNotFound, 17001, "Completed summary for call %s wasn't found: ask for ProcessingState=partial", sid)
	}
	return http.StatusOK, summaryToJSON(c, s, c.baseURL()+"/v1/Voice/"+sid+"/Summary"), nil
}

func listCallSummaries(c *call) (int, any, *apiError) {
	if !c.region.advancedInsights {
		return 0, nil, newAPIError(http.StatusForbidden, 17000, "Forbidden to access data: Voice Insights Advanced Features are not enabled on this account")
	}
	q := c.r.URL.Query()
	f, ae := parseSummaryFilter(q, c.now, c.region.accountSID)
	if ae != nil {
		return 0, nil, ae
	}
	p, ae := parsePage(q)
	if ae != nil {
		return 0, nil, ae
	}
	if q.Get("PageSize") == "" || p.size > summaryPageMax {
		p.size = summaryPageMax
	}
	// Newest first by SortBy; equal times keep the latest recorded first. The
	// page token is a position in this filtered, sorted list.
	var list []*callSummary
	for i := len(c.region.summaryOrder) - 1; i >= 0; i-- {
		if s := c.region.summaries[c.region.summaryOrder[i]].at(c.now); s != nil && f.match(s, c.now) {
			list = append(list, s)
		}
	}
	key := func(s *callSummary) time.Time { return summaryTime(s) }
	if f.sortBy == "end_time" {
		// A call still in progress has no end yet: it sorts as the newest.
		key = func(s *callSummary) time.Time {
			if s.end.IsZero() {
				return time.Unix(1<<40, 0)
			}
			return s.end
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return key(list[i]).After(key(list[j])) })
	hits, next := p.scan(len(list), nil)
	items := make([]any, len(hits))
	for i, h := range hits {
		// The spec's list examples carry the list URL on every item.
		items[i] = summaryToJSON(c, list[h], c.baseURL()+"/v1/Voice/Summaries")
	}
	return http.StatusOK, pageMeta(c, "call_summaries", p, items, next), nil
}

// summaryFilter is the list's query. Filters on data the emulator does not
// model (trust, branding, annotations) match nothing when they ask for a
// value, since no emulated call has one, and everything when they ask for
// its absence (a false boolean).
type summaryFilter struct {
	from, to, fromCarrier, toCarrier, fromCountry, toCountry string
	start, end                                               time.Time
	callTypes, callStates, directions, answeredBy            map[string]bool
	hasTag, abnormal                                         *bool
	processing, sortBy                                       string
	none                                                     bool
}

var relativeTime = regexp.MustCompile(`^([0-9]+)([mhdw])$`)

// parseInsightsTime reads StartTime/EndTime: a span back from now (30m, 4h,
// 3d, 1w) or an ISO date or date-time.
func parseInsightsTime(v string, now time.Time) (time.Time, bool) {
	if m := relativeTime.FindStringSubmatch(v); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return time.Time{}, false
		}
		unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
		return now.Add(-time.Duration(n) * unit), true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// summaryEnums are the list's enum filters; each takes a comma-separated
// list of values, as the spec's examples show (CallType=sip,trunking).
var summaryEnums = map[string][]string{
	"CallType":   {"carrier", "sip", "trunking", "client", "whatsapp"},
	"CallState":  {"ringing", "completed", "busy", "fail", "noanswer", "canceled", "answered", "undialed"},
	"Direction":  {"outbound_api", "outbound_dial", "inbound", "trunking_originating", "trunking_terminating"},
	"AnsweredBy": {"unknown", "machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "human", "fax"},
}

var unmodelledBools = []string{"VerifiedCaller", "Branded", "BrandedEnabled", "VoiceIntegrityEnabled", "BrandedLogo", "SpamAnnotation"}

var unmodelledStrings = []string{
	"AnsweredByAnnotation", "ConnectivityIssueAnnotation", "QualityIssueAnnotation", "CallScoreAnnotation",
	"BrandedBundleSid", "BrandedType", "BrandedUseCase", "BrandedCallReason", "VoiceIntegrityBundleSid",
	"VoiceIntegrityUseCase", "BusinessProfileIdentity", "BusinessProfileIndustry", "BusinessProfileBundleSid", "BusinessProfileType",
}

var subaccountPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)

func parseSummaryFilter(q url.Values, now time.Time, accountSID string) (*summaryFilter, *apiError) {
	f := &summaryFilter{
		from: q.Get("From"), to: q.Get("To"), fromCarrier: q.Get("FromCarrier"), toCarrier: q.Get("ToCarrier"),
		fromCountry: q.Get("FromCountryCode"), toCountry: q.Get("ToCountryCode"), sortBy: "start_time",
	}
	// The spec documents the defaults: the last 4 hours up to now.
	times := []struct {
		param, def string
		dst        *time.Time
	}{{"StartTime", "4h", &f.start}, {"EndTime", "0m", &f.end}}
	for _, t := range times {
		v := q.Get(t.param)
		if v == "" {
			v = t.def
		}
		tv, ok := parseInsightsTime(v, now)
		if !ok {
			return nil, v1ParamInvalid(t.param, v)
		}
		*t.dst = tv
	}
	sets := map[string]*map[string]bool{"CallType": &f.callTypes, "CallState": &f.callStates, "Direction": &f.directions, "AnsweredBy": &f.answeredBy}
	for param, dst := range sets {
		v := q.Get(param)
		if v == "" {
			continue
		}
		*dst = map[string]bool{}
		for _, one := range strings.Split(v, ",") {
			if !v1OneOf(one, summaryEnums[param]) {
				return nil, v1ParamInvalid(param, v)
			}
			(*dst)[one] = true
		}
	}
	bools := map[string]**bool{"HasTag": &f.hasTag, "AbnormalSession": &f.abnormal}
	for _, param := range unmodelledBools {
		bools[param] = new(*bool)
	}
	for param, dst := range bools {
		if v := q.Get(param); v != "" {
			b, err := formBool(v)
			if err != nil {
				return nil, v1ParamInvalid(param, v)
			}
			*dst = &b
		}
	}
	for _, param := range unmodelledBools {
		if b := *bools[param]; b != nil && *b {
			f.none = true
		}
	}
	for _, param := range unmodelledStrings {
		if q.Get(param) != "" {
			f.none = true
		}
	}
	switch ps := q.Get("ProcessingState"); ps {
	case "", "all":
		// The list's default is undocumented; "all" keeps partial summaries
		// (available within minutes, complete after ~30) visible to gates.
	case "completed":
		f.processing = "complete"
	case "partial", "started":
		f.processing = "partial"
	default:
		return nil, v1ParamInvalid("ProcessingState", ps)
	}
	switch sb := q.Get("SortBy"); sb {
	case "":
	case "start_time", "end_time":
		f.sortBy = sb
	default:
		return nil, v1ParamInvalid("SortBy", sb)
	}
	if sub := q.Get("Subaccount"); sub != "" {
		if !subaccountPattern.MatchString(sub) {
			return nil, v1ParamInvalid("Subaccount", sub)
		}
		// The emulated account has no subaccounts.
		f.none = f.none || sub != accountSID
	}
	return f, nil
}

func v1OneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// summaryField reads a string property of a summary's free-form objects.
func summaryField(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// abnormalSession is Twilio's definition: the last SIP response was not 200.
func abnormalSession(s *callSummary) bool {
	switch v := s.properties["last_sip_response_num"].(type) {
	case int:
		return v != 200
	case float64:
		return v != 200
	}
	return false
}

func (f *summaryFilter) match(s *callSummary, now time.Time) bool {
	t := summaryTime(s)
	switch {
	case f.none, t.Before(now.Add(-summaryRetention)), t.Before(f.start), t.After(f.end):
		return false
	case f.from != "" && summaryField(s.from, "caller") != f.from, f.to != "" && summaryField(s.to, "callee") != f.to:
		return false
	case f.fromCarrier != "" && summaryField(s.from, "carrier") != f.fromCarrier, f.toCarrier != "" && summaryField(s.to, "carrier") != f.toCarrier:
		return false
	case f.fromCountry != "" && !strings.EqualFold(summaryField(s.from, "country_code"), f.fromCountry),
		f.toCountry != "" && !strings.EqualFold(summaryField(s.to, "country_code"), f.toCountry):
		return false
	case f.callTypes != nil && !f.callTypes[s.callType], f.callStates != nil && !f.callStates[summaryCallState(s)],
		f.directions != nil && !f.directions[summaryField(s.properties, "direction")], f.answeredBy != nil && !f.answeredBy[s.answeredBy]:
		return false
	case f.hasTag != nil && *f.hasTag != (len(s.tags) > 0), f.abnormal != nil && *f.abnormal != abnormalSession(s):
		return false
	case f.processing != "" && s.processingState != f.processing:
		return false
	}
	return true
}
