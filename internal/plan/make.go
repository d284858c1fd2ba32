package plan

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Defaults of the workbook's execution section.
const (
	DefaultProofSample   = 3
	DefaultProofWait     = 6 * time.Minute // Twilio: routing "may take up to 5 minutes"
	DefaultProofInterval = 5 * time.Second
	DefaultCPS           = 1   // Twilio's default account CPS
	MaxRoutingRate       = 250 // Twilio asks bulk routing changes to stay under 300/s
)

// Input is what a plan is computed from.
type Input struct {
	Snapshot       *snapshot.Snapshot
	Workbook       *workbook.Workbook
	WorkbookDigest string
	Flow           string
	Kind           string // Failover or Failback
	Mode           string // Graceful (default) or Ungraceful
	// Source is "live" or "stored"; Now dates the plan and ages the snapshot.
	Source string
	Now    time.Time
	// Accept names readiness gaps to accept, by kind or by resource.
	Accept []string
	// Only, when set, keeps only the named cohorts in the plan (a live
	// drill moves its drill cohort and nothing else); cohorts are still
	// assigned from the whole flow, so a number lands in the same cohort
	// as in a full plan. Trunk and SIP-domain cohorts are kept only when
	// named ("trunk:DOMAIN").
	Only []string
}

// Make computes the plan. When the target lacks what the flow needs it
// returns the plan with an error wrapping ErrNotReady.
func Make(in Input) (*Plan, error) {
	if in.Kind != Failover && in.Kind != Failback {
		return nil, fmt.Errorf("plan kind %q: write failover or failback", in.Kind)
	}
	if in.Mode == "" {
		in.Mode = Graceful
	}
	if in.Mode != Graceful && in.Mode != Ungraceful {
		return nil, fmt.Errorf("mode %q: write graceful or ungraceful", in.Mode)
	}
	sc, err := readiness.NewScope(in.Snapshot, in.Workbook, in.Flow)
	if err != nil {
		return nil, err
	}
	primary, standby := string(sc.Primary.Region), string(sc.Standbys[0].Region)
	from, to := primary, standby
	if in.Kind == Failback {
		from, to = standby, primary
	}
	if in.Source == "" {
		in.Source = "live"
	}
	p := &Plan{
		Format: Format, Kind: in.Kind, Mode: in.Mode, Flow: in.Flow, From: from, To: to,
		CreatedAt: in.Now.UTC(), WorkbookDigest: in.WorkbookDigest,
		SnapshotSource: in.Source, SnapshotAge: Duration(in.Now.Sub(in.Snapshot.TakenAt).Round(time.Second)),
		Observed:    observe(in.Snapshot, sc, from, to),
		RoutesWrite: routesWrite(in.Workbook, to),
		Execution:   execution(in.Workbook.Execution, in.Snapshot, sc),
		Webhooks:    webhooks(in.Workbook, to),
		Approval:    cmp.Or(in.Workbook.Governance.Approval.Policy, "none"),
		Accepted:    slices.Clone(in.Accept),
	}
	if p.SnapshotAge < 0 {
		p.SnapshotAge = 0
	}
	for _, h := range in.Workbook.Hooks {
		if h.Flow == "" || h.Flow == in.Flow {
			p.Hooks = append(p.Hooks, h)
		}
	}
	gates := map[string]*workbook.Gate{}
	for i := range in.Workbook.Gates {
		gates[in.Workbook.Gates[i].Name] = &in.Workbook.Gates[i]
	}
	if err := p.cohorts(in, sc, gates); err != nil {
		return nil, err
	}
	if len(in.Only) > 0 {
		if err := p.keepOnly(in.Only); err != nil {
			return nil, err
		}
	}
	p.Signals = usedSignals(in.Workbook.Signals, p.Cohorts)
	blocking := p.gaps(in, sc, to)
	if err := p.Seal(); err != nil {
		return nil, err
	}
	if len(blocking) > 0 {
		return p, fmt.Errorf("%w: %d gap(s) in %s for flow %s (first: %s %s: %s); close them (voicedr standby apply) or accept them with --accept-gap KIND|RESOURCE",
			ErrNotReady, len(blocking), to, in.Flow, blocking[0].Kind, blocking[0].Resource, blocking[0].Remediation)
	}
	return p, nil
}

