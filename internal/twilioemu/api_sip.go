package twilioemu

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Programmable Voice SIP (2010 API): SIP domains, credential lists and IP
// access control lists, all per region. A domain name is unique within a
// region but the same name may exist in several regions: that is how a
// standby region is prepared before the global SIP-domain routing flips.
func (e *Emulator) registerSIP() {
	e.router.add("api", "GET", v2010+"/SIP/Domains.json", "ListSipDomain", listDomains)
	e.router.add("api", "POST", v2010+"/SIP/Domains.json", "CreateSipDomain", createDomain)
	e.router.add("api", "GET", v2010+"/SIP/Domains/{Sid}.json", "FetchSipDomain", fetchDomain)
	e.router.add("api", "POST", v2010+"/SIP/Domains/{Sid}.json", "UpdateSipDomain", updateDomain)
	e.router.add("api", "DELETE", v2010+"/SIP/Domains/{Sid}.json", "DeleteSipDomain", deleteDomain)
	e.router.add("api", "GET", v2010+"/SIP/CredentialLists.json", "ListSipCredentialList", listNamedLists(credLists))
	e.router.add("api", "POST", v2010+"/SIP/CredentialLists.json", "CreateSipCredentialList", createNamedList(credLists))
	e.router.add("api", "GET", v2010+"/SIP/IpAccessControlLists.json", "ListSipIpAccessControlList", listNamedLists(ipACLs))
	e.router.add("api", "POST", v2010+"/SIP/IpAccessControlLists.json", "CreateSipIpAccessControlList", createNamedList(ipACLs))
}

// sipDomainJSON is api.v2010.account.sip.sip_domain.
type sipDomainJSON struct {
	AccountSID                string            `json:"account_sid"`
	APIVersion                string            `json:"api_version"`
	AuthType                  string            `json:"auth_type"`
	DateCreated               date2822          `json:"date_created"`
	DateUpdated               date2822          `json:"date_updated"`
	DomainName                string            `json:"domain_name"`
	FriendlyName              nstr              `json:"friendly_name"`
	SID                       string            `json:"sid"`
	URI                       string            `json:"uri"`
	VoiceFallbackMethod       string            `json:"voice_fallback_method"`
	VoiceFallbackURL          nstr              `json:"voice_fallback_url"`
	VoiceMethod               string            `json:"voice_method"`
	VoiceStatusCallbackMethod string            `json:"voice_status_callback_method"`
	VoiceStatusCallbackURL    nstr              `json:"voice_status_callback_url"`
	VoiceURL                  nstr              `json:"voice_url"`
	SubresourceURIs           map[string]string `json:"subresource_uris"`
	SIPRegistration           bool              `json:"sip_registration"`
	EmergencyCallingEnabled   bool              `json:"emergency_calling_enabled"`
	Secure                    bool              `json:"secure"`
	BYOCTrunkSID              nstr              `json:"byoc_trunk_sid"`
	EmergencyCallerSID        nstr              `json:"emergency_caller_sid"`
}

func domainJSON(c *call, d *sipDomain) sipDomainJSON {
	uri := "/2010-04-01/Accounts/" + c.region.accountSID + "/SIP/Domains/" + d.sid
	// auth_type names the kinds of list mapped to the domain, comma
	// separated, "" when none (the domain then accepts no traffic).
	var auth []string
	if len(d.ipACLMappings) > 0 {
		auth = append(auth, "IP_ACL")
	}
	if len(d.credListMappings) > 0 {
		auth = append(auth, "CREDENTIAL_LIST")
	}
	return sipDomainJSON{
		AccountSID: c.region.accountSID, APIVersion: "2010-04-01", AuthType: strings.Join(auth, ","),
		DateCreated: date2822(d.created), DateUpdated: date2822(d.updated), DomainName: d.domainName,
		FriendlyName: nstr(d.friendlyName), SID: d.sid, URI: uri + ".json",
		VoiceFallbackMethod: d.voiceFallbackMethod, VoiceFallbackURL: nstr(d.voiceFallbackURL), VoiceMethod: d.voiceMethod,
		VoiceStatusCallbackMethod: d.voiceStatusCallbackMeth, VoiceStatusCallbackURL: nstr(d.voiceStatusCallbackURL),
		VoiceURL: nstr(d.voiceURL),
		// The two keys of the spec's example; Twilio's newer auth/calls
		// mapping paths are not listed there.
		SubresourceURIs: map[string]string{
			"credential_list_mappings":        uri + "/CredentialListMappings.json",
			"ip_access_control_list_mappings": uri + "/IpAccessControlListMappings.json",
		},
		SIPRegistration: d.sipRegistration, EmergencyCallingEnabled: d.emergencyCallingEnabled, Secure: d.secure,
		BYOCTrunkSID: nstr(d.byocTrunkSID), EmergencyCallerSID: nstr(d.emergencyCallerSID),
	}
}

