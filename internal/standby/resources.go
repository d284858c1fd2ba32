package standby

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

// app plans the TwiML App name in the standby: created with the primary's
// settings mapped to the standby's endpoints, or completed where readiness
// would flag it (no voice URL, no fallback where the primary has one).
// Existing URLs are left alone: the standby's own endpoints are its owner's.
func (pl *planner) app(sb *workbook.RegionProfile, name string) {
	sr := string(sb.Region)
	pa := pl.s.Resources[string(pl.p.Region)].App(name)
	sa := pl.s.Resources[sr].App(name)
	if pa == nil {
		return // named by a primary handler, so always present; defensive
	}
	key := "app:" + sr + ":" + name
	if sa == nil {
		spec := &AppSpec{FriendlyName: name, VoiceURL: pl.standbyURL(sb, pa.VoiceURL),
			VoiceFallbackURL: pl.standbyURL(sb, pa.VoiceFallbackURL), StatusCallback: pl.standbyURL(sb, pa.StatusCallback)}
		spec.VoiceMethod = ifSet(spec.VoiceURL, pa.VoiceMethod)
		spec.VoiceFallbackMethod = ifSet(spec.VoiceFallbackURL, pa.VoiceFallbackMethod)
		spec.StatusCallbackMethod = ifSet(spec.StatusCallback, pa.StatusCallbackMethod)
		pl.add(Action{Key: key, Op: OpCreate, Kind: KindApp, Region: sr, App: spec,
			Summary: "TwiML App " + name + " (voice " + spec.VoiceURL + ")"})
		return
	}
	spec := &AppSpec{FriendlyName: name}
	if sa.VoiceURL == "" && pa.VoiceURL != "" {
		spec.VoiceURL = pl.standbyURL(sb, pa.VoiceURL)
		spec.VoiceMethod = ifSet(spec.VoiceURL, pa.VoiceMethod)
	}
	if sa.VoiceFallbackURL == "" && pa.VoiceFallbackURL != "" {
		spec.VoiceFallbackURL = pl.standbyURL(sb, pa.VoiceFallbackURL)
		spec.VoiceFallbackMethod = ifSet(spec.VoiceFallbackURL, pa.VoiceFallbackMethod)
	}
	if spec.VoiceURL != "" || spec.VoiceFallbackURL != "" {
		pl.add(Action{Key: key, Op: OpUpdate, Kind: KindApp, Region: sr, App: spec,
			Summary: "TwiML App " + name + ": set " + setFields(spec.VoiceURL, "voice URL", spec.VoiceFallbackURL, "fallback URL")})
	}
}

func (pl *planner) domain(sb *workbook.RegionProfile, d string) {
	sr := string(sb.Region)
	if pl.s.Resources[sr].SIPDomain(d) != nil {
		return
	}
	spec := &SIPDomainSpec{DomainName: d, VoiceURL: sb.App.VoiceURL, VoiceMethod: ifSet(sb.App.VoiceURL, sb.App.VoiceMethod)}
	if pd := pl.s.Resources[string(pl.p.Region)].SIPDomain(d); pd != nil {
		spec.FriendlyName = pd.FriendlyName
		spec.VoiceURL, spec.VoiceFallbackURL = pl.standbyURL(sb, pd.VoiceURL), pl.standbyURL(sb, pd.VoiceFallbackURL)
		spec.VoiceMethod = ifSet(spec.VoiceURL, pd.VoiceMethod)
		spec.VoiceFallbackMethod = ifSet(spec.VoiceFallbackURL, pd.VoiceFallbackMethod)
		if pd.SIPRegistration {
			// Registration authenticates against credential lists, whose
			// passwords voicedr never holds.
			pl.manual(sr, d, "map the credential lists SIP domain "+d+" authenticates with in "+string(pl.p.Region)+
				" to it in "+sr+" (create them there first, with the credentials from your secret store)")
		}
	}
	pl.add(Action{Key: "sip-domain:" + sr + ":" + d, Op: OpCreate, Kind: KindSIPDomain, Region: sr, SIPDomain: spec,
		Summary: "SIP domain " + d + " (voice " + spec.VoiceURL + ")"})
}

