package twilioemu

import (
	"net/http"
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// The Inbound Processing Region API (routes v2): one global routing table for
// numbers, trunks and SIP domains, readable and writable through any region's
// routes host with that region's credentials. A 404 on fetch means "never
// set, so us1"; an update works even then. The answer to a write shows the
// new region at once; calls follow it after the propagation delay.
func (e *Emulator) registerRouting() {
	e.router.add("routes", "GET", "/v2/PhoneNumbers/{PhoneNumber}", "FetchPhoneNumber", fetchRoute(routeNumber))
	e.router.add("routes", "POST", "/v2/PhoneNumbers/{PhoneNumber}", "UpdatePhoneNumber", updateRoute(routeNumber))
	e.router.add("routes", "GET", "/v2/SipDomains/{SipDomain}", "FetchSipDomain", fetchRoute(routeSIPDomain))
	e.router.add("routes", "POST", "/v2/SipDomains/{SipDomain}", "UpdateSipDomain", updateRoute(routeSIPDomain))
	e.router.add("routes", "GET", "/v2/Trunks/{SipTrunkDomain}", "FetchTrunks", fetchRoute(routeTrunk))
	e.router.add("routes", "POST", "/v2/Trunks/{SipTrunkDomain}", "UpdateTrunks", updateRoute(routeTrunk))
}

var routeParam = map[routeKind]struct{ param, field, path string }{
	routeNumber:    {"PhoneNumber", "phone_number", "/v2/PhoneNumbers/"},
	routeSIPDomain: {"SipDomain", "sip_domain", "/v2/SipDomains/"},
	routeTrunk:     {"SipTrunkDomain", "sip_trunk_domain", "/v2/Trunks/"},
}

// routeKeyOf reads and checks the path key: an owned number, or a trunk or
// SIP domain that exists in at least one region.
func routeKeyOf(c *call, kind routeKind) (routeKey, *apiError) {
	key := c.params[routeParam[kind].param]
	k := routeKey{kind, key}
	switch kind {
	case routeNumber:
		if _, ok := c.acct.byE164[key]; !ok {
			return k, errNotFound(routeParam[kind].path + key)
		}
	case routeTrunk:
		if !c.acct.trunkDomainExists(key) {
			return k, errNotFound(routeParam[kind].path + key)
		}
	case routeSIPDomain:
		if !c.acct.sipDomainExists(key) {
			return k, errNotFound(routeParam[kind].path + key)
		}
	}
	return k, nil
}

func (a *account) trunkDomainExists(d string) bool {
	for _, rs := range a.regions {
		for _, sid := range rs.trunks.order {
			if rs.trunks.bySID[sid].domainName == d {
				return true
			}
		}
	}
	return false
}

func (a *account) sipDomainExists(d string) bool {
	for _, rs := range a.regions {
		for _, sid := range rs.domains.order {
			if rs.domains.bySID[sid].domainName == d {
				return true
			}
		}
	}
	return false
}

func routeJSON(c *call, k routeKey, e *routeEntry) map[string]any {
	rp := routeParam[k.kind]
	return map[string]any{
		rp.field:        k.key,
		"url":           c.baseURL() + rp.path + k.key,
		"sid":           e.sid,
		"account_sid":   c.region.accountSID,
		"friendly_name": nstr(e.friendlyName),
		"voice_region":  string(e.region),
		"date_created":  date3339(e.created),
		"date_updated":  date3339(e.updated),
	}
}

func fetchRoute(kind routeKind) handlerFunc {
	return func(c *call) (int, any, *apiError) {
		k, ae := routeKeyOf(c, kind)
		if ae != nil {
			return 0, nil, ae
		}
		e, ok := c.acct.routes[k]
		if !ok {
			// Never set: Twilio answers 404 and routes to us1.
			return 0, nil, errNotFound(routeParam[kind].path + k.key)
		}
		return http.StatusOK, routeJSON(c, k, e), nil
	}
}

func updateRoute(kind routeKind) handlerFunc {
	return func(c *call) (int, any, *apiError) {
		k, ae := routeKeyOf(c, kind)
		if ae != nil {
			return 0, nil, ae
		}
		var target region.Region
		if v, ok := c.form["VoiceRegion"]; ok {
			r, err := region.Parse(v[0])
			if err != nil {
				return 0, nil, newAPIError(http.StatusBadRequest, 21236, "VoiceRegion %q is not a valid region: use us1, ie1 or au1", v[0])
			}
			target = r
		}
		var friendly *string
		if v, ok := c.form["FriendlyName"]; ok {
			if len(v[0]) > 64 {
				return 0, nil, errInvalid("FriendlyName", v[0])
			}
			friendly = &v[0]
		}
		delay := c.e.faults.Load().PropagationDelay
		e := c.acct.setRoute(k, target, friendly, c.now, time.Duration(delay))
		c.e.routeWrites.add(RouteWrite{Time: c.now, Kind: routeParam[kind].field, Key: k.key, VoiceRegion: string(e.region), Via: string(c.region.id)})
		return http.StatusOK, routeJSON(c, k, e), nil
	}
}
