package readiness

import (
	"cmp"
	"fmt"
	"time"

	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

// checker holds one Check's inputs and the report it fills.
type checker struct {
	s       *snapshot.Snapshot
	wb      *workbook.Workbook
	scope   *Scope
	flow    *workbook.Flow
	p       *workbook.RegionProfile
	now     time.Time
	numbers []int // indexes into s.Numbers of the flow's numbers
	rep     *Report
}

// regionMap is the flow's footprint in one region, for the resource map.
func (c *checker) regionMap(rp *workbook.RegionProfile) *RegionMap {
	r := string(rp.Region)
	m := &RegionMap{Role: string(rp.Role), Numbers: len(c.numbers), Apps: []string{}, Trunks: []string{}, SIPDomains: []string{}}
	res := c.s.Resources[r]
	for _, i := range c.numbers {
		if posture.Effective(c.s.Numbers[i].Records[r], res).Kind != "" {
			m.NumbersConfigured++
		}
	}
	apps, trunks, domains := c.scope.Apps, c.scope.Trunks, c.scope.SIPDomains
	if res == nil {
		return m
	}
	for _, a := range apps {
		if res.App(a) != nil {
			m.Apps = append(m.Apps, a)
		}
	}
	for _, t := range trunks {
		if res.Trunk(t) != nil {
			m.Trunks = append(m.Trunks, t)
		}
	}
	for _, d := range domains {
		if res.SIPDomain(d) != nil {
			m.SIPDomains = append(m.SIPDomains, d)
		}
	}
	return m
}

// standby checks one standby region against the primary.
func (c *checker) standby(sb *workbook.RegionProfile) {
	sr := string(sb.Region)
	sres := c.s.Resources[sr]
	if sres == nil {
		// Without the region's read every other check would report absence
		// that may not be true; one gap that says why is more honest.
		c.gap(GapRegionNotInSnapshot, SeverityError, sr, sr, "the snapshot did not read "+sr,
			"read the account with --regions including "+sr)
		c.item(Item{ID: "region-read/" + sr, Title: "Standby region " + sr + " was read", Region: sr, Checked: 1, Failed: 1})
		return
	}
	apps, trunks, domains := c.scope.Apps, c.scope.Trunks, c.scope.SIPDomains
	c.checkApps(sb, apps)
	c.checkTrunks(sb, trunks)
	c.checkDomains(sb, domains)
	c.checkNumbers(sb)
}

func (c *checker) accountSID() string {
	if c.s.AccountSID != "" {
		return c.s.AccountSID
	}
	return "{AccountSid}"
}

func (c *checker) checkApps(sb *workbook.RegionProfile, apps []string) {
	sr, pres, sres := string(sb.Region), c.s.Resources[string(c.p.Region)], c.s.Resources[string(sb.Region)]
	it := Item{ID: "apps/" + sr, Title: "TwiML Apps of the flow exist in " + sr + " (by friendly name) with a voice URL", Region: sr}
	fb := Item{ID: "app-fallbacks/" + sr, Title: "TwiML Apps in " + sr + " have a fallback URL where the primary's do", Region: sr}
	base := "POST https://" + host("api", sb) + "/2010-04-01/Accounts/" + c.accountSID() + "/Applications"
	for _, name := range apps {
		it.Checked++
		pa, sa := pres.App(name), sres.App(name)
		switch {
		case sa == nil:
			c.gap(GapAppMissing, SeverityError, sr, name, "TwiML App "+name+" exists in "+string(c.p.Region)+" but not in "+sr,
				base+".json FriendlyName="+name+" VoiceUrl="+c.standbyURL(sb, pa.VoiceURL)+" VoiceMethod="+cmp.Or(pa.VoiceMethod, "POST")+
					optParam(" VoiceFallbackUrl=", c.standbyURL(sb, pa.VoiceFallbackURL))+
					optParam(" StatusCallback=", c.standbyURL(sb, pa.StatusCallback)))
		case sa.VoiceURL == "":
			c.gap(GapAppNoVoiceURL, SeverityError, sr, name, "TwiML App "+name+" in "+sr+" has no voice URL: calls would get no TwiML",
				base+"/"+sa.SID+".json VoiceUrl="+c.standbyURL(sb, pa.VoiceURL))
		default:
			if pa.VoiceFallbackURL != "" {
				fb.Checked++
				if sa.VoiceFallbackURL == "" {
					fb.Failed++
					fb.Evidence = append(fb.Evidence, appRef(c.s, sr, name))
					c.gap(GapStandbyNoFallback, SeverityWarning, sr, name, "TwiML App "+name+" has a fallback URL in the primary, not in "+sr,
						base+"/"+sa.SID+".json VoiceFallbackUrl="+c.standbyURL(sb, pa.VoiceFallbackURL))
				}
			}
			continue
		}
		it.Failed++
		it.Evidence = append(it.Evidence, appRef(c.s, string(c.p.Region), name))
	}
	c.item(it)
	if fb.Checked > 0 {
		c.item(fb)
	}
}

func (c *checker) checkTrunks(sb *workbook.RegionProfile, trunks []string) {
	sr, pres, sres := string(sb.Region), c.s.Resources[string(c.p.Region)], c.s.Resources[string(sb.Region)]
	it := Item{ID: "trunks/" + sr, Title: "Trunks of the flow exist in " + sr + " (by domain_name) with an enabled origination URL and a DR URL", Region: sr}
	base := "POST https://" + host("trunking", sb) + "/v1/Trunks"
	for _, d := range trunks {
		it.Checked++
		pt, st := pres.Trunk(d), sres.Trunk(d)
		failed := false
		if st == nil {
			c.gap(GapTrunkMissing, SeverityError, sr, d, "trunk "+d+" is not in "+sr, base+" DomainName="+d+trunkCopy(pt))
			it.Failed++
			it.Evidence = append(it.Evidence, trunkRef(c.s, string(c.p.Region), d))
			continue
		}
		enabled := false
		for _, o := range st.OriginationURLs {
			enabled = enabled || o.Enabled
		}
		if !enabled {
			failed = true
			fix := base + "/" + st.SID + "/OriginationUrls FriendlyName=sbc1 SipUrl=sip:{standby SBC} Priority=10 Weight=10 Enabled=true"
			if pt != nil && len(pt.OriginationURLs) > 0 {
				o := pt.OriginationURLs[0]
				fix = fmt.Sprintf("%s/%s/OriginationUrls FriendlyName=%s SipUrl=%s Priority=%d Weight=%d Enabled=true (use the SBC that serves %s)",
					base, st.SID, o.FriendlyName, o.SIPURL, o.Priority, o.Weight, sr)
			}
			c.gap(GapTrunkNoOrigination, SeverityError, sr, d, "trunk "+d+" in "+sr+" has no enabled origination URL: inbound calls cannot reach an SBC", fix)
		}
		if pt != nil && pt.DisasterRecoveryURL != "" && st.DisasterRecoveryURL == "" {
			failed = true
			c.gap(GapTrunkNoDRURL, SeverityWarning, sr, d, "trunk "+d+" has a disaster_recovery_url in "+string(c.p.Region)+", not in "+sr,
				base+"/"+st.SID+" DisasterRecoveryUrl="+pt.DisasterRecoveryURL+" DisasterRecoveryMethod="+cmp.Or(pt.DisasterRecoveryMethod, "POST"))
		}
		if pt != nil && c.checkTrunkLists(sb, pt, st, base) {
			failed = true
		}
		if failed {
			it.Failed++
			it.Evidence = append(it.Evidence, trunkRef(c.s, sr, d))
		}
	}
	c.item(it)
}

// GapTrunkAssociation is a standby trunk lacking an IP ACL or credential
// list the primary trunk has (matched by the list's friendly name): the SBC's
// calls into the standby termination URI would be refused.
const GapTrunkAssociation = "trunk_association_missing"

// checkTrunkLists compares the trunks' IP ACL and credential list
// associations by list friendly name, since SIDs differ between regions.
func (c *checker) checkTrunkLists(sb *workbook.RegionProfile, pt, st *snapshot.Trunk, base string) bool {
	pres, sres := c.s.Resources[string(c.p.Region)], c.s.Resources[string(sb.Region)]
	missing := false
	for _, kind := range []struct {
		name       string
		p, s       []string
		pl, sl     []snapshot.NamedList
		param, sub string
	}{
		{"IP access control list", pt.IPAccessControlLists, st.IPAccessControlLists, pres.IPAccessControlLists, sres.IPAccessControlLists, "IpAccessControlListSid", "IpAccessControlLists"},
		{"credential list", pt.CredentialLists, st.CredentialLists, pres.CredentialLists, sres.CredentialLists, "CredentialListSid", "CredentialLists"},
	} {
		have := map[string]bool{}
		for _, sid := range kind.s {
			have[snapshot.ListName(kind.sl, sid)] = true
		}
		for _, sid := range kind.p {
			name := snapshot.ListName(kind.pl, sid)
			if have[name] {
				continue
			}
			missing = true
			fix := base + "/" + st.SID + "/" + kind.sub + " " + kind.param + "={" + string(sb.Region) + " SID of " + kind.name + " " + name + "}"
			if l := snapshot.ListByName(kind.sl, name); l != nil {
				fix = base + "/" + st.SID + "/" + kind.sub + " " + kind.param + "=" + l.SID
			} else {
				fix = "create " + kind.name + " " + name + " in " + string(sb.Region) + " with its entries from your secret store, then " + fix
			}
			c.gap(GapTrunkAssociation, SeverityError, string(sb.Region), st.DomainName,
				"trunk "+st.DomainName+" in "+string(sb.Region)+" lacks the "+kind.name+" "+name+" the primary trunk has", fix)
		}
	}
	return missing
}

func trunkCopy(pt *snapshot.Trunk) string {
	if pt == nil {
		return ""
	}
	s := optParam(" FriendlyName=", pt.FriendlyName) + optParam(" DisasterRecoveryUrl=", pt.DisasterRecoveryURL)
	if len(pt.OriginationURLs) > 0 {
		s += ", then POST its OriginationUrls (as in the primary, with the standby's SBCs)"
	}
	return s
}

func (c *checker) checkDomains(sb *workbook.RegionProfile, domains []string) {
	sr, pres, sres := string(sb.Region), c.s.Resources[string(c.p.Region)], c.s.Resources[string(sb.Region)]
	it := Item{ID: "sip-domains/" + sr, Title: "SIP domains of the flow exist in " + sr, Region: sr}
	for _, d := range domains {
		it.Checked++
		if sres.SIPDomain(d) != nil {
			continue
		}
		voice := sb.App.VoiceURL
		if pd := pres.SIPDomain(d); pd != nil {
			voice = c.standbyURL(sb, pd.VoiceURL)
		}
		c.gap(GapSIPDomainMissing, SeverityError, sr, d, "SIP domain "+d+" is not in "+sr,
			"POST https://"+host("api", sb)+"/2010-04-01/Accounts/"+c.accountSID()+"/SIP/Domains.json DomainName="+d+optParam(" VoiceUrl=", voice))
		it.Failed++
		it.Evidence = append(it.Evidence, "evidence/snapshot.json#/resources/"+string(c.p.Region)+"/sip_domains")
	}
	c.item(it)
}

// standbyURL maps a primary URL to the standby's: when the URL is one of
// the primary region's workbook endpoints, the standby's matching endpoint
// (the primary's host is what fails in a regional outage); otherwise the
// URL itself, since the workbook does not say where that app runs.
func (c *checker) standbyURL(sb *workbook.RegionProfile, primaryURL string) string {
	pa, sa := c.p.App, sb.App
	for _, m := range [][2]string{{pa.VoiceURL, sa.VoiceURL}, {pa.FallbackURL, sa.FallbackURL}, {pa.StatusCallback, sa.StatusCallback}} {
		if primaryURL != "" && primaryURL == m[0] && m[1] != "" {
			return m[1]
		}
	}
	return primaryURL
}

func optParam(name, v string) string {
	if v == "" {
		return ""
	}
	return name + v
}

func appRef(s *snapshot.Snapshot, r, name string) string {
	for i, a := range s.Resources[r].Applications {
		if a.FriendlyName == name {
			return fmt.Sprintf("evidence/snapshot.json#/resources/%s/applications/%d", r, i)
		}
	}
	return "evidence/snapshot.json#/resources/" + r + "/applications"
}

func trunkRef(s *snapshot.Snapshot, r, domain string) string {
	for i, t := range s.Resources[r].Trunks {
		if t.DomainName == domain {
			return fmt.Sprintf("evidence/snapshot.json#/resources/%s/trunks/%d", r, i)
		}
	}
	return "evidence/snapshot.json#/resources/" + r + "/trunks"
}
