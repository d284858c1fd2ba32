package twilioemu

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/voicedr/voicedr/internal/region"
)

// Elastic SIP Trunking (trunking v1). Trunks, their origination URLs and
// their IP ACL / credential list associations are per region: Twilio copies
// nothing between regions, which is why a DR standby region holds its own
// trunk with the same domain name (unique within a region, allowed in
// several) and the Routes API decides which region's trunk takes the calls.
func (e *Emulator) registerTrunking() {
	add := func(method, pattern, op string, h handlerFunc) { e.router.add("trunking", method, pattern, op, h) }
	add("GET", "/v1/Trunks", "ListTrunk", listTrunks)
	add("POST", "/v1/Trunks", "CreateTrunk", createTrunk)
	add("GET", "/v1/Trunks/{Sid}", "FetchTrunk", fetchTrunk)
	add("POST", "/v1/Trunks/{Sid}", "UpdateTrunk", updateTrunk)
	add("DELETE", "/v1/Trunks/{Sid}", "DeleteTrunk", deleteTrunk)
	add("GET", "/v1/Trunks/{TrunkSid}/Recording", "FetchRecording", recording)
	add("POST", "/v1/Trunks/{TrunkSid}/Recording", "UpdateRecording", recording)
	ou := "/v1/Trunks/{TrunkSid}/OriginationUrls"
	add("GET", ou, "ListOriginationUrl", listOrigination)
	add("POST", ou, "CreateOriginationUrl", createOrigination)
	add("GET", ou+"/{Sid}", "FetchOriginationUrl", fetchOrigination)
	add("POST", ou+"/{Sid}", "UpdateOriginationUrl", updateOrigination)
	add("DELETE", ou+"/{Sid}", "DeleteOriginationUrl", deleteOrigination)
	for _, k := range trunkAssocKinds {
		p := "/v1/Trunks/{TrunkSid}/" + k.path
		add("GET", p, "List"+k.op, listTrunkAssoc(k))
		add("POST", p, "Create"+k.op, createTrunkAssoc(k))
		add("GET", p+"/{Sid}", "Fetch"+k.op, fetchTrunkAssoc(k))
		add("DELETE", p+"/{Sid}", "Delete"+k.op, deleteTrunkAssoc(k))
	}
	pn := "/v1/Trunks/{TrunkSid}/PhoneNumbers"
	add("GET", pn, "ListPhoneNumber", listTrunkNumbers)
	add("POST", pn, "CreatePhoneNumber", createTrunkNumber)
	add("GET", pn+"/{Sid}", "FetchPhoneNumber", fetchTrunkNumber)
	add("DELETE", pn+"/{Sid}", "DeletePhoneNumber", deleteTrunkNumber)
}

type trunkRecordingJSON struct {
	Mode string `json:"mode"`
	Trim string `json:"trim"`
}

// trunkJSON is trunking.v1.trunk.
type trunkJSON struct {
	AccountSID             string             `json:"account_sid"`
	DomainName             nstr               `json:"domain_name"`
	DisasterRecoveryMethod nstr               `json:"disaster_recovery_method"`
	DisasterRecoveryURL    nstr               `json:"disaster_recovery_url"`
	FriendlyName           nstr               `json:"friendly_name"`
	Secure                 bool               `json:"secure"`
	Recording              trunkRecordingJSON `json:"recording"`
	TransferMode           string             `json:"transfer_mode"`
	TransferCallerID       string             `json:"transfer_caller_id"`
	CnamLookupEnabled      bool               `json:"cnam_lookup_enabled"`
	AuthType               string             `json:"auth_type"`
	SymmetricRTPEnabled    bool               `json:"symmetric_rtp_enabled"`
	AuthTypeSet            []string           `json:"auth_type_set"`
	DateCreated            date3339           `json:"date_created"`
	DateUpdated            date3339           `json:"date_updated"`
	SID                    string             `json:"sid"`
	URL                    string             `json:"url"`
	Links                  map[string]string  `json:"links"`
}

