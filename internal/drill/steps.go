package drill

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/voicedr/voicedr/internal/decision"
	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/scenario"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// StandInReason is recorded with every step and approval a stand-in gave.
const StandInReason = "recorded by a named stand-in: unattended drill"

// recorder keeps the timeline, safe for the engine's goroutines.
type recorder struct {
	mu       sync.Mutex
	events   []report.Event
	progress func(report.Event)
}

func newRecorder(progress func(report.Event)) *recorder { return &recorder{progress: progress} }

func (r *recorder) add(kind, actor, cohort, text string) {
	ev := report.Event{At: time.Now().UTC(), Kind: kind, Actor: actor, Cohort: cohort, Text: text}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	if r.progress != nil {
		r.progress(ev)
	}
}

func (r *recorder) timeline() []report.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.events)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// marks are positions in the emulator's call ledger.
type marks struct {
	fault, moveStart, moveEnd, validateEnd int64
}

func ledgerSeq(emu *twilioemu.Emulator) int64 {
	_, c := emu.Ledger(0, 1)
	return c.Total
}

// detect waits for one of the flow's triggers to fire and opens its
// decision; without one (none declared, or none fired in time) a stand-in
// commander declares the incident, and the report carries the gap.
func (r *tabletopRun) detect(ctx context.Context, w *decision.Watcher, fault time.Time) (store.Decision, error) {
	if len(r.wb.Triggers) == 0 {
		r.gap(report.Gap{Source: "drill", Kind: "no_trigger", Severity: "warning",
			Text: fmt.Sprintf("No trigger of the workbook watches flow %s: an outage is detected only when someone notices. Add a trigger on call volume or synthetic calls.", r.t.Flow)})
		return r.declare(ctx, w, "no trigger watches the flow")
	}
	within := time.Duration(r.t.Scenario.DetectWithin)
	if within <= 0 {
		for _, tr := range r.wb.Triggers {
			within = max(within, time.Duration(tr.For))
		}
		within += time.Minute
	}
	deadline := fault.Add(within)
	for time.Now().Before(deadline) {
		firings, err := w.EvaluateOnce(ctx, time.Now())
		if ctx.Err() != nil {
			return store.Decision{}, ctx.Err()
		}
		if err != nil {
			r.t.logger().Warn("drill: triggers not evaluated", "err", err)
		}
		for _, f := range firings {
			d, err := w.Open(ctx, f)
			if err != nil {
				continue
			}
			value := ""
			if n := len(f.Evidence); n > 0 {
				m := f.Evidence[n-1]
				value = fmt.Sprintf(" (%s = %.4g %s, sample %d)", m.Signal, m.Value, m.Unit, m.Sample)
			}
			r.rec.add("detection", decision.SystemActor, "", fmt.Sprintf("trigger %s fired after %s%s: decision %s opened",
				f.Trigger, f.At.Sub(fault).Round(100*time.Millisecond), value, d.ID))
			return d, nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return store.Decision{}, err
		}
	}
	r.gap(report.Gap{Source: "drill", Kind: "not_detected", Severity: "error",
		Text: fmt.Sprintf("No trigger fired within %s of the fault: the workbook's triggers for %s do not see this failure. Add one that does (volume against baseline, synthetic calls, the API probe).", within, r.t.Flow)})
	return r.declare(ctx, w, fmt.Sprintf("no trigger fired within %s", within))
}

// declare opens the decision by hand, as a commander would.
func (r *tabletopRun) declare(ctx context.Context, w *decision.Watcher, why string) (store.Decision, error) {
	now := time.Now().UTC()
	d, err := w.Open(ctx, decision.Firing{Trigger: "declared", Flow: r.t.Flow, Since: now, At: now})
	if err != nil {
		return d, fmt.Errorf("tabletop drill: open the decision: %w", err)
	}
	who := r.personWith(decision.RoleCommander)
	r.standIn(who, decision.RoleCommander, decision.StepDetection)
	r.rec.add("detection", who, "", fmt.Sprintf("incident declared by a stand-in (%s): decision %s opened", why, d.ID))
	return d, nil
}

