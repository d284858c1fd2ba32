package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/server"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
)

const fakeToken = "vdr_s3cret-token-for-tests"

// fakeAPI is a hand-written stand-in for `voicedr serve`'s /v1 API. It
// answers 401 unless the bearer token is fakeToken and records every
// request it accepted as "METHOD path" with its body.
type fakeAPI struct {
	t        *testing.T
	digest   string // the digest POST /v1/plans answers
	final    string // the state a run reaches after two polls
	applyErr int    // when not 0, POST /v1/plans/{d}/apply answers this with an error
	apprErr  int    // when not 0, POST /v1/approvals answers this

	mu     sync.Mutex
	reqs   []string
	bodies map[string][]byte
	polls  int
	unauth int
}

func newFakeAPI(t *testing.T, final string) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, digest: strings.Repeat("ab", 32), final: final, bodies: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/runs", func(w http.ResponseWriter, _ *http.Request) {
		fakeJSON(w, 200, []store.Run{{ID: "r1", Flow: "support", Kind: "failover", State: store.RunCompleted, PlanDigest: f.digest}})
	})
	mux.HandleFunc("GET /v1/runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch id := r.PathValue("id"); id {
		case "missing":
			fakeJSON(w, 404, map[string]string{"error": "run missing: not found"})
		case "leaky":
			// A misbehaving server echoing the caller's credential.
			fakeJSON(w, 500, map[string]string{"error": "boom, you sent " + r.Header.Get("Authorization")})
		default:
			f.mu.Lock()
			f.polls++
			n := f.polls
			f.mu.Unlock()
			state, step := store.RunRunning, store.StepRouted
			if n > 2 {
				state, step = store.RunState(f.final), store.StepCommitted
			}
			fakeJSON(w, 200, server.RunDetail{
				Run: store.Run{ID: id, Flow: "support", Kind: "failover", State: state, PlanDigest: f.digest},
				Status: execute.Status{Cohorts: []execute.CohortStatus{{
					Name: "canary", Kind: "numbers", Actions: 4, Step: step, Steps: map[store.Step]int{store.StepApplied: min(n, 4)},
				}}},
			})
		}
	})
	mux.HandleFunc("POST /v1/plans", func(w http.ResponseWriter, _ *http.Request) {
		fakeJSON(w, 201, map[string]string{"digest": f.digest})
	})
	mux.HandleFunc("POST /v1/plans/{digest}/apply", func(w http.ResponseWriter, r *http.Request) {
		if f.applyErr != 0 {
			fakeJSON(w, f.applyErr, map[string]string{"error": "plan needs approvals: business_owner missing"})
			return
		}
		fakeJSON(w, 202, map[string]string{"run_id": "r1"})
	})
	mux.HandleFunc("POST /v1/approvals", func(w http.ResponseWriter, _ *http.Request) {
		if f.apprErr != 0 {
			fakeJSON(w, f.apprErr, map[string]string{"error": "Ada may not approve their own request"})
			return
		}
		fakeJSON(w, 201, map[string]any{
			"approval": store.Approval{ID: "a1", PlanDigest: f.digest, Person: "Alan", Role: "incident_commander", Decision: "approve"},
			"status":   governance.Status{Policy: "two_person", Reason: "needs business_owner"},
		})
	})
	for _, verb := range []string{"pause", "resume", "abort", "rollback"} {
		mux.HandleFunc("POST /v1/runs/{id}/"+verb, func(w http.ResponseWriter, _ *http.Request) {
			fakeJSON(w, 202, map[string]string{"state": verb})
		})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+fakeToken {
			f.mu.Lock()
			f.unauth++
			f.mu.Unlock()
			fakeJSON(w, 401, map[string]string{"error": "unauthenticated: unknown or revoked token"})
			return
		}
		b, _ := io.ReadAll(r.Body)
		key := r.Method + " " + r.URL.Path
		f.mu.Lock()
		if n := len(f.reqs); n == 0 || f.reqs[n-1] != key || r.Method != "GET" {
			f.reqs = append(f.reqs, key) // consecutive polls count once
		}
		f.bodies[key] = b
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func fakeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.reqs...)
}

func (f *fakeAPI) body(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.bodies[key])
}

// runCLI runs voicedr with env as its whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	old := remotePollInterval
	remotePollInterval = time.Millisecond
	defer func() { remotePollInterval = old }()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return out.String(), errb.String(), code
}

