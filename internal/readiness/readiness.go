// Package readiness proves whether a flow's standby region could carry the
// flow today. It follows the flow through the account snapshot: each
// number's standby record and its effective handler, the TwiML Apps, trunks
// and SIP domains the primary relies on, and the workbook's attested items,
// and reports every gap with the exact API change that closes it.
//
// Check works on a snapshot only (no I/O), so the same judgement runs on a
// live read, a saved snapshot or an emulator seed, and its result is
// reproducible from the evidence it writes.
package readiness

import (
	"fmt"
	"sort"
	"time"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Gap kinds. The resource gaps reuse the emulator generator's kind strings,
// so a readiness run on a generated account compares one-to-one with the
// gaps the generator planted.
const (
	GapStandbyUnconfigured = twilioemu.GapStandbyUnconfigured
	GapStandbyNoFallback   = twilioemu.GapStandbyNoFallback
	GapAppMissing          = twilioemu.GapAppMissing
	GapTrunkMissing        = twilioemu.GapTrunkMissing
	GapTrunkNoOrigination  = twilioemu.GapTrunkNoOrigination
	GapTrunkNoDRURL        = twilioemu.GapTrunkNoDRURL
	GapSIPDomainMissing    = twilioemu.GapSIPDomainMissing
	// The generator never plants these; they come from hand-edited accounts
	// and from the workbook.
	GapHandlerMismatch     = "number_standby_handler_mismatch" // standby handler differs in kind, app or trunk
	GapAppNoVoiceURL       = "app_no_voice_url"                // standby app exists but would answer nothing
	GapAttestationExpired  = "attestation_expired"
	GapRegionNotInSnapshot = "region_not_in_snapshot" // the standby was never read: nothing can be proven
	GapDrillOverdue        = "drill_overdue"          // a workbook drill is past its cadence
)

// Severities. Only errors make a flow not ready: a warning degrades the
// standby's own resilience but calls would still be answered there.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Gap is one thing the standby lacks, with the change that closes it.
type Gap struct {
	Kind        string `json:"kind"`
	Severity    string `json:"severity"`
	Region      string `json:"region"`
	Resource    string `json:"resource"` // E.164, app name, trunk or SIP domain, attestation ID
	Detail      string `json:"detail"`
	Remediation string `json:"remediation"`
}

// Item is one checklist line: a check over a set of resources, and where in
// the evidence each result can be verified.
type Item struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Region   string   `json:"region,omitempty"`
	Checked  int      `json:"checked"`
	Failed   int      `json:"failed"`
	Pass     bool     `json:"pass"`
	Evidence []string `json:"evidence,omitempty"` // JSON pointers into evidence files
}

// RegionMap is what one region holds for the flow.
type RegionMap struct {
	Role              string   `json:"role"`
	Numbers           int      `json:"numbers"`
	NumbersConfigured int      `json:"numbers_configured"` // with an effective handler
	Apps              []string `json:"apps"`
	Trunks            []string `json:"trunks"`
	SIPDomains        []string `json:"sip_domains"`
}

// Report is the readiness of one flow.
type Report struct {
	Flow        string                `json:"flow"`
	Primary     string                `json:"primary"`
	Standbys    []string              `json:"standbys"`
	CheckedAt   time.Time             `json:"checked_at"`
	SnapshotAt  time.Time             `json:"snapshot_taken_at"`
	Numbers     int                   `json:"numbers"`
	Ready       bool                  `json:"ready"`
	Checklist   []Item                `json:"checklist"`
	Gaps        []Gap                 `json:"gaps"`
	ResourceMap map[string]*RegionMap `json:"resource_map"`
	// Probes are the webhook probes Probe sent, if any.
	Probes []ProbeResult `json:"probes,omitempty"`
	// snapshot is kept for the package's evidence; it is not re-encoded in
	// the report itself.
	snapshot *snapshot.Snapshot
}

// Options tune a check.
type Options struct {
	// Now is the clock attestations expire against; default time.Now.
	Now func() time.Time
	// DrillsChecked says the caller judged the flow's drill history (package
	// schedule, from the state database): the checklist then has a drill
	// line, and each OverdueDrills entry of the flow is a warning gap.
	// Without a history nothing is said about drills: silence is not a pass.
	DrillsChecked bool
	OverdueDrills []OverdueDrill
}

// Errors reports the number of gaps of severity error.
func (r *Report) Errors() int {
	n := 0
	for _, g := range r.Gaps {
		if g.Severity == SeverityError {
			n++
		}
	}
	return n
}

