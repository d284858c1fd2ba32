package oasjudge

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// route is one path template of a spec with its operations by HTTP method.
type route struct {
	template string
	segs     []segment
	ops      map[string]*operation // keyed by upper-case method
}

// segment is one "/"-separated part of a path template. A parameter segment
// may carry a literal prefix and suffix around its "{Name}", which in Twilio's
// specs is only ever the ".json" of the 2010 API ("{Sid}.json").
type segment struct {
	literal        string
	param          bool
	prefix, suffix string
}

func parseTemplate(tmpl string) []segment {
	parts := strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
	segs := make([]segment, len(parts))
	for i, p := range parts {
		open, close := strings.Index(p, "{"), strings.LastIndex(p, "}")
		if open < 0 || close < open {
			segs[i] = segment{literal: p}
			continue
		}
		segs[i] = segment{param: true, prefix: p[:open], suffix: p[close+1:]}
	}
	return segs
}

// match reports whether the concrete, already unescaped segments fit the
// template. A parameter takes a non-empty value within one segment.
func (r *route) match(parts []string) bool {
	if len(parts) != len(r.segs) {
		return false
	}
	for i, s := range r.segs {
		p := parts[i]
		if !s.param {
			if p != s.literal {
				return false
			}
			continue
		}
		if len(p) <= len(s.prefix)+len(s.suffix) || !strings.HasPrefix(p, s.prefix) || !strings.HasSuffix(p, s.suffix) {
			return false
		}
	}
	return true
}

// moreSpecific orders two templates that both match a path: at the first
// segment where one has a literal and the other a parameter, the literal wins,
// so ".../IncomingPhoneNumbers/Local.json" beats ".../IncomingPhoneNumbers/{Sid}.json"
// as a router would have it.
func moreSpecific(a, b *route) bool {
	for i := range a.segs {
		if a.segs[i].param != b.segs[i].param {
			return !a.segs[i].param
		}
	}
	return a.template < b.template // identical shapes: any fixed order will do
}

// splitPath turns a request path into unescaped segments. It splits before
// unescaping so that an encoded "/" stays inside its parameter, and it uses
// path (not query) unescaping so that a literal "+" of an E.164 number stays a
// "+" while "%2B" becomes one.
func splitPath(path string) ([]string, error) {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q does not start with /", path)
	}
	parts := strings.Split(path[1:], "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("path %q: segment %d: %w", path, i, err)
		}
		parts[i] = u
	}
	return parts, nil
}

// find resolves a concrete request to its route and operation.
func (j *Judge) find(productName, method, path string) (*route, *operation, error) {
	p, err := j.product(productName)
	if err != nil {
		return nil, nil, err
	}
	parts, err := splitPath(path)
	if err != nil {
		return nil, nil, fmt.Errorf("oasjudge: %s %s: %w", productName, method, err)
	}
	var candidates []*route
	for _, r := range p.routes {
		if r.match(parts) {
			candidates = append(candidates, r)
		}
	}
	if len(candidates) == 0 {
		return nil, nil, fmt.Errorf("oasjudge: %s %s %s: no path of the %s spec matches", productName, method, path, productName)
	}
	sort.Slice(candidates, func(a, b int) bool { return moreSpecific(candidates[a], candidates[b]) })
	r := candidates[0]
	op, ok := r.ops[strings.ToUpper(method)]
	if !ok {
		var allowed []string
		for m := range r.ops {
			allowed = append(allowed, m)
		}
		sort.Strings(allowed)
		return nil, nil, fmt.Errorf("oasjudge: %s %s %s: the spec documents only %s on %s",
			productName, method, path, strings.Join(allowed, ", "), r.template)
	}
	return r, op, nil
}

// Operation maps a concrete request to the operationId of its spec operation.
// product is the host's product label ("api", "routes", "trunking",
// "insights", "monitor", "voice"); path is the request path as sent (a path
// parameter may be %-encoded or hold a literal '+'; a query is ignored).
func (j *Judge) Operation(product, method, path string) (string, error) {
	_, op, err := j.find(product, method, path)
	if err != nil {
		return "", err
	}
	return op.id, nil
}
