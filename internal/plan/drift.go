package plan

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/snapshot"
)

// observe cuts the part of s a plan depends on: the flow's numbers with their
// routing and their records in from and to, the trunks and SIP domains the
// flow uses in both regions, and those trunks' and domains' routing (never
// set recorded as us1).
func observe(s *snapshot.Snapshot, sc *readiness.Scope, from, to string) *snapshot.Snapshot {
	o := &snapshot.Snapshot{
		Format: s.Format, TakenAt: s.TakenAt.UTC(), AccountSID: s.AccountSID,
		Resources: map[string]*snapshot.RegionResources{},
	}
	for _, r := range s.Regions {
		if r == from || r == to {
			o.Regions = append(o.Regions, r)
		}
	}
	for _, i := range sc.Numbers {
		n := s.Numbers[i]
		cp := n
		cp.Records = map[string]*snapshot.NumberRecord{}
		for r, rec := range n.Records {
			if r == from || r == to {
				c := *rec
				cp.Records[r] = &c
			}
		}
		o.Numbers = append(o.Numbers, cp)
	}
	sort.Slice(o.Numbers, func(i, j int) bool { return o.Numbers[i].PhoneNumber < o.Numbers[j].PhoneNumber })
	for _, r := range []string{from, to} {
		res := s.Resources[r]
		if res == nil {
			continue
		}
		cut := &snapshot.RegionResources{}
		for _, a := range sc.Apps {
			if app := res.App(a); app != nil {
				cut.Applications = append(cut.Applications, *app)
			}
		}
		for _, t := range sc.Trunks {
			if tr := res.Trunk(t); tr != nil {
				cut.Trunks = append(cut.Trunks, *tr)
			}
		}
		for _, d := range sc.SIPDomains {
			if dom := res.SIPDomain(d); dom != nil {
				cut.SIPDomains = append(cut.SIPDomains, *dom)
			}
		}
		o.Resources[r] = cut
	}
	for _, t := range sc.Flow.Trunks {
		o.TrunkRouting = append(o.TrunkRouting, routeOf(s.TrunkRouting, t))
	}
	for _, d := range sc.Flow.SIPDomains {
		o.SIPDomainRouting = append(o.SIPDomainRouting, routeOf(s.SIPDomainRouting, d))
	}
	return o
}

// Change is one difference between the plan's observed state and now.
type Change struct {
	Key     string `json:"key"`
	Field   string `json:"field"`
	Planned string `json:"planned"`
	Now     string `json:"now"`
}

func (c Change) String() string {
	return fmt.Sprintf("%s %s: planned %q, now %q", c.Key, c.Field, c.Planned, c.Now)
}

// Drift compares the account now with the state the plan was computed
// against. Keys in moving are actions a run of this plan may already have
// written: their routing may be at either end of the action. Regions now
// does not hold (a primary that is down) are not compared. inFlow, when not
// nil, tells whether the workbook puts a number in the plan's flow, so a
// number that joined the flow since the plan is reported rather than left
// behind.
func (p *Plan) Drift(now *snapshot.Snapshot, moving map[string]bool, inFlow func(snapshot.Number) bool) []Change {
	var out []Change
	acts := map[string]Action{}
	for _, a := range p.Actions() {
		acts[a.Key] = a
	}
	route := func(key, planned, got string) {
		if planned == got {
			return
		}
		if a, ok := acts[key]; ok && moving[key] && (got == a.From || got == a.To) {
			return
		}
		out = append(out, Change{Key: key, Field: "voice_region", Planned: planned, Now: got})
	}
	nowNums := map[string]*snapshot.Number{}
	for i := range now.Numbers {
		nowNums[now.Numbers[i].PhoneNumber] = &now.Numbers[i]
	}
	planned := map[string]bool{}
	for _, n := range p.Observed.Numbers {
		key := KindNumber + ":" + n.PhoneNumber
		planned[n.PhoneNumber] = true
		cur, ok := nowNums[n.PhoneNumber]
		if !ok {
			out = append(out, Change{Key: key, Field: "owned", Planned: "yes", Now: "released"})
			continue
		}
		route(key, n.Routing.VoiceRegion, cur.Routing.VoiceRegion)
		for _, r := range []string{p.From, p.To} {
			if !slices.Contains(now.Regions, r) {
				continue
			}
			was, is := n.Records[r], cur.Records[r]
			if !reflect.DeepEqual(was, is) {
				field, planned, now := recordDiff(was, is)
				out = append(out, Change{Key: key, Field: "record in " + r + ": " + field, Planned: planned, Now: now})
			}
		}
	}
	// A number that joined the flow since would be left behind.
	for i := range now.Numbers {
		n := now.Numbers[i]
		if !planned[n.PhoneNumber] && inFlow != nil && inFlow(n) {
			out = append(out, Change{Key: KindNumber + ":" + n.PhoneNumber, Field: "flow", Planned: "not in flow", Now: "in flow " + p.Flow})
		}
	}
	for _, kr := range []struct {
		kind     string
		was, cur []snapshot.Route
	}{{KindTrunk, p.Observed.TrunkRouting, now.TrunkRouting}, {KindSIPDomain, p.Observed.SIPDomainRouting, now.SIPDomainRouting}} {
		for _, r := range kr.was {
			route(kr.kind+":"+r.Key, r.VoiceRegion, routeOf(kr.cur, r.Key).VoiceRegion)
		}
	}
	for _, r := range []string{p.From, p.To} {
		was := p.Observed.Resources[r]
		if was == nil || now.Resources[r] == nil {
			continue
		}
		cur := now.Resources[r]
		for _, a := range was.Applications {
			if got := cur.App(a.FriendlyName); got == nil || !reflect.DeepEqual(*got, a) {
				out = append(out, Change{Key: "app:" + a.FriendlyName, Field: "in " + r, Planned: a.VoiceURL, Now: appString(got)})
			}
		}
		for _, t := range was.Trunks {
			if got := cur.Trunk(t.DomainName); got == nil || !reflect.DeepEqual(*got, t) {
				out = append(out, Change{Key: "trunk:" + t.DomainName, Field: "in " + r, Planned: "as observed", Now: "changed or deleted"})
			}
		}
		for _, d := range was.SIPDomains {
			if got := cur.SIPDomain(d.DomainName); got == nil || !reflect.DeepEqual(*got, d) {
				out = append(out, Change{Key: "sip_domain:" + d.DomainName, Field: "in " + r, Planned: d.VoiceURL, Now: "changed or deleted"})
			}
		}
	}
	return out
}

// recordDiff names the first field that differs between two records of a
// number (by their JSON names) and its two values.
func recordDiff(was, is *snapshot.NumberRecord) (field, planned, now string) {
	if was == nil || is == nil {
		p, n := "present", "present"
		if was == nil {
			p = "none"
		}
		if is == nil {
			n = "none"
		}
		return "record", p, n
	}
	a, b := reflect.ValueOf(*was), reflect.ValueOf(*is)
	for i := 0; i < a.NumField(); i++ {
		if av, bv := a.Field(i).String(), b.Field(i).String(); av != bv {
			name, _, _ := strings.Cut(a.Type().Field(i).Tag.Get("json"), ",")
			return name, av, bv
		}
	}
	return "record", "", ""
}

func appString(a *snapshot.Application) string {
	if a == nil {
		return "deleted"
	}
	return a.VoiceURL
}
