package twilioemu

import (
	"net/http"
	"net/url"
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

// match returns the route and bound parameters. allowed lists the methods
// the path supports when the method does not match (for 405).
func (rt *router) match(product, method, path string) (r *route, params map[string]string, pathFound bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	bestScore := -1
	for _, cand := range rt.byProduct[product] {
		p, score, ok := bind(cand.segs, segs)
		if !ok {
			continue
		}
		pathFound = true
		if cand.method != method || score <= bestScore {
			continue
		}
		r, params, bestScore = cand, p, score
	}
	return r, params, pathFound
}

// bind matches template segments against path segments. score counts literal
// segments so the most specific template wins.
func bind(tmpl, segs []string) (map[string]string, int, bool) {
	if len(tmpl) != len(segs) {
		return nil, 0, false
	}
	params := map[string]string{}
	score := 0
	for i, t := range tmpl {
		s := segs[i]
		if strings.HasPrefix(t, "{") {
			end := strings.IndexByte(t, '}')
			name, suffix := t[1:end], t[end+1:]
			if !strings.HasSuffix(s, suffix) || len(s) == len(suffix) {
				return nil, 0, false
			}
			v, err := url.PathUnescape(strings.TrimSuffix(s, suffix))
			if err != nil {
				return nil, 0, false
			}
			params[name] = v
			continue
		}
		if t != s {
			return nil, 0, false
		}
		score++
	}
	return params, score, true
}

// methodNotAllowed is Twilio's answer to a known path with the wrong method.
func methodNotAllowed() *apiError {
	return newAPIError(http.StatusMethodNotAllowed, 20004, "Method not allowed")
}