func trunkURL(c *call, sid string) string { return c.baseURL() + "/v1/Trunks/" + sid }

func trunkToJSON(c *call, tr *trunk) trunkJSON {
	u := trunkURL(c, tr.sid)
	// auth_type names the kinds of authentication mapped to the trunk; Twilio
	// sends "" (not null) and [] when there are none.
	set := []string{}
	if liveAssocCount(&tr.ipACLs, &c.region.ipACLs) > 0 {
		set = append(set, "IP_ACL")
	}
	if liveAssocCount(&tr.credLists, &c.region.credLists) > 0 {
		set = append(set, "CREDENTIAL_LIST")
	}
	return trunkJSON{
		AccountSID: c.region.accountSID, DomainName: nstr(tr.domainName),
		DisasterRecoveryMethod: nstr(tr.disasterRecoveryMethod), DisasterRecoveryURL: nstr(tr.disasterRecoveryURL),
		FriendlyName: nstr(tr.friendlyName), Secure: tr.secure,
		Recording:    trunkRecordingJSON{Mode: tr.recordingMode, Trim: tr.recordingTrim},
		TransferMode: tr.transferMode, TransferCallerID: tr.transferCallerID, CnamLookupEnabled: tr.cnamLookupEnabled,
		AuthType: strings.Join(set, ","), SymmetricRTPEnabled: tr.symmetricRTPEnabled, AuthTypeSet: set,
		DateCreated: date3339(tr.created), DateUpdated: date3339(tr.updated), SID: tr.sid, URL: u,
		// The spec's examples list these four links (no "recording").
		Links: map[string]string{"origination_urls": u + "/OriginationUrls", "credential_lists": u + "/CredentialLists",
			"ip_access_control_lists": u + "/IpAccessControlLists", "phone_numbers": u + "/PhoneNumbers"},
	}
}

// lookupTrunk finds the trunk named by a path parameter in this region; a
// trunk of another region is not found, as on Twilio.
func lookupTrunk(c *call, param string) (*trunk, *apiError) {
	tr, ok := c.region.trunks.get(c.params[param])
	if !ok {
		return nil, errNotFound(c.r.URL.Path)
	}
	return tr, nil
}

func listTrunks(c *call) (int, any, *apiError) {
	ts := &c.region.trunks
	return v1ListPage(c, "trunks", ts.len(), nil, func(i int) any { return trunkToJSON(c, ts.at(i)) })
}

func fetchTrunk(c *call) (int, any, *apiError) {
	tr, ae := lookupTrunk(c, "Sid")
	if ae != nil {
		return 0, nil, ae
	}
	return http.StatusOK, trunkToJSON(c, tr), nil
}

func createTrunk(c *call) (int, any, *apiError) {
	tr := &trunk{
		disasterRecoveryMethod: "POST", transferMode: "disable-all", transferCallerID: "from-transferee",
		recordingMode: "do-not-record", recordingTrim: "do-not-trim",
		origination: newTable[*originationURL](), ipACLs: newTable[*association](), credLists: newTable[*association](),
	}
	if ae := applyTrunkParams(c, tr); ae != nil {
		return 0, nil, ae
	}
	// The SID is minted only for a valid request, so refused requests leave
	// the SID sequence (and so seeded runs) unchanged.
	tr.sid, tr.created, tr.updated = c.acct.newSID("TK"), c.now, c.now
	c.region.trunks.put(tr.sid, tr)
	return http.StatusCreated, trunkToJSON(c, tr), nil
}

func updateTrunk(c *call) (int, any, *apiError) {
	tr, ae := lookupTrunk(c, "Sid")
	if ae != nil {
		return 0, nil, ae
	}
	if ae := applyTrunkParams(c, tr); ae != nil {
		return 0, nil, ae
	}
	tr.updated = c.now
	return http.StatusOK, trunkToJSON(c, tr), nil
}

