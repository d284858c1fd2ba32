package drill

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/decision"
	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/scenario"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Tabletop is a tabletop drill of one flow under one scenario.
type Tabletop struct {
	Workbook     *workbook.Workbook
	WorkbookPath string // its file, for the report's version and the evidence
	Flow         string
	Scenario     *scenario.Scenario
	ScenarioText []byte
	// Snapshot is the stored account snapshot the drill copies; it is not
	// modified.
	Snapshot *snapshot.Snapshot
	// Store is voicedr's store: the drill's record, history and action
	// items go there. The drill's own run (ledger, leases, decision,
	// approvals, audit) lives in its directory's state.db, so rehearsal
	// runs never mix with real ones.
	Store store.Store
	// Dir holds the drills; this one writes Dir/<id>.
	Dir string
	// Name is the workbook's drills[] entry when scheduled.
	Name string
	// Key signs the drill's audit checkpoints; nil leaves them unsigned.
	Key *signing.Key
	// Progress receives each timeline event as it happens; nil: none.
	Progress func(report.Event)
	Logger   *slog.Logger
	RandSeed uint64
	// Warmup is how long traffic runs before the faults, so call volume
	// has a baseline (default 3s).
	Warmup time.Duration
	// Attended, when positive, is how long the drill waits for people to
	// approve its plan (voicedr approve … --db <drill dir>/state.db, or the
	// dashboard of voicedr serve on that database) instead of recording
	// named stand-ins. As is who runs the drill: recorded as the plan's
	// requester, so they may not approve it themselves.
	Attended time.Duration
	As       string
}

// Outcome is a finished drill: its report and where its files are.
type Outcome struct {
	Report *report.Drill
	Dir    string
	Files  map[string]string
	// Network is what the drill's guard saw (tabletop only).
	Network Network
}

// Run runs the drill and stores its record and report. An error means the
// drill itself could not run (bad input, no disk); a failover that failed
// is a report with that outcome, not an error.
func (t *Tabletop) Run(ctx context.Context) (*Outcome, error) {
	if t.Workbook == nil || t.Scenario == nil || t.Snapshot == nil || t.Store == nil {
		return nil, errors.New("tabletop drill: workbook, scenario, snapshot and store are required")
	}
	flow := flowOf(t.Workbook, t.Flow)
	if flow == nil {
		return nil, fmt.Errorf("tabletop drill: flow %q is not in the workbook; name one of its flows", t.Flow)
	}
	id := newDrillID(time.Now())
	dir, err := drillDir(t.Dir, id)
	if err != nil {
		return nil, fmt.Errorf("tabletop drill: %w", err)
	}
	rec := newRecorder(t.Progress)
	r := &tabletopRun{t: t, id: id, dir: dir, rec: rec, flow: flow}
	r.rep = &report.Drill{Version: report.Version, ID: id, Program: t.Workbook.Program, Flow: t.Flow, Kind: "tabletop",
		Scenario: report.Scenario{Name: t.Scenario.Name, Description: t.Scenario.Description},
		Expected: t.Scenario.Expect.Outcome, Started: time.Now().UTC()}
	r.rep.Workbook = workbookRef(t.WorkbookPath)
	if err := t.Store.SaveDrill(ctx, store.Drill{ID: id, Flow: t.Flow, Name: t.Name, Kind: "tabletop", Scenario: t.Scenario.Name,
		Outcome: "running", StartedAt: r.rep.Started, Dir: dir}); err != nil {
		return nil, err
	}
	out, err := r.run(ctx)
	if err != nil {
		// The drill could not run to its end (bad input, shutdown): record
		// it as an error, which the schedule does not count as a rehearsal.
		ended := time.Now().UTC()
		if serr := t.Store.SaveDrill(context.WithoutCancel(ctx), store.Drill{ID: id, Flow: t.Flow, Name: t.Name, Kind: "tabletop",
			Scenario: t.Scenario.Name, Outcome: OutcomeError, StartedAt: r.rep.Started, EndedAt: ended, Dir: dir}); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, err
	}
	return out, nil
}

// tabletopRun is one Run's state.
type tabletopRun struct {
	t    *Tabletop
	id   string
	dir  string
	rec  *recorder
	flow *workbook.Flow
	rep  *report.Drill

	sb        *sandbox
	wb        *workbook.Workbook // the drill's copy: rewritten endpoints, no hooks or notifications
	db        store.Store
	log       *audit.Log
	roles     map[string]string
	numbers   []string
	standIns  []report.StandIn
	marks     marks
	validated time.Time // zero unless the move was validated

	// mu guards what the engine's callbacks and the scenario's timed
	// events change while the drill's own goroutine does too.
	mu      sync.Mutex
	gaps    []report.Gap
	notes   []string
	cohorts int // cohorts started, for the scenario's cohort events
}

func (r *tabletopRun) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, s)
}

func (r *tabletopRun) gap(gs ...report.Gap) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gaps = append(r.gaps, gs...)
}

