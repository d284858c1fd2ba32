package initwb

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
)

// Defaults written into every drafted flow; the comments ask for a review.
const (
	draftCriticality = "medium"
	draftRTO         = "15m"
	maxCanary        = 5
)

// Draft writes a starter workbook for the account in s: regions primary and
// standby with credential references at their defaults, one flow per group
// of numbers (effective handler in primary × friendly-name prefix) using
// selectors where the names allow, a canary cohort, and a placeholder
// governance section, each section commented. The output is deterministic
// and parses with workbook.Parse; the numbers it covers are checked by
// workbook.FlowOf against the snapshot.
func Draft(s *snapshot.Snapshot, primary, standby region.Region) ([]byte, error) {
	if s == nil {
		return nil, errors.New("initwb: no snapshot")
	}
	if _, err := region.Parse(string(primary)); err != nil {
		return nil, fmt.Errorf("initwb: primary: %w", err)
	}
	if _, err := region.Parse(string(standby)); err != nil {
		return nil, fmt.Errorf("initwb: standby: %w", err)
	}
	if primary == standby {
		return nil, fmt.Errorf("initwb: primary and standby are both %s; pick two different regions", primary)
	}
	groups := groupNumbers(s, string(primary))
	extra := attachSIP(s, string(primary), groups)

	doc := mapping()
	doc.HeadComment = header(s, primary, len(groups))
	add(doc, "version", plain("1", "!!int"))
	add(doc, "program", str("voice-dr")).LineComment = "# TODO: name your DR program (shown on reports and evidence)"
	k := add(doc, "regions", regionsNode(groups, primary, standby))
	k.HeadComment = "\nRegions in play: " + string(primary) + " carries traffic today, " + string(standby) + " is where flows move.\n" +
		"Credentials are references, never values: they default to TWILIO_<REGION>_API_KEY,\n" +
		"_API_SECRET and _AUTH_TOKEN in the environment (file:PATH also works).\n" +
		"app holds the endpoints standby records must point at, guessed from the primary."
	k = add(doc, "flows", flowsNode(groups, extra, primary))
	k.HeadComment = "\nProtected flows, one per group of numbers sharing an effective handler in " + string(primary) + "\n" +
		"(TwiML App, trunk or voice URL host) and a friendly-name prefix. Selectors match the\n" +
		"account at plan time, so numbers bought later join their flow; numbers a selector\n" +
		"cannot reach are listed. Review each flow's criticality, rto and cohorts."
	k = add(doc, "governance", governanceNode())
	k.HeadComment = "\nWho decides a failover. policy: none lets the operator run it alone; for production\n" +
		"declare people and use one_of or two_person with the roles that may approve."

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}); err != nil {
		return nil, fmt.Errorf("initwb: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("initwb: encode: %w", err)
	}
	return buf.Bytes(), nil
}

func header(s *snapshot.Snapshot, primary region.Region, flows int) string {
	return fmt.Sprintf("voicedr workbook drafted by `voicedr init` from account %s\n"+
		"(snapshot taken %s: %d numbers grouped into %d flows by handler in %s and name prefix).\n"+
		"It is a starting point: review every TODO, keep the file in git, check it with\n"+
		"`voicedr validate`; `voicedr schema` gives editors completion. Secrets never go here.",
		s.AccountSID, s.TakenAt.UTC().Format("2006-01-02 15:04:05Z"), len(s.Numbers), flows, primary)
}

// extras are trunks and SIP domains no group of numbers claims.
type extras struct{ trunks, domains []string }

// attachSIP gives each SIP domain of the primary to the flow whose voice URL
// host it shares, and returns the trunks and domains nobody claims.
func attachSIP(s *snapshot.Snapshot, primary string, groups []*group) extras {
	var ex extras
	res := s.Resources[primary]
	if res == nil {
		return ex
	}
	claimed := map[string]bool{}
	for _, g := range groups {
		for _, t := range g.trunks {
			claimed[t] = true
		}
	}
	for _, t := range res.Trunks {
		if !claimed[t.DomainName] {
			claimed[t.DomainName] = true
			ex.trunks = append(ex.trunks, t.DomainName)
		}
	}
	for _, d := range res.SIPDomains {
		var owner *group
		if h := hostOf(d.VoiceURL); h != "" {
			for _, g := range groups {
				if hostOf(g.sample.VoiceURL) == h {
					owner = g
					break
				}
			}
		}
		if owner != nil {
			owner.domains = append(owner.domains, d.DomainName)
		} else {
			ex.domains = append(ex.domains, d.DomainName)
		}
	}
	sort.Strings(ex.trunks)
	sort.Strings(ex.domains)
	for _, g := range groups {
		sort.Strings(g.domains)
	}
	return ex
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Hostname()
}

