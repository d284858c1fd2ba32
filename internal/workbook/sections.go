package workbook

import (
	"fmt"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// flows checks each flow and the rule that a number, trunk or SIP domain
// belongs to one flow only (a move of one flow must not move another's
// traffic). It returns the set of flow names.
func (c *checker) flows(w *Workbook) map[string]bool {
	names := make([]string, len(w.Flows))
	for i, f := range w.Flows {
		names[i] = f.Name
	}
	set := c.unique("flows", names)
	owner := map[string]string{} // number, trunk or SIP domain → path of first use
	claim := func(path, kind, key string) {
		if prev, ok := owner[kind+key]; ok {
			c.add(path, "%s %s is already listed at %s; a %s belongs to one flow: remove one of them", kind, key, prev, kind)
			return
		}
		owner[kind+key] = path
	}
	for i, f := range w.Flows {
		p := fmt.Sprintf("flows[%d]", i)
		sel := f.Selectors
		if len(f.Numbers)+len(sel.FriendlyNamePrefix)+len(sel.Countries)+len(sel.Tags)+len(f.Trunks)+len(f.SIPDomains) == 0 {
			c.add(p, "the flow protects nothing; write numbers, selectors, trunks or sip_domains")
		}
		for j, n := range f.Numbers {
			np := fmt.Sprintf("%s.numbers[%d]", p, j)
			if c.e164(np, n) {
				claim(np, "number", n)
			}
		}
		c.countries(p+".selectors.countries", sel.Countries)
		for j, t := range f.Trunks {
			tp := fmt.Sprintf("%s.trunks[%d]", p, j)
			if !strings.HasSuffix(t, ".pstn.twilio.com") || len(t) == len(".pstn.twilio.com") {
				c.add(tp, "%q is not a trunk domain name; write the trunk's domain_name such as acme.pstn.twilio.com instead", t)
				continue
			}
			claim(tp, "trunk", t)
		}
		for j, d := range f.SIPDomains {
			dp := fmt.Sprintf("%s.sip_domains[%d]", p, j)
			if !strings.HasSuffix(d, ".sip.twilio.com") || len(d) == len(".sip.twilio.com") {
				c.add(dp, "%q is not a SIP domain name; write a domain such as acme.sip.twilio.com instead", d)
				continue
			}
			claim(dp, "SIP domain", d)
		}
		for j, m := range f.SuccessMetrics {
			c.threshold(fmt.Sprintf("%s.success_metrics[%d].threshold", p, j), m.Threshold)
		}
		c.cohorts(p, f)
	}
	return set
}

// cohorts checks one flow's cohorts. Whether they cover every number needs
// the account and is checked at plan time.
func (c *checker) cohorts(p string, f Flow) {
	names := make([]string, len(f.Cohorts))
	for i, co := range f.Cohorts {
		names[i] = co.Name
	}
	c.unique(p+".cohorts", names)
	inCohort := map[string]string{}
	for i, co := range f.Cohorts {
		cp := fmt.Sprintf("%s.cohorts[%d]", p, i)
		if len(co.Numbers)+len(co.Tags)+len(co.Countries) == 0 && co.Share == nil {
			c.add(cp, "the cohort selects no numbers; write numbers, share, tags or countries")
		}
		for j, n := range co.Numbers {
			np := fmt.Sprintf("%s.numbers[%d]", cp, j)
			if !c.e164(np, n) {
				continue
			}
			if prev, ok := inCohort[n]; ok {
				c.add(np, "number %s is already in cohort %s; cohorts must not overlap: remove it from one of them", n, prev)
				continue
			}
			inCohort[n] = fmt.Sprintf("%q (%s)", co.Name, cp)
		}
		if co.Share != nil && (*co.Share <= 0 || *co.Share > 1) {
			c.add(cp+".share", "%g is out of range; write a share above 0 and at most 1 (0.25 is a quarter) instead", *co.Share)
		}
		c.countries(cp+".countries", co.Countries)
	}
}

func (c *checker) numberTags(m map[string][]string) {
	for _, n := range sortedKeys(m) {
		c.e164(fmt.Sprintf("number_tags[%q]", n), n)
	}
}

func (c *checker) signals(ss []Signal, regions map[region.Region]bool) map[string]bool {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.Name
	}
	set := c.unique("signals", names)
	for i, s := range ss {
		p := fmt.Sprintf("signals[%d]", i)
		if s.Region != "" {
			c.declaredRegion(p+".region", string(s.Region), regions)
		}
		if s.Source == "prometheus" && s.Query == "" {
			c.add(p+".query", "a prometheus signal needs a query; write query: with a PromQL expression")
		}
	}
	return set
}

// declaredRegion reports a region the workbook does not declare.
func (c *checker) declaredRegion(path, s string, regions map[region.Region]bool) {
	r, err := region.Parse(s)
	if err != nil || !regions[r] {
		c.add(path, "%q is not a region declared under regions; write one of the declared regions or add its profile", s)
	}
}

func (c *checker) gates(gs []Gate, signals map[string]bool) map[string]bool {
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.Name
	}
	set := c.unique("gates", names)
	for i, g := range gs {
		for j, cond := range g.Conditions {
			cp := fmt.Sprintf("gates[%d].conditions[%d]", i, j)
			c.ref(cp+".signal", "signal", cond.Signal, signals)
			c.threshold(cp+".threshold", cond.Threshold)
		}
	}
	return set
}

