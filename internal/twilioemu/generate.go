package twilioemu

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
)

// GenerateOptions shape a generated account. The same options (and RandSeed)
// always give the same account.
type GenerateOptions struct {
	Numbers  int
	RandSeed uint64
	Primary  region.Region // default us1
	Standby  region.Region // default ie1
	Regions  []region.Region
	// TrunkShare and AppShare are the shares of numbers on a trunk and on a
	// TwiML App; the rest use voice URLs. NoFallbackShare of URL-routed numbers
	// have no fallback URL in the primary. StandbyShare of numbers have a
	// configured standby record (the rest are gaps).
	TrunkShare, AppShare, NoFallbackShare, StandbyShare float64
	// TakenAt dates the snapshot; default 2026-01-01.
	TakenAt time.Time
}

func (o *GenerateOptions) defaults() {
	if o.Primary == "" {
		o.Primary = region.US1
	}
	if o.Standby == "" {
		o.Standby = region.IE1
	}
	if len(o.Regions) == 0 {
		o.Regions = append([]region.Region(nil), region.All...)
	}
	if o.TrunkShare == 0 && o.AppShare == 0 {
		o.TrunkShare, o.AppShare = 0.2, 0.35
	}
	if o.NoFallbackShare == 0 {
		o.NoFallbackShare = 0.15
	}
	if o.StandbyShare == 0 {
		o.StandbyShare = 0.7
	}
	if o.TakenAt.IsZero() {
		o.TakenAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
}

// Gap is a readiness gap the generator planted on purpose: later readiness
// checks must find exactly these.
type Gap struct {
	Kind     string `json:"kind"`
	Region   string `json:"region"`
	Resource string `json:"resource"`
	Detail   string `json:"detail"`
}

// Gap kinds.
const (
	GapStandbyUnconfigured = "number_standby_unconfigured" // standby record has no voice handler
	GapStandbyNoFallback   = "number_standby_no_fallback"  // primary has a fallback URL, standby does not
	GapNoFallback          = "number_no_fallback"          // URL-routed number without a fallback URL
	GapAppMissing          = "app_missing"                 // TwiML App absent in the standby
	GapTrunkMissing        = "trunk_missing"               // trunk absent in the standby
	GapTrunkNoOrigination  = "trunk_no_origination"        // standby trunk has no origination URL
	GapTrunkNoDRURL        = "trunk_no_disaster_recovery_url"
	GapSIPDomainMissing    = "sip_domain_missing"
	GapRegionMismatch      = "number_region_mismatch" // processed far from its country's region (stage 2)
)

// GapsFormat is the format tag of the gaps file.
const GapsFormat = "voicedr.gaps/v1"

// GapList is the machine-readable list of planted gaps (--gaps-out).
type GapList struct {
	Format  string `json:"format"`
	Primary string `json:"primary"`
	Standby string `json:"standby"`
	Gaps    []Gap  `json:"gaps"`
}

// Write encodes the gap list as indented JSON.
func (g *GapList) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(g)
}

// flowSpec is a voice flow of the generated company.
type flowSpec struct {
	prefix, host string
	handler      string // trunk, app or url
	app, trunk   string
}

var genFlows = []flowSpec{
	{prefix: "support", host: "support.acme.example", handler: "app", app: "support-ivr"},
	{prefix: "sales", host: "sales.acme.example", handler: "app", app: "sales-ivr"},
	{prefix: "contact-center", handler: "trunk", trunk: "acme-cc.pstn.twilio.com"},
	{prefix: "dispatch", handler: "trunk", trunk: "acme-dispatch.pstn.twilio.com"},
	{prefix: "billing", host: "billing.acme.example", handler: "url"},
	{prefix: "marketing", host: "campaigns.acme.example", handler: "url"},
}

// countryRegion is the processing region of a generated number's country.
func countryRegion(e164 string) region.Region {
	switch {
	case strings.HasPrefix(e164, "+1"):
		return region.US1
	case strings.HasPrefix(e164, "+61"):
		return region.AU1
	}
	return region.IE1 // +44, +49, +353, +33: Europe
}

// countries lists E.164 prefixes and how many digits follow them.
var countries = []struct {
	prefixes []string
	digits   int
}{
	{[]string{"+1415", "+1212", "+1312", "+1646", "+1800"}, 7},
	{[]string{"+4420", "+44161", "+44800"}, 8},
	{[]string{"+612", "+613"}, 8},
	{[]string{"+4930"}, 8},
	{[]string{"+3531"}, 7},
	{[]string{"+331"}, 8},
}