func listDomains(c *call) (int, any, *apiError) {
	p, ae := parsePage(c.r.URL.Query())
	if ae != nil {
		return 0, nil, ae
	}
	ds := &c.region.domains
	hits, next := p.scan(ds.len(), nil)
	items := make([]any, len(hits))
	for i, h := range hits {
		items[i] = domainJSON(c, ds.at(h))
	}
	return http.StatusOK, pageV2010(c, "domains", p, items, next), nil
}

func (c *call) domain() (*sipDomain, *apiError) {
	d, ok := c.region.domains.get(c.params["Sid"])
	if !ok {
		return nil, errNotFound(c.r.URL.Path)
	}
	return d, nil
}

func fetchDomain(c *call) (int, any, *apiError) {
	d, ae := c.domain()
	if ae != nil {
		return 0, nil, ae
	}
	return http.StatusOK, domainJSON(c, d), nil
}

func createDomain(c *call) (int, any, *apiError) {
	if c.form.Get("DomainName") == "" {
		return 0, nil, errMissing("DomainName")
	}
	d := sipDomain{
		voiceMethod: "POST", voiceFallbackMethod: "POST", voiceStatusCallbackMeth: "POST",
		created: c.now, updated: c.now,
	}
	if ae := applyDomainParams(c, &d, c.form); ae != nil {
		return 0, nil, ae
	}
	d.sid = c.acct.newSID("SD")
	c.region.domains.put(d.sid, &d)
	return http.StatusCreated, domainJSON(c, &d), nil
}

func updateDomain(c *call) (int, any, *apiError) {
	d, ae := c.domain()
	if ae != nil {
		return 0, nil, ae
	}
	next := *d
	if ae := applyDomainParams(c, &next, c.form); ae != nil {
		return 0, nil, ae
	}
	next.updated = c.now
	*d = next
	return http.StatusOK, domainJSON(c, d), nil
}

func deleteDomain(c *call) (int, any, *apiError) {
	if !c.region.domains.del(c.params["Sid"]) {
		return 0, nil, errNotFound(c.r.URL.Path)
	}
	return http.StatusNoContent, nil, nil
}