// cohorts assigns the flow's numbers to the workbook's cohorts and adds one
// cohort per trunk and SIP domain flip.
func (p *Plan) cohorts(in Input, sc *readiness.Scope, gates map[string]*workbook.Gate) error {
	s := in.Snapshot
	var numbers []snapshot.Number
	for _, i := range sc.Numbers {
		numbers = append(numbers, s.Numbers[i])
	}
	sort.Slice(numbers, func(i, j int) bool { return numbers[i].PhoneNumber < numbers[j].PhoneNumber })
	wcs := slices.Clone(sc.Flow.Cohorts)
	sort.SliceStable(wcs, func(i, j int) bool { return wcs[i].Order < wcs[j].Order })
	if len(wcs) == 0 {
		one := 1.0
		wcs = []workbook.Cohort{{Name: "all", Share: &one, NoGo: NoGoPause}}
	}
	taken := map[string]bool{}
	for _, wc := range wcs {
		c := Cohort{Name: wc.Name, Kind: KindNumber, Gate: gates[wc.Gate], NoGo: cmp.Or(string(wc.NoGo), NoGoPause)}
		var picked []snapshot.Number
		var rest []snapshot.Number
		for _, n := range numbers {
			switch {
			case taken[n.PhoneNumber]:
			case claims(wc, n, in.Workbook.NumberTags[n.PhoneNumber]):
				picked = append(picked, n)
				taken[n.PhoneNumber] = true
			default:
				rest = append(rest, n)
			}
		}
		if wc.Share != nil && len(rest) > 0 {
			k := int(float64(len(rest))*(*wc.Share) + 0.999999)
			sort.SliceStable(rest, func(i, j int) bool {
				return pick(in.Flow, rest[i].PhoneNumber) < pick(in.Flow, rest[j].PhoneNumber)
			})
			for _, n := range rest[:min(k, len(rest))] {
				picked = append(picked, n)
				taken[n.PhoneNumber] = true
			}
		}
		sort.Slice(picked, func(i, j int) bool { return picked[i].PhoneNumber < picked[j].PhoneNumber })
		for _, n := range picked {
			if n.Routing.VoiceRegion == p.To {
				p.Already++
				continue
			}
			c.Actions = append(c.Actions, Action{
				Key: KindNumber + ":" + n.PhoneNumber, Kind: KindNumber, Target: n.PhoneNumber,
				From: n.Routing.VoiceRegion, FromExplicit: n.Routing.Explicit, To: p.To,
			})
		}
		c.Sample = sample(in.Flow, c.Name, c.Actions, p.Execution.ProofSample)
		if len(c.Actions) > 0 {
			p.Cohorts = append(p.Cohorts, c)
		}
	}
	var left []string
	for _, n := range numbers {
		if !taken[n.PhoneNumber] {
			left = append(left, n.PhoneNumber)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("flow %s: cohorts leave %d number(s) uncovered (first %s); add a last cohort with share: 1", in.Flow, len(left), left[0])
	}
	// Trunks and SIP domains switch all their traffic at once: each is its
	// own cohort, judged by the flow's first gate, rolled back on no-go.
	var gate *workbook.Gate
	if len(wcs) > 0 {
		gate = gates[wcs[0].Gate]
	}
	for _, kr := range []struct {
		kind   string
		names  []string
		routes []snapshot.Route
	}{{KindTrunk, sc.Flow.Trunks, s.TrunkRouting}, {KindSIPDomain, sc.Flow.SIPDomains, s.SIPDomainRouting}} {
		for _, name := range kr.names {
			r := routeOf(kr.routes, name)
			if r.VoiceRegion == p.To {
				p.Already++
				continue
			}
			p.Cohorts = append(p.Cohorts, Cohort{
				Name: kr.kind + ":" + name, Kind: kr.kind, Gate: gate, NoGo: NoGoRollback,
				Actions: []Action{{Key: kr.kind + ":" + name, Kind: kr.kind, Target: name,
					From: r.VoiceRegion, FromExplicit: r.Explicit, To: p.To}},
			})
		}
	}
	return nil
}

// keepOnly drops every cohort not named, refusing a name that is not a
// cohort of the flow (a typo must not silently make an empty drill).
func (p *Plan) keepOnly(names []string) error {
	var kept []Cohort
	for _, name := range names {
		i := slices.IndexFunc(p.Cohorts, func(c Cohort) bool { return c.Name == name })
		if i < 0 {
			return fmt.Errorf("flow %s: no cohort %q with anything to move to %s; name a cohort of the flow that is not already there", p.Flow, name, p.To)
		}
		kept = append(kept, p.Cohorts[i])
	}
	p.Cohorts = kept
	return nil
}

// routeOf returns a trunk's or domain's routing; absent means never set, so us1.
func routeOf(rs []snapshot.Route, key string) snapshot.Route {
	for _, r := range rs {
		if r.Key == key {
			return r
		}
	}
	return snapshot.Route{Key: key, VoiceRegion: string(region.US1)}
}

// claims reports whether a cohort names a number explicitly or by tag or
// country (any value within a kind, every kind that is set).
func claims(c workbook.Cohort, n snapshot.Number, tags []string) bool {
	if slices.Contains(c.Numbers, n.PhoneNumber) {
		return true
	}
	if len(c.Tags) == 0 && len(c.Countries) == 0 {
		return false
	}
	okT := len(c.Tags) == 0 || slices.ContainsFunc(c.Tags, func(t string) bool { return slices.Contains(tags, t) })
	okC := len(c.Countries) == 0 || slices.ContainsFunc(c.Countries, func(cc string) bool { return strings.HasPrefix(n.PhoneNumber, cc) })
	return okT && okC
}

// pick is the deterministic order shares and samples are drawn in: a hash of
// the flow (and cohort) name and the number, so it does not depend on the
// account's listing order and differs between flows.
func pick(parts ...string) uint64 {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return binary.BigEndian.Uint64(h[:8])
}

// sample is the seeded sample of a cohort's numbers whose calls prove it.
func sample(flow, cohort string, acts []Action, k int) []string {
	var ns []string
	for _, a := range acts {
		ns = append(ns, a.Target)
	}
	sort.SliceStable(ns, func(i, j int) bool { return pick(flow, cohort, ns[i]) < pick(flow, cohort, ns[j]) })
	ns = ns[:min(k, len(ns))]
	sort.Strings(ns)
	return ns
}

// gaps records the target's readiness errors for the flow and returns those
// not accepted. A failback's target is the primary: its records must still
// answer, which the handler check below covers.
func (p *Plan) gaps(in Input, sc *readiness.Scope, to string) []readiness.Gap {
	var all []readiness.Gap
	if in.Kind == Failover {
		rep, err := readiness.Check(in.Snapshot, in.Workbook, in.Flow, readiness.Options{Now: func() time.Time { return in.Now }})
		if err == nil {
			for _, g := range rep.Gaps {
				if g.Severity == readiness.SeverityError && g.Region == to {
					all = append(all, g)
				}
			}
		}
	} else {
		res := in.Snapshot.Resources[to]
		for _, i := range sc.Numbers {
			n := in.Snapshot.Numbers[i]
			if posture.Effective(n.Records[to], res).Kind == "" {
				all = append(all, readiness.Gap{Kind: readiness.GapStandbyUnconfigured, Severity: readiness.SeverityError,
					Region: to, Resource: n.PhoneNumber, Detail: "no voice handler in " + to,
					Remediation: "configure the number's record in " + to + " before moving it back"})
			}
		}
	}
	p.Gaps = all
	var blocking []readiness.Gap
	for _, g := range all {
		if !slices.Contains(in.Accept, g.Kind) && !slices.Contains(in.Accept, g.Resource) {
			blocking = append(blocking, g)
		}
	}
	return blocking
}

func routesWrite(wb *workbook.Workbook, to string) []string {
	var out []string
	add := func(r string) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(wb.Execution.RoutesWrite) > 0 {
		for _, r := range wb.Execution.RoutesWrite {
			add(string(r))
		}
		return out
	}
	add(to)
	for _, rp := range wb.Regions {
		add(string(rp.Region))
	}
	return out
}

func execution(x workbook.Execution, s *snapshot.Snapshot, sc *readiness.Scope) Exec {
	e := Exec{
		ProofSample: x.Proof.Sample, ProofWait: Duration(x.Proof.Wait), ProofInterval: Duration(x.Proof.Interval),
		CallerID: x.CallerID, CallsPerSecond: x.CallsPerSecond, RoutingRate: x.MaxRoutingWrite,
	}
	if e.ProofSample == 0 {
		e.ProofSample = DefaultProofSample
	}
	if e.ProofWait == 0 {
		e.ProofWait = Duration(DefaultProofWait)
	}
	if e.ProofInterval == 0 {
		e.ProofInterval = Duration(DefaultProofInterval)
	}
	if e.CallsPerSecond == 0 {
		e.CallsPerSecond = DefaultCPS
	}
	if e.RoutingRate == 0 {
		e.RoutingRate = MaxRoutingRate
	}
	if e.CallerID == "" && len(sc.Numbers) > 0 {
		e.CallerID = s.Numbers[sc.Numbers[0]].PhoneNumber
	}
	return e
}

func webhooks(wb *workbook.Workbook, to string) []string {
	var out []string
	for _, rp := range wb.Regions {
		if string(rp.Region) != to {
			continue
		}
		for _, u := range []string{rp.App.VoiceURL, rp.App.FallbackURL, rp.App.StatusCallback} {
			if u != "" && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

func usedSignals(ss []workbook.Signal, cs []Cohort) []workbook.Signal {
	used := map[string]bool{}
	for _, c := range cs {
		if c.Gate != nil {
			for _, cond := range c.Gate.Conditions {
				used[cond.Signal] = true
			}
		}
	}
	var out []workbook.Signal
	for _, s := range ss {
		if used[s.Name] {
			out = append(out, s)
		}
	}
	return out
}

// Restrict keeps only the actions whose keys are in keep, drops the
// cohorts it empties and reseals the plan: a live drill's failback brings
// back what its failover moved and nothing else (a number of the cohort
// that was already in the standby before the drill stays there).
func (p *Plan) Restrict(keep map[string]bool) error {
	var cohorts []Cohort
	for _, c := range p.Cohorts {
		c.Actions = slices.DeleteFunc(slices.Clone(c.Actions), func(a Action) bool { return !keep[a.Key] })
		c.Sample = slices.DeleteFunc(slices.Clone(c.Sample), func(n string) bool { return !keep[KindNumber+":"+n] })
		if len(c.Actions) > 0 {
			cohorts = append(cohorts, c)
		}
	}
	p.Cohorts = cohorts
	return p.Seal()
}