func (r *tabletopRun) run(ctx context.Context) (*Outcome, error) {
	t := r.t
	snap, err := copySnapshot(t.Snapshot)
	if err != nil {
		return nil, err
	}
	r.wb = r.drillWorkbook()
	r.roles = roles(r.wb)
	r.rep.Primary, r.rep.Standby = r.roles["primary"], r.roles["standby"]
	if r.sb, err = newSandbox(snap, r.wb, cmp.Or(t.RandSeed, 1)); err != nil {
		return nil, err
	}
	defer r.sb.close()
	r.note(fmt.Sprintf("%d webhook URLs of the snapshot and workbook were rewritten to in-process sample apps; the drill's Twilio client reached only its emulator at %s.", len(r.sb.rewritten), r.sb.url))
	for _, n := range snap.Numbers {
		if f, ok := r.wb.FlowOf(n); ok && f == t.Flow {
			r.numbers = append(r.numbers, n.PhoneNumber)
		}
	}
	if len(r.numbers) == 0 {
		return nil, fmt.Errorf("tabletop drill: the stored snapshot has no number of flow %s; store a fresh one (voicedr readiness --db)", t.Flow)
	}
	if err := t.Scenario.Resolve(r.roles, r.sb.keys, r.numbers); err != nil {
		return nil, err
	}
	if r.db, err = sqlite.Open(ctx, filepath.Join(r.dir, "state.db")); err != nil {
		return nil, err
	}
	defer r.db.Close()
	r.log = &audit.Log{Store: r.db, Key: t.Key}
	if _, err := r.db.SaveSnapshot(ctx, snap); err != nil {
		return nil, fmt.Errorf("tabletop drill: store the copy: %w", err)
	}
	if rep, err := readiness.Check(snap, r.wb, t.Flow, readiness.Options{}); err == nil {
		for _, g := range rep.Gaps {
			r.gap(report.Gap{Source: "readiness", Kind: g.Kind, Severity: g.Severity, Resource: g.Resource, Text: strings.TrimSpace(g.Detail + "; " + g.Remediation)})
		}
	}

	res, fault, err := r.rehearse(ctx, snap)
	if err != nil {
		return nil, err
	}
	return r.finish(ctx, res, fault)
}

// drillWorkbook is the workbook the drill runs: a copy whose hooks and
// notifications are left out (they reach customer systems; hooks are
// recorded as simulated) and whose gate conditions on the customer's
// Prometheus are dropped (noted in the report), with triggers of this flow
// only. Endpoints are rewritten by the sandbox.
func (r *tabletopRun) drillWorkbook() *workbook.Workbook {
	c := *r.t.Workbook
	c.Regions = slices.Clone(c.Regions)
	c.Hooks, c.Notifications = nil, nil
	prom := map[string]bool{}
	for _, s := range c.Signals {
		if s.Source == "prometheus" {
			prom[s.Name] = true
		}
	}
	c.Gates = nil
	for _, g := range r.t.Workbook.Gates {
		g.Conditions = slices.DeleteFunc(slices.Clone(g.Conditions), func(cd workbook.Condition) bool {
			if prom[cd.Signal] {
				r.note(fmt.Sprintf("Gate %s: condition on %s (the customer's Prometheus) was not rehearsed: a tabletop drill reaches no customer system.", g.Name, cd.Signal))
				return true
			}
			return false
		})
		c.Gates = append(c.Gates, g)
	}
	c.Triggers = nil
	for _, tr := range r.t.Workbook.Triggers {
		if tr.Flow == r.t.Flow && !prom[tr.Signal] {
			c.Triggers = append(c.Triggers, tr)
		}
	}
	for _, h := range r.t.Workbook.Hooks {
		if h.Flow == "" || h.Flow == r.t.Flow {
			r.note(fmt.Sprintf("Hook %s (%s, %s) was not run: a tabletop drill reaches no customer system.", h.Name, h.Type, h.When))
		}
	}
	return &c
}

