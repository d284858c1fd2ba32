package twilioemu

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
)

var sidPattern = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)

// Seed replaces the emulated account with a snapshot: every number with each
// region's record and routing, and each region's apps, trunks, SIP domains
// and lists. SIDs in the snapshot are kept, so references between records
// stay valid. The snapshot is checked whole first: a bad seed changes nothing.
// Credentials come from the snapshot's credentials section where present,
// else the emulator's own generated ones are kept.
func (e *Emulator) Seed(s *snapshot.Snapshot) error {
	if err := s.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.acct
	a := newAccount(s.AccountSID, e.opts.RandSeed, s.TakenAt, e.opts.Regions)
	if s.AccountSID == "" {
		a.sid = old.sid
	}
	a.sharedSIDs = e.opts.SharedNumberSIDs
	now := e.clock.Now().UTC()
	if s.TakenAt.IsZero() {
		a.created = now
	}
	for id, rs := range a.regions {
		ors := old.regions[id]
		rs.accountSID, rs.authToken, rs.keys = a.sid, ors.authToken, ors.keys
		if c := s.Credentials[string(id)]; c != nil {
			if err := seedCredentials(rs, c, now); err != nil {
				return fmt.Errorf("seed credentials.%s: %w", id, err)
			}
		}
		if res := s.Resources[string(id)]; res != nil {
			if err := seedResources(a, rs, res, now); err != nil {
				return fmt.Errorf("seed resources.%s: %w", id, err)
			}
		}
	}
	for i, sn := range s.Numbers {
		if err := seedNumber(a, sn, now); err != nil {
			return fmt.Errorf("seed numbers[%d] (%s): %w", i, sn.PhoneNumber, err)
		}
	}
	for kind, routes := range map[routeKind][]snapshot.Route{routeTrunk: s.TrunkRouting, routeSIPDomain: s.SIPDomainRouting} {
		for i, r := range routes {
			if err := seedRoute(a, routeKey{kind, r.Key}, r, now); err != nil {
				return fmt.Errorf("seed routing[%d] (%s): %w", i, r.Key, err)
			}
		}
	}
	e.acct = a
	return nil
}

func seedCredentials(rs *regionState, c *snapshot.RegionCredentials, now time.Time) error {
	if c.AccountSID != "" {
		rs.accountSID = c.AccountSID
	}
	if c.AuthToken != "" {
		rs.authToken = c.AuthToken
	}
	if len(c.Keys) > 0 {
		rs.keys = newTable[*apiKey]()
	}
	for i, k := range c.Keys {
		if !strings.HasPrefix(k.SID, "SK") || k.Secret == "" {
			return fmt.Errorf("keys[%d]: want an SK… sid and a secret", i)
		}
		switch k.Type {
		case "main", "standard", "restricted":
		default:
			return fmt.Errorf("keys[%d].type %q: use main, standard or restricted", i, k.Type)
		}
		rs.keys.put(k.SID, &apiKey{sid: k.SID, secret: k.Secret, friendlyName: k.FriendlyName, kind: k.Type, created: now, updated: now})
	}
	return nil
}

// sidOr keeps a well-formed SID with the right prefix, else mints one.
func sidOr(a *account, sid, prefix string) (string, error) {
	if sid == "" {
		return a.newSID(prefix), nil
	}
	if !sidPattern.MatchString(sid) || !strings.HasPrefix(sid, prefix) {
		return "", fmt.Errorf("sid %q is not a %s… SID", sid, prefix)
	}
	return sid, nil
}

func seedResources(a *account, rs *regionState, res *snapshot.RegionResources, now time.Time) error {
	if res.AdvancedInsights != nil {
		rs.advancedInsights = *res.AdvancedInsights
	}
	for i, l := range res.CredentialLists {
		sid, err := sidOr(a, l.SID, "CL")
		if err != nil {
			return fmt.Errorf("credential_lists[%d]: %w", i, err)
		}
		rs.credLists.put(sid, &namedList{sid: sid, friendlyName: l.FriendlyName, created: now, updated: now})
	}
	for i, l := range res.IPAccessControlLists {
		sid, err := sidOr(a, l.SID, "AL")
		if err != nil {
			return fmt.Errorf("ip_access_control_lists[%d]: %w", i, err)
		}
		rs.ipACLs.put(sid, &namedList{sid: sid, friendlyName: l.FriendlyName, created: now, updated: now})
	}
	for i, ap := range res.Applications {
		sid, err := sidOr(a, ap.SID, "AP")
		if err != nil {
			return fmt.Errorf("applications[%d]: %w", i, err)
		}
		rs.apps.put(sid, &application{
			sid: sid, friendlyName: ap.FriendlyName, voiceURL: ap.VoiceURL, voiceMethod: orPOST(ap.VoiceMethod),
			voiceFallbackURL: ap.VoiceFallbackURL, voiceFallbackMethod: orPOST(ap.VoiceFallbackMethod),
			statusCallback: ap.StatusCallback, statusCallbackMethod: orPOST(ap.StatusCallbackMethod),
			smsMethod: "POST", smsFallbackMethod: "POST", created: now, updated: now,
		})
	}
	for i, d := range res.SIPDomains {
		sid, err := sidOr(a, d.SID, "SD")
		if err != nil {
			return fmt.Errorf("sip_domains[%d]: %w", i, err)
		}
		rs.domains.put(sid, &sipDomain{
			sid: sid, friendlyName: d.FriendlyName, domainName: d.DomainName, voiceURL: d.VoiceURL,
			voiceMethod: orPOST(d.VoiceMethod), voiceFallbackURL: d.VoiceFallbackURL, voiceFallbackMethod: orPOST(d.VoiceFallbackMethod),
			voiceStatusCallbackMeth: "POST", sipRegistration: d.SIPRegistration, created: now, updated: now,
		})
	}
	for i, t := range res.Trunks {
		if err := seedTrunk(a, rs, t, now); err != nil {
			return fmt.Errorf("trunks[%d] (%s): %w", i, t.DomainName, err)
		}
	}
	return nil
}

