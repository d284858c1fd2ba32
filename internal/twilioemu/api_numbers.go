package twilioemu

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/voicedr/voicedr/internal/snapshot"
)

const v2010 = "/2010-04-01/Accounts/{AccountSid}"

func (e *Emulator) registerNumbers() {
	e.router.add("api", "GET", v2010+"/IncomingPhoneNumbers.json", "ListIncomingPhoneNumber", listNumbers)
	e.router.add("api", "POST", v2010+"/IncomingPhoneNumbers.json", "CreateIncomingPhoneNumber", createNumber)
	e.router.add("api", "GET", v2010+"/IncomingPhoneNumbers/{Sid}.json", "FetchIncomingPhoneNumber", fetchNumber)
	e.router.add("api", "POST", v2010+"/IncomingPhoneNumbers/{Sid}.json", "UpdateIncomingPhoneNumber", updateNumber)
	e.router.add("api", "DELETE", v2010+"/IncomingPhoneNumbers/{Sid}.json", "DeleteIncomingPhoneNumber", deleteNumber)
}

// incomingPhoneNumberJSON is api.v2010.account.incoming_phone_number.
type incomingPhoneNumberJSON struct {
	AccountSID             string                `json:"account_sid"`
	AddressSID             nstr                  `json:"address_sid"`
	AddressRequirements    string                `json:"address_requirements"`
	APIVersion             string                `json:"api_version"`
	Beta                   bool                  `json:"beta"`
	Capabilities           snapshot.Capabilities `json:"capabilities"`
	DateCreated            date2822              `json:"date_created"`
	DateUpdated            date2822              `json:"date_updated"`
	FriendlyName           string                `json:"friendly_name"`
	IdentitySID            nstr                  `json:"identity_sid"`
	PhoneNumber            string                `json:"phone_number"`
	Origin                 string                `json:"origin"`
	SID                    string                `json:"sid"`
	SMSApplicationSID      nstr                  `json:"sms_application_sid"`
	SMSFallbackMethod      string                `json:"sms_fallback_method"`
	SMSFallbackURL         nstr                  `json:"sms_fallback_url"`
	SMSMethod              string                `json:"sms_method"`
	SMSURL                 nstr                  `json:"sms_url"`
	StatusCallback         nstr                  `json:"status_callback"`
	StatusCallbackMethod   string                `json:"status_callback_method"`
	TrunkSID               nstr                  `json:"trunk_sid"`
	URI                    string                `json:"uri"`
	VoiceReceiveMode       string                `json:"voice_receive_mode"`
	VoiceApplicationSID    nstr                  `json:"voice_application_sid"`
	VoiceCallerIDLookup    bool                  `json:"voice_caller_id_lookup"`
	VoiceFallbackMethod    string                `json:"voice_fallback_method"`
	VoiceFallbackURL       nstr                  `json:"voice_fallback_url"`
	VoiceMethod            string                `json:"voice_method"`
	VoiceURL               nstr                  `json:"voice_url"`
	EmergencyStatus        string                `json:"emergency_status"`
	EmergencyAddressSID    nstr                  `json:"emergency_address_sid"`
	EmergencyAddressStatus string                `json:"emergency_address_status"`
	BundleSID              nstr                  `json:"bundle_sid"`
	Status                 string                `json:"status"`
	Type                   string                `json:"type"`
}

func numberJSON(c *call, n *number) incomingPhoneNumberJSON {
	rec := n.records[c.region.id]
	return incomingPhoneNumberJSON{
		AccountSID: c.region.accountSID, AddressRequirements: "none", APIVersion: "2010-04-01",
		Capabilities: n.capabilities, DateCreated: date2822(rec.created), DateUpdated: date2822(rec.updated),
		FriendlyName: rec.friendlyName, PhoneNumber: n.e164, Origin: "twilio", SID: rec.sid,
		SMSApplicationSID: nstr(rec.smsApplicationSID), SMSFallbackMethod: rec.smsFallbackMethod,
		SMSFallbackURL: nstr(rec.smsFallbackURL), SMSMethod: rec.smsMethod, SMSURL: nstr(rec.smsURL),
		StatusCallback: nstr(rec.statusCallback), StatusCallbackMethod: rec.statusCallbackMethod,
		TrunkSID: nstr(rec.trunkSID), URI: "/2010-04-01/Accounts/" + c.region.accountSID + "/IncomingPhoneNumbers/" + rec.sid + ".json",
		VoiceReceiveMode: rec.voiceReceiveMode, VoiceApplicationSID: nstr(rec.voiceApplicationSID),
		VoiceCallerIDLookup: rec.voiceCallerIDLookup, VoiceFallbackMethod: rec.voiceFallbackMethod,
		VoiceFallbackURL: nstr(rec.voiceFallbackURL), VoiceMethod: rec.voiceMethod, VoiceURL: nstr(rec.voiceURL),
		EmergencyStatus: "Inactive", EmergencyAddressStatus: "unregistered", Status: "in-use", Type: numberType(n.e164),
	}
}

