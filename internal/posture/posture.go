// Package posture assesses an account snapshot against Twilio's three
// stages of voice resilience, per number and in aggregate, always on the
// effective handler (trunk > TwiML App > voice URL: a number's URLs are
// ignored when an app or trunk is set, so judging them would mislead):
//
//   - stage 1, in-region resilience: a fallback URL on a different host than
//     the primary, a status callback, trunks with origination URLs at two or
//     more priorities and a disaster_recovery_url, precedence surprises;
//   - stage 2, regional traffic isolation: the number's country against the
//     region processing it, and each region's blast radius;
//   - stage 3, cross-region DR: whether a workbook flow protects the number
//     (the readiness of its standby is the readiness command's job).
package posture

import (
	"net/url"
	"sort"
	"strings"

	"github.com/voicedr/voicedr/internal/snapshot"
)

// Finding kinds. Stage 1 and 2 come from the account alone; stage 3 needs
// the workbook's flows.
const (
	NoFallback          = "no_fallback"           // effective handler has no fallback URL
	FallbackSameHost    = "fallback_same_host"    // fallback on the primary's host: fails with it
	NoStatusCallback    = "no_status_callback"    // nothing tells the customer a call ended
	TrunkOnePriority    = "trunk_single_priority" // no origination URL to fail over to
	TrunkNoDRURL        = "trunk_no_disaster_recovery_url"
	IgnoredURLs         = "ignored_voice_urls" // voice URLs set but an app or trunk wins
	RegionMismatch      = "region_mismatch"    // processed far from the number's country
	NoHandler           = "no_handler"         // calls are rejected at the edge
	Unprotected         = "unprotected"        // no workbook flow covers the number
	severityWarning     = "warning"
	severityError       = "error"
	severityInformation = "info"
)