// rehearse injects the scenario and walks the decision to an applied (or
// refused) plan. It returns the run's result (nil when no run started)
// and when the fault began.
func (r *tabletopRun) rehearse(ctx context.Context, snap *snapshot.Snapshot) (*execute.Result, time.Time, error) {
	t, sc, emu := r.t, r.t.Scenario, r.sb.emu
	if sc.Traffic() != nil {
		if err := emu.StartTraffic(sc.Traffic()); err != nil {
			return nil, time.Time{}, fmt.Errorf("scenario %s: traffic: %w", sc.Name, err)
		}
		r.rec.add("scenario", "", "", fmt.Sprintf("traffic: %g calls/s to the flow's %d numbers", sc.Traffic().CallsPerSecond, len(r.numbers)))
		if err := sleep(ctx, cmp.Or(t.Warmup, 3*time.Second)); err != nil {
			return nil, time.Time{}, err
		}
	}
	r.marks.fault = ledgerSeq(emu)
	if sc.Faults() != nil {
		emu.SetFaults(sc.Faults())
	}
	if err := r.sb.setApps(sc.Apps, r.roles); err != nil {
		return nil, time.Time{}, err
	}
	fault := time.Now().UTC()
	r.rec.add("fault", "", "", describeFaults(sc))
	stopTimers := r.timedEvents(ctx, fault)
	defer stopTimers()

	env := signals.Env{Set: r.sb.set, HTTP: r.sb.guard.client()}
	w := &decision.Watcher{Workbook: r.wb, Env: env, Store: r.db, Interval: time.Second,
		Snapshot: func(ctx context.Context) (*snapshot.Snapshot, error) { s, _, err := r.observe(ctx); return s, err },
		Audit: func(ctx context.Context, kind, actor, subject string, body any) error {
			_, err := r.log.Append(ctx, kind, actor, subject, body)
			return err
		}}
	d, err := r.detect(ctx, w, fault)
	if err != nil {
		return nil, fault, err
	}
	if d, err = w.Assess(ctx, d.ID); err != nil {
		return nil, fault, err
	}
	r.stepEvent(d)
	r.advance(ctx, w, d.ID, decision.StepImpact, "business impact assessed")

	s, source, err := r.observe(ctx)
	if err != nil {
		return nil, fault, err
	}
	mode := plan.Graceful
	if source == "stored" {
		mode = plan.Ungraceful
		r.gap(report.Gap{Source: "drill", Kind: "primary_unreadable", Severity: "warning",
			Text: "The account could not be read during the outage; the plan was made from the last stored snapshot (ungraceful). Keep snapshots fresh: voicedr readiness --db stores one."})
	}
	p, err := plan.Make(plan.Input{Snapshot: s, Workbook: r.wb, WorkbookDigest: r.rep.Workbook.SHA256, Flow: t.Flow,
		Kind: plan.Failover, Mode: mode, Source: source, Now: time.Now()})
	if err != nil {
		r.rep.Reason = err.Error()
		r.rec.add("plan", decision.SystemActor, "", "no executable plan: "+err.Error())
		r.gap(report.Gap{Source: "drill", Kind: "plan_refused", Severity: "error", Text: err.Error()})
		r.advance(ctx, w, d.ID, decision.StepRejected, "no executable plan: "+err.Error())
		return nil, fault, nil
	}
	r.rec.add("plan", decision.SystemActor, "", fmt.Sprintf("failover plan %s: %d actions in %d cohorts, %s → %s (%s, %s snapshot)",
		p.Digest[:12], len(p.Actions()), len(p.Cohorts), p.From, p.To, p.Mode, p.SnapshotSource))

	approver, err := r.approve(ctx, w, d.ID, p)
	if err != nil {
		r.rep.Reason = err.Error()
		r.gap(report.Gap{Source: "drill", Kind: "approval_unmet", Severity: "error", Text: err.Error()})
		return nil, fault, nil
	}
	r.advance(ctx, w, d.ID, decision.StepExecution, "execution started")
	e := &execute.Engine{Store: r.db, Router: &execute.TwilioRoutes{Set: r.sb.set, Order: p.RoutesWrite},
		Signals: execute.TwilioSignals{Env: env}, Approver: approver, Audit: r.log,
		Actor: "drill:" + r.id, OnEvent: r.onEvent}
	r.marks.moveStart = ledgerSeq(emu)
	res, err := e.Apply(ctx, p, execute.ApplyOptions{Fresh: s})
	r.marks.moveEnd = ledgerSeq(emu)
	if err != nil && res == nil {
		r.rep.Reason = err.Error()
		r.rec.add("run_ended", "", "", "run refused: "+err.Error())
		r.gap(report.Gap{Source: "drill", Kind: "run_refused", Severity: "error", Text: err.Error()})
		return nil, fault, nil
	}
	r.rep.RunID = res.RunID
	if err != nil {
		// The run stopped on an error (it stays resumable in the drill's
		// state.db); the drill reports it rather than failing itself.
		r.rep.Reason = err.Error()
		r.rec.add("run_ended", "", "", "run stopped: "+err.Error())
		r.gap(report.Gap{Source: "drill", Kind: "run_stopped", Severity: "error", Text: err.Error()})
	}
	r.validate(ctx, res)
	closing := "drill ended: run " + string(res.State)
	if err != nil {
		closing = "drill ended: the run stopped on an error"
	}
	r.advance(ctx, w, d.ID, decision.StepClosed, closing)
	return res, fault, nil
}

func (t *Tabletop) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func newDrillID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "dr-" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func flowOf(wb *workbook.Workbook, name string) *workbook.Flow {
	for i := range wb.Flows {
		if wb.Flows[i].Name == name {
			return &wb.Flows[i]
		}
	}
	return nil
}

// roles maps "primary" and "standby" to the workbook's regions (the first
// standby).
func roles(wb *workbook.Workbook) map[string]string {
	out := map[string]string{}
	for _, rp := range wb.Regions {
		role := string(rp.Role)
		if out[role] == "" {
			out[role] = string(rp.Region)
		}
	}
	return out
}

func copySnapshot(s *snapshot.Snapshot) (*snapshot.Snapshot, error) {
	var b strings.Builder
	if err := s.Write(&b); err != nil {
		return nil, err
	}
	return snapshot.Read(strings.NewReader(b.String()))
}

func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
