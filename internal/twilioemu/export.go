package twilioemu

import (
	"sort"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
)

// Snapshot exports the account in the snapshot format (what Seed reads).
// Credentials are included only when asked: the operator API offers them to
// rehearsal tooling on loopback, never to logs.
func (e *Emulator) Snapshot(withCredentials bool) *snapshot.Snapshot {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a := e.acct
	s := &snapshot.Snapshot{Format: snapshot.Format, TakenAt: e.clock.Now().UTC(), AccountSID: a.sid, Resources: map[string]*snapshot.RegionResources{}}
	for _, id := range e.opts.Regions {
		s.Regions = append(s.Regions, string(id))
	}
	for _, n := range a.numbers {
		caps := n.capabilities
		sn := snapshot.Number{PhoneNumber: n.e164, FriendlyName: n.friendlyName, Capabilities: &caps, Records: map[string]*snapshot.NumberRecord{}}
		sn.Routing = snapshot.Route{VoiceRegion: string(region.US1)}
		if r, ok := a.routes[routeKey{routeNumber, n.e164}]; ok {
			sn.Routing = snapshot.Route{VoiceRegion: string(r.region), Explicit: true}
		}
		for id, rec := range n.records {
			sn.Records[string(id)] = &snapshot.NumberRecord{
				SID: rec.sid, FriendlyName: rec.friendlyName, VoiceURL: rec.voiceURL, VoiceMethod: rec.voiceMethod,
				VoiceFallbackURL: rec.voiceFallbackURL, VoiceFallbackMethod: rec.voiceFallbackMethod,
				StatusCallback: rec.statusCallback, StatusCallbackMethod: rec.statusCallbackMethod,
				VoiceApplicationSID: rec.voiceApplicationSID, TrunkSID: rec.trunkSID, VoiceReceiveMode: rec.voiceReceiveMode,
			}
		}
		s.Numbers = append(s.Numbers, sn)
	}
	for _, id := range e.opts.Regions {
		rs := a.regions[id]
		s.Resources[string(id)] = exportRegion(rs)
		if withCredentials {
			if s.Credentials == nil {
				s.Credentials = map[string]*snapshot.RegionCredentials{}
			}
			rc := &snapshot.RegionCredentials{AccountSID: rs.accountSID, AuthToken: rs.authToken}
			for _, sid := range rs.keys.order {
				k := rs.keys.bySID[sid]
				rc.Keys = append(rc.Keys, snapshot.Key{SID: k.sid, Secret: k.secret, FriendlyName: k.friendlyName, Type: k.kind})
			}
			s.Credentials[string(id)] = rc
		}
	}
	for k, r := range a.routes {
		route := snapshot.Route{Key: k.key, VoiceRegion: string(r.region), Explicit: true}
		switch k.kind {
		case routeTrunk:
			s.TrunkRouting = append(s.TrunkRouting, route)
		case routeSIPDomain:
			s.SIPDomainRouting = append(s.SIPDomainRouting, route)
		}
	}
	sort.Slice(s.TrunkRouting, func(i, j int) bool { return s.TrunkRouting[i].Key < s.TrunkRouting[j].Key })
	sort.Slice(s.SIPDomainRouting, func(i, j int) bool { return s.SIPDomainRouting[i].Key < s.SIPDomainRouting[j].Key })
	return s
}

func exportRegion(rs *regionState) *snapshot.RegionResources {
	res := &snapshot.RegionResources{AdvancedInsights: ptr(rs.advancedInsights)}
	for _, sid := range rs.apps.order {
		ap := rs.apps.bySID[sid]
		res.Applications = append(res.Applications, snapshot.Application{
			SID: ap.sid, FriendlyName: ap.friendlyName, VoiceURL: ap.voiceURL, VoiceMethod: ap.voiceMethod,
			VoiceFallbackURL: ap.voiceFallbackURL, VoiceFallbackMethod: ap.voiceFallbackMethod,
			StatusCallback: ap.statusCallback, StatusCallbackMethod: ap.statusCallbackMethod,
		})
	}
	for _, sid := range rs.domains.order {
		d := rs.domains.bySID[sid]
		res.SIPDomains = append(res.SIPDomains, snapshot.SIPDomain{
			SID: d.sid, FriendlyName: d.friendlyName, DomainName: d.domainName, VoiceURL: d.voiceURL, VoiceMethod: d.voiceMethod,
			VoiceFallbackURL: d.voiceFallbackURL, VoiceFallbackMethod: d.voiceFallbackMethod, SIPRegistration: d.sipRegistration,
		})
	}
	for _, sid := range rs.credLists.order {
		l := rs.credLists.bySID[sid]
		res.CredentialLists = append(res.CredentialLists, snapshot.NamedList{SID: l.sid, FriendlyName: l.friendlyName})
	}
	for _, sid := range rs.ipACLs.order {
		l := rs.ipACLs.bySID[sid]
		res.IPAccessControlLists = append(res.IPAccessControlLists, snapshot.NamedList{SID: l.sid, FriendlyName: l.friendlyName})
	}
	for _, sid := range rs.trunks.order {
		t := rs.trunks.bySID[sid]
		st := snapshot.Trunk{SID: t.sid, FriendlyName: t.friendlyName, DomainName: t.domainName,
			DisasterRecoveryURL: t.disasterRecoveryURL, DisasterRecoveryMethod: t.disasterRecoveryMethod,
			IPAccessControlLists: append([]string(nil), t.ipACLs.order...), CredentialLists: append([]string(nil), t.credLists.order...)}
		for _, osid := range t.origination.order {
			o := t.origination.bySID[osid]
			st.OriginationURLs = append(st.OriginationURLs, snapshot.OriginationURL{SID: o.sid, FriendlyName: o.friendlyName,
				SIPURL: o.sipURL, Priority: o.priority, Weight: o.weight, Enabled: o.enabled})
		}
		res.Trunks = append(res.Trunks, st)
	}
	return res
}