// deleteTrunk removes the trunk and detaches this region's number records
// from it. Routing entries for its domain stay: the routing table is global
// and other regions may hold a trunk with the same domain.
func deleteTrunk(c *call) (int, any, *apiError) {
	tr, ae := lookupTrunk(c, "Sid")
	if ae != nil {
		return 0, nil, ae
	}
	c.region.trunks.del(tr.sid)
	for _, n := range c.acct.numbers {
		if rec := n.records[c.region.id]; rec != nil && rec.trunkSID == tr.sid {
			rec.trunkSID, rec.updated = "", c.now
		}
	}
	return http.StatusNoContent, nil, nil
}

// trunkDomain is what Twilio accepts as a termination domain: letters,
// digits and '-' labels under pstn.twilio.com.
var trunkDomain = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)*\.pstn\.twilio\.com$`)

// applyTrunkParams validates every parameter first and changes tr only when
// all are valid, so a refused update leaves the trunk as it was.
func applyTrunkParams(c *call, tr *trunk) *apiError {
	f := c.form
	next := *tr
	if v, ok := f["FriendlyName"]; ok {
		next.friendlyName = v[0]
	}
	if v, ok := f["DomainName"]; ok {
		d := strings.ToLower(v[0])
		if d != "" && !trunkDomain.MatchString(d) {
			// Twilio's exact code for a malformed domain is undocumented; 21245
			// sits beside the documented 21247/21248 trunk-domain errors.
			return newAPIError(http.StatusBadRequest, 21245, "Invalid DomainName %q: use letters, digits and '-', ending with pstn.twilio.com", v[0])
		}
		if d != "" && regionTrunkByDomain(c.region, d, tr.sid) != nil {
			return newAPIError(http.StatusBadRequest, 21248, "Trunk Domain already taken: %s is used by another trunk in %s", d, c.region.id)
		}
		next.domainName = d
	}
	if v, ok := f["DisasterRecoveryUrl"]; ok {
		if v[0] != "" && !validURL(v[0]) {
			return v1ParamInvalid("DisasterRecoveryUrl", v[0])
		}
		next.disasterRecoveryURL = v[0]
	}
	if v, ok := f["DisasterRecoveryMethod"]; ok {
		m := strings.ToUpper(v[0])
		if m != "GET" && m != "POST" {
			return v1ParamInvalid("DisasterRecoveryMethod", v[0])
		}
		next.disasterRecoveryMethod = m
	}
	if ae := v1Enum(f, "TransferMode", []string{"disable-all", "enable-all", "sip-only"}, &next.transferMode); ae != nil {
		return ae
	}
	if ae := v1Enum(f, "TransferCallerId", []string{"from-transferee", "from-transferor"}, &next.transferCallerID); ae != nil {
		return ae
	}
	if ae := v1Bool(f, "Secure", &next.secure); ae != nil {
		return ae
	}
	if ae := v1Bool(f, "CnamLookupEnabled", &next.cnamLookupEnabled); ae != nil {
		return ae
	}
	*tr = next
	return nil
}

// regionTrunkByDomain finds another trunk of the region with the domain.
// Uniqueness is per region only: the same domain in us1 and ie1 is how a
// trunk is made ready for cross-region failover.
func regionTrunkByDomain(rs *regionState, domain, except string) *trunk {
	for _, sid := range rs.trunks.order {
		if t := rs.trunks.bySID[sid]; sid != except && strings.EqualFold(t.domainName, domain) {
			return t
		}
	}
	return nil
}

// recording serves FetchRecording (GET) and UpdateRecording (POST Mode, Trim).
func recording(c *call) (int, any, *apiError) {
	tr, ae := lookupTrunk(c, "TrunkSid")
	if ae != nil {
		return 0, nil, ae
	}
	if c.r.Method == http.MethodPost {
		mode, trim := tr.recordingMode, tr.recordingTrim
		modes := []string{"do-not-record", "record-from-ringing", "record-from-answer", "record-from-ringing-dual", "record-from-answer-dual"}
		if ae := v1Enum(c.form, "Mode", modes, &mode); ae != nil {
			return 0, nil, ae
		}
		if ae := v1Enum(c.form, "Trim", []string{"trim-silence", "do-not-trim"}, &trim); ae != nil {
			return 0, nil, ae
		}
		tr.recordingMode, tr.recordingTrim, tr.updated = mode, trim, c.now
	}
	return http.StatusOK, trunkRecordingJSON{Mode: tr.recordingMode, Trim: tr.recordingTrim}, nil
}

// originationURLJSON is trunking.v1.trunk.origination_url.
type originationURLJSON struct {
	AccountSID   string   `json:"account_sid"`
	SID          string   `json:"sid"`
	TrunkSID     string   `json:"trunk_sid"`
	Weight       int      `json:"weight"`
	Enabled      bool     `json:"enabled"`
	SipURL       nstr     `json:"sip_url"`
	FriendlyName nstr     `json:"friendly_name"`
	Priority     int      `json:"priority"`
	DateCreated  date3339 `json:"date_created"`
	DateUpdated  date3339 `json:"date_updated"`
	URL          string   `json:"url"`
}

func originationToJSON(c *call, tr *trunk, o *originationURL) originationURLJSON {
	return originationURLJSON{
		AccountSID: c.region.accountSID, SID: o.sid, TrunkSID: tr.sid, Weight: o.weight, Enabled: o.enabled,
		SipURL: nstr(o.sipURL), FriendlyName: nstr(o.friendlyName), Priority: o.priority,
		DateCreated: date3339(o.created), DateUpdated: date3339(o.updated),
		URL: trunkURL(c, tr.sid) + "/OriginationUrls/" + o.sid,
	}
}

func lookupOrigination(c *call) (*trunk, *originationURL, *apiError) {
	tr, ae := lookupTrunk(c, "TrunkSid")
	if ae != nil {
		return nil, nil, ae
	}
	o, ok := tr.origination.get(c.params["Sid"])
	if !ok {
		return nil, nil, errNotFound(c.r.URL.Path)
	}
	return tr, o, nil
}

func listOrigination(c *call) (int, any, *apiError) {
	tr, ae := lookupTrunk(c, "TrunkSid")
	if ae != nil {
		return 0, nil, ae
	}
	os := &tr.origination
	return v1ListPage(c, "origination_urls", os.len(), nil, func(i int) any { return originationToJSON(c, tr, os.at(i)) })
}

func fetchOrigination(c *call) (int, any, *apiError) {
	tr, o, ae := lookupOrigination(c)
	if ae != nil {
		return 0, nil, ae
	}
	return http.StatusOK, originationToJSON(c, tr, o), nil
}

// createOrigination requires every parameter (update takes any subset).
func createOrigination(c *call) (int, any, *apiError) {
	tr, ae := lookupTrunk(c, "TrunkSid")
	if ae != nil {
		return 0, nil, ae
	}
	for _, p := range []string{"Weight", "Priority", "Enabled", "FriendlyName", "SipUrl"} {
		if _, ok := c.form[p]; !ok {
			return 0, nil, v1ParamMissing(p)
		}
	}
	o := &originationURL{}
	if ae := applyOriginationParams(c.form, o); ae != nil {
		return 0, nil, ae
	}
	o.sid, o.created, o.updated = c.acct.newSID("OU"), c.now, c.now
	tr.origination.put(o.sid, o)
	return http.StatusCreated, originationToJSON(c, tr, o), nil
}

func updateOrigination(c *call) (int, any, *apiError) {
	tr, o, ae := lookupOrigination(c)
	if ae != nil {
		return 0, nil, ae
	}
	if ae := applyOriginationParams(c.form, o); ae != nil {
		return 0, nil, ae
	}
	o.updated = c.now
	return http.StatusOK, originationToJSON(c, tr, o), nil
}

func deleteOrigination(c *call) (int, any, *apiError) {
	tr, o, ae := lookupOrigination(c)
	if ae != nil {
		return 0, nil, ae
	}
	tr.origination.del(o.sid)
	return http.StatusNoContent, nil, nil
}

// applyOriginationParams checks Twilio's documented bounds (Weight 1–65535,
// Priority 0–65535, a sip: URI; sips: is not supported) and changes o only
// when every parameter is valid.
func applyOriginationParams(f url.Values, o *originationURL) *apiError {
	next := *o
	ints := []struct {
		param    string
		min, max int
		dst      *int
	}{{"Weight", 1, 65535, &next.weight}, {"Priority", 0, 65535, &next.priority}}
	for _, in := range ints {
		if v, ok := f[in.param]; ok {
			n, err := strconv.Atoi(v[0])
			if err != nil || n < in.min || n > in.max {
				return newAPIError(http.StatusBadRequest, 20001, "Invalid %s: %q (allowed %d to %d)", in.param, v[0], in.min, in.max)
			}
			*in.dst = n
		}
	}
	if ae := v1Bool(f, "Enabled", &next.enabled); ae != nil {
		return ae
	}
	if v, ok := f["FriendlyName"]; ok {
		next.friendlyName = v[0]
	}
	if v, ok := f["SipUrl"]; ok {
		u := v[0]
		if !strings.HasPrefix(strings.ToLower(u), "sip:") || len(u) == len("sip:") || strings.ContainsAny(u, " \t") {
			return newAPIError(http.StatusBadRequest, 20001, "Invalid SipUrl %q: it must be a sip: URI (sips: is not supported)", u)
		}
		next.sipURL = u
	}
	*o = next
	return nil
}

// trunkAssocKind is one of the two list associations of a trunk: IP access
// control lists and credential lists, both the region's own v2010 SIP lists.
type trunkAssocKind struct {
	path, op, param, key, noun string
	lists                      func(rs *regionState) *table[*namedList]
	assocs                     func(tr *trunk) *table[*association]
}

var trunkAssocKinds = []trunkAssocKind{
	{"IpAccessControlLists", "IpAccessControlList", "IpAccessControlListSid", "ip_access_control_lists", "IP access control list",
		func(rs *regionState) *table[*namedList] { return &rs.ipACLs }, func(tr *trunk) *table[*association] { return &tr.ipACLs }},
	{"CredentialLists", "CredentialList", "CredentialListSid", "credential_lists", "credential list",
		func(rs *regionState) *table[*namedList] { return &rs.credLists }, func(tr *trunk) *table[*association] { return &tr.credLists }},
}

// trunkListJSON is trunking.v1.trunk.ip_access_control_list and
// trunking.v1.trunk.credential_list, which have the same fields.
type trunkListJSON struct {
	AccountSID   string   `json:"account_sid"`
	SID          string   `json:"sid"`
	TrunkSID     string   `json:"trunk_sid"`
	FriendlyName nstr     `json:"friendly_name"`
	DateCreated  date3339 `json:"date_created"`
	DateUpdated  date3339 `json:"date_updated"`
	URL          string   `json:"url"`
}

func trunkAssocToJSON(c *call, k trunkAssocKind, tr *trunk, as *association, l *namedList) trunkListJSON {
	return trunkListJSON{
		AccountSID: c.region.accountSID, SID: as.listSID, TrunkSID: tr.sid, FriendlyName: nstr(l.friendlyName),
		DateCreated: date3339(as.created), DateUpdated: date3339(as.updated),
		URL: trunkURL(c, tr.sid) + "/" + k.path + "/" + as.listSID,
	}
}

// liveAssocCount counts associations whose list still exists: a list deleted
// through the 2010 SIP API no longer authenticates anything on the trunk.
func liveAssocCount(as *table[*association], lists *table[*namedList]) int {
	n := 0
	for _, sid := range as.order {
		if _, ok := lists.get(sid); ok {
			n++
		}
	}
	return n
}

func listTrunkAssoc(k trunkAssocKind) handlerFunc {
	return func(c *call) (int, any, *apiError) {
		tr, ae := lookupTrunk(c, "TrunkSid")
		if ae != nil {
			return 0, nil, ae
		}
		as, lists := k.assocs(tr), k.lists(c.region)
		live := func(i int) bool { _, ok := lists.get(as.order[i]); return ok }
		return v1ListPage(c, k.key, as.len(), live, func(i int) any {
			l, _ := lists.get(as.order[i])
			return trunkAssocToJSON(c, k, tr, as.at(i), l)
		})
	}
}

func createTrunkAssoc(k trunkAssocKind) handlerFunc {
	return func(c *call) (int, any, *apiError) {
		tr, ae := lookupTrunk(c, "TrunkSid")
		if ae != nil {
			return 0, nil, ae
		}
		sid := c.form.Get(k.param)
		if sid == "" {
			return 0, nil, v1ParamMissing(k.param)
		}
		// Only a list of this region can be attached: a list SID from another
		// region names nothing here, which is what standby readiness must catch.
		l, ok := k.lists(c.region).get(sid)
		if !ok {
			return 0, nil, newAPIError(http.StatusBadRequest, 20001, "Invalid %s: %s is not a %s of this account in %s", k.param, sid, k.noun, c.region.id)
		}
		as := k.assocs(tr)
		if _, dup := as.get(sid); dup {
			return 0, nil, newAPIError(http.StatusBadRequest, 20001, "Invalid %s: %s is already associated with trunk %s", k.param, sid, tr.sid)
		}
		a := &association{listSID: sid, created: c.now, updated: c.now}
		as.put(sid, a)
		return http.StatusCreated, trunkAssocToJSON(c, k, tr, a, l), nil
	}
}

func lookupTrunkAssoc(c *call, k trunkAssocKind) (*trunk, *association, *namedList, *apiError) {
	tr, ae := lookupTrunk(c, "TrunkSid")
	if ae != nil {
		return nil, nil, nil, ae
	}
	a, ok := k.assocs(tr).get(c.params["Sid"])
	if !ok {
		return nil, nil, nil, errNotFound(c.r.URL.Path)
	}
	l, ok := k.lists(c.region).get(a.listSID)
	if !ok {
		return nil, nil, nil, errNotFound(c.r.URL.Path)
	}
	return tr, a, l, nil
}

func fetchTrunkAssoc(k trunkAssocKind) handlerFunc {
	return func(c *call) (int, any, *apiError) {
		tr, a, l, ae := lookupTrunkAssoc(c, k)
		if ae != nil {
			return 0, nil, ae
		}
		return http.StatusOK, trunkAssocToJSON(c, k, tr, a, l), nil
	}
}

func deleteTrunkAssoc(k trunkAssocKind) handlerFunc {
	return func(c *call) (int, any, *apiError) {
		tr, a, _, ae := lookupTrunkAssoc(c, k)
		if ae != nil {
			return 0, nil, ae
		}
		k.assocs(tr).del(a.listSID)
		return http.StatusNoContent, nil, nil
	}
}

// The trunk PhoneNumbers subresource exists in us1 only. In ie1 and au1
// Twilio does not offer it, so there it answers as for any unknown resource
// (404 / 20404); numbers join a trunk in those regions through TrunkSid on
// the region's IncomingPhoneNumber record (api.{edge}.{region}.twilio.com).
// Either way the association is the region record's trunk_sid, so both paths
// show the same state.
func lookupTrunkForNumbers(c *call) (*trunk, *apiError) {
	if c.region.id != region.US1 {
		return nil, errNotFound(c.r.URL.Path)
	}
	return lookupTrunk(c, "TrunkSid")
}

// trunkNumberToJSON is trunking.v1.trunk.phone_number: the region's record of
// the number with v1 dates and a link to its IncomingPhoneNumber.
func trunkNumberToJSON(c *call, tr *trunk, n *number) map[string]any {
	rec := n.records[c.region.id]
	api := "https://api." + strings.TrimPrefix(hostOnly(c.r.Host), c.host.Product+".")
	return map[string]any{
		"account_sid": c.region.accountSID, "address_requirements": "none", "api_version": "2010-04-01",
		"beta": false, "capabilities": n.capabilities, "date_created": date3339(rec.created),
		"date_updated": date3339(rec.updated), "friendly_name": nstr(rec.friendlyName), "phone_number": n.e164, "sid": rec.sid,
		"links":               map[string]string{"phone_number": api + "/2010-04-01/Accounts/" + c.region.accountSID + "/IncomingPhoneNumbers/" + rec.sid},
		"sms_application_sid": nstr(rec.smsApplicationSID), "sms_fallback_method": nstr(rec.smsFallbackMethod),
		"sms_fallback_url": nstr(rec.smsFallbackURL), "sms_method": nstr(rec.smsMethod), "sms_url": nstr(rec.smsURL),
		"status_callback": nstr(rec.statusCallback), "status_callback_method": nstr(rec.statusCallbackMethod),
		"trunk_sid": nstr(rec.trunkSID), "url": trunkURL(c, tr.sid) + "/PhoneNumbers/" + rec.sid,
		"voice_application_sid": nstr(rec.voiceApplicationSID), "voice_caller_id_lookup": rec.voiceCallerIDLookup,
		"voice_fallback_method": nstr(rec.voiceFallbackMethod), "voice_fallback_url": nstr(rec.voiceFallbackURL),
		"voice_method": nstr(rec.voiceMethod), "voice_url": nstr(rec.voiceURL),
	}
}

func listTrunkNumbers(c *call) (int, any, *apiError) {
	tr, ae := lookupTrunkForNumbers(c)
	if ae != nil {
		return 0, nil, ae
	}
	nums := c.acct.numbers
	onTrunk := func(i int) bool { return nums[i].records[c.region.id].trunkSID == tr.sid }
	return v1ListPage(c, "phone_numbers", len(nums), onTrunk, func(i int) any { return trunkNumberToJSON(c, tr, nums[i]) })
}

func createTrunkNumber(c *call) (int, any, *apiError) {
	tr, ae := lookupTrunkForNumbers(c)
	if ae != nil {
		return 0, nil, ae
	}
	sid := c.form.Get("PhoneNumberSid")
	if sid == "" {
		return 0, nil, v1ParamMissing("PhoneNumberSid")
	}
	n, ok := c.region.numberSIDs[sid]
	if !ok {
		return 0, nil, newAPIError(http.StatusBadRequest, 20001, "Invalid PhoneNumberSid: %s is not a phone number of this account in %s", sid, c.region.id)
	}
	// A number belongs to at most one trunk: associating it moves it.
	rec := n.records[c.region.id]
	rec.trunkSID, rec.updated = tr.sid, c.now
	return http.StatusCreated, trunkNumberToJSON(c, tr, n), nil
}

func lookupTrunkNumber(c *call) (*trunk, *number, *apiError) {
	tr, ae := lookupTrunkForNumbers(c)
	if ae != nil {
		return nil, nil, ae
	}
	n, ok := c.region.numberSIDs[c.params["Sid"]]
	if !ok || n.records[c.region.id].trunkSID != tr.sid {
		return nil, nil, errNotFound(c.r.URL.Path)
	}
	return tr, n, nil
}

func fetchTrunkNumber(c *call) (int, any, *apiError) {
	tr, n, ae := lookupTrunkNumber(c)
	if ae != nil {
		return 0, nil, ae
	}
	return http.StatusOK, trunkNumberToJSON(c, tr, n), nil
}

func deleteTrunkNumber(c *call) (int, any, *apiError) {
	_, n, ae := lookupTrunkNumber(c)
	if ae != nil {
		return 0, nil, ae
	}
	rec := n.records[c.region.id]
	rec.trunkSID, rec.updated = "", c.now
	return http.StatusNoContent, nil, nil
}