// advance records a decision step by the first person of the workbook
// allowed to own it, as their stand-in.
func (r *tabletopRun) advance(ctx context.Context, w *decision.Watcher, id, step, note string) {
	for _, p := range r.wb.Governance.People {
		d, err := w.Advance(ctx, id, step, p.Name, note+"; "+StandInReason, nil)
		if errors.Is(err, decision.ErrForbidden) {
			continue
		}
		if err != nil {
			r.note(fmt.Sprintf("Decision step %s not recorded: %v.", step, err))
			return
		}
		r.standIn(p.Name, p.Role, step)
		r.stepEvent(d)
		return
	}
	r.gap(report.Gap{Source: "drill", Kind: "no_step_owner", Severity: "warning", Resource: "decision:" + step,
		Text: fmt.Sprintf("Nobody in governance.people may own the decision step %s; name a person with its role.", step)})
}

// stepEvent puts a decision's latest step on the timeline.
func (r *tabletopRun) stepEvent(d store.Decision) {
	b, err := decision.ReadBody(d)
	if err != nil || len(b.Steps) == 0 {
		return
	}
	s := b.Steps[len(b.Steps)-1]
	r.rec.add("decision_step", s.Actor, "", s.Name+": "+s.Note)
}

func (r *tabletopRun) standIn(person, role, step string) {
	r.standIns = append(r.standIns, report.StandIn{Person: person, Role: role, Step: step})
}

func (r *tabletopRun) personWith(role string) string {
	for _, p := range r.wb.Governance.People {
		if p.Role == role {
			return p.Name
		}
	}
	if len(r.wb.Governance.People) > 0 {
		return r.wb.Governance.People[0].Name
	}
	return "drill"
}

// approve gathers the approvals the workbook's policy needs from named
// stand-ins, recorded as such, and returns the engine's approver.
func (r *tabletopRun) approve(ctx context.Context, w *decision.Watcher, id string, p *plan.Plan) (execute.Approver, error) {
	pol, err := governance.NewPolicy(r.wb)
	if err != nil {
		return nil, err
	}
	apps := &governance.Approvals{Store: r.db, Policy: pol, Audit: r.log}
	approver := governance.Approver{Approvals: apps}
	if pol.Kind == governance.PolicyNone {
		r.rec.add("approval", decision.SystemActor, "", "approval policy none: no approval needed")
		r.advance(ctx, w, id, decision.StepApproval, "policy none")
		return approver, nil
	}
	if r.t.Attended > 0 {
		return approver, r.awaitPeople(ctx, w, id, p, apps)
	}
	requester := ""
	for _, role := range []string{"operator", decision.RoleCommander} {
		for _, person := range r.wb.Governance.People {
			if requester == "" && person.Role == role && !pol.Approves(person.Role) {
				requester = person.Name
			}
		}
	}
	if requester != "" && apps.Request(ctx, p.Digest, "", requester) == nil {
		r.standIn(requester, roleOf(r, requester), "request")
		r.rec.add("approval", requester, "", fmt.Sprintf("execution of plan %s requested (%s)", p.Digest[:12], StandInReason))
	}
	for _, person := range r.wb.Governance.People {
		if person.Name == requester || !pol.Approves(person.Role) {
			continue
		}
		if _, err := apps.Record(ctx, p.Digest, "", person.Name, governance.DecisionApprove, StandInReason); err != nil {
			continue
		}
		r.standIn(person.Name, person.Role, "approval")
		r.rec.add("approval", person.Name, "", fmt.Sprintf("plan %s approved (%s, %s)", p.Digest[:12], person.Role, StandInReason))
		st, err := apps.Check(ctx, p)
		if err != nil {
			return nil, err
		}
		if st.Satisfied {
			r.advance(ctx, w, id, decision.StepApproval, fmt.Sprintf("plan %s approved under policy %s", p.Digest[:12], pol.Kind))
			return approver, nil
		}
	}
	return nil, fmt.Errorf("approval policy %s (roles %s) cannot be met by the workbook's people: name enough approvers in governance.people",
		pol.Kind, strings.Join(pol.Roles, ", "))
}