func seedTrunk(a *account, rs *regionState, t snapshot.Trunk, now time.Time) error {
	sid, err := sidOr(a, t.SID, "TK")
	if err != nil {
		return err
	}
	if !strings.HasSuffix(t.DomainName, "pstn.twilio.com") {
		return fmt.Errorf("domain_name %q must end with pstn.twilio.com", t.DomainName)
	}
	tr := &trunk{
		sid: sid, friendlyName: t.FriendlyName, domainName: t.DomainName,
		disasterRecoveryURL: t.DisasterRecoveryURL, disasterRecoveryMethod: orPOST(t.DisasterRecoveryMethod),
		transferMode: "disable-all", transferCallerID: "from-transferee", recordingMode: "do-not-record", recordingTrim: "do-not-trim",
		origination: newTable[*originationURL](), ipACLs: newTable[*association](), credLists: newTable[*association](),
		created: now, updated: now,
	}
	for i, o := range t.OriginationURLs {
		osid, err := sidOr(a, o.SID, "OU")
		if err != nil {
			return fmt.Errorf("origination_urls[%d]: %w", i, err)
		}
		tr.origination.put(osid, &originationURL{sid: osid, friendlyName: o.FriendlyName, sipURL: o.SIPURL,
			priority: o.Priority, weight: o.Weight, enabled: o.Enabled, created: now, updated: now})
	}
	for _, pair := range []struct {
		sids  []string
		lists *table[*namedList]
		dst   *table[*association]
		field string
	}{{t.IPAccessControlLists, &rs.ipACLs, &tr.ipACLs, "ip_access_control_lists"}, {t.CredentialLists, &rs.credLists, &tr.credLists, "credential_lists"}} {
		for _, ls := range pair.sids {
			if _, ok := pair.lists.get(ls); !ok {
				return fmt.Errorf("%s: %s is not a list of this region", pair.field, ls)
			}
			pair.dst.put(ls, &association{listSID: ls, created: now, updated: now})
		}
	}
	rs.trunks.put(sid, tr)
	return nil
}

func seedNumber(a *account, sn snapshot.Number, now time.Time) error {
	if !ValidE164(sn.PhoneNumber) {
		return fmt.Errorf("phone_number %q is not E.164 (+ and up to 15 digits)", sn.PhoneNumber)
	}
	caps := snapshot.Capabilities{Voice: true, SMS: true, MMS: true}
	if sn.Capabilities != nil {
		caps = *sn.Capabilities
	}
	friendly := sn.FriendlyName
	if friendly == "" {
		friendly = sn.PhoneNumber
	}
	n := a.addNumber(sn.PhoneNumber, friendly, caps, now)
	for rid, sr := range sn.Records {
		r, err := region.Parse(rid)
		if err != nil {
			return fmt.Errorf("records.%s: %w", rid, err)
		}
		rec, ok := n.records[r]
		if !ok {
			return fmt.Errorf("records.%s: region not served by this emulator", rid)
		}
		rs := a.regions[r]
		if sr.SID != "" {
			sid, err := sidOr(a, sr.SID, "PN")
			if err != nil {
				return fmt.Errorf("records.%s: %w", rid, err)
			}
			if other, taken := rs.numberSIDs[sid]; taken && other != n {
				return fmt.Errorf("records.%s.sid %s is also the SID of %s", rid, sid, other.e164)
			}
			delete(rs.numberSIDs, rec.sid)
			rec.sid = sid
			rs.numberSIDs[sid] = n
		}
		if sr.FriendlyName != "" {
			rec.friendlyName = sr.FriendlyName
		}
		rec.voiceURL, rec.voiceFallbackURL, rec.statusCallback = sr.VoiceURL, sr.VoiceFallbackURL, sr.StatusCallback
		rec.voiceMethod, rec.voiceFallbackMethod, rec.statusCallbackMethod = orPOST(sr.VoiceMethod), orPOST(sr.VoiceFallbackMethod), orPOST(sr.StatusCallbackMethod)
		if sr.VoiceReceiveMode != "" {
			rec.voiceReceiveMode = sr.VoiceReceiveMode
		}
		if sr.VoiceApplicationSID != "" {
			if _, ok := rs.apps.get(sr.VoiceApplicationSID); !ok {
				return fmt.Errorf("records.%s.voice_application_sid %s is not an application of %s", rid, sr.VoiceApplicationSID, rid)
			}
			rec.voiceApplicationSID = sr.VoiceApplicationSID
		}
		if sr.TrunkSID != "" {
			if _, ok := rs.trunks.get(sr.TrunkSID); !ok {
				return fmt.Errorf("records.%s.trunk_sid %s is not a trunk of %s", rid, sr.TrunkSID, rid)
			}
			rec.trunkSID = sr.TrunkSID
		}
	}
	if sn.Routing.Explicit {
		return seedRoute(a, routeKey{routeNumber, sn.PhoneNumber}, sn.Routing, now)
	}
	return nil
}

func seedRoute(a *account, k routeKey, r snapshot.Route, now time.Time) error {
	reg, err := region.Parse(r.VoiceRegion)
	if err != nil {
		return fmt.Errorf("voice_region: %w", err)
	}
	if !r.Explicit && k.kind == routeNumber {
		return nil
	}
	a.setRoute(k, reg, nil, now, 0)
	return nil
}

func orPOST(m string) string {
	if m == "" {
		return "POST"
	}
	return strings.ToUpper(m)
}
