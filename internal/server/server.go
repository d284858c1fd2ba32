// Package server is voicedr's daemon: the HTTP API under /v1 (JSON, with
// its own OpenAPI description), health and readiness endpoints, Prometheus
// metrics, and the dashboard mounted at /. Every /v1 call and /metrics
// authenticates a person by their API token and checks the workbook's RBAC
// table; no token, and no Twilio credential, ever appears in a response or
// a log line.
//
// Runs execute inside the server, each in a goroutine the Server owns: a
// run the store shows as running when the server starts (the previous
// process died or was stopped mid-run) is resumed from its ledger. Region
// probes and readiness checks of every flow run on a schedule, and the API
// and metrics serve their latest results, so a dashboard polling them costs
// the account nothing.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/workbook"
)

// AuditLog appends to the tamper-evident audit log (audit.Log): the server
// records plan uploads, apply requests, run controls and approvals.
type AuditLog interface {
	Append(ctx context.Context, kind, actor, subject string, body any) (store.AuditRecord, error)
}

// Auditor verifies the audit chain (package audit) for GET /v1/audit/verify;
// the report is served as it marshals.
type Auditor interface {
	Verify(ctx context.Context) (any, error)
}

// Decisions counts the decisions still open (package decision), for the
// voicedr_decisions_open gauge. Without one, the server counts the store's
// decisions whose state is not a closed one (see closedDecision).
type Decisions interface {
	Open(ctx context.Context) (int, error)
}

// DecisionSteps records a decision's next step as a person (package
// decision's Watcher), for POST /v1/decisions/{id}/steps; its errors wrap
// ErrStepForbidden, ErrStepOrder or store.ErrNotFound.
type DecisionSteps interface {
	Advance(ctx context.Context, id, step, actor, note string, data any) (store.Decision, error)
}

// Errors a DecisionSteps wraps, mapped to 403 and 409.
var (
	ErrStepForbidden = errors.New("step forbidden")
	ErrStepOrder     = errors.New("step out of order")
)

// Options are what a Server is built from. Store, Workbook, Set, NewEngine
// and Snapshot are required.
type Options struct {
	Store    store.Store
	Workbook *workbook.Workbook
	Set      *twilio.Set
	// NewEngine builds an engine for a plan as the CLI does (router over
	// the plan's routes_write, signals, hooks, the store). The server sets
	// its Approver and OnEvent.
	NewEngine func(p *plan.Plan) *execute.Engine
	// Registerer receives the server's collectors; when it is also a
	// prometheus.Gatherer (a *prometheus.Registry), /metrics serves it, so
	// the voicedr_twilio_* metrics of a pool registered on it show too.
	// nil: a new registry.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// UI serves / and every path the API does not (nil: 404).
	UI http.Handler
	// ProbeInterval (default 30s) and ReadinessInterval (default 5m) pace
	// the region probe and the readiness checks of every flow.
	ProbeInterval, ReadinessInterval time.Duration
	Now                              func() time.Time
	// Snapshot reads the account now: for the drift check before an apply
	// and for the readiness checks.
	Snapshot func(ctx context.Context) (*snapshot.Snapshot, error)
	// Audit, Auditor and Decisions are optional (nil-able).
	Audit     AuditLog
	Auditor   Auditor
	Decisions Decisions
	Steps     DecisionSteps
	// ProbeOptions tune the region probe.
	ProbeOptions twilio.ProbeOptions
	// StatusTTL is how stale a run's status may be when served (default
	// 1s): a status reads the whole ledger, so many dashboards polling one
	// run share one read a second.
	StatusTTL time.Duration
}

// Server is the voicedr daemon.
type Server struct {
	opts     Options
	st       store.Store
	wb       *workbook.Workbook
	policy   *governance.Policy
	log      *slog.Logger
	now      func() time.Time
	gatherer prometheus.Gatherer
	handler  http.Handler

	// runCtx is every run's context: cancelled when Run's ctx ends, after
	// which Run waits for every goroutine it owns.
	runCtx    context.Context
	runCancel context.CancelFunc
	running   atomic.Bool
	// wg counts every goroutine the server starts outside Run's loops (runs,
	// rollbacks, status refreshes); closed refuses new ones once Run is
	// stopping, so Wait never races an Add.
	wgMu   sync.Mutex
	wg     sync.WaitGroup
	closed bool

	mu      sync.Mutex
	runs    map[string]*runView // by run ID
	active  map[string]string   // plan digest → run ID executing in this server ("" while starting)
	plans   map[string]*plan.Plan
	regions []RegionView
	flows   []FlowView
	// closeMu serialises action item closings (see closeAction).
	closeMu sync.Mutex
	probed  atomic.Bool
}

