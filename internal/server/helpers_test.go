package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/server"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/twilioemu/emutest"
	"github.com/voicedr/voicedr/internal/workbook"
)

// testWB is a flow of the generated account's support- numbers moving
// us1 → ie1 in two cohorts, with people of every standing. POLICY and
// HOOKS are replaced per test.
const testWB = `version: 1
program: t
regions:
  - {region: us1, role: primary}
  - {region: ie1, edge: dublin, role: standby}
flows:
  - name: support
    criticality: critical
    selectors: {friendly_name_prefix: [support-]}
    rto: 15m
    cohorts:
      - {name: canary, order: 1, share: 0.2}
      - {name: rest, order: 2, share: 1}
execution:
  routes_write: [ie1, us1]
  proof: {sample: 1, wait: 20s, interval: 100ms}
  calls_per_second: 50
governance:
  roles:
    - {name: incident_commander}
    - {name: business_owner}
    - {name: sre}
    - {name: viewer}
    - {name: admin}
  people:
    - {name: alice, role: incident_commander}
    - {name: bob, role: business_owner}
    - {name: olga, role: sre}
    - {name: vic, role: viewer}
    - {name: root, role: admin}
  approval: {policy: POLICY, roles: [incident_commander, business_owner]}
HOOKS`

// accepted are the gaps the generator always plants in the standby.
var accepted = []string{"app_missing", "number_standby_handler_mismatch", "trunk_no_disaster_recovery_url", "trunk_missing", "number_standby_unconfigured"}

// people are the workbook's people plus ghost, who holds a token but is
// not in the workbook.
var people = []string{"alice", "bob", "olga", "vic", "root", "ghost"}

func parseWB(t testing.TB, policy, hooksYAML string) *workbook.Workbook {
	t.Helper()
	src := strings.Replace(strings.Replace(testWB, "POLICY", policy, 1), "HOOKS", hooksYAML, 1)
	wb, err := workbook.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return wb
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is an emulated account, a store with a token per person, and the
// log every server of the test writes to.
type env struct {
	acct   *emutest.Account
	dbPath string
	st     *sqlite.Store
	wb     *workbook.Workbook
	tokens map[string]string
	logs   *syncBuffer
	logger *slog.Logger
	// reg holds the pool's voicedr_twilio_* metrics.
	reg *prometheus.Registry
}

func newEnv(t testing.TB, numbers int, wb *workbook.Workbook, pool twilio.Options) *env {
	t.Helper()
	e := &env{wb: wb, tokens: map[string]string{}, logs: &syncBuffer{}, reg: prometheus.NewRegistry()}
	e.logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pool.Registerer, pool.Logger = e.reg, e.logger
	e.acct = emutest.Start(t, numbers, nil, pool, twilioemu.GenerateOptions{StandbyShare: 1})
	e.dbPath = filepath.Join(t.TempDir(), "voicedr.db")
	var err error
	e.st, err = sqlite.Open(context.Background(), e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	for _, p := range people {
		tok, err := governance.IssueToken(context.Background(), e.st, p, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[p] = tok
	}
	return e
}

// secrets are what no response or log line may carry: every token and
// every credential of the emulated account.
func (e *env) secrets() []string {
	var out []string
	for _, t := range e.tokens {
		out = append(out, t)
	}
	for _, c := range e.acct.Emulator.Credentials() {
		out = append(out, c.AuthToken, c.Standard.Secret, c.Main.Secret)
	}
	return out
}

func (e *env) checkNoSecrets(t testing.TB, where, text string) {
	t.Helper()
	for _, s := range e.secrets() {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s carries a secret (%.6s…)", where, s)
		}
	}
}

// readAccount is the server's Snapshot: the account as inventory reads it.
func (e *env) readAccount(ctx context.Context) (*snapshot.Snapshot, error) {
	return inventory.Read(ctx, e.acct.Set, inventory.Options{})
}

// makePlan computes a failover of support from the account as it is now.
func (e *env) makePlan(t testing.TB) *plan.Plan {
	t.Helper()
	s, err := e.readAccount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(plan.Input{Snapshot: s, Workbook: e.wb, Flow: "support", Kind: plan.Failover, Now: time.Now(), Accept: accepted})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Actions()) == 0 {
		t.Fatal("the plan moves nothing")
	}
	return p
}

// running is a started Server behind an httptest server.
type running struct {
	srv    *server.Server
	http   *httptest.Server
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func (e *env) newEngine(p *plan.Plan) *execute.Engine {
	return &execute.Engine{
		Store:   e.st,
		Router:  &execute.TwilioRoutes{Set: e.acct.Set, Order: p.RoutesWrite},
		Signals: execute.TwilioSignals{Env: signals.Env{Set: e.acct.Set, Logger: e.logger}},
		Hooks:   &hooks.Runner{Logger: e.logger},
		Logger:  e.logger,
		// A short TTL: a test that kills a server waits this long at most.
		LeaseTTL: 3 * time.Second,
	}
}

func (e *env) start(t testing.TB, mod func(*server.Options)) *running {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := server.Options{
		Store: e.st, Workbook: e.wb, Set: e.acct.Set, Registerer: reg, Logger: e.logger,
		NewEngine: e.newEngine, Snapshot: e.readAccount,
		ProbeInterval: time.Second, ReadinessInterval: 2 * time.Second,
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, http: httptest.NewServer(srv.Handler()), reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for it (idempotent).
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of its context ending")
	}
	r.http.Close()
}

type resp struct {
	code int
	body []byte
	hdr  http.Header
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// call sends one request with person's token ("" none; a literal token
// when person starts with "tok:").
func (e *env) call(t testing.TB, base, person, method, path string, body any) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(person, "tok:"):
		req.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(person, "tok:"))
	case person != "":
		req.Header.Set("Authorization", "Bearer "+e.tokens[person])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{code: res.StatusCode, body: b, hdr: res.Header}
}

// waitRun polls GET /v1/runs/{id} until the run is in state want.
func (e *env) waitRun(t testing.TB, base, id string, want store.RunState, within time.Duration) server.RunDetail {
	t.Helper()
	deadline := time.Now().Add(within)
	var d server.RunDetail
	for {
		r := e.call(t, base, "vic", "GET", "/v1/runs/"+id, nil)
		if r.code != http.StatusOK {
			t.Fatalf("GET run %s: %d %s", id, r.code, r.body)
		}
		d = server.RunDetail{}
		r.decode(t, &d)
		if d.Run.State == want && d.Status.Run.State == want {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s after %v; want %s (events %+v)", id, d.Run.State, within, want, d.Events)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
