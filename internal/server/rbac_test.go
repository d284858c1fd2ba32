package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/server"
)

// concrete fills a route's path parameters with values that exist nowhere.
func concrete(path string) string {
	path = strings.ReplaceAll(path, "{id}", "no-such-id")
	return strings.ReplaceAll(path, "{digest}", strings.Repeat("0", 64))
}

// TestRBAC: every route that needs a role refuses no token, a malformed
// token, an unknown and a revoked token (401), and a token whose person
// lacks the role (403, for each person of each standing), and lets the
// right people through. Every response body and header, and the whole
// log, is scanned for tokens and the account's credentials.
func TestRBAC(t *testing.T) {
	wb := parseWB(t, "one_of", "")
	e := newEnv(t, 30, wb, twilioOpts())
	// This server shares the pool's registry: /metrics shows both.
	srv := e.start(t, func(o *server.Options) { o.Registerer = e.reg })
	pol, err := governance.NewPolicy(wb)
	if err != nil {
		t.Fatal(err)
	}
	unknown := "vdr_" + strings.Repeat("A", 43)
	var seen []resp
	check := func(r resp, what string) resp {
		seen = append(seen, r)
		e.checkNoSecrets(t, what+" body", string(r.body))
		e.checkNoSecrets(t, what+" headers", fmt.Sprint(r.hdr))
		return r
	}
	// Let the first probe and readiness land, so /metrics, /v1/regions and
	// /v1/flows answer with content worth scanning.
	waitFor(t, "first probe", 20*time.Second, func() bool {
		return e.call(t, srv.http.URL, "", "GET", "/readyz", nil).code == http.StatusOK
	})
	waitFor(t, "first readiness", 20*time.Second, func() bool {
		return len(e.call(t, srv.http.URL, "vic", "GET", "/v1/flows", nil).body) > 3
	})

	routes := server.Routes()
	described := 0
	for _, rt := range routes {
		path := concrete(rt.Path)
		name := rt.Method + " " + rt.Path
		var body any
		if rt.Method == "POST" {
			body = "{}"
		}
		if rt.Action == "" {
			r := check(e.call(t, srv.http.URL, "", rt.Method, path, body), name)
			if r.code != http.StatusOK {
				t.Errorf("%s without a token: %d %s; want 200 (no auth)", name, r.code, r.body)
			}
			continue
		}
		if strings.HasPrefix(rt.Path, "/v1/") {
			described++
		}
		for _, bad := range []struct{ who, label string }{{"", "no token"}, {"tok:nope", "not a voicedr token"}, {"tok:" + unknown, "unknown token"}} {
			r := check(e.call(t, srv.http.URL, bad.who, rt.Method, path, body), name+" "+bad.label)
			if r.code != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d %s; want 401", name, bad.label, r.code, r.body)
			}
			if !strings.Contains(string(r.body), `"error"`) {
				t.Errorf("%s with %s: body %s has no error", name, bad.label, r.body)
			}
		}
		for _, p := range people {
			r := check(e.call(t, srv.http.URL, p, rt.Method, path, body), name+" as "+p)
			allowed := server.Allowed(pol, p, rt.Action)
			switch {
			case allowed && (r.code == http.StatusUnauthorized || r.code == http.StatusForbidden):
				t.Errorf("%s as %s (%s may %s): %d %s; want it let through", name, p, pol.Standing(p), rt.Action, r.code, r.body)
			case !allowed && r.code != http.StatusForbidden:
				t.Errorf("%s as %s (%q may not %s): %d %s; want 403", name, p, pol.Standing(p), rt.Action, r.code, r.body)
			}
		}
	}
	if described < 15 {
		t.Errorf("only %d /v1 routes need a role; want every /v1 route", described)
	}
	// A revoked token stops at once.
	if err := governance.RevokeToken(t.Context(), e.st, e.tokens["vic"]); err != nil {
		t.Fatal(err)
	}
	if r := check(e.call(t, srv.http.URL, "vic", "GET", "/v1/me", nil), "revoked"); r.code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d %s; want 401", r.code, r.body)
	}
	// What the allowed calls said.
	var me struct {
		Person, Role, Standing string
		Can                    map[string]bool
	}
	check(e.call(t, srv.http.URL, "alice", "GET", "/v1/me", nil), "me").decode(t, &me)
	if me.Person != "alice" || me.Role != "incident_commander" || me.Standing != "approver" || !me.Can["approve"] || me.Can["admin"] {
		t.Errorf("/v1/me as alice: %+v", me)
	}
	var regions []server.RegionView
	check(e.call(t, srv.http.URL, "olga", "GET", "/v1/regions", nil), "regions").decode(t, &regions)
	if len(regions) != 3 {
		t.Errorf("regions: %+v; want us1, ie1, au1", regions)
	}
	for _, r := range regions {
		if r.Status != "up" || r.CheckedAt.IsZero() {
			t.Errorf("region %+v; want up with a time", r)
		}
	}
	var flows []server.FlowView
	check(e.call(t, srv.http.URL, "olga", "GET", "/v1/flows", nil), "flows").decode(t, &flows)
	if len(flows) != 1 || flows[0].Flow != "support" || flows[0].Primary != "us1" || flows[0].Standby != "ie1" || flows[0].Numbers == 0 {
		t.Errorf("flows: %+v", flows)
	}
	m := check(e.call(t, srv.http.URL, "root", "GET", "/metrics", nil), "metrics")
	for _, want := range []string{`voicedr_region_up{region="us1"} 1`, `voicedr_readiness_gaps{flow="support",severity="error"}`, "voicedr_decisions_open 0", "voicedr_twilio_"} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if r := check(e.call(t, srv.http.URL, "", "GET", "/healthz", nil), "healthz"); r.code != 200 || !strings.Contains(string(r.body), `"ok"`) {
		t.Errorf("healthz: %d %s", r.code, r.body)
	}
	if r := check(e.call(t, srv.http.URL, "olga", "GET", "/v1/nowhere", nil), "unknown"); r.code != http.StatusNotFound {
		t.Errorf("unknown API route: %d; want 404", r.code)
	}
	if r := check(e.call(t, srv.http.URL, "", "GET", "/", nil), "ui"); r.code != http.StatusNotFound {
		t.Errorf("/ without a UI: %d; want 404", r.code)
	}
	srv.stop(t)
	e.checkNoSecrets(t, "the server log", e.logs.String())
	if !strings.Contains(e.logs.String(), "path=/v1/me") {
		t.Errorf("the request log has no line for /v1/me; the scan proves nothing")
	}
	t.Logf("%d responses and %d bytes of log scanned for %d secrets", len(seen), len(e.logs.String()), len(e.secrets()))
}