// Check judges the standby readiness of flow in s against wb.
func Check(s *snapshot.Snapshot, wb *workbook.Workbook, flow string, opts Options) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sc, err := NewScope(s, wb, flow)
	if err != nil {
		return nil, fmt.Errorf("readiness: %w", err)
	}
	primary, standbys := sc.Primary, sc.Standbys
	c := &checker{s: s, wb: wb, scope: sc, flow: sc.Flow, p: primary, now: opts.Now(), numbers: sc.Numbers,
		rep: &Report{Flow: flow, Primary: string(primary.Region), CheckedAt: opts.Now().UTC(), SnapshotAt: s.TakenAt,
			Checklist: []Item{}, Gaps: []Gap{}, ResourceMap: map[string]*RegionMap{}, snapshot: s}}
	c.rep.Numbers = len(c.numbers)
	c.rep.ResourceMap[string(primary.Region)] = c.regionMap(primary)
	for _, sb := range standbys {
		c.rep.Standbys = append(c.rep.Standbys, string(sb.Region))
		c.rep.ResourceMap[string(sb.Region)] = c.regionMap(sb)
		c.standby(sb)
	}
	c.attestations()
	if opts.DrillsChecked {
		c.drills(opts.OverdueDrills)
	}
	sort.SliceStable(c.rep.Gaps, func(i, j int) bool {
		a, b := c.rep.Gaps[i], c.rep.Gaps[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Resource < b.Resource
	})
	c.rep.Ready = c.rep.Errors() == 0
	return c.rep, nil
}

// attestations turns expired workbook attestations into gaps: no API can
// show geo permissions or carrier capacity, so a person's dated word is the
// only evidence, and it goes stale.
func (c *checker) attestations() {
	it := Item{ID: "attestations", Title: "Attested items are within their expiry"}
	for i, a := range c.wb.Attestations {
		it.Checked++
		ref := fmt.Sprintf("workbook#/attestations/%d", i)
		exp, err := time.Parse(time.DateOnly, a.Expires)
		switch {
		case err != nil:
			c.gap(GapAttestationExpired, SeverityError, a.Region, a.ID, "expiry "+a.Expires+" is not a YYYY-MM-DD date",
				"re-attest "+a.Item+" and set expires: YYYY-MM-DD in the workbook")
		case !c.now.Before(exp):
			c.gap(GapAttestationExpired, SeverityError, a.Region, a.ID,
				fmt.Sprintf("%s attested by %s expired on %s", a.Item, a.Owner, a.Expires),
				"have "+a.Owner+" re-attest \""+a.Item+"\" and move expires past today in the workbook")
		default:
			continue
		}
		it.Failed++
		it.Evidence = append(it.Evidence, ref)
	}
	c.item(it)
}

// OverdueDrill is a workbook drill past its cadence. The caller computes it
// (package schedule, from the store's drill history) so that readiness
// stays a judgement over values, free of the store and the clock's rules
// for calendar months.
type OverdueDrill struct {
	Name    string `json:"name"`
	Flow    string `json:"flow"` // the check's flow when empty
	Kind    string `json:"kind"` // tabletop or live
	Cadence string `json:"cadence"`
	// Last is when it last ended; zero if it never ran.
	Last time.Time `json:"last"`
	// Due is when it fell due.
	Due time.Time `json:"due"`
}

// overdueScenario is the scenario a remediation suggests for an overdue
// drill: a primary region outage is what the failover plan exists for.
const overdueScenario = "primary-voice-down"

// drills turns the flow's overdue drills into warning gaps: a plan not
// rehearsed on its cadence may have rotted (people left, endpoints moved)
// without any API showing it, but calls would still be answered, so it
// does not make the flow not ready.
func (c *checker) drills(overdue []OverdueDrill) {
	it := Item{ID: "drills", Title: "Drills of the flow are run on their workbook cadence"}
	index := map[string]int{}
	for i, d := range c.wb.Drills {
		if d.Flow == c.flow.Name {
			it.Checked++
			index[d.Name] = i
		}
	}
	for _, d := range overdue {
		if d.Flow != "" && d.Flow != c.flow.Name {
			continue
		}
		detail := fmt.Sprintf("%s drill %s (%s) has never been run; it was due %s", d.Kind, d.Name, d.Cadence, d.Due.UTC().Format(time.DateOnly))
		if !d.Last.IsZero() {
			detail = fmt.Sprintf("%s drill %s (%s) last ran %s and was due %s", d.Kind, d.Name, d.Cadence,
				d.Last.UTC().Format(time.DateOnly), d.Due.UTC().Format(time.DateOnly))
		}
		c.gap(GapDrillOverdue, SeverityWarning, "", "drill:"+d.Name, detail,
			fmt.Sprintf("run it: voicedr drill --flow %s --kind %s --scenario %s", c.flow.Name, d.Kind, overdueScenario))
		it.Failed++
		if i, ok := index[d.Name]; ok {
			it.Evidence = append(it.Evidence, fmt.Sprintf("workbook#/drills/%d", i))
		} else {
			// A drill the workbook lacks still counts as checked and failed.
			it.Checked++
		}
	}
	c.item(it)
}

func (c *checker) item(it Item) {
	it.Pass = it.Failed == 0
	c.rep.Checklist = append(c.rep.Checklist, it)
}

func (c *checker) gap(kind, sev, reg, res, detail, fix string) {
	c.rep.Gaps = append(c.rep.Gaps, Gap{Kind: kind, Severity: sev, Region: reg, Resource: res, Detail: detail, Remediation: fix})
}

// host names the regional REST host a remediation goes to; the region's own
// edge must be named, so the workbook's edge wins over the home edge.
func host(product string, rp *workbook.RegionProfile) string {
	return region.Host(product, rp.Region, rp.Edge)
}
