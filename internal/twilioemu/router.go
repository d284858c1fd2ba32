package twilioemu

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// handlerFunc serves one Twilio operation. It returns the status and body to
// write, or an API error.
type handlerFunc func(c *call) (int, any, *apiError)

// route is one operation: a method and a path template whose {Name}
// segments (optionally followed by a literal suffix such as ".json") bind one
// path segment each.
type route struct {
	method  string
	op      string // product-qualified operation name, e.g. "api.ListIncomingPhoneNumber"
	segs    []string
	handler handlerFunc
	// mainOnly marks operations Standard keys may not use (/Accounts, /Keys).
	mainOnly bool
}

// router finds the operation for a product, method and path. Literal segments
// win over parameters, as in Twilio's own routing (Local.json vs {Sid}.json).
type router struct {
	byProduct map[string][]*route
}

func newRouter() *router { return &router{byProduct: map[string][]*route{}} }

func (rt *router) add(product, method, pattern, op string, h handlerFunc) *route {
	r := &route{method: method, op: product + "." + op, segs: strings.Split(strings.Trim(pattern, "/"), "/"), handler: h}
	rt.byProduct[product] = append(rt.byProduct[product], r)
	return r
}

// match returns the route and bound parameters, and whether any template
// matched the path (for 405). It allocates parameters only for the winner:
// routing is on every request's path.
func (rt *router) match(product, method, path string) (r *route, params map[string]string, pathFound bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	bestScore := -1
	for _, cand := range rt.byProduct[product] {
		score, ok := fits(cand.segs, segs)
		if !ok {
			continue
		}
		pathFound = true
		if cand.method == method && score > bestScore {
			r, bestScore = cand, score
		}
	}
	if r == nil {
		return nil, nil, pathFound
	}
	params, ok := bind(r.segs, segs)
	if !ok {
		return nil, nil, pathFound
	}
	return r, params, true
}

// fits reports whether template segments match path segments; score counts
// literal segments so the most specific template wins.
func fits(tmpl, segs []string) (int, bool) {
	if len(tmpl) != len(segs) {
		return 0, false
	}
	score := 0
	for i, t := range tmpl {
		s := segs[i]
		if strings.HasPrefix(t, "{") {
			suffix := t[strings.IndexByte(t, '}')+1:]
			if !strings.HasSuffix(s, suffix) || len(s) == len(suffix) {
				return 0, false
			}
			continue
		}
		if t != s {
			return 0, false
		}
		score++
	}
	return score, true
}

// bind extracts the parameters of a template that fits.
func bind(tmpl, segs []string) (map[string]string, bool) {
	params := make(map[string]string, 2)
	for i, t := range tmpl {
		if !strings.HasPrefix(t, "{") {
			continue
		}
		end := strings.IndexByte(t, '}')
		v, err := url.PathUnescape(strings.TrimSuffix(segs[i], t[end+1:]))
		if err != nil {
			return nil, false
		}
		params[t[1:end]] = v
	}
	return params, true
}

// methodNotAllowed is Twilio's answer to a known path with the wrong method.
func methodNotAllowed() *apiError {
	return newAPIError(http.StatusMethodNotAllowed, 20004, "Method not allowed")
}

// Operations lists every emulated operation ("api.ListIncomingPhoneNumber",
// "routes.UpdatePhoneNumber", ...), sorted.
func (e *Emulator) Operations() []string {
	var ops []string
	for _, routes := range e.router.byProduct {
		for _, r := range routes {
			ops = append(ops, r.op)
		}
	}
	sort.Strings(ops)
	return ops
}