func regionsNode(groups []*group, primary, standby region.Region) *yaml.Node {
	// The region's app is the handler of most numbers among apps and URLs.
	var app *group
	for _, g := range groups {
		if g.sample.Kind != "app" && g.sample.Kind != "url" {
			continue
		}
		if app == nil || len(g.numbers) > len(app.numbers) {
			app = g
		}
	}
	seq := sequence(false)
	for _, r := range []region.Region{primary, standby} {
		m := mapping()
		add(m, "region", str(string(r)))
		if e := r.HomeEdge(); e != "" {
			add(m, "edge", str(e))
		}
		role := "primary"
		if r == standby {
			role = "standby"
		}
		add(m, "role", str(role))
		for _, f := range []string{"api_key", "api_secret", "auth_token"} {
			add(m, f, str("env:"+r.EnvPrefix()+strings.ToUpper(f)))
		}
		if app != nil {
			k := add(m, "app", appNode(app, primary, r))
			if r == primary {
				k.HeadComment = "Endpoints of the handler of the most numbers (" + strings.TrimPrefix(app.handler.describe(), "on ") + ")."
			}
		}
		seq.Content = append(seq.Content, m)
	}
	return seq
}

func appNode(g *group, primary, r region.Region) *yaml.Node {
	m := mapping()
	guess := func(key, u string) {
		if u == "" {
			return
		}
		k := add(m, key, str(standbyURL(u, primary, r)))
		if r != primary {
			k.LineComment = "# TODO: your standby endpoint"
		}
	}
	guess("voice_url", g.sample.VoiceURL)
	guess("fallback_url", g.sample.FallbackURL)
	guess("status_callback", g.sample.StatusCallback)
	if g.sample.Kind == "app" {
		add(m, "twiml_app", str(g.sample.AppName)).LineComment = "# apps are per region, matched by friendly name"
	}
	add(m, "probe_allowed", plain("false", "!!bool")).LineComment = "# opt in only where signed probe requests are harmless"
	return m
}

// standbyURL guesses a URL's standby twin: a host label naming the primary
// region is replaced by the standby's ("us1.support.acme.example" →
// "ie1.support.acme.example"); otherwise the URL is kept as is.
func standbyURL(u string, primary, r region.Region) string {
	p, err := url.Parse(u)
	if err != nil || r == primary {
		return u
	}
	labels := strings.Split(p.Host, ".")
	for i, l := range labels {
		if strings.EqualFold(l, string(primary)) {
			labels[i] = string(r)
		}
	}
	p.Host = strings.Join(labels, ".")
	return p.String()
}

func flowsNode(groups []*group, ex extras, primary region.Region) *yaml.Node {
	seq := sequence(false)
	used := map[string]bool{}
	for _, g := range groups {
		used[g.name] = true
		seq.Content = append(seq.Content, flowNode(g, primary))
	}
	if len(ex.trunks)+len(ex.domains) > 0 {
		name := "unassigned"
		for i := 2; used[name]; i++ {
			name = "unassigned-" + strconv.Itoa(i)
		}
		m := mapping()
		add(m, "name", str(name))
		m.HeadComment = "Trunks and SIP domains no number reaches directly in " + string(primary) + ".\n" +
			"TODO: move each into the flow that uses it (a trunk or domain belongs to one flow)."
		add(m, "description", str("Trunks and SIP domains not yet assigned to a flow."))
		if len(ex.trunks) > 0 {
			add(m, "trunks", strs(ex.trunks, false, true))
		}
		if len(ex.domains) > 0 {
			add(m, "sip_domains", strs(ex.domains, false, true))
		}
		add(m, "criticality", str(draftCriticality)).LineComment = "# TODO: review: critical, high, medium or low"
		add(m, "rto", str(draftRTO)).LineComment = "# TODO: review the recovery time objective"
		seq.Content = append(seq.Content, m)
	}
	return seq
}