// trunk plans trunk d in the standby: the trunk itself (domain, name, DR
// URL), the primary's origination URLs it lacks, and its list associations.
func (pl *planner) trunk(sb *workbook.RegionProfile, d string) {
	sr, pr := string(sb.Region), string(pl.p.Region)
	pres, sres := pl.s.Resources[pr], pl.s.Resources[sr]
	pt, st := pres.Trunk(d), sres.Trunk(d)
	if pt == nil {
		pl.manual(sr, d, "trunk "+d+" is in the workbook but not in "+pr+": create it in "+pr+" first, then re-plan")
		return
	}
	key := "trunk:" + sr + ":" + d
	switch {
	case st == nil:
		spec := &TrunkSpec{DomainName: d, FriendlyName: pt.FriendlyName, DisasterRecoveryURL: pt.DisasterRecoveryURL,
			DisasterRecoveryMethod: ifSet(pt.DisasterRecoveryURL, pt.DisasterRecoveryMethod)}
		pl.add(Action{Key: key, Op: OpCreate, Kind: KindTrunk, Region: sr, Trunk: spec, Summary: "trunk " + d})
	case st.DisasterRecoveryURL == "" && pt.DisasterRecoveryURL != "":
		spec := &TrunkSpec{DomainName: d, DisasterRecoveryURL: pt.DisasterRecoveryURL, DisasterRecoveryMethod: cmp.Or(pt.DisasterRecoveryMethod, "POST")}
		pl.add(Action{Key: key, Op: OpUpdate, Kind: KindTrunk, Region: sr, Trunk: spec,
			Summary: "trunk " + d + ": set disaster_recovery_url " + pt.DisasterRecoveryURL})
	}
	have := map[string]bool{}
	if st != nil {
		for _, o := range st.OriginationURLs {
			have[o.SIPURL] = true
		}
	}
	enabled := false
	if st != nil {
		for _, o := range st.OriginationURLs {
			enabled = enabled || o.Enabled
		}
	}
	for _, o := range pt.OriginationURLs {
		if have[o.SIPURL] {
			continue
		}
		enabled = enabled || o.Enabled
		pl.add(Action{Key: "origination:" + sr + ":" + d + ":" + o.SIPURL, Op: OpCreate, Kind: KindOrigination, Region: sr,
			Origination: &OriginationSpec{Trunk: d, FriendlyName: o.FriendlyName, SIPURL: o.SIPURL, Priority: o.Priority, Weight: o.Weight, Enabled: o.Enabled},
			Summary: fmt.Sprintf("origination URL %s on trunk %s (priority %d; copied as declared: make sure that SBC accepts calls from %s)",
				o.SIPURL, d, o.Priority, sr)})
	}
	if !enabled {
		// The standby trunk holds the primary's URLs but disabled: enabling
		// them is the owner's call (the SBC may not accept the region yet).
		pl.manual(sr, d, "enable an origination URL of trunk "+d+" in "+sr+" once its SBC accepts calls from "+sr)
	}
	var acls, creds []string // a trunk the plan has yet to create has none
	if st != nil {
		acls, creds = st.IPAccessControlLists, st.CredentialLists
	}
	pl.associations(sr, d, KindTrunkACL, "IP access control list", pt.IPAccessControlLists, acls,
		pres.IPAccessControlLists, sres.IPAccessControlLists)
	pl.associations(sr, d, KindTrunkCred, "credential list", pt.CredentialLists, creds,
		pres.CredentialLists, sres.CredentialLists)
}

// associations attaches, by friendly name, the lists the primary trunk has
// and the standby one lacks. A list missing in the standby is manual work:
// creating it would need its secrets.
func (pl *planner) associations(sr, d, kind, what string, primarySIDs, standbySIDs []string, plists, slists []snapshot.NamedList) {
	attached := map[string]bool{}
	for _, sid := range standbySIDs {
		attached[snapshot.ListName(slists, sid)] = true
	}
	for _, sid := range primarySIDs {
		name := snapshot.ListName(plists, sid)
		if attached[name] {
			continue
		}
		if snapshot.ListByName(slists, name) == nil {
			pl.manual(sr, name, "create "+what+" "+name+" in "+sr+" with its entries from your secret store, then re-plan to attach it to trunk "+d)
			continue
		}
		pl.add(Action{Key: kind + ":" + sr + ":" + d + ":" + name, Op: OpCreate, Kind: kind, Region: sr,
			Association: &AssociationSpec{Trunk: d, List: name}, Summary: what + " " + name + " on trunk " + d})
	}
}

