package workbook

import (
	"strings"

	"github.com/voicedr/voicedr/internal/snapshot"
)

// FlowOf names the flow that protects a number of the account: a flow that
// lists it, or whose selectors match it. Within a selector kind any value
// matches (OR); across kinds every kind that is set must match (AND), so
// {friendly_name_prefix: [support-], countries: ["+44"]} means UK support
// numbers. Explicit numbers win over selectors; a number two flows select is
// given to the first, and plan time reports the overlap.
func (w *Workbook) FlowOf(n snapshot.Number) (string, bool) {
	for _, f := range w.Flows {
		for _, e := range f.Numbers {
			if e == n.PhoneNumber {
				return f.Name, true
			}
		}
	}
	for _, f := range w.Flows {
		if f.Selectors.match(n, w.NumberTags[n.PhoneNumber]) {
			return f.Name, true
		}
	}
	return "", false
}

func (s Selectors) match(n snapshot.Number, tags []string) bool {
	if len(s.FriendlyNamePrefix) == 0 && len(s.Countries) == 0 && len(s.Tags) == 0 {
		return false
	}
	anyOf := func(vals []string, ok func(string) bool) bool {
		if len(vals) == 0 {
			return true
		}
		for _, v := range vals {
			if ok(v) {
				return true
			}
		}
		return false
	}
	return anyOf(s.FriendlyNamePrefix, func(p string) bool { return strings.HasPrefix(n.FriendlyName, p) }) &&
		anyOf(s.Countries, func(cc string) bool { return strings.HasPrefix(n.PhoneNumber, cc) }) &&
		anyOf(s.Tags, func(t string) bool {
			for _, have := range tags {
				if have == t {
					return true
				}
			}
			return false
		})
}
