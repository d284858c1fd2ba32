//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOutageDecisionApprovalsRun is the decision runbook end to end, through
// `voicedr serve`: us1 voice fails (calls die at the edge, so no failed call
// is logged anywhere); the volume trigger fires and opens a decision; the
// notification reaches a local receiver with the audit head; the steps are
// recorded by their owners; two approvers approve (the requester's own
// approval and an approval of another digest do not count); the run
// executes; the audit chain verifies.
func TestOutageDecisionApprovalsRun(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 300)
	var mu sync.Mutex
	var received []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		received = append(received, m)
		mu.Unlock()
	}))
	defer hook.Close()
	wb := w.writeWorkbook(t, workbookOpts{
		Signals: "\n  - {name: us1-rate, source: calls, region: us1, window: 3s, params: {measure: per_minute}}",
		Extra: governanceYAML + `
notifications:
  - {name: ops, type: webhook, url: env:OPS_HOOK_URL}
triggers:
  - {name: us1-calls-stopped, signal: us1-rate, condition: {op: "<", value: 1, unit: per_minute}, for: 2s, flow: support}
`})
	if out, stderr, code := w.voicedr(t, "evidence", "keys", "--generate", "--dir", w.dir); code != 0 {
		t.Fatalf("evidence keys: exit %d\n%s\n%s", code, out, stderr)
	}
	key := filepath.Join(w.dir, "voicedr-signing.key")
	tokens := map[string]string{}
	for _, p := range []string{"Ada", "Alan", "Grace"} {
		out, stderr, code := w.voicedr(t, "token", "create", "--person", p, "--workbook", wb, "--db", w.db, "--json")
		var tok struct {
			Token string `json:"token"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &tok) != nil || tok.Token == "" {
			t.Fatalf("token create %s: exit %d\n%s\n%s", p, code, out, stderr)
		}
		tokens[p] = tok.Token
	}
	// Live traffic first, so the trigger sees calls before the outage.
	w.operatorSend(t, http.MethodPut, "traffic", `{"version":1,"calls_per_second":30,"numbers":{"prefix":"support-"},"for":"3m"}`)
	t.Cleanup(func() { w.operatorSend(t, http.MethodDelete, "traffic", "") })

	addr := freeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, bin, "serve", "--listen", addr, "--workbook", wb, "--db", w.db, "--signing-key", key,
		"--trigger-interval", "1s", "--probe-interval", "1s", "--readiness-interval", "30s", "--rate", "1000", "--log-format", "json")
	srv.Env = append(append([]string{}, w.env...), "OPS_HOOK_URL="+hook.URL+"/ops")
	srv.Cancel = func() error { return srv.Process.Signal(os.Interrupt) }
	var logs bytes.Buffer
	srv.Stderr = &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = srv.Wait()
		for _, tok := range tokens {
			if strings.Contains(logs.String(), tok) {
				t.Errorf("the server's log carries a token")
			}
		}
	})
	api := func(method, path, who string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		if who != "" {
			req.Header.Set("Authorization", "Bearer "+tokens[who])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	waitFor := func(what string, limit time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened within %s\nserver log:\n%s", what, limit, tail(logs.String(), 4000))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	waitFor("the server ready", 60*time.Second, func() bool { code, _ := api("GET", "/readyz", "", nil); return code == 200 })
	time.Sleep(4 * time.Second) // calls land in us1: the trigger holds no trouble
	if code, b := api("GET", "/v1/decisions", "Ada", nil); code != 200 || strings.Contains(string(b), `"id"`) {
		t.Fatalf("a decision is open while us1 answers: %d %s", code, b)
	}

	w.operatorSend(t, http.MethodPut, "faults", `{"version":1,"regions":[{"region":"us1","product":"voice","down":"503"}]}`)
	var decisions []struct {
		ID, State, Trigger string
	}
	waitFor("a decision opened by the trigger", 60*time.Second, func() bool {
		_, b := api("GET", "/v1/decisions", "Ada", nil)
		return json.Unmarshal(b, &decisions) == nil && len(decisions) == 1
	})
	d := decisions[0]
	if d.Trigger != "us1-calls-stopped" || d.State != "detection" {
		t.Errorf("decision %+v; want opened by us1-calls-stopped at detection", d)
	}
	waitFor("the notification", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range received {
			if m["event"] == "decision.opened" && m["decision_id"] == d.ID {
				return true
			}
		}
		return false
	})
	for _, st := range []struct{ step, who string }{{"technical_assessment", "Ada"}, {"business_impact", "Grace"}} {
		if code, b := api("POST", "/v1/decisions/"+d.ID+"/steps", st.who, map[string]string{"step": st.step, "note": "e2e"}); code != 200 {
			t.Fatalf("step %s by %s: %d %s", st.step, st.who, code, b)
		}
	}
	if code, b := api("POST", "/v1/decisions/"+d.ID+"/steps", "Ada", map[string]string{"step": "closed"}); code != 409 {
		t.Errorf("closing before approval and execution: %d %s; want 409", code, b)
	}

	// Two plans: approvals of B must not count for A.
	digests := map[string]string{}
	for _, name := range []string{"a", "b"} {
		path := filepath.Join(w.dir, name+".json")
		if out, stderr, code := w.voicedr(t, "plan", "failover", "--flow", "support", "--workbook", wb, "--db", w.db, "-o", path, "--rate", "1000"); code != 0 {
			t.Fatalf("plan: exit %d\n%s\n%s", code, out, stderr)
		}
		body, _ := os.ReadFile(path)
		req, _ := http.NewRequest("POST", base+"/v1/plans", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens["Ada"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Digest string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 201 || out.Digest == "" {
			t.Fatalf("POST /v1/plans: %d", resp.StatusCode)
		}
		digests[name] = out.Digest
	}
	apply := func() (int, []byte) {
		return api("POST", "/v1/plans/"+digests["a"]+"/apply", "Ada", map[string]bool{"force": false})
	}
	if code, b := apply(); code != 409 {
		t.Fatalf("apply without approvals: %d %s; want 409", code, b)
	}
	approve := func(who, digest string) (int, []byte) {
		return api("POST", "/v1/approvals", who, map[string]string{"digest": digest, "decision": "approve"})
	}
	if code, b := approve("Ada", digests["a"]); code != 403 || !strings.Contains(string(b), "own request") {
		t.Errorf("the requester approving: %d %s; want 403", code, b)
	}
	if code, b := approve("Grace", digests["b"]); code != 201 {
		t.Fatalf("approve plan b: %d %s", code, b)
	}
	if code, b := approve("Alan", digests["a"]); code != 201 {
		t.Fatalf("approve as Alan: %d %s", code, b)
	}
	if code, b := apply(); code != 409 || !strings.Contains(string(b), "business_owner") {
		t.Fatalf("apply with the business owner's approval on another digest: %d %s; want 409 naming business_owner", code, b)
	}
	if code, b := approve("Grace", digests["a"]); code != 201 {
		t.Fatalf("approve as Grace: %d %s", code, b)
	}
	code, b := apply()
	var started struct {
		RunID string `json:"run_id"`
	}
	if code != 202 || json.Unmarshal(b, &started) != nil || started.RunID == "" {
		t.Fatalf("apply with both approvals: %d %s", code, b)
	}
	waitFor("the run completed", 3*time.Minute, func() bool {
		_, b := api("GET", "/v1/runs/"+started.RunID, "Ada", nil)
		var r struct {
			Run struct{ State string } `json:"run"`
		}
		if json.Unmarshal(b, &r) == nil && r.Run.State != "running" && r.Run.State != "planned" && r.Run.State != "completed" {
			t.Fatalf("run ended %s: %s", r.Run.State, b)
		}
		return r.Run.State == "completed"
	})
	for _, st := range []struct{ step, who string }{{"approval", "Grace"}, {"execution", "Ada"}, {"closed", "Ada"}} {
		if code, b := api("POST", "/v1/decisions/"+d.ID+"/steps", st.who, map[string]string{"step": st.step, "note": "run " + started.RunID}); code != 200 {
			t.Fatalf("step %s by %s: %d %s", st.step, st.who, code, b)
		}
	}
	code, b = api("GET", "/v1/audit/verify", "Grace", nil)
	if code != 200 || !strings.Contains(strings.ReplaceAll(string(b), " ", ""), `"ok":true`) {
		t.Fatalf("audit verify: %d %s", code, b)
	}
	_, b = api("GET", "/v1/audit?limit=1000", "Grace", nil)
	for _, kind := range []string{"decision.opened", "decision.business_impact", "approval.approve", "run.started", "run.finished", "decision.closed"} {
		if !strings.Contains(string(b), `"`+kind+`"`) {
			t.Errorf("the audit log has no %s entry", kind)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	headed := false
	for _, m := range received {
		if _, ok := m["audit_head"]; ok {
			headed = true
		}
	}
	if !headed {
		t.Errorf("no notification carried the audit head: %v", received)
	}
}
