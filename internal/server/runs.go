package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
)

// eventsKept is how many of a run's latest events the server keeps.
const eventsKept = 200

// runView is what the server keeps of one run in memory: its latest
// events (from the engine executing it here) and a cached status.
type runView struct {
	mu     sync.Mutex
	events [eventsKept]execute.Event
	n      int // events ever added

	detail     *RunDetail // cached; nil until first computed
	at         time.Time  // when detail was computed
	refreshing bool
	load       sync.Mutex // one synchronous computation at a time

	// The ledger folded so far: refresh reads only records after its Seq,
	// so polling a 10,000-number run does not re-read 40,000 records a
	// second.
	ledger execute.Fold
	fold   sync.Mutex // one fold of the ledger at a time
}

func (v *runView) add(ev execute.Event) {
	v.mu.Lock()
	v.events[v.n%eventsKept] = ev
	v.n++
	v.mu.Unlock()
}

// latest returns the kept events, oldest first.
func (v *runView) latest() []execute.Event {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.n <= eventsKept {
		return append([]execute.Event{}, v.events[:v.n]...)
	}
	i := v.n % eventsKept
	out := append([]execute.Event{}, v.events[i:]...)
	return append(out, v.events[:i]...)
}

func (s *Server) view(id string) *runView {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.runs[id]
	if !ok {
		v = &runView{}
		s.runs[id] = v
	}
	return v
}

// PlanSummary is a plan as the dashboard shows it.
type PlanSummary struct {
	Flow    string          `json:"flow"`
	Kind    string          `json:"kind"`
	From    string          `json:"from"`
	To      string          `json:"to"`
	Digest  string          `json:"digest"`
	Cohorts []CohortSummary `json:"cohorts"`
}

// CohortSummary is one cohort of a plan: its name, kind and action count.
type CohortSummary struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Actions int    `json:"actions"`
}

// GateView is one cohort's gate: its thresholds, outcome (pending until
// decided) and every evaluation's values, for a chart.
type GateView struct {
	Cohort     string                `json:"cohort"`
	Gate       string                `json:"gate"`
	Outcome    string                `json:"outcome"`
	Reason     string                `json:"reason,omitempty"`
	Thresholds []Threshold           `json:"thresholds"`
	Series     []signals.Measurement `json:"series"`
}