func flowNode(g *group, primary region.Region) *yaml.Node {
	m := mapping()
	add(m, "name", str(g.name))
	m.HeadComment = fmt.Sprintf("%s: %s %s in %s.", g.name, plural(len(g.numbers), "number"), g.handler.describe(), primary)
	add(m, "description", str(description(g)))
	if g.selector != "" {
		sel := mapping()
		add(sel, "friendly_name_prefix", strs([]string{g.selector}, false, true))
		add(m, "selectors", sel)
	}
	if len(g.explicit) > 0 {
		k := add(m, "numbers", strs(g.explicit, true, len(g.explicit) <= 3))
		switch {
		case g.selector != "":
			k.HeadComment = "Numbers the selector would give to another flow or miss."
		case g.sharedBy != "":
			k.HeadComment = "Named " + g.prefix + "* like flow " + g.sharedBy + ", which selects that prefix, but on another handler: listed."
		default:
			k.HeadComment = "Their friendly names carry no prefix a selector can use, so they are listed."
		}
	}
	if len(g.trunks) > 0 {
		add(m, "trunks", strs(g.trunks, false, true))
	}
	if g.trunkIn != "" {
		m.HeadComment += "\nIts trunk " + g.handler.id + " is listed under flow " + g.trunkIn + ": a trunk belongs to one flow,\n" +
			"so moving that flow moves these numbers' calls too. TODO: merge the flows or split the trunk."
	}
	if len(g.domains) > 0 {
		add(m, "sip_domains", strs(g.domains, false, true)).LineComment = "# its voice URL shares this flow's host"
	}
	add(m, "criticality", str(draftCriticality)).LineComment = "# TODO: review: critical, high, medium or low"
	add(m, "rto", str(draftRTO)).LineComment = "# TODO: review the recovery time objective"
	add(m, "cohorts", cohortsNode(g)).HeadComment = "Numbers move in cohorts, in order. Add gate: and no_go: once gates are declared."
	return m
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func description(g *group) string {
	who := "Numbers"
	if g.prefix != "" {
		who = "Numbers named " + g.prefix + "*"
	}
	return who + " " + g.handler.describe() + "."
}

// cohortsNode is a canary of up to five explicit numbers, then the rest.
func cohortsNode(g *group) *yaml.Node {
	seq := sequence(false)
	if len(g.numbers) < 2 {
		c := mapping()
		add(c, "name", str("all"))
		add(c, "order", plain("1", "!!int"))
		add(c, "share", plain("1.0", "!!float"))
		return append1(seq, c)
	}
	n := min(max(len(g.numbers)/20, 1), maxCanary)
	c := mapping()
	add(c, "name", str("canary"))
	c.HeadComment = "TODO: pick test numbers you can call: the canary moves first."
	add(c, "order", plain("1", "!!int"))
	add(c, "numbers", strs(g.numbers[:n], true, true))
	append1(seq, c)
	r := mapping()
	add(r, "name", str("rest"))
	add(r, "order", plain("2", "!!int"))
	add(r, "share", plain("1.0", "!!float")).LineComment = "# every remaining number of the flow"
	return append1(seq, r)
}

func governanceNode() *yaml.Node {
	role := mapping()
	add(role, "name", str("incident_commander"))
	add(role, "description", str("Owns the decision to fail over."))
	roles := sequence(false)
	append1(roles, role)
	appr := mapping()
	add(appr, "policy", str("none")).LineComment = "# TODO: one_of or two_person for production"
	m := mapping()
	add(m, "roles", roles)
	add(m, "approval", appr)
	return m
}

// Node helpers.

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

func sequence(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func append1(seq, item *yaml.Node) *yaml.Node {
	seq.Content = append(seq.Content, item)
	return seq
}

func str(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func plain(v, tag string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v} }

// strs is a list of strings; quoted ones (E.164 numbers) are double-quoted
// so YAML readers do not take them for integers.
func strs(vs []string, quoted, flow bool) *yaml.Node {
	seq := sequence(flow)
	for _, v := range vs {
		n := str(v)
		if quoted {
			n.Style = yaml.DoubleQuotedStyle
		}
		seq.Content = append(seq.Content, n)
	}
	return seq
}

// add appends key: value to a mapping and returns the key node, which
// carries head comments (a value's line comment goes on the value).
func add(m *yaml.Node, key string, value *yaml.Node) *yaml.Node {
	k := str(key)
	m.Content = append(m.Content, k, value)
	return k
}