// numbersOf plans each flow number's standby record where readiness would
// flag it: no handler, a handler of another kind (or another app or trunk),
// or a URL handler without the primary's fallback or status callback.
func (pl *planner) numbersOf(sb *workbook.RegionProfile) {
	sr, pr := string(sb.Region), string(pl.p.Region)
	for _, n := range pl.numbers {
		hp := posture.Effective(n.Records[pr], pl.s.Resources[pr])
		if hp.Kind == "" {
			continue // nothing answers in the primary either: nothing to copy
		}
		rec := n.Records[sr]
		hs := posture.Effective(rec, pl.s.Resources[sr])
		spec := &NumberSpec{PhoneNumber: n.PhoneNumber}
		var summary string
		switch {
		case hs.Kind == "" || hs.Kind != hp.Kind || hs.AppName != hp.AppName || hs.TrunkDomain != hp.TrunkDomain:
			switch hp.Kind {
			case "trunk":
				spec.Trunk, summary = hp.TrunkDomain, "join trunk "+hp.TrunkDomain
			case "app":
				spec.App, summary = hp.AppName, "use TwiML App "+hp.AppName
				spec.ClearTrunk = rec != nil && rec.TrunkSID != "" // a trunk would win over the app
			default:
				prec := n.Records[pr]
				spec.VoiceURL = pl.standbyURL(sb, hp.VoiceURL)
				spec.VoiceMethod = ifSet(spec.VoiceURL, cmp.Or(sb.App.VoiceMethod, prec.VoiceMethod))
				spec.VoiceFallbackURL = pl.standbyURL(sb, hp.FallbackURL)
				spec.VoiceFallbackMethod = ifSet(spec.VoiceFallbackURL, cmp.Or(sb.App.FallbackMethod, prec.VoiceFallbackMethod))
				spec.StatusCallback = pl.standbyURL(sb, hp.StatusCallback)
				spec.StatusCallbackMethod = ifSet(spec.StatusCallback, prec.StatusCallbackMethod)
				spec.ClearApp = rec != nil && rec.VoiceApplicationSID != ""
				spec.ClearTrunk = rec != nil && rec.TrunkSID != ""
				summary = "voice URL " + spec.VoiceURL
			}
		case hp.Kind == "url" && ((hp.FallbackURL != "" && hs.FallbackURL == "") || (hp.StatusCallback != "" && hs.StatusCallback == "")):
			// Parity gaps on a URL handler: fill only what is missing.
			var set []string
			if hp.FallbackURL != "" && hs.FallbackURL == "" {
				spec.VoiceFallbackURL = pl.standbyURL(sb, hp.FallbackURL)
				spec.VoiceFallbackMethod = cmp.Or(sb.App.FallbackMethod, cmp.Or(n.Records[pr].VoiceFallbackMethod, "POST"))
				set = append(set, "fallback URL "+spec.VoiceFallbackURL)
			}
			if hp.StatusCallback != "" && hs.StatusCallback == "" {
				spec.StatusCallback = pl.standbyURL(sb, hp.StatusCallback)
				spec.StatusCallbackMethod = cmp.Or(n.Records[pr].StatusCallbackMethod, "POST")
				set = append(set, "status callback "+spec.StatusCallback)
			}
			summary = strings.Join(set, ", ")
		default:
			continue
		}
		pl.add(Action{Key: "number:" + sr + ":" + n.PhoneNumber, Op: OpUpdate, Kind: KindNumber, Region: sr, Number: spec,
			Summary: n.PhoneNumber + ": " + summary})
	}
}

func setFields(pairs ...string) string {
	out := ""
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "" {
			continue
		}
		if out != "" {
			out += " and "
		}
		out += pairs[i+1] + " " + pairs[i]
	}
	return out
}