// Generate makes a realistic account: numbers across several countries and
// flows, some on trunks, some on TwiML Apps, some on voice URLs without
// fallback, and a standby region only partly configured. It returns the
// snapshot (seed) and the gaps it planted.
func Generate(o GenerateOptions) (*snapshot.Snapshot, *GapList) {
	o.defaults()
	rng := rand.New(rand.NewPCG(o.RandSeed, o.RandSeed^0x5851f42d4c957f2d))
	// SIDs come from their own stream, distinct from the emulator account's
	// (seeded with the same RandSeed), so seeded and minted SIDs never meet.
	g := &generator{o: o, rng: rng, a: newAccount("", o.RandSeed^0xa5a5a5a5a5a5a5a5, o.TakenAt, nil)}
	g.s = &snapshot.Snapshot{Format: snapshot.Format, TakenAt: o.TakenAt, AccountSID: g.a.sid, Resources: map[string]*snapshot.RegionResources{}}
	g.gaps = &GapList{Format: GapsFormat, Primary: string(o.Primary), Standby: string(o.Standby), Gaps: []Gap{}}
	for _, r := range o.Regions {
		g.s.Regions = append(g.s.Regions, string(r))
		g.s.Resources[string(r)] = &snapshot.RegionResources{AdvancedInsights: ptr(r == o.Primary)}
	}
	g.resources()
	g.numbers()
	return g.s, g.gaps
}

type generator struct {
	o    GenerateOptions
	rng  *rand.Rand
	a    *account // only for SID minting
	s    *snapshot.Snapshot
	gaps *GapList
	// per region: app friendly name → SID, trunk domain → SID
	apps, trunks map[region.Region]map[string]string
}

func (g *generator) gap(kind string, r region.Region, resource, detail string) {
	g.gaps.Gaps = append(g.gaps.Gaps, Gap{Kind: kind, Region: string(r), Resource: resource, Detail: detail})
}

// resources creates apps, trunks, lists and a SIP domain in the primary, and
// a partial copy in the standby: one app, one trunk and the SIP domain are
// missing there, and the copied trunk lacks its disaster-recovery URL.
func (g *generator) resources() {
	g.apps = map[region.Region]map[string]string{}
	g.trunks = map[region.Region]map[string]string{}
	for _, r := range []region.Region{g.o.Primary, g.o.Standby} {
		res := g.s.Resources[string(r)]
		g.apps[r], g.trunks[r] = map[string]string{}, map[string]string{}
		standby := r == g.o.Standby
		acl := snapshot.NamedList{SID: g.a.newSID("AL"), FriendlyName: "acme-sbc-ips"}
		cred := snapshot.NamedList{SID: g.a.newSID("CL"), FriendlyName: "acme-agents"}
		res.IPAccessControlLists = append(res.IPAccessControlLists, acl)
		res.CredentialLists = append(res.CredentialLists, cred)
		for _, f := range genFlows {
			switch {
			case f.handler == "app":
				if standby && f.app == "sales-ivr" {
					g.gap(GapAppMissing, r, f.app, "TwiML App "+f.app+" exists in "+string(g.o.Primary)+" only")
					continue
				}
				sid := g.a.newSID("AP")
				g.apps[r][f.app] = sid
				res.Applications = append(res.Applications, snapshot.Application{
					SID: sid, FriendlyName: f.app, VoiceURL: appURL(f.host, r, "/voice"), VoiceMethod: "POST",
					VoiceFallbackURL: appURL("fallback."+f.host, r, "/fallback"), VoiceFallbackMethod: "POST",
					StatusCallback: appURL(f.host, r, "/status"), StatusCallbackMethod: "POST",
				})
			case f.handler == "trunk":
				if standby && f.trunk == "acme-dispatch.pstn.twilio.com" {
					g.gap(GapTrunkMissing, r, f.trunk, "trunk "+f.trunk+" exists in "+string(g.o.Primary)+" only")
					continue
				}
				sid := g.a.newSID("TK")
				g.trunks[r][f.trunk] = sid
				t := snapshot.Trunk{SID: sid, FriendlyName: f.prefix, DomainName: f.trunk,
					IPAccessControlLists: []string{acl.SID}, CredentialLists: []string{cred.SID}}
				if standby {
					g.gap(GapTrunkNoDRURL, r, f.trunk, "standby trunk has no disaster_recovery_url")
				} else {
					t.DisasterRecoveryURL, t.DisasterRecoveryMethod = "https://dr.acme.example/twiml/"+f.prefix, "POST"
				}
				for i, sbc := range []string{"sbc1", "sbc2"} {
					t.OriginationURLs = append(t.OriginationURLs, snapshot.OriginationURL{
						SID: g.a.newSID("OU"), FriendlyName: sbc, SIPURL: "sip:" + sbc + "." + string(r) + ".acme.example:5060",
						Priority: []int{10, 20}[i], Weight: 10, Enabled: true,
					})
				}
				res.Trunks = append(res.Trunks, t)
			}
		}
		if standby {
			g.gap(GapSIPDomainMissing, r, "acme-agents.sip.twilio.com", "SIP domain exists in "+string(g.o.Primary)+" only")
			continue
		}
		res.SIPDomains = append(res.SIPDomains, snapshot.SIPDomain{SID: g.a.newSID("SD"), FriendlyName: "agents",
			DomainName: "acme-agents.sip.twilio.com", VoiceURL: "https://agents.acme.example/sip", VoiceMethod: "POST", SIPRegistration: true})
		g.s.SIPDomainRouting = append(g.s.SIPDomainRouting, snapshot.Route{Key: "acme-agents.sip.twilio.com", VoiceRegion: string(r), Explicit: true})
	}
	g.s.TrunkRouting = append(g.s.TrunkRouting, snapshot.Route{Key: "acme-cc.pstn.twilio.com", VoiceRegion: string(g.o.Primary), Explicit: true})
}