// sipDomainName is Twilio's rule: letters, digits and "-" in dot-separated
// labels, ending with sip.twilio.com.
var sipDomainName = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.sip\.twilio\.com$`)

var (
	byocSID = regexp.MustCompile(`^BY[0-9a-fA-F]{32}$`)
	pnSID   = regexp.MustCompile(`^PN[0-9a-fA-F]{32}$`)
)

// applyDomainParams validates and applies create/update parameters to d
// (a copy: on error it may be half-changed).
func applyDomainParams(c *call, d *sipDomain, f url.Values) *apiError {
	if v, ok := f["DomainName"]; ok {
		name := strings.ToLower(v[0])
		if !sipDomainName.MatchString(name) {
			return newAPIError(http.StatusBadRequest, 21232, "DomainName %q is invalid: use letters, digits and '-', ending with .sip.twilio.com", v[0])
		}
		for _, sid := range c.region.domains.order {
			if other := c.region.domains.bySID[sid]; other.sid != d.sid && strings.EqualFold(other.domainName, name) {
				return newAPIError(http.StatusBadRequest, 21232, "DomainName %s is already in use in %s", name, c.region.id)
			}
		}
		d.domainName = name
	}
	if v, ok := f["FriendlyName"]; ok {
		if len(v[0]) > 64 {
			return errInvalid("FriendlyName", v[0])
		}
		d.friendlyName = v[0]
	}
	if ae := applyURLParams(f, []strParam{
		{"VoiceUrl", &d.voiceURL}, {"VoiceFallbackUrl", &d.voiceFallbackURL}, {"VoiceStatusCallbackUrl", &d.voiceStatusCallbackURL},
	}); ae != nil {
		return ae
	}
	if ae := applyMethodParams(f, []strParam{
		{"VoiceMethod", &d.voiceMethod}, {"VoiceFallbackMethod", &d.voiceFallbackMethod},
		{"VoiceStatusCallbackMethod", &d.voiceStatusCallbackMeth},
	}); ae != nil {
		return ae
	}
	if ae := applyBoolParams(f, []boolParam{
		{"SipRegistration", &d.sipRegistration}, {"EmergencyCallingEnabled", &d.emergencyCallingEnabled}, {"Secure", &d.secure},
	}); ae != nil {
		return ae
	}
	if v, ok := f["ByocTrunkSid"]; ok {
		if v[0] != "" && !byocSID.MatchString(v[0]) {
			return errInvalid("ByocTrunkSid", v[0])
		}
		d.byocTrunkSID = v[0]
	}
	if v, ok := f["EmergencyCallerSid"]; ok {
		// The emergency caller must be one of this region's number records.
		if _, owned := c.region.numberSIDs[v[0]]; v[0] != "" && (!pnSID.MatchString(v[0]) || !owned) {
			return errInvalid("EmergencyCallerSid", v[0])
		}
		d.emergencyCallerSID = v[0]
	}
	return nil
}

// namedListKind describes one of the two SIP list resources, which share
// their shape (and the namedList struct) but not their table, key, SID
// prefix, subresource or name limit.
type namedListKind struct {
	table       func(*regionState) *table[*namedList]
	key, prefix string
	path, sub   string // path segment under /SIP, subresource key
	subPath     string
	maxName     int
}

var (
	credLists = namedListKind{
		table: func(rs *regionState) *table[*namedList] { return &rs.credLists },
		key:   "credential_lists", prefix: "CL", path: "CredentialLists", sub: "credentials", subPath: "Credentials",
		maxName: 64,
	}
	ipACLs = namedListKind{
		table: func(rs *regionState) *table[*namedList] { return &rs.ipACLs },
		key:   "ip_access_control_lists", prefix: "AL", path: "IpAccessControlLists", sub: "ip_addresses", subPath: "IpAddresses",
		maxName: 255,
	}
)

// namedListJSON is api.v2010.account.sip.sip_credential_list and
// ...sip_ip_access_control_list: the same seven properties.
type namedListJSON struct {
	AccountSID      string            `json:"account_sid"`
	DateCreated     date2822          `json:"date_created"`
	DateUpdated     date2822          `json:"date_updated"`
	FriendlyName    string            `json:"friendly_name"`
	SID             string            `json:"sid"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
	URI             string            `json:"uri"`
}

func (k namedListKind) json(c *call, l *namedList) namedListJSON {
	uri := "/2010-04-01/Accounts/" + c.region.accountSID + "/SIP/" + k.path + "/" + l.sid
	return namedListJSON{
		AccountSID: c.region.accountSID, DateCreated: date2822(l.created), DateUpdated: date2822(l.updated),
		FriendlyName: l.friendlyName, SID: l.sid,
		SubresourceURIs: map[string]string{k.sub: uri + "/" + k.subPath + ".json"}, URI: uri + ".json",
	}
}

func listNamedLists(k namedListKind) handlerFunc {
	return func(c *call) (int, any, *apiError) {
		p, ae := parsePage(c.r.URL.Query())
		if ae != nil {
			return 0, nil, ae
		}
		t := k.table(c.region)
		hits, next := p.scan(t.len(), nil)
		items := make([]any, len(hits))
		for i, h := range hits {
			items[i] = k.json(c, t.at(h))
		}
		return http.StatusOK, pageV2010(c, k.key, p, items, next), nil
	}
}

func createNamedList(k namedListKind) handlerFunc {
	return func(c *call) (int, any, *apiError) {
		name := c.form.Get("FriendlyName")
		if name == "" {
			return 0, nil, errMissing("FriendlyName")
		}
		if len(name) > k.maxName {
			return 0, nil, errInvalid("FriendlyName", name)
		}
		l := &namedList{sid: c.acct.newSID(k.prefix), friendlyName: name, created: c.now, updated: c.now}
		k.table(c.region).put(l.sid, l)
		return http.StatusCreated, k.json(c, l), nil
	}
}