// ref reports a name that its section does not declare.
func (c *checker) ref(path, kind, name string, set map[string]bool) {
	if name != "" && !set[name] {
		c.add(path, "no %s named %q; write the name of one declared under %ss instead", kind, name, kind)
	}
}

func (c *checker) flowRefs(w *Workbook, signals, gates map[string]bool) {
	for i, f := range w.Flows {
		for j, m := range f.SuccessMetrics {
			c.ref(fmt.Sprintf("flows[%d].success_metrics[%d].signal", i, j), "signal", m.Signal, signals)
		}
		for j, co := range f.Cohorts {
			c.ref(fmt.Sprintf("flows[%d].cohorts[%d].gate", i, j), "gate", co.Gate, gates)
		}
	}
}

func (c *checker) governance(g *Governance) {
	names := make([]string, len(g.Roles))
	for i, r := range g.Roles {
		names[i] = r.Name
	}
	roles := c.unique("governance.roles", names)
	for i, p := range g.People {
		c.ref(fmt.Sprintf("governance.people[%d].role", i), "role", p.Role, roles)
	}
	for i, r := range g.Approval.Roles {
		c.ref(fmt.Sprintf("governance.approval.roles[%d]", i), "role", r, roles)
	}
	if (g.Approval.Policy == "one_of" || g.Approval.Policy == "two_person") && len(g.Approval.Roles) == 0 {
		c.add("governance.approval.roles", "policy %s needs the roles that may approve; write roles: [incident_commander] or similar", g.Approval.Policy)
	}
}

func (c *checker) notifications(ns []Notification) {
	names := make([]string, len(ns))
	for i, n := range ns {
		names[i] = n.Name
	}
	c.unique("notifications", names)
	for i, n := range ns {
		suggest := "env:" + strings.ToUpper(strings.ReplaceAll(n.Type+"_"+n.Name, "-", "_")) + "_URL"
		up := fmt.Sprintf("notifications[%d].url", i)
		switch s := string(n.URL); {
		case n.URL.Validate() == nil:
		case strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://"):
			// The URL itself embeds its token, so it is the secret.
			c.add(up, "a %s URL embeds its token, so it is a secret and must not be inline; write %s (holding the URL) instead", n.Type, suggest)
		default:
			c.credential(up, n.URL, suggest)
		}
	}
}

func (c *checker) hooks(hs []Hook, flows map[string]bool) {
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.Name
	}
	c.unique("hooks", names)
	for i, h := range hs {
		p := fmt.Sprintf("hooks[%d]", i)
		c.ref(p+".flow", "flow", h.Flow, flows)
		switch {
		case h.Type == "http" && h.URL == "":
			c.add(p+".url", "an http hook needs a url; write url: https://... (or env:NAME when it carries a token)")
		case h.Type == "command" && len(h.Command) == 0:
			c.add(p+".command", "a command hook needs a command; write command: [program, arg...]")
		}
		c.url(p+".url", h.URL, true)
		if !h.Idempotent {
			c.add(p+".idempotent", "hooks are retried after a crash, so they must be idempotent; make the step safe to repeat and write idempotent: true")
		}
	}
}

func (c *checker) triggers(ts []Trigger, signals, flows map[string]bool) {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	c.unique("triggers", names)
	for i, t := range ts {
		p := fmt.Sprintf("triggers[%d]", i)
		c.ref(p+".signal", "signal", t.Signal, signals)
		c.ref(p+".flow", "flow", t.Flow, flows)
		c.threshold(p+".condition", t.Condition)
	}
}

func (c *checker) drills(ds []Drill, fs []Flow, flows map[string]bool) {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	c.unique("drills", names)
	for i, d := range ds {
		p := fmt.Sprintf("drills[%d]", i)
		c.ref(p+".flow", "flow", d.Flow, flows)
		if d.Kind == "live" && d.Cohort == "" {
			c.add(p+".cohort", "a live drill moves real numbers; write cohort: with the flow's drill cohort")
		}
		if d.Cohort == "" || !flows[d.Flow] {
			continue
		}
		found := false
		for _, f := range fs {
			for _, co := range f.Cohorts {
				found = found || (f.Name == d.Flow && co.Name == d.Cohort)
			}
		}
		if !found {
			c.add(p+".cohort", "flow %q has no cohort named %q; write the name of one of its cohorts instead", d.Flow, d.Cohort)
		}
	}
}

func (c *checker) attestations(as []Attestation, regions map[region.Region]bool) {
	seen := map[string]int{}
	for i, a := range as {
		p := fmt.Sprintf("attestations[%d]", i)
		if j, dup := seen[a.ID]; dup && a.ID != "" {
			c.add(p+".id", "%q is already used by attestations[%d]; write a unique id instead", a.ID, j)
		} else {
			seen[a.ID] = i
		}
		if a.Region != "" {
			c.declaredRegion(p+".region", a.Region, regions)
		}
		c.url(p+".evidence_url", a.EvidenceURL, false)
		date, okD := c.date(p+".date", a.Date)
		exp, okE := c.date(p+".expires", a.Expires)
		if okD && okE && !exp.After(date) {
			c.add(p+".expires", "expires %s is not after date %s; write a later expiry instead", a.Expires, a.Date)
		}
	}
}

func (c *checker) date(path, s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false // reported as missing
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || !dateRe.MatchString(s) {
		c.add(path, "%q is not a date; write YYYY-MM-DD such as 2026-03-31 instead", s)
		return time.Time{}, false
	}
	return t, true
}