// Threshold is one condition of a gate, with the unit its signal reports.
type Threshold struct {
	Signal string  `json:"signal"`
	Op     string  `json:"op"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
}

// RunDetail is GET /v1/runs/{id}.
type RunDetail struct {
	Run    store.Run       `json:"run"`
	Status execute.Status  `json:"status"`
	Plan   PlanSummary     `json:"plan"`
	Gates  []GateView      `json:"gates"`
	Events []execute.Event `json:"events"`
}

// planByDigest returns a stored plan, parsed once and kept: plans are
// immutable under their digest, and a large one costs much to verify.
func (s *Server) planByDigest(ctx context.Context, digest string) (*plan.Plan, error) {
	s.mu.Lock()
	p, ok := s.plans[digest]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	body, err := s.st.GetPlan(ctx, digest)
	if err != nil {
		return nil, err
	}
	p, err = plan.Read(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("stored plan %.12s: %w", digest, err)
	}
	s.mu.Lock()
	s.plans[digest] = p
	s.mu.Unlock()
	return p, nil
}

// runDetail serves a run's status from the cache, refreshing it in the
// background when older than StatusTTL (many dashboards polling one run
// share one ledger read); the first read is synchronous.
func (s *Server) runDetail(ctx context.Context, id string) (*RunDetail, error) {
	v := s.view(id)
	v.mu.Lock()
	d, at := v.detail, v.at
	stale := d != nil && s.now().Sub(at) >= s.opts.StatusTTL
	kick := stale && !v.refreshing && s.runCtx.Err() == nil
	if kick {
		v.refreshing = true
	}
	v.mu.Unlock()
	if kick {
		ok := s.spawn(func() {
			ctx, cancel := context.WithTimeout(s.runCtx, 30*time.Second)
			defer cancel()
			if _, err := s.refresh(ctx, id, v); err != nil {
				s.log.Warn("refresh run status", "run", id, "err", err)
			}
			v.mu.Lock()
			v.refreshing = false
			v.mu.Unlock()
		})
		if !ok {
			v.mu.Lock()
			v.refreshing = false
			v.mu.Unlock()
		}
	}
	if d != nil {
		return d, nil
	}
	v.load.Lock()
	defer v.load.Unlock()
	v.mu.Lock()
	d = v.detail
	v.mu.Unlock()
	if d != nil {
		return d, nil
	}
	return s.refresh(ctx, id, v)
}

// invalidate makes the next read of a run's status synchronous.
func (s *Server) invalidate(id string) {
	v := s.view(id)
	v.mu.Lock()
	v.detail = nil
	v.mu.Unlock()
}

// refresh computes a run's status and gates in one pass over its ledger,
// as execute.Engine.Status does but with the plan parsed once.
func (s *Server) refresh(ctx context.Context, id string, v *runView) (*RunDetail, error) {
	at := s.now()
	run, err := s.st.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := s.planByDigest(ctx, run.PlanDigest)
	if err != nil {
		return nil, err
	}
	v.fold.Lock()
	defer v.fold.Unlock()
	recs, err := s.st.ActionsAfter(ctx, id, v.ledger.Seq)
	if err != nil {
		return nil, err
	}
	v.ledger.Add(recs)
	st := v.ledger.Status(run, p)
	sum := PlanSummary{Flow: p.Flow, Kind: p.Kind, From: p.From, To: p.To, Digest: p.Digest, Cohorts: []CohortSummary{}}
	gates := []GateView{}
	for i, c := range p.Cohorts {
		sum.Cohorts = append(sum.Cohorts, CohortSummary{Name: c.Name, Kind: c.Kind, Actions: len(c.Actions)})
		if c.Gate != nil {
			gates = append(gates, gateView(c, parseResult(st.Cohorts[i].Gate)))
		}
	}
	d := &RunDetail{Run: run, Status: *st, Plan: sum, Gates: gates}
	v.mu.Lock()
	if v.detail == nil || !at.Before(v.at) {
		v.detail, v.at = d, at
	}
	v.mu.Unlock()
	return d, nil
}

func parseResult(b json.RawMessage) *signals.Result {
	var r signals.Result
	if json.Unmarshal(b, &r) != nil || r.Outcome == "" {
		return nil
	}
	return &r
}

func gateView(c plan.Cohort, res *signals.Result) GateView {
	g := GateView{Cohort: c.Name, Gate: c.Gate.Name, Outcome: "pending", Thresholds: []Threshold{}, Series: []signals.Measurement{}}
	units := map[string]string{}
	if res != nil {
		g.Outcome, g.Reason = string(res.Outcome), res.Reason
		g.Series = res.Series
		if len(g.Series) == 0 {
			g.Series = res.Measurements
		}
		for _, m := range res.Measurements {
			units[m.Signal] = m.Unit
		}
		if g.Series == nil {
			g.Series = []signals.Measurement{}
		}
	}
	for _, cond := range c.Gate.Conditions {
		g.Thresholds = append(g.Thresholds, Threshold{Signal: cond.Signal, Op: cond.Threshold.Op, Value: cond.Threshold.Value, Unit: units[cond.Signal]})
	}
	return g
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, _ string) {
	runs, err := s.st.ListRuns(r.Context(), 200)
	if err != nil {
		s.storeError(w, "list runs", err)
		return
	}
	if runs == nil {
		runs = []store.Run{}
	}
	writeJSON(w, http.StatusOK, runs)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	if _, err := s.st.GetRun(r.Context(), id); err != nil {
		s.storeError(w, "run "+id, err)
		return
	}
	d, err := s.runDetail(r.Context(), id)
	if err != nil {
		s.storeError(w, "run "+id, err)
		return
	}
	out := *d
	out.Events = s.view(id).latest()
	writeJSON(w, http.StatusOK, out)
}

// storeError answers a store failure: 404 for what does not exist.
func (s *Server) storeError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, what+": not found")
		return
	}
	s.log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, what+": the store failed; see the server log")
}

// outcome is how an Apply (or Rollback) goroutine ended.
type outcome struct {
	res *execute.Result
	err error
}

// launch runs f (an Apply or Rollback of engine e) in a goroutine the
// server owns. started receives the run's ID at its first event; done
// receives the outcome.
func (s *Server) launch(e *execute.Engine, what string, f func(ctx context.Context) (*execute.Result, error)) (started <-chan string, done <-chan outcome) {
	st := make(chan string, 1)
	dn := make(chan outcome, 1)
	var once sync.Once
	prev := e.OnEvent
	e.OnEvent = func(ev execute.Event) {
		if ev.Run != "" {
			s.view(ev.Run).add(ev)
			once.Do(func() { st <- ev.Run })
		}
		if prev != nil {
			prev(ev)
		}
	}
	ok := s.spawn(func() {
		res, err := f(s.runCtx)
		if res != nil {
			s.invalidate(res.RunID)
		}
		switch {
		case err != nil && s.runCtx.Err() != nil:
			id := ""
			if res != nil {
				id = res.RunID
			}
			s.log.Info(what+" interrupted by shutdown: it resumes when the server starts again", "run", id)
		case err != nil:
			s.log.Warn(what+" stopped", "err", err)
		default:
			s.log.Info(what+" returned", "run", res.RunID, "state", res.State, "reason", res.Reason)
		}
		dn <- outcome{res, err}
	})
	if !ok {
		dn <- outcome{nil, fmt.Errorf("%w: the server is shutting down", execute.ErrRefused)}
	}
	return st, dn
}

// approvedAtStart lets a run the store shows as running resume after a
// restart: its approvals were checked when it started, and one that
// expired while the server was down must not strand a half-moved flow.
type approvedAtStart struct{}

func (approvedAtStart) Approve(context.Context, *plan.Plan) error { return nil }

func (s *Server) approvals() *governance.Approvals {
	a := &governance.Approvals{Store: s.st, Policy: s.policy, Now: s.now}
	if s.opts.Audit != nil {
		a.Audit = s.opts.Audit
	}
	return a
}

// startApply starts (or continues) p in the server and waits until the
// run exists or Apply refused it.
func (s *Server) startApply(ctx context.Context, p *plan.Plan, person string, opts execute.ApplyOptions) (string, error) {
	s.mu.Lock()
	if id, busy := s.active[p.Digest]; busy {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: plan %.12s is already executing in this server (run %s)", execute.ErrRefused, p.Digest, id)
	}
	s.active[p.Digest] = ""
	s.mu.Unlock()
	e := s.opts.NewEngine(p)
	e.Approver = governance.Approver{Approvals: s.approvals(), Logger: s.log}
	if person == "" {
		e.Approver = approvedAtStart{}
	} else if e.Actor == "" {
		e.Actor = person
	}
	started, done := s.launch(e, "run", func(ctx context.Context) (*execute.Result, error) {
		defer func() {
			s.mu.Lock()
			delete(s.active, p.Digest)
			s.mu.Unlock()
		}()
		return e.Apply(ctx, p, opts)
	})
	select {
	case id := <-started:
		s.mu.Lock()
		if _, ok := s.active[p.Digest]; ok {
			s.active[p.Digest] = id
		}
		s.mu.Unlock()
		return id, nil
	case o := <-done:
		if o.err != nil {
			return "", o.err
		}
		return o.res.RunID, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

type applyRequest struct {
	Force bool `json:"force"`
}

// applyPlan records the caller as the plan's requester, checks its
// approvals and the account's drift, and starts the run in the server.
func (s *Server) applyPlan(w http.ResponseWriter, r *http.Request, person string) {
	var req applyRequest
	if !decodeBody(w, r, 1<<20, &req) {
		return
	}
	digest := r.PathValue("digest")
	p, err := s.planByDigest(r.Context(), digest)
	if err != nil {
		s.storeError(w, "plan "+short(digest), err)
		return
	}
	apps := s.approvals()
	if err := apps.Request(r.Context(), p.Digest, "", person); err != nil {
		s.governanceError(w, err)
		return
	}
	if err := (governance.Approver{Approvals: apps}).Approve(r.Context(), p); err != nil {
		s.governanceError(w, err)
		return
	}
	fresh, err := s.opts.Snapshot(r.Context())
	if err != nil {
		s.log.Warn("read the account for the drift check", "err", err)
		writeError(w, http.StatusServiceUnavailable, "cannot read the account for the drift check: "+err.Error())
		return
	}
	s.audit(r.Context(), "run.requested", person, p.Digest, map[string]any{"flow": p.Flow, "kind": p.Kind, "force": req.Force})
	id, err := s.startApply(r.Context(), p, person, execute.ApplyOptions{Fresh: fresh, InFlow: s.inFlow(p), Force: req.Force})
	if err != nil {
		s.applyError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"run_id": id})
}

func (s *Server) inFlow(p *plan.Plan) func(snapshot.Number) bool {
	return func(n snapshot.Number) bool { f, ok := s.wb.FlowOf(n); return ok && f == p.Flow }
}

// applyError answers a refused or failed start.
func (s *Server) applyError(w http.ResponseWriter, err error) {
	var stale *execute.StaleError
	switch {
	case errors.As(err, &stale):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "drift": stale.Changes})
	case errors.Is(err, governance.ErrNotApproved), errors.Is(err, execute.ErrRefused):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		s.log.Error("start run", "err", err)
		writeError(w, http.StatusInternalServerError, "the run could not start: "+err.Error())
	}
}

// governanceError maps governance refusals: 400 malformed, 403 forbidden
// (unknown person, a role the policy does not list, self-approval), 409 not
// approved.
func (s *Server) governanceError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, governance.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, governance.ErrNotApproved):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, governance.ErrForbidden), errors.Is(err, governance.ErrUnknownPerson):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.log.Error("governance", "err", err)
		writeError(w, http.StatusInternalServerError, "governance check failed; see the server log")
	}
}

type rollbackRequest struct {
	Cohort string `json:"cohort"`
	Force  bool   `json:"force"`
}

// control is pause, resume, abort or rollback of a run.
func (s *Server) control(verb string) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, person string) {
		var req rollbackRequest
		if !decodeBody(w, r, 1<<20, &req) {
			return
		}
		id := r.PathValue("id")
		run, err := s.st.GetRun(r.Context(), id)
		if err != nil {
			s.storeError(w, "run "+id, err)
			return
		}
		if req.Cohort != "" && verb != "rollback" {
			writeError(w, http.StatusBadRequest, "cohort applies to rollback only")
			return
		}
		ctl := &execute.Engine{Store: s.st, Logger: s.log}
		var state string
		switch verb {
		case "pause":
			err, state = ctl.Pause(r.Context(), id), string(store.RunPaused)
		case "abort":
			err, state = ctl.Abort(r.Context(), id), string(store.RunAborted)
		case "resume":
			state = string(store.RunRunning)
			err = s.resume(r.Context(), run, person, req.Force)
		case "rollback":
			state = "rolling_back"
			err = s.rollback(r.Context(), run, req.Cohort)
		}
		s.invalidate(id)
		if err != nil {
			if strings.Contains(err.Error(), "has no cohort") {
				writeError(w, http.StatusNotFound, err.Error())
				return
			}
			s.applyError(w, err)
			return
		}
		s.audit(r.Context(), "run."+verb, person, id, map[string]any{"cohort": req.Cohort})
		writeJSON(w, http.StatusAccepted, map[string]string{"state": state})
	}
}

// resume continues a paused run (or one running in no process) in the
// server, checking approvals and drift as a new apply would.
func (s *Server) resume(ctx context.Context, run store.Run, person string, force bool) error {
	p, err := s.planByDigest(ctx, run.PlanDigest)
	if err != nil {
		return err
	}
	switch run.State {
	case store.RunPaused, store.RunRunning, store.RunPlanned:
	default:
		return fmt.Errorf("%w: run %s is %s; it cannot be resumed (make a new plan)", execute.ErrRefused, run.ID, run.State)
	}
	fresh, err := s.opts.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("read the account for the drift check: %w", err)
	}
	_, err = s.startApply(ctx, p, person, execute.ApplyOptions{RunID: run.ID, Fresh: fresh, InFlow: s.inFlow(p), Force: force})
	return err
}

// rollback starts restoring a run's observed routing in the server and
// returns once it holds the run's leases (or was refused).
func (s *Server) rollback(ctx context.Context, run store.Run, cohort string) error {
	p, err := s.planByDigest(ctx, run.PlanDigest)
	if err != nil {
		return err
	}
	e := s.opts.NewEngine(p)
	started, done := s.launch(e, "rollback", func(ctx context.Context) (*execute.Result, error) {
		return e.Rollback(ctx, run.ID, cohort)
	})
	select {
	case <-started:
		return nil
	case o := <-done:
		return o.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resumeRunning resumes every run the store shows as running: the server
// that executed it stopped or died. A run whose leases a dead process still
// holds is retried until they expire.
func (s *Server) resumeRunning(ctx context.Context) {
	runs, err := s.st.ListRuns(ctx, 1000)
	if err != nil {
		s.log.Error("list runs to resume", "err", err)
		return
	}
	for _, run := range runs {
		if run.State != store.RunRunning {
			continue
		}
		s.spawn(func() { s.resumeOne(run) })
	}
}

func (s *Server) resumeOne(run store.Run) {
	ctx := s.runCtx
	p, err := s.planByDigest(ctx, run.PlanDigest)
	if err != nil {
		s.log.Error("cannot resume run: its plan is unreadable", "run", run.ID, "err", err)
		return
	}
	for attempt := 1; ; attempt++ {
		s.log.Info("resuming run left running", "run", run.ID, "attempt", attempt)
		_, err := s.startApply(ctx, p, "", execute.ApplyOptions{RunID: run.ID})
		if err == nil || ctx.Err() != nil {
			return
		}
		// The process that died still holds the leases until they expire.
		if !errors.Is(err, execute.ErrRefused) || !strings.Contains(err.Error(), " is held by ") || attempt >= 40 {
			s.log.Error("cannot resume run", "run", run.ID, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