// writeTestPlan writes a sealed plan file and returns its path and bytes.
func writeTestPlan(t *testing.T) (string, []byte) {
	t.Helper()
	p := &plan.Plan{Format: plan.Format, Kind: "failover", Mode: "graceful", Flow: "support", From: "us1", To: "ie1", Observed: &snapshot.Snapshot{}}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

func tokenEnv(srvURL string) map[string]string {
	return map[string]string{"VOICEDR_SERVER": srvURL, "VOICEDR_TOKEN": fakeToken}
}

func TestRemoteApplyMapsTheRunsEndToExitCodes(t *testing.T) {
	for _, tc := range []struct {
		final string
		code  int
	}{
		{"completed", ExitOK},
		{"paused", ExitNeedsHuman},
		{"aborted", ExitNeedsHuman},
		{"rolled_back", ExitNoGo},
		{"failed", ExitFailed},
	} {
		t.Run(tc.final, func(t *testing.T) {
			f, srv := newFakeAPI(t, tc.final)
			path, body := writeTestPlan(t)
			_, stderr, code := runCLI(t, map[string]string{"VOICEDR_TOKEN": fakeToken}, "apply", path, "--server", srv.URL, "--force")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			want := []string{"POST /v1/plans", "POST /v1/plans/" + f.digest + "/apply", "GET /v1/runs/r1"}
			if diff := cmp.Diff(want, f.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if got := f.body("POST /v1/plans"); got != string(body) {
				t.Errorf("uploaded plan %q, want the file's bytes %q", got, body)
			}
			if got, want := strings.TrimSpace(f.body("POST /v1/plans/"+f.digest+"/apply")), `{"force":true}`; got != want {
				t.Errorf("apply body %s, want %s", got, want)
			}
			for _, line := range []string{"cohort canary", "moved 1/4", "moved 2/4", "committed"} {
				if !strings.Contains(stderr, line) {
					t.Errorf("progress lacks %q:\n%s", line, stderr)
				}
			}
			f.mu.Lock()
			polls := f.polls
			f.mu.Unlock()
			if polls != 3 {
				t.Errorf("polled %d times, want 3 (until the run left running)", polls)
			}
		})
	}
}

func TestRemoteApplyJSONPrintsTheFinalStatus(t *testing.T) {
	_, srv := newFakeAPI(t, "completed")
	path, _ := writeTestPlan(t)
	stdout, stderr, code := runCLI(t, tokenEnv(srv.URL), "apply", path, "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var st execute.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("stdout is not one status: %v\n%s", err, stdout)
	}
	if got, want := st.Run.State, store.RunCompleted; got != want {
		t.Errorf("state %s, want %s", got, want)
	}
}

func TestRemoteExitCodesAndMessages(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	path, _ := writeTestPlan(t)
	for _, tc := range []struct {
		name     string
		token    string
		setup    func(f *fakeAPI)
		args     []string
		code     int
		contains string
	}{
		{name: "bad token 401 is refused", token: "wrong", args: []string{"run", "list"}, code: ExitRefused, contains: "refused the token: unauthenticated: unknown or revoked token"},
		{name: "approve 403 is refused", setup: func(f *fakeAPI) { f.apprErr = 403 }, args: []string{"approve", strings.Repeat("ab", 32)}, code: ExitRefused, contains: "may not approve their own request"},
		{name: "apply 409 is refused", setup: func(f *fakeAPI) { f.applyErr = 409 }, args: []string{"apply", path}, code: ExitRefused, contains: "business_owner missing"},
		{name: "unknown run 404 is bad input", args: []string{"run", "status", "missing"}, code: ExitUsage, contains: "run missing: not found"},
		{name: "server error 500 fails", args: []string{"run", "status", "leaky"}, code: ExitFailed, contains: "HTTP 500"},
		{name: "no token", token: "-", args: []string{"run", "list"}, code: ExitUsage, contains: "VOICEDR_TOKEN"},
		{name: "--as refused", args: []string{"approve", strings.Repeat("ab", 32), "--as", "Ada"}, code: ExitUsage, contains: "--as is not used with --server"},
		{name: "apply --as refused", args: []string{"apply", path, "--as", "Ada"}, code: ExitUsage, contains: "--as is not used with --server"},
		{name: "no --token flag", args: []string{"run", "list", "--token", fakeToken}, code: ExitUsage, contains: "unknown flag"},
		{name: "unreachable", args: []string{"run", "list", "--server", closedURL}, code: ExitFailed, contains: "cannot reach the voicedr server at " + closedURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFakeAPI(t, "completed")
			if tc.setup != nil {
				tc.setup(f)
			}
			env := tokenEnv(srv.URL)
			switch tc.token {
			case "":
			case "-":
				delete(env, "VOICEDR_TOKEN")
			default:
				env["VOICEDR_TOKEN"] = tc.token
			}
			stdout, stderr, code := runCLI(t, env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.contains) {
				t.Errorf("stderr lacks %q:\n%s", tc.contains, stderr)
			}
			if out := stdout + stderr; strings.Contains(out, fakeToken) {
				t.Errorf("the token shows in the output:\n%s", out)
			}
		})
	}
}

// TestRemoteTokenNeverShown drives every remote command, including a
// server that echoes the token back and one that cannot be reached, and
// requires the token in no output, while the fake saw it in every request.
func TestRemoteTokenNeverShown(t *testing.T) {
	f, srv := newFakeAPI(t, "rolled_back")
	path, _ := writeTestPlan(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	var all strings.Builder
	for _, args := range [][]string{
		{"run", "list"}, {"run", "list", "--json"}, {"run", "status", "r1"}, {"run", "status", "leaky"},
		{"run", "pause", "r1"}, {"run", "abort", "r1"}, {"run", "resume", "r1"}, {"run", "rollback", "r1"},
		{"approve", path}, {"approve", "r1", "--json"}, {"apply", path}, {"apply", path, "--json"},
		{"run", "list", "--server", closed.URL},
		{"run", "list", "--server", "http://user:" + fakeToken + "@127.0.0.1:1"},
		{"run", "status", "leaky", "--log-level", "debug"},
	} {
		stdout, stderr, _ := runCLI(t, tokenEnv(srv.URL), args...)
		all.WriteString(stdout + stderr)
	}
	if strings.Contains(all.String(), fakeToken) {
		t.Errorf("the token shows in the output:\n%s", all.String())
	}
	if !strings.Contains(all.String(), "[token redacted]") {
		t.Errorf("the echoing server's message was not redacted:\n%s", all.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unauth != 0 {
		t.Errorf("%d requests came without the bearer token", f.unauth)
	}
}

func TestRemoteTokenFileAndServerSelection(t *testing.T) {
	f, srv := newFakeAPI(t, "completed")
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(fakeToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file wins over a wrong VOICEDR_TOKEN.
	env := map[string]string{"VOICEDR_SERVER": srv.URL, "VOICEDR_TOKEN": "wrong"}
	if _, stderr, code := runCLI(t, env, "run", "list", "--token-file", tokFile); code != 0 {
		t.Fatalf("--token-file: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := runCLI(t, env, "run", "list", "--token-file", filepath.Join(dir, "absent")); code != ExitUsage || !strings.Contains(stderr, "--token-file") {
		t.Errorf("absent --token-file: exit %d, want 2\n%s", code, stderr)
	}
	// --server= forces local mode even with VOICEDR_SERVER set.
	before := len(f.requests())
	db := filepath.Join(dir, "local.db")
	if _, stderr, code := runCLI(t, tokenEnv(srv.URL), "run", "list", "--server=", "--db", db); code != 0 {
		t.Fatalf("local run list: exit %d\n%s", code, stderr)
	}
	if got := len(f.requests()); got != before {
		t.Errorf("--server= still asked the server (%d requests)", got-before)
	}
	if _, stderr, code := runCLI(t, map[string]string{"VOICEDR_TOKEN": fakeToken}, "run", "list", "--server", "ftp://x"); code != ExitUsage {
		t.Errorf("ftp server URL: exit %d, want 2\n%s", code, stderr)
	}
}

func TestRemoteRunCommandsAndApprovals(t *testing.T) {
	f, srv := newFakeAPI(t, "completed")
	digest := f.digest
	env := tokenEnv(srv.URL)
	for _, tc := range []struct {
		args     []string
		req      string // the last request the command made
		body     string // its body, when not ""
		contains string // in stdout
	}{
		{[]string{"run", "list"}, "GET /v1/runs", "", "r1"},
		{[]string{"run", "pause", "r1"}, "POST /v1/runs/r1/pause", `{}`, "pause asked"},
		{[]string{"run", "abort", "r1"}, "POST /v1/runs/r1/abort", `{}`, "abort asked"},
		{[]string{"run", "rollback", "r1", "--cohort", "canary"}, "POST /v1/runs/r1/rollback", `{"cohort":"canary"}`, "rollback asked"},
		{[]string{"run", "resume", "r1", "--force"}, "GET /v1/runs/r1", "", "completed"},
		{[]string{"approve", digest, "--reason", "ok"}, "POST /v1/approvals", `{"decision":"approve","digest":"` + digest + `","reason":"ok"}`, "Recorded approve by Alan"},
		{[]string{"approve", digest, "--reject"}, "POST /v1/approvals", `{"decision":"reject","digest":"` + digest + `","reason":""}`, "not yet"},
		{[]string{"approve", digest, "--break-glass", "us1 down", "--reason", "CEO said"}, "POST /v1/approvals", `{"decision":"break_glass","digest":"` + digest + `","reason":"us1 down CEO said"}`, "Recorded"},
		{[]string{"approve", "r1"}, "POST /v1/approvals", `{"decision":"approve","digest":"` + digest + `","reason":""}`, "Recorded"},
	} {
		stdout, stderr, code := runCLI(t, env, tc.args...)
		if code != 0 {
			t.Errorf("%v: exit %d\n%s", tc.args, code, stderr)
			continue
		}
		reqs := f.requests()
		if got := reqs[len(reqs)-1]; got != tc.req {
			t.Errorf("%v: last request %q, want %q", tc.args, got, tc.req)
		}
		if tc.body != "" {
			if got := strings.TrimSpace(f.body(tc.req)); got != tc.body {
				t.Errorf("%v: body %s, want %s", tc.args, got, tc.body)
			}
		}
		if !strings.Contains(stdout, tc.contains) {
			t.Errorf("%v: stdout lacks %q:\n%s", tc.args, tc.contains, stdout)
		}
	}
	if got := f.requests(); !slices.Contains(got, "POST /v1/runs/r1/resume") {
		t.Errorf("resume never POSTed: %v", got)
	}
	if _, stderr, code := runCLI(t, env, "approve", digest, "--reject", "--break-glass", "x"); code != ExitUsage {
		t.Errorf("--reject with --break-glass: exit %d, want 2\n%s", code, stderr)
	}
}