// awaitPeople puts the plan where people can approve it (the drill's
// state.db, with a plan entry in its audit log for the dashboard's inbox)
// and waits for the policy to be met.
func (r *tabletopRun) awaitPeople(ctx context.Context, w *decision.Watcher, id string, p *plan.Plan, apps *governance.Approvals) error {
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		return err
	}
	if err := r.db.PutPlan(ctx, p.Digest, buf.Bytes()); err != nil {
		return err
	}
	_, _ = r.log.Append(ctx, "plan", cmp.Or(r.t.As, decision.SystemActor), p.Digest,
		map[string]any{"flow": p.Flow, "kind": p.Kind, "from": p.From, "to": p.To, "actions": len(p.Actions()), "drill": r.id})
	if r.t.As != "" {
		if err := apps.Request(ctx, p.Digest, "", r.t.As); err != nil {
			return fmt.Errorf("record %s as the plan's requester: %w", r.t.As, err)
		}
	}
	db := filepath.Join(r.dir, "state.db")
	r.rec.add("approval", cmp.Or(r.t.As, decision.SystemActor), "", fmt.Sprintf("waiting up to %s for people to approve plan %s: voicedr approve %s --as NAME --workbook WORKBOOK --db %s (or the dashboard of voicedr serve --db %s)",
		r.t.Attended, p.Digest[:12], p.Digest, db, db))
	deadline := time.Now().Add(r.t.Attended)
	for {
		st, err := apps.Check(ctx, p)
		if err != nil {
			return err
		}
		if st.Satisfied {
			var who []string
			for _, a := range st.Counted {
				who = append(who, a.Person+" ("+a.Role+")")
				r.rec.add("approval", a.Person, "", fmt.Sprintf("plan %s %s (%s)", p.Digest[:12], a.Decision, a.Role))
			}
			if len(st.Counted) > 0 {
				d, err := w.Advance(ctx, id, decision.StepApproval, st.Counted[0].Person, "approved by "+strings.Join(who, ", "), nil)
				if err == nil {
					r.stepEvent(d)
				}
			}
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("plan %s was not approved within %s (%s): the drill stops where a real failover would wait", p.Digest[:12], r.t.Attended, st.Reason)
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

func roleOf(r *tabletopRun, person string) string {
	for _, p := range r.wb.Governance.People {
		if p.Name == person {
			return p.Role
		}
	}
	return ""
}

// observe reads the emulated account through voicedr's client, storing
// what it read; when it cannot (the primary's API is down) it falls back
// to the last stored snapshot, as an ungraceful plan does.
func (r *tabletopRun) observe(ctx context.Context) (*snapshot.Snapshot, string, error) {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := inventory.Read(rctx, r.sb.set, inventory.Options{})
	if err == nil {
		_, _ = r.db.SaveSnapshot(ctx, s)
		return s, "live", nil
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	stored, _, serr := r.db.LatestSnapshot(ctx, r.sb.emu.AccountSID())
	if serr != nil {
		return nil, "", fmt.Errorf("tabletop drill: the account cannot be read (%v) and no snapshot is stored: %w", err, serr)
	}
	return stored, "stored", nil
}

// onEvent turns the engine's progress into the timeline and fires the
// scenario's cohort events.
func (r *tabletopRun) onEvent(ev execute.Event) {
	switch ev.Type {
	case "cohort_started":
		r.mu.Lock()
		r.cohorts++
		n := r.cohorts
		r.mu.Unlock()
		r.rec.add(ev.Type, "", ev.Cohort, fmt.Sprintf("%d actions", ev.Total))
		for _, e := range r.t.Scenario.Events {
			if e.Cohort == n {
				r.applyEvent(e)
			}
		}
	case "cohort_routed":
		r.rec.add(ev.Type, "", ev.Cohort, fmt.Sprintf("%d/%d routing writes accepted", ev.Done, ev.Total))
	case "proof", "gate", "rollback_started":
		r.rec.add(ev.Type, "", ev.Cohort, ev.Msg)
	case "cohort_committed", "cohort_rolled_back":
		r.rec.add(ev.Type, "", ev.Cohort, fmt.Sprintf("%d/%d", ev.Done, ev.Total))
	case "run_completed", "run_paused", "run_rolled_back", "run_failed", "run_aborted":
		r.rec.add("run_ended", "", ev.Cohort, strings.TrimPrefix(ev.Type, "run_")+": "+ev.Msg)
	}
}

// applyEvent changes the faults or apps mid-drill.
func (r *tabletopRun) applyEvent(e scenario.Event) {
	if e.Faults() != nil {
		r.sb.emu.SetFaults(e.Faults())
	}
	if err := r.sb.setApps(e.Apps, r.roles); err != nil {
		r.note("Scenario event not applied: " + err.Error())
		return
	}
	r.rec.add("fault", "", "", cmp.Or(e.Note, "scenario event"))
}

// timedEvents schedules the scenario's `after` events; the returned func
// cancels those not yet fired and waits for any that are running, so none
// runs after the drill moved on.
func (r *tabletopRun) timedEvents(ctx context.Context, start time.Time) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var timers []*time.Timer
	for _, e := range r.t.Scenario.Events {
		if e.After > 0 {
			wg.Add(1)
			timers = append(timers, time.AfterFunc(time.Until(start.Add(time.Duration(e.After))), func() {
				defer wg.Done()
				if ctx.Err() == nil {
					r.applyEvent(e)
				}
			}))
		}
	}
	return func() {
		cancel()
		for _, t := range timers {
			if t.Stop() {
				wg.Done() // it will never run
			}
		}
		wg.Wait()
	}
}

// validate watches calls after a completed move: the flow is validated
// when every number routes to the standby (the emulator's own state) and
// every call in the window was answered there.
func (r *tabletopRun) validate(ctx context.Context, res *execute.Result) {
	if res.State != store.RunCompleted {
		r.marks.validateEnd = ledgerSeq(r.sb.emu)
		return
	}
	wait := time.Duration(r.t.Scenario.Validate)
	if wait <= 0 {
		wait = 5 * time.Second
	}
	if err := sleep(ctx, wait); err != nil {
		r.marks.validateEnd = ledgerSeq(r.sb.emu)
		r.note("Validation cut short: " + err.Error())
		return
	}
	r.marks.validateEnd = ledgerSeq(r.sb.emu)
	standby := r.roles["standby"]
	flow := map[string]bool{}
	for _, n := range r.numbers {
		flow[n] = true
	}
	elsewhere := 0
	for _, n := range r.sb.emu.Snapshot(false).Numbers {
		if flow[n.PhoneNumber] && n.Routing.VoiceRegion != standby {
			elsewhere++
		}
	}
	entries, _ := r.sb.emu.Ledger(r.marks.moveEnd, 0)
	placed, bad := 0, 0
	for _, e := range entries {
		if e.Seq > r.marks.validateEnd || !flow[e.To] || e.Kind != "inbound" {
			continue
		}
		placed++
		if e.Outcome != twilioemu.OutcomeAnswered || e.Region != standby {
			bad++
		}
	}
	// With traffic running, a window without a single call proves nothing.
	silent := placed == 0 && r.t.Scenario.Traffic() != nil
	if elsewhere == 0 && bad == 0 && !silent {
		r.validated = time.Now().UTC()
		r.rec.add("validated", decision.SystemActor, "", fmt.Sprintf("every number of the flow routes to %s; %d calls in %s after the move, all answered there", standby, placed, wait))
		return
	}
	r.rec.add("validated", decision.SystemActor, "", fmt.Sprintf("NOT validated: %d numbers route elsewhere than %s; %d of %d calls after the move not answered there", elsewhere, standby, bad, placed))
	r.gap(report.Gap{Source: "drill", Kind: "validation_failed", Severity: "error",
		Text: fmt.Sprintf("After the move %d numbers routed elsewhere than %s and %d of %d calls were not answered there.", elsewhere, standby, bad, placed)})
}

// describeFaults summarises what the scenario broke.
func describeFaults(sc *scenario.Scenario) string {
	var parts []string
	if f := sc.Faults(); f != nil {
		for _, rf := range f.Regions {
			what := ""
			switch {
			case rf.Down != "":
				what = "down (" + rf.Down + ")"
			default:
				what = fmt.Sprintf("degraded (error rate %g, latency %s)", rf.ErrorRate, time.Duration(rf.Latency))
			}
			parts = append(parts, fmt.Sprintf("%s %s %s", rf.Region, rf.Product, what))
		}
		if len(f.RevokedKeys) > 0 {
			parts = append(parts, fmt.Sprintf("%d API key(s) revoked", len(f.RevokedKeys)))
		}
		if f.PropagationDelay > 0 {
			parts = append(parts, "routing propagation delay "+time.Duration(f.PropagationDelay).String())
		}
		if f.ConcurrencyLimit > 0 {
			parts = append(parts, fmt.Sprintf("concurrency limit %d", f.ConcurrencyLimit))
		}
	}
	for role, m := range sc.Apps {
		parts = append(parts, fmt.Sprintf("%s app voice %s, fallback %s", role, cmp.Or(m.Voice, "ok"), cmp.Or(m.Fallback, "ok")))
	}
	if len(parts) == 0 {
		return "scenario " + sc.Name + ": no fault"
	}
	return "scenario " + sc.Name + ": " + strings.Join(parts, "; ")
}
