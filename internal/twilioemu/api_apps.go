package twilioemu

import (
	"net/http"
	"net/url"
)

// TwiML Applications (2010 API). Apps are per region: an app created in ie1
// exists only there, with an SID of its own, which is why voicedr keys apps
// by friendly name across regions.
func (e *Emulator) registerApplications() {
	e.router.add("api", "GET", v2010+"/Applications.json", "ListApplication", listApps)
	e.router.add("api", "POST", v2010+"/Applications.json", "CreateApplication", createApp)
	e.router.add("api", "GET", v2010+"/Applications/{Sid}.json", "FetchApplication", fetchApp)
	e.router.add("api", "POST", v2010+"/Applications/{Sid}.json", "UpdateApplication", updateApp)
	e.router.add("api", "DELETE", v2010+"/Applications/{Sid}.json", "DeleteApplication", deleteApp)
}

// applicationJSON is api.v2010.account.application.
type applicationJSON struct {
	AccountSID                      string   `json:"account_sid"`
	APIVersion                      string   `json:"api_version"`
	DateCreated                     date2822 `json:"date_created"`
	DateUpdated                     date2822 `json:"date_updated"`
	FriendlyName                    nstr     `json:"friendly_name"`
	MessageStatusCallback           nstr     `json:"message_status_callback"`
	SID                             string   `json:"sid"`
	SMSFallbackMethod               string   `json:"sms_fallback_method"`
	SMSFallbackURL                  nstr     `json:"sms_fallback_url"`
	SMSMethod                       string   `json:"sms_method"`
	SMSStatusCallback               nstr     `json:"sms_status_callback"`
	SMSURL                          nstr     `json:"sms_url"`
	StatusCallback                  nstr     `json:"status_callback"`
	StatusCallbackMethod            string   `json:"status_callback_method"`
	URI                             string   `json:"uri"`
	VoiceCallerIDLookup             bool     `json:"voice_caller_id_lookup"`
	VoiceFallbackMethod             string   `json:"voice_fallback_method"`
	VoiceFallbackURL                nstr     `json:"voice_fallback_url"`
	VoiceMethod                     string   `json:"voice_method"`
	VoiceURL                        nstr     `json:"voice_url"`
	PublicApplicationConnectEnabled bool     `json:"public_application_connect_enabled"`
}

// appAPIVersion is what every app reports: the emulated account's default
// API version, since the application struct does not keep its own.
const appAPIVersion = "2010-04-01"

func appJSON(c *call, a *application) applicationJSON {
	return applicationJSON{
		AccountSID: c.region.accountSID, APIVersion: appAPIVersion,
		DateCreated: date2822(a.created), DateUpdated: date2822(a.updated), FriendlyName: nstr(a.friendlyName),
		MessageStatusCallback: nstr(a.messageStatusCallback), SID: a.sid,
		SMSFallbackMethod: a.smsFallbackMethod, SMSFallbackURL: nstr(a.smsFallbackURL), SMSMethod: a.smsMethod,
		SMSStatusCallback: nstr(a.smsStatusCallback), SMSURL: nstr(a.smsURL),
		StatusCallback: nstr(a.statusCallback), StatusCallbackMethod: a.statusCallbackMethod,
		URI:                 "/2010-04-01/Accounts/" + c.region.accountSID + "/Applications/" + a.sid + ".json",
		VoiceCallerIDLookup: a.voiceCallerIDLookup, VoiceFallbackMethod: a.voiceFallbackMethod,
		VoiceFallbackURL: nstr(a.voiceFallbackURL), VoiceMethod: a.voiceMethod, VoiceURL: nstr(a.voiceURL),
		PublicApplicationConnectEnabled: a.publicApplicationConnectEnabled,
	}
}

func listApps(c *call) (int, any, *apiError) {
	q := c.r.URL.Query()
	p, ae := parsePage(q)
	if ae != nil {
		return 0, nil, ae
	}
	apps := &c.region.apps
	var match func(i int) bool
	// FriendlyName is an exact match, as Twilio filters it.
	if fn, ok := q["FriendlyName"]; ok {
		match = func(i int) bool { return apps.at(i).friendlyName == fn[0] }
	}
	hits, next := p.scan(apps.len(), match)
	items := make([]any, len(hits))
	for i, h := range hits {
		items[i] = appJSON(c, apps.at(h))
	}
	return http.StatusOK, pageV2010(c, "applications", p, items, next), nil
}

func (c *call) app() (*application, *apiError) {
	a, ok := c.region.apps.get(c.params["Sid"])
	if !ok {
		return nil, errNotFound(c.r.URL.Path)
	}
	return a, nil
}