// Finding is one thing posture found about one number (or trunk).
type Finding struct {
	Stage    int    `json:"stage"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Region   string `json:"region"`
	Resource string `json:"resource"` // E.164 or trunk domain
	Detail   string `json:"detail"`
}

// Handler is a number's effective handler in a region.
type Handler struct {
	Kind                  string // trunk, app, url, or "" for none
	VoiceURL, FallbackURL string
	StatusCallback        string
	AppName, TrunkDomain  string
	trunk                 *snapshot.Trunk
}

// Effective resolves a region record with Twilio's precedence.
func Effective(rec *snapshot.NumberRecord, res *snapshot.RegionResources) Handler {
	if rec == nil {
		return Handler{}
	}
	if rec.TrunkSID != "" && res != nil {
		for i := range res.Trunks {
			if t := &res.Trunks[i]; t.SID == rec.TrunkSID {
				return Handler{Kind: "trunk", TrunkDomain: t.DomainName, trunk: t}
			}
		}
	}
	if rec.VoiceApplicationSID != "" && res != nil {
		for _, a := range res.Applications {
			if a.SID == rec.VoiceApplicationSID {
				return Handler{Kind: "app", AppName: a.FriendlyName, VoiceURL: a.VoiceURL, FallbackURL: a.VoiceFallbackURL,
					StatusCallback: firstNonEmpty(a.StatusCallback, rec.StatusCallback)}
			}
		}
	}
	if rec.VoiceURL != "" {
		return Handler{Kind: "url", VoiceURL: rec.VoiceURL, FallbackURL: rec.VoiceFallbackURL, StatusCallback: rec.StatusCallback}
	}
	return Handler{}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Report is the posture of a whole account.
type Report struct {
	Numbers  int              `json:"numbers"`
	Findings []Finding        `json:"findings"`
	ByRegion map[string]int   `json:"numbers_by_region"` // blast radius: numbers processed per region
	ByKind   map[string]int   `json:"findings_by_kind"`
	Handlers map[string]int   `json:"handlers"` // effective handler kinds in the processing region
	Stages   map[int]StageSum `json:"stages"`
}

// StageSum counts the numbers with and without findings of a stage.
type StageSum struct {
	Clean   int `json:"clean"`
	Flagged int `json:"flagged"`
}

// Protector tells whether a workbook flow protects a number; nil skips
// stage 3.
type Protector func(n snapshot.Number) (flow string, ok bool)

// Assess computes the posture of s.
func Assess(s *snapshot.Snapshot, protected Protector) *Report {
	r := &Report{Numbers: len(s.Numbers), ByRegion: map[string]int{}, ByKind: map[string]int{}, Handlers: map[string]int{},
		Stages: map[int]StageSum{1: {}, 2: {}, 3: {}}, Findings: []Finding{}}
	for _, n := range s.Numbers {
		reg := n.Routing.VoiceRegion
		r.ByRegion[reg]++
		h := Effective(n.Records[reg], s.Resources[reg])
		r.Handlers[handlerLabel(h.Kind)]++
		var found []Finding
		add := func(stage int, kind, sev, detail string) {
			found = append(found, Finding{Stage: stage, Kind: kind, Severity: sev, Region: reg, Resource: n.PhoneNumber, Detail: detail})
		}
		switch h.Kind {
		case "":
			add(1, NoHandler, severityError, "no voice handler in "+reg+": Twilio rejects calls at the edge")
		case "app", "url":
			switch {
			case h.FallbackURL == "":
				add(1, NoFallback, severityWarning, h.Kind+" "+h.VoiceURL+" has no fallback URL")
			case host(h.FallbackURL) == host(h.VoiceURL):
				add(1, FallbackSameHost, severityWarning, "fallback on the primary's host "+host(h.VoiceURL))
			}
			if h.StatusCallback == "" {
				add(1, NoStatusCallback, severityInformation, "no status callback")
			}
		}
		if rec := n.Records[reg]; rec != nil && h.Kind != "url" && h.Kind != "" && rec.VoiceURL != "" {
			add(1, IgnoredURLs, severityInformation, "voice_url "+rec.VoiceURL+" is ignored: the "+h.Kind+" handles calls")
		}
		if want := homeRegion(n.PhoneNumber); want != "" && want != reg {
			add(2, RegionMismatch, severityWarning, "processed in "+reg+"; numbers of this country belong in "+want)
		}
		if protected != nil {
			if _, ok := protected(n); !ok {
				add(3, Unprotected, severityInformation, "no workbook flow protects this number")
			}
		}
		stages := map[int]bool{}
		for _, f := range found {
			stages[f.Stage] = true
			r.ByKind[f.Kind]++
		}
		for st := 1; st <= 3; st++ {
			sum := r.Stages[st]
			if stages[st] {
				sum.Flagged++
			} else {
				sum.Clean++
			}
			r.Stages[st] = sum
		}
		r.Findings = append(r.Findings, found...)
	}
	r.Findings = append(r.Findings, trunkFindings(s, r)...)
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Stage != b.Stage {
			return a.Stage < b.Stage
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Resource < b.Resource
	})
	return r
}

// trunkFindings checks each trunk that carries traffic in its region.
func trunkFindings(s *snapshot.Snapshot, r *Report) []Finding {
	var out []Finding
	for _, reg := range s.Regions {
		res := s.Resources[reg]
		if res == nil {
			continue
		}
		for _, t := range res.Trunks {
			prios := map[int]bool{}
			for _, o := range t.OriginationURLs {
				if o.Enabled {
					prios[o.Priority] = true
				}
			}
			if len(prios) < 2 {
				out = append(out, Finding{Stage: 1, Kind: TrunkOnePriority, Severity: severityWarning, Region: reg, Resource: t.DomainName,
					Detail: "origination URLs at fewer than two priorities: no SBC to fail over to"})
				r.ByKind[TrunkOnePriority]++
			}
			if t.DisasterRecoveryURL == "" {
				out = append(out, Finding{Stage: 1, Kind: TrunkNoDRURL, Severity: severityWarning, Region: reg, Resource: t.DomainName,
					Detail: "no disaster_recovery_url: calls fail when every SBC is unreachable"})
				r.ByKind[TrunkNoDRURL]++
			}
		}
	}
	return out
}

func handlerLabel(k string) string {
	if k == "" {
		return "none"
	}
	return k
}

func host(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return strings.ToLower(p.Hostname())
}

// homeRegion is the processing region closest to a number's country, for
// the countries whose region is clear: NANP in us1, Europe in ie1, Oceania
// in au1. Others are not judged.
func homeRegion(e164 string) string {
	for _, p := range []struct{ prefix, region string }{
		{"+1", "us1"}, {"+44", "ie1"}, {"+353", "ie1"}, {"+49", "ie1"}, {"+33", "ie1"}, {"+34", "ie1"}, {"+39", "ie1"},
		{"+31", "ie1"}, {"+32", "ie1"}, {"+46", "ie1"}, {"+45", "ie1"}, {"+47", "ie1"}, {"+61", "au1"}, {"+64", "au1"},
	} {
		if strings.HasPrefix(e164, p.prefix) {
			return p.region
		}
	}
	return ""
}