func appURL(host string, r region.Region, path string) string {
	return "https://" + string(r) + "." + host + path
}

func (g *generator) numbers() {
	seen := map[string]bool{}
	perFlow := map[string]int{}
	for i := 0; i < g.o.Numbers; i++ {
		e164 := g.phone(seen)
		f := g.flowFor()
		perFlow[f.prefix]++
		n := snapshot.Number{
			PhoneNumber: e164, FriendlyName: fmt.Sprintf("%s-%03d", f.prefix, perFlow[f.prefix]),
			Capabilities: &snapshot.Capabilities{Voice: true, SMS: !strings.HasPrefix(e164, "+1800"), MMS: strings.HasPrefix(e164, "+1")},
			Routing:      snapshot.Route{VoiceRegion: string(region.US1)},
			Records:      map[string]*snapshot.NumberRecord{},
		}
		// Console-bought numbers carry explicit routing; API-bought ones 404.
		// (A 404 means us1, so with another primary every number is explicit.)
		if g.rng.Float64() < 0.7 || g.o.Primary != region.US1 {
			n.Routing = snapshot.Route{VoiceRegion: string(g.o.Primary), Explicit: true}
		}
		if home := countryRegion(e164); home != "" && home != g.o.Primary {
			g.gap(GapRegionMismatch, g.o.Primary, e164, "processed in "+string(g.o.Primary)+", its country's region is "+string(home))
		}
		primary := g.record(f, g.o.Primary, true)
		n.Records[string(g.o.Primary)] = primary
		if f.handler == "url" && primary.VoiceFallbackURL == "" {
			g.gap(GapNoFallback, g.o.Primary, e164, "voice URL without a fallback URL")
		}
		switch {
		case g.rng.Float64() >= g.o.StandbyShare:
			g.gap(GapStandbyUnconfigured, g.o.Standby, e164, "standby record has no voice handler")
		case f.handler == "app" && g.apps[g.o.Standby][f.app] == "":
			g.gap(GapStandbyUnconfigured, g.o.Standby, e164, "standby record cannot point at missing TwiML App "+f.app)
		case f.handler == "trunk" && g.trunks[g.o.Standby][f.trunk] == "":
			g.gap(GapStandbyUnconfigured, g.o.Standby, e164, "standby record cannot join missing trunk "+f.trunk)
		default:
			rec := g.record(f, g.o.Standby, false)
			if f.handler == "url" && primary.VoiceFallbackURL != "" && g.rng.Float64() < 0.25 {
				rec.VoiceFallbackURL, rec.VoiceFallbackMethod = "", ""
				g.gap(GapStandbyNoFallback, g.o.Standby, e164, "primary has a fallback URL, standby does not")
			}
			n.Records[string(g.o.Standby)] = rec
		}
		g.s.Numbers = append(g.s.Numbers, n)
	}
}

func (g *generator) flowFor() flowSpec {
	x := g.rng.Float64()
	var pool []flowSpec
	for _, f := range genFlows {
		switch {
		case x < g.o.TrunkShare && f.handler == "trunk",
			x >= g.o.TrunkShare && x < g.o.TrunkShare+g.o.AppShare && f.handler == "app",
			x >= g.o.TrunkShare+g.o.AppShare && f.handler == "url":
			pool = append(pool, f)
		}
	}
	return pool[g.rng.IntN(len(pool))]
}

// record is a region's configured record for a number of flow f.
func (g *generator) record(f flowSpec, r region.Region, primary bool) *snapshot.NumberRecord {
	rec := &snapshot.NumberRecord{SID: g.a.newSID("PN"), StatusCallbackMethod: "POST"}
	switch f.handler {
	case "app":
		rec.VoiceApplicationSID = g.apps[r][f.app]
	case "trunk":
		rec.TrunkSID = g.trunks[r][f.trunk]
	default:
		rec.VoiceURL, rec.VoiceMethod = appURL(f.host, r, "/voice"), "POST"
		rec.StatusCallback = appURL(f.host, r, "/status")
		if !primary || g.rng.Float64() >= g.o.NoFallbackShare {
			rec.VoiceFallbackURL, rec.VoiceFallbackMethod = appURL("fallback."+f.host, r, "/fallback"), "POST"
		}
	}
	return rec
}

// phone draws a fresh number in one of the countries.
func (g *generator) phone(seen map[string]bool) string {
	for {
		c := countries[g.rng.IntN(len(countries))]
		p := c.prefixes[g.rng.IntN(len(c.prefixes))]
		var b strings.Builder
		b.WriteString(p)
		for i := 0; i < c.digits; i++ {
			d := g.rng.IntN(10)
			if i == 0 && d < 2 {
				d += 2 // no subscriber number starts with 0 or 1
			}
			b.WriteByte(byte('0' + d))
		}
		if s := b.String(); !seen[s] {
			seen[s] = true
			return s
		}
	}
}

func ptr[T any](v T) *T { return &v }