func fetchApp(c *call) (int, any, *apiError) {
	a, ae := c.app()
	if ae != nil {
		return 0, nil, ae
	}
	return http.StatusOK, appJSON(c, a), nil
}

func createApp(c *call) (int, any, *apiError) {
	// Defaults as the spec's list example shows a bare app: POST methods,
	// null URLs, both booleans false.
	a := application{
		voiceMethod: "POST", voiceFallbackMethod: "POST", statusCallbackMethod: "POST",
		smsMethod: "POST", smsFallbackMethod: "POST", created: c.now, updated: c.now,
	}
	if ae := applyAppParams(&a, c.form); ae != nil {
		return 0, nil, ae
	}
	a.sid = c.acct.newSID("AP")
	c.region.apps.put(a.sid, &a)
	return http.StatusCreated, appJSON(c, &a), nil
}

func updateApp(c *call) (int, any, *apiError) {
	a, ae := c.app()
	if ae != nil {
		return 0, nil, ae
	}
	next := *a
	if ae := applyAppParams(&next, c.form); ae != nil {
		return 0, nil, ae
	}
	next.updated = c.now
	*a = next
	return http.StatusOK, appJSON(c, a), nil
}

func deleteApp(c *call) (int, any, *apiError) {
	if !c.region.apps.del(c.params["Sid"]) {
		return 0, nil, errNotFound(c.r.URL.Path)
	}
	return http.StatusNoContent, nil, nil
}

// applyAppParams validates the create/update parameters and applies them to
// a; on error a may be half-changed, so callers pass a copy.
func applyAppParams(a *application, f url.Values) *apiError {
	if v, ok := f["ApiVersion"]; ok && v[0] != "" && v[0] != "2010-04-01" && v[0] != "2008-08-01" {
		return errInvalid("ApiVersion", v[0])
	}
	if v, ok := f["FriendlyName"]; ok {
		if len(v[0]) > 64 {
			return errInvalid("FriendlyName", v[0])
		}
		a.friendlyName = v[0]
	}
	if ae := applyURLParams(f, []strParam{
		{"VoiceUrl", &a.voiceURL}, {"VoiceFallbackUrl", &a.voiceFallbackURL}, {"StatusCallback", &a.statusCallback},
		{"SmsUrl", &a.smsURL}, {"SmsFallbackUrl", &a.smsFallbackURL}, {"SmsStatusCallback", &a.smsStatusCallback},
		{"MessageStatusCallback", &a.messageStatusCallback},
	}); ae != nil {
		return ae
	}
	if ae := applyMethodParams(f, []strParam{
		{"VoiceMethod", &a.voiceMethod}, {"VoiceFallbackMethod", &a.voiceFallbackMethod},
		{"StatusCallbackMethod", &a.statusCallbackMethod}, {"SmsMethod", &a.smsMethod}, {"SmsFallbackMethod", &a.smsFallbackMethod},
	}); ae != nil {
		return ae
	}
	return applyBoolParams(f, []boolParam{
		{"VoiceCallerIdLookup", &a.voiceCallerIDLookup}, {"PublicApplicationConnectEnabled", &a.publicApplicationConnectEnabled},
	})
}

// strParam and boolParam bind a form parameter to the field it sets. The
// apply helpers below are shared by every 2010 resource with webhook
// settings (apps, SIP domains).
type strParam struct {
	param string
	dst   *string
}

type boolParam struct {
	param string
	dst   *bool
}

// applyURLParams sets each present URL parameter; "" clears it, as Twilio
// lets a client clear a webhook by sending it empty.
func applyURLParams(f url.Values, ps []strParam) *apiError {
	for _, p := range ps {
		v, ok := f[p.param]
		if !ok {
			continue
		}
		if v[0] != "" && !validURL(v[0]) {
			return newAPIError(http.StatusBadRequest, 21502, "%s is not a valid URL: %s", p.param, v[0])
		}
		*p.dst = v[0]
	}
	return nil
}

// applyMethodParams sets each present GET/POST parameter; "" means POST.
func applyMethodParams(f url.Values, ps []strParam) *apiError {
	for _, p := range ps {
		if v, ok := f[p.param]; ok {
			m, ae := httpMethod(p.param, v[0])
			if ae != nil {
				return ae
			}
			*p.dst = m
		}
	}
	return nil
}

func applyBoolParams(f url.Values, ps []boolParam) *apiError {
	for _, p := range ps {
		if v, ok := f[p.param]; ok {
			b, err := formBool(v[0])
			if err != nil {
				return errInvalid(p.param, v[0])
			}
			*p.dst = b
		}
	}
	return nil
}