// New builds a Server; Run starts its loops and Handler serves it.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("server: a store is required")
	case opts.Workbook == nil:
		return nil, errors.New("server: a workbook is required")
	case opts.Set == nil:
		return nil, errors.New("server: a Twilio client set is required")
	case opts.NewEngine == nil:
		return nil, errors.New("server: NewEngine is required")
	case opts.Snapshot == nil:
		return nil, errors.New("server: Snapshot is required")
	}
	pol, err := governance.NewPolicy(opts.Workbook)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = 30 * time.Second
	}
	if opts.ReadinessInterval <= 0 {
		opts.ReadinessInterval = 5 * time.Minute
	}
	if opts.StatusTTL <= 0 {
		opts.StatusTTL = time.Second
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	s := &Server{
		opts: opts, st: opts.Store, wb: opts.Workbook, policy: pol, log: opts.Logger, now: opts.Now,
		runs: map[string]*runView{}, active: map[string]string{}, plans: map[string]*plan.Plan{},
		regions: []RegionView{}, flows: []FlowView{},
	}
	s.runCtx, s.runCancel = context.WithCancel(context.Background())
	if g, ok := opts.Registerer.(prometheus.Gatherer); ok {
		s.gatherer = g
	} else {
		s.gatherer = prometheus.DefaultGatherer
	}
	if err := opts.Registerer.Register(&collector{s: s}); err != nil {
		return nil, fmt.Errorf("server: register metrics: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler: the API, health, metrics and UI.
func (s *Server) Handler() http.Handler { return s.handler }

// Run probes regions and checks readiness on their schedules, resumes
// every run the store shows as running, and returns when ctx ends, after
// every loop and run goroutine has stopped. A run interrupted so is left
// running in the store, and the next Run resumes it. Run may be called
// once.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("server: Run called twice")
	}
	defer s.runCancel()
	var wg sync.WaitGroup
	wg.Go(func() { s.loop(ctx, s.opts.ProbeInterval, s.probe) })
	wg.Go(func() { s.loop(ctx, s.opts.ReadinessInterval, s.checkReadiness) })
	s.resumeRunning(ctx)
	<-ctx.Done()
	s.runCancel()
	s.wgMu.Lock()
	s.closed = true
	s.wgMu.Unlock()
	wg.Wait()
	s.wg.Wait()
	s.log.Info("server stopped: every run goroutine has returned")
	return nil
}

// spawn runs f in a goroutine Run waits for; false once Run is stopping.
func (s *Server) spawn(f func()) bool {
	s.wgMu.Lock()
	defer s.wgMu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Go(f)
	return true
}

// loop calls f now and then every interval until ctx ends.
func (s *Server) loop(ctx context.Context, every time.Duration, f func(context.Context)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		f(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Route is one API route and the RBAC action it needs ("" for none;
// "a|b" for any of several, see Allowed).
type Route struct {
	Method, Path, Action string
}

type route struct {
	Route
	h func(w http.ResponseWriter, r *http.Request, person string)
}

func (s *Server) table() []route {
	v, a, ap := governance.ActionView, governance.ActionApply, governance.ActionApprove
	return []route{
		{Route{"GET", "/healthz", ""}, s.healthz},
		{Route{"GET", "/readyz", ""}, s.readyz},
		{Route{"GET", "/metrics", v}, s.metrics},
		{Route{"GET", "/v1/openapi.json", v}, s.openapi},
		{Route{"GET", "/v1/me", v}, s.me},
		{Route{"GET", "/v1/regions", v}, s.getRegions},
		{Route{"GET", "/v1/flows", v}, s.getFlows},
		{Route{"GET", "/v1/runs", v}, s.listRuns},
		{Route{"GET", "/v1/runs/{id}", v}, s.getRun},
		{Route{"POST", "/v1/plans", a}, s.postPlan},
		{Route{"POST", "/v1/plans/{digest}/apply", a}, s.applyPlan},
		{Route{"POST", "/v1/runs/{id}/pause", a}, s.control("pause")},
		{Route{"POST", "/v1/runs/{id}/resume", a}, s.control("resume")},
		{Route{"POST", "/v1/runs/{id}/abort", a}, s.control("abort")},
		{Route{"POST", "/v1/runs/{id}/rollback", a}, s.control("rollback")},
		{Route{"GET", "/v1/approvals", v}, s.listApprovals},
		{Route{"POST", "/v1/approvals", ap}, s.postApproval},
		{Route{"GET", "/v1/decisions", v}, s.listDecisions},
		{Route{"GET", "/v1/decisions/{id}", v}, s.getDecision},
		{Route{"POST", "/v1/decisions/{id}/steps", a}, s.advanceDecision},
		{Route{"GET", "/v1/drills", v}, s.listDrills},
		{Route{"GET", "/v1/drills/{id}", v}, s.getDrill},
		{Route{"GET", "/v1/drills/{id}/report.html", v}, s.getDrillReport},
		{Route{"GET", "/v1/actions", v}, s.listActions},
		{Route{"POST", "/v1/actions/{id}/close", a + "|" + governance.ActionAdmin}, s.closeAction},
		{Route{"GET", "/v1/audit", v}, s.listAudit},
		{Route{"GET", "/v1/audit/verify", v}, s.verifyAudit},
	}
}

// Routes lists every route the server registers, with its RBAC action
// (empty: no authentication), for the OpenAPI and RBAC tests.
func Routes() []Route {
	var out []Route
	for _, r := range (&Server{}).table() {
		out = append(out, r.Route)
	}
	return out
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.table() {
		mux.Handle(rt.Method+" "+rt.Path, s.guard(rt))
	}
	// Unknown API paths answer JSON, not the dashboard.
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: see /v1/openapi.json")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.UI == nil {
			http.NotFound(w, r)
			return
		}
		s.opts.UI.ServeHTTP(w, r)
	})
	return s.logRequests(mux)
}

type ctxKey struct{}

// guard authenticates and authorises a route's caller.
func (s *Server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Action == "" {
			rt.h(w, r, "")
			return
		}
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(tok) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="voicedr"`)
			writeError(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token> (voicedr token create --person NAME)")
			return
		}
		person, err := governance.Authenticate(r.Context(), s.st, strings.TrimSpace(tok))
		if err != nil {
			if errors.Is(err, governance.ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="voicedr", error="invalid_token"`)
				// Authenticate's errors never carry the token.
				writeError(w, http.StatusUnauthorized, err.Error())
				return
			}
			s.log.Error("authenticate", "err", err)
			writeError(w, http.StatusServiceUnavailable, "cannot check the token now: the store does not answer")
			return
		}
		if p, ok := r.Context().Value(ctxKey{}).(*string); ok {
			*p = person // for the request log
		}
		if !Allowed(s.policy, person, rt.Action) {
			standing := s.policy.Standing(person)
			if standing == "" {
				writeError(w, http.StatusForbidden, fmt.Sprintf("%s is not a person of the workbook (governance.people), so may do nothing", person))
				return
			}
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s (%s) may not %s: ask a person whose role allows it", person, standing, rt.Action))
			return
		}
		rt.h(w, r, person)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logRequests logs one line per API request: method, path (never the
// query or a header, so no token can reach the log), status, person and
// duration; and turns a panic into a 500.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		var person string
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, &person))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				if sw.code == 0 {
					writeError(sw, http.StatusInternalServerError, "internal error")
				}
			}
			lvl := slog.LevelDebug
			if sw.code >= 500 {
				lvl = slog.LevelWarn
			}
			if r.Method != http.MethodGet && sw.code < 500 {
				lvl = slog.LevelInfo
			}
			s.log.Log(r.Context(), lvl, "http", "method", r.Method, "path", r.URL.Path, "status", sw.code,
				"person", person, "ms", float64(time.Since(start).Microseconds())/1000)
		}()
		next.ServeHTTP(sw, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// decodeBody reads a JSON body of at most limit bytes into v; an empty
// body leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, errEOF) {
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ string) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.st.ListRuns(ctx, 1); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "the store does not answer"})
		return
	}
	if !s.probed.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "the first region probe has not finished"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ string) {
	promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}).ServeHTTP(w, r)
}

// me tells the caller who the token says they are and what they may do.
func (s *Server) me(w http.ResponseWriter, _ *http.Request, person string) {
	role, _ := s.policy.RoleOf(person)
	can := map[string]bool{}
	for _, a := range []string{governance.ActionView, governance.ActionApply, governance.ActionApprove, governance.ActionAdmin} {
		can[a] = governance.Can(s.policy, person, a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"person": person, "role": role, "standing": s.policy.Standing(person), "can": can})
}

// audit appends to the audit log when one is configured; a failure is
// logged, not returned: the action itself is already durable in the store.
func (s *Server) audit(ctx context.Context, kind, actor, subject string, body any) {
	if s.opts.Audit == nil {
		return
	}
	if _, err := s.opts.Audit.Append(context.WithoutCancel(ctx), kind, actor, subject, body); err != nil {
		s.log.Error("audit log refused an entry", "kind", kind, "subject", subject, "err", err)
	}
}