func numberType(e164 string) string {
	for _, p := range []string{"+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888", "+44800", "+44808", "+611800", "+611300"} {
		if strings.HasPrefix(e164, p) {
			return "tollfree"
		}
	}
	return "local"
}

// E164 is Twilio's phone number format: + and 2 to 15 digits, no leading 0.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// ValidE164 reports whether s is an E.164 number.
func ValidE164(s string) bool { return e164.MatchString(s) }

// phoneFilter matches Twilio's PhoneNumber list filter: a part of the number
// where '*' stands for any one digit.
func phoneFilter(pattern, e164 string) bool {
	p := strings.TrimSpace(pattern)
	if p == "" {
		return true
	}
	if !strings.HasPrefix(p, "+") {
		e164 = strings.TrimPrefix(e164, "+")
	}
	for i := 0; i+len(p) <= len(e164); i++ {
		ok := true
		for j := 0; j < len(p); j++ {
			if p[j] != '*' && p[j] != e164[i+j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func listNumbers(c *call) (int, any, *apiError) {
	p, ae := parsePage(c.r.URL.Query())
	if ae != nil {
		return 0, nil, ae
	}
	q := c.r.URL.Query()
	pn, fn, origin, beta := q.Get("PhoneNumber"), q.Get("FriendlyName"), q.Get("Origin"), q.Get("Beta")
	nums := c.acct.numbers
	var match func(i int) bool
	if pn != "" || fn != "" || (origin != "" && origin != "twilio") || beta == "true" {
		match = func(i int) bool {
			n := nums[i]
			return phoneFilter(pn, n.e164) && (fn == "" || n.records[c.region.id].friendlyName == fn) &&
				(origin == "" || origin == "twilio") && beta != "true"
		}
	}
	hits, next := p.scan(len(nums), match)
	items := make([]any, len(hits))
	for i, h := range hits {
		items[i] = numberJSON(c, nums[h])
	}
	return http.StatusOK, pageV2010(c, "incoming_phone_numbers", p, items, next), nil
}

func (c *call) number() (*number, *apiError) {
	n, ok := c.region.numberSIDs[c.params["Sid"]]
	if !ok {
		return nil, errNotFound(c.r.URL.Path)
	}
	return n, nil
}

func fetchNumber(c *call) (int, any, *apiError) {
	n, ae := c.number()
	if ae != nil {
		return 0, nil, ae
	}
	return http.StatusOK, numberJSON(c, n), nil
}

func createNumber(c *call) (int, any, *apiError) {
	e164 := c.form.Get("PhoneNumber")
	switch {
	case e164 != "":
		if !ValidE164(e164) {
			return 0, nil, newAPIError(http.StatusBadRequest, 21421, "PhoneNumber is invalid")
		}
		if _, taken := c.acct.byE164[e164]; taken {
			return 0, nil, newAPIError(http.StatusBadRequest, 21422, "PhoneNumber %s is not available", e164)
		}
	case c.form.Get("AreaCode") != "":
		e164 = c.acct.freeNumber("+1" + c.form.Get("AreaCode"))
		if e164 == "" {
			return 0, nil, newAPIError(http.StatusBadRequest, 21452, "No phone numbers found in area code %s", c.form.Get("AreaCode"))
		}
	default:
		return 0, nil, newAPIError(http.StatusBadRequest, 21450, "PhoneNumber or AreaCode is required")
	}
	friendly := c.form.Get("FriendlyName")
	if friendly == "" {
		friendly = e164
	}
	n := c.acct.addNumber(e164, friendly, snapshot.Capabilities{Voice: true, SMS: true, MMS: true}, c.now)
	if ae := applyNumberParams(c, n.records[c.region.id], c.form); ae != nil {
		c.acct.releaseNumber(n) // never half-apply
		return 0, nil, ae
	}
	return http.StatusCreated, numberJSON(c, n), nil
}

// freeNumber finds an unowned number under a prefix, for AreaCode purchases.
func (a *account) freeNumber(prefix string) string {
	for i := 0; i < 10000; i++ {
		cand := prefix + "555" + leftPad(i, 4)
		if len(prefix) != 5 || !ValidE164(cand) {
			return ""
		}
		if _, taken := a.byE164[cand]; !taken {
			return cand
		}
	}
	return ""
}

func leftPad(n, width int) string {
	s := strings.Repeat("0", width) + itoa(n)
	return s[len(s)-width:]
}

func updateNumber(c *call) (int, any, *apiError) {
	n, ae := c.number()
	if ae != nil {
		return 0, nil, ae
	}
	rec := n.records[c.region.id]
	next := *rec
	if ae := applyNumberParams(c, &next, c.form); ae != nil {
		return 0, nil, ae
	}
	next.updated = c.now
	*rec = next
	return http.StatusOK, numberJSON(c, n), nil
}

func deleteNumber(c *call) (int, any, *apiError) {
	n, ae := c.number()
	if ae != nil {
		return 0, nil, ae
	}
	c.acct.releaseNumber(n)
	return http.StatusNoContent, nil, nil
}

// applyNumberParams validates and applies update parameters to rec. It
// changes rec only when every parameter is valid.
func applyNumberParams(c *call, rec *numberRecord, f url.Values) *apiError {
	next := *rec
	if _, ok := f["AccountSid"]; ok && f.Get("AccountSid") != c.region.accountSID {
		return newAPIError(http.StatusBadRequest, 20008, "moving numbers between accounts is not supported by the emulator")
	}
	urls := []struct {
		param string
		dst   *string
	}{
		{"VoiceUrl", &next.voiceURL}, {"VoiceFallbackUrl", &next.voiceFallbackURL},
		{"StatusCallback", &next.statusCallback}, {"SmsUrl", &next.smsURL}, {"SmsFallbackUrl", &next.smsFallbackURL},
	}
	for _, u := range urls {
		if v, ok := f[u.param]; ok {
			if v[0] != "" && !validURL(v[0]) {
				return newAPIError(http.StatusBadRequest, 21502, "%s is not a valid URL: %s", u.param, v[0])
			}
			*u.dst = v[0]
		}
	}
	methods := []struct {
		param string
		dst   *string
	}{
		{"VoiceMethod", &next.voiceMethod}, {"VoiceFallbackMethod", &next.voiceFallbackMethod},
		{"StatusCallbackMethod", &next.statusCallbackMethod}, {"SmsMethod", &next.smsMethod}, {"SmsFallbackMethod", &next.smsFallbackMethod},
	}
	for _, m := range methods {
		if v, ok := f[m.param]; ok {
			mv, ae := httpMethod(m.param, v[0])
			if ae != nil {
				return ae
			}
			*m.dst = mv
		}
	}
	if v, ok := f["FriendlyName"]; ok {
		if len(v[0]) > 64 {
			return errInvalid("FriendlyName", v[0])
		}
		next.friendlyName = v[0]
	}
	if v, ok := f["VoiceApplicationSid"]; ok {
		if _, found := c.region.apps.get(v[0]); v[0] != "" && !found {
			return newAPIError(http.StatusBadRequest, 21606, "VoiceApplicationSid %s is not a TwiML App of this account in %s", v[0], c.region.id)
		}
		next.voiceApplicationSID = v[0]
	}
	if v, ok := f["SmsApplicationSid"]; ok {
		next.smsApplicationSID = v[0]
	}
	if v, ok := f["TrunkSid"]; ok {
		if _, found := c.region.trunks.get(v[0]); v[0] != "" && !found {
			return newAPIError(http.StatusBadRequest, 21220, "TrunkSid %s is not a trunk of this account in %s", v[0], c.region.id)
		}
		next.trunkSID = v[0]
	}
	if v, ok := f["VoiceReceiveMode"]; ok {
		if v[0] != "voice" && v[0] != "fax" {
			return errInvalid("VoiceReceiveMode", v[0])
		}
		next.voiceReceiveMode = v[0]
	}
	if v, ok := f["VoiceCallerIdLookup"]; ok {
		b, err := formBool(v[0])
		if err != nil {
			return errInvalid("VoiceCallerIdLookup", v[0])
		}
		next.voiceCallerIDLookup = b
	}
	if next.voiceFallbackURL != "" && next.voiceURL == "" {
		return newAPIError(http.StatusBadRequest, 21405, "Cannot set VoiceFallbackUrl without setting Url")
	}
	*rec = next
	return nil
}

// validURL accepts absolute http(s) URLs, as Twilio's webhook fields do.
func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
