// Package initwb drafts the initial workbook `voicedr init` writes: it reads
// an account snapshot and groups the numbers into flows by their effective
// handler in the primary region (TwiML App, trunk or voice URL host) and by
// friendly-name prefix ("support-001" belongs to "support"), so a team starts
// from a commented voicedr.yaml that already covers every number.
package initwb

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

// group is one drafted flow: numbers sharing a handler and a name prefix.
type group struct {
	name     string
	handler  handlerKey
	selector string   // friendly_name_prefix, "" when the names carry none
	sharedBy string   // flow that holds the selector of this group's prefix
	trunkIn  string   // flow that lists this group's trunk (a trunk belongs to one flow)
	prefix   string   // the names' prefix, even when another flow selects it
	numbers  []string // every number of the group, sorted
	explicit []string // numbers written out (no selector, or the selector would miss them)
	trunks   []string
	domains  []string
	sample   posture.Handler // effective handler, for the region app guess
}

// handlerKey identifies an effective handler in the primary region.
type handlerKey struct {
	kind, id string // kind: app, trunk, url or none
}

func (h handlerKey) describe() string {
	switch h.kind {
	case "app":
		return "on TwiML App " + h.id
	case "trunk":
		return "on trunk " + h.id
	case "url":
		return "on voice URL host " + h.id
	}
	return "with no voice handler (unrouted)"
}

// label is a short name for the handler, used when two flows share a prefix.
func (h handlerKey) label() string {
	switch h.kind {
	case "trunk":
		l, _, _ := strings.Cut(h.id, ".")
		return l
	case "url":
		return strings.ReplaceAll(h.id, ".", "-")
	case "none":
		return "unrouted"
	}
	return h.id
}

func keyOf(h posture.Handler) handlerKey {
	switch h.Kind {
	case "app":
		return handlerKey{"app", h.AppName}
	case "trunk":
		return handlerKey{"trunk", h.TrunkDomain}
	case "url":
		u, err := url.Parse(h.VoiceURL)
		if err == nil && u.Hostname() != "" {
			return handlerKey{"url", u.Hostname()}
		}
		return handlerKey{"url", h.VoiceURL}
	}
	return handlerKey{"none", ""}
}

// Prefix is the friendly-name prefix a selector matches: the name without
// its trailing digits ("support-001" → "support-"), or up to and including
// its last "-" when it ends in something else ("sales-east" → "sales-").
// It is "" for names that carry no prefix (empty, or a formatted number).
func Prefix(friendly string) string {
	p := strings.TrimRightFunc(friendly, unicode.IsDigit)
	if p == friendly {
		i := strings.LastIndex(friendly, "-")
		if i <= 0 {
			return ""
		}
		p = friendly[:i+1]
	}
	if flowName(p) == "" || !strings.ContainsFunc(p, unicode.IsLetter) {
		return ""
	}
	return p
}

// flowName turns a prefix into a workbook name: lower case letters, digits
// and single dashes.
func flowName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) && r < unicode.MaxASCII || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// groupNumbers groups the account's numbers by primary handler and prefix,
// names the groups uniquely and decides which numbers a group must list
// explicitly so that workbook.FlowOf gives every number its own group.
func groupNumbers(s *snapshot.Snapshot, primary string) []*group {
	type gk struct {
		h      handlerKey
		prefix string
	}
	byKey := map[gk]*group{}
	for _, n := range s.Numbers {
		h := posture.Effective(n.Records[primary], s.Resources[primary])
		k := gk{keyOf(h), Prefix(n.FriendlyName)}
		g := byKey[k]
		if g == nil {
			g = &group{handler: k.h, selector: k.prefix, prefix: k.prefix, sample: h}
			if h.Kind == "trunk" {
				g.trunks = []string{h.TrunkDomain}
			}
			byKey[k] = g
		}
		g.numbers = append(g.numbers, n.PhoneNumber)
	}
	groups := make([]*group, 0, len(byKey))
	for _, g := range byKey {
		sort.Strings(g.numbers)
		groups = append(groups, g)
	}
	// Largest first, so the biggest group of a prefix keeps the plain name
	// and the selector; ties broken by prefix and handler for determinism.
	sort.Slice(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if len(a.numbers) != len(b.numbers) {
			return len(a.numbers) > len(b.numbers)
		}
		if a.selector != b.selector {
			return a.selector < b.selector
		}
		return a.handler.kind+a.handler.id < b.handler.kind+b.handler.id
	})
	used := map[string]bool{}
	selectorTaken := map[string]string{}
	trunkTaken := map[string]string{}
	for _, g := range groups {
		base := flowName(g.selector)
		if base == "" {
			base = flowName(g.handler.label())
		}
		if base == "" {
			base = "flow"
		}
		if owner, taken := selectorTaken[g.selector]; g.selector != "" && taken {
			// Another handler already selects this prefix: this group's
			// numbers are listed, and its name says which handler it is.
			g.selector, g.sharedBy = "", owner
			base = flowName(base + "-" + g.handler.label())
		}
		name := base
		for i := 2; used[name]; i++ {
			name = base + "-" + strconv.Itoa(i)
		}
		used[name] = true
		g.name = name
		if g.selector != "" {
			selectorTaken[g.selector] = name
		}
		for _, t := range g.trunks {
			if owner, taken := trunkTaken[t]; taken {
				g.trunks, g.trunkIn = nil, owner
			} else {
				trunkTaken[t] = name
			}
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].name < groups[j].name })
	// A selector can also match another group's numbers ("support-" matches
	// "support-vip-001"); those numbers are written out, since explicit
	// numbers win over selectors.
	wb := &workbook.Workbook{}
	byName := map[string]*group{}
	for _, g := range groups {
		byName[g.name] = g
		f := workbook.Flow{Name: g.name}
		if g.selector != "" {
			f.Selectors.FriendlyNamePrefix = []string{g.selector}
		} else {
			g.explicit = g.numbers
		}
		wb.Flows = append(wb.Flows, f)
	}
	owner := map[string]*group{}
	for _, g := range groups {
		for _, n := range g.numbers {
			owner[n] = g
		}
	}
	for _, n := range s.Numbers {
		g := owner[n.PhoneNumber]
		if g.selector == "" {
			continue
		}
		if got, ok := wb.FlowOf(n); !ok || byName[got] != g {
			g.explicit = append(g.explicit, n.PhoneNumber)
		}
	}
	for _, g := range groups {
		sort.Strings(g.explicit)
	}
	return groups
}
