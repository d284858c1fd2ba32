package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Live is a live drill: the workbook's drill cohort (numbers the team
// owns) moved to the standby in the real account, proven by test calls,
// gated, failed back, and every touched resource checked against the
// snapshot taken before.
type Live struct {
	Workbook     *workbook.Workbook
	WorkbookPath string
	Flow         string
	// Cohort is the flow's drill cohort; nothing else moves.
	Cohort string
	Name   string // the workbook's drills[] entry
	Set    *twilio.Set
	Store  store.Store
	Dir    string
	// Approver decides on each plan (the failover, then the failback):
	// approvals come from people (voicedr approve, the dashboard).
	// ApprovalWait is how long to wait for them (0: not at all).
	Approver     execute.Approver
	ApprovalWait time.Duration
	Audit        execute.Auditor
	Actor        string
	// Hooks runs the workbook's hooks around the drill cohort's flips, as
	// a real failover would (nil: a flow with hooks is refused).
	Hooks    execute.HookRunner
	Progress func(report.Event)
	Logger   *slog.Logger
}

// failbackTimeout bounds the failback and the final check, which run even
// when the drill's context is cancelled (Ctrl-C must not leave numbers
// moved).
const failbackTimeout = 30 * time.Minute

// Run runs the live drill. As with Tabletop, an error means the drill
// could not run; a failed move is an outcome in the report. Once anything
// may have moved, every path records the drill and tries to bring it back.
func (l *Live) Run(ctx context.Context) (*Outcome, error) {
	if l.Workbook == nil || l.Set == nil || l.Store == nil || l.Cohort == "" {
		return nil, errors.New("live drill: workbook, Twilio clients, store and the drill cohort are required")
	}
	flow := flowOf(l.Workbook, l.Flow)
	if flow == nil {
		return nil, fmt.Errorf("live drill: flow %q is not in the workbook; name one of its flows", l.Flow)
	}
	if err := ownedCohort(flow, l.Cohort); err != nil {
		return nil, err
	}
	id := newDrillID(time.Now())
	dir, err := drillDir(l.Dir, id)
	if err != nil {
		return nil, fmt.Errorf("live drill: %w", err)
	}
	rec := newRecorder(l.Progress)
	rs := roles(l.Workbook)
	rep := &report.Drill{Version: report.Version, ID: id, Program: l.Workbook.Program, Flow: l.Flow, Kind: "live",
		Scenario: report.Scenario{Name: "live:" + l.Cohort, Description: fmt.Sprintf("Cohort %s of flow %s moved to %s with test calls and gates, then failed back.", l.Cohort, l.Flow, rs["standby"])},
		Primary:  rs["primary"], Standby: rs["standby"], Started: time.Now().UTC(), Workbook: workbookRef(l.WorkbookPath)}
	save := func(outcome string, body []byte) error {
		return l.Store.SaveDrill(context.WithoutCancel(ctx), store.Drill{ID: id, Flow: l.Flow, Name: l.Name, Kind: "live",
			Scenario: rep.Scenario.Name, Outcome: outcome, StartedAt: rep.Started, EndedAt: rep.Ended, Dir: dir, Report: body})
	}
	if err := save("running", nil); err != nil {
		return nil, err
	}
	before, err := inventory.Read(ctx, l.Set, inventory.Options{})
	if err != nil {
		rep.Ended = time.Now().UTC()
		return nil, errors.Join(fmt.Errorf("live drill: read the account: %w", err), save(OutcomeError, nil))
	}
	if _, err := l.Store.SaveSnapshot(ctx, before); err != nil {
		rep.Ended = time.Now().UTC()
		return nil, errors.Join(err, save(OutcomeError, nil))
	}
	var gaps []report.Gap
	if rp, err := readiness.Check(before, l.Workbook, l.Flow, readiness.Options{}); err == nil {
		for _, g := range rp.Gaps {
			gaps = append(gaps, report.Gap{Source: "readiness", Kind: g.Kind, Severity: g.Severity, Resource: g.Resource, Text: g.Detail + "; " + g.Remediation})
		}
	}
	start := time.Now().UTC()
	rec.add("scenario", l.Actor, "", fmt.Sprintf("live drill of cohort %s: snapshot of %d numbers taken", l.Cohort, len(before.Numbers)))

	over, overPlan, overErr := l.move(ctx, rec, before, plan.Failover, nil)
	if overErr != nil {
		rep.Reason = overErr.Error()
		gaps = append(gaps, report.Gap{Source: "drill", Kind: "run_stopped", Severity: "error", Text: "failover: " + overErr.Error()})
	}
	// From here numbers may have moved: bring them back even if the
	// drill's context ends, within a bound.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), failbackTimeout)
	defer cancel()
	var back *execute.Result
	var backPlan *plan.Plan
	if over != nil {
		rep.RunID, rep.RunIDs = over.RunID, []string{over.RunID}
		if over.State == store.RunPaused || over.State == store.RunRunning {
			// A paused failover left resumable would move the cohort
			// again, outside any drill, if someone resumed it.
			e := &execute.Engine{Store: l.Store, Audit: l.Audit, Actor: l.Actor}
			if err := e.Abort(bctx, over.RunID); err == nil {
				rec.add("run_ended", l.Actor, "", fmt.Sprintf("failover run %s aborted before the failback, so it cannot be resumed", over.RunID))
			}
		}
		var backErr error
		now, err := inventory.Read(bctx, l.Set, inventory.Options{})
		if err == nil {
			back, backPlan, backErr = l.move(bctx, rec, now, plan.Failback, actionKeys(overPlan))
		} else {
			backErr = fmt.Errorf("read the account before failback: %w", err)
		}
		if back != nil {
			rep.RunIDs = append(rep.RunIDs, back.RunID)
		}
		switch {
		case backErr != nil:
			gaps = append(gaps, report.Gap{Source: "drill", Kind: "failback_incomplete", Severity: "error",
				Text: fmt.Sprintf("The failback stopped: %v. The drill cohort may still be in %s: voicedr plan failback --flow %s, then apply it.", backErr, rs["standby"], l.Flow)})
		case back != nil && back.State != store.RunCompleted:
			gaps = append(gaps, report.Gap{Source: "drill", Kind: "failback_incomplete", Severity: "error",
				Text: fmt.Sprintf("The failback run %s ended %s: %s", back.RunID, back.State, back.Reason)})
		}
	}
	restored := true
	after, err := inventory.Read(bctx, l.Set, inventory.Options{})
	if err != nil {
		restored = false
		gaps = append(gaps, report.Gap{Source: "drill", Kind: "not_verified", Severity: "error",
			Text: fmt.Sprintf("The account could not be read after the drill (%v): check the drill cohort by hand (voicedr posture).", err)})
	} else {
		rep.Touched = touched(before, after, overPlan, backPlan)
		for _, tr := range rep.Touched {
			restored = restored && tr.Restored
			if !tr.Restored {
				gaps = append(gaps, report.Gap{Source: "drill", Kind: "not_restored", Severity: "error", Resource: tr.Resource,
					Text: fmt.Sprintf("%s is not as before the drill (before: %s; after: %s). Restore it: voicedr plan failback --flow %s.", tr.Resource, tr.Before, tr.After, l.Flow)})
			}
		}
		rec.add("restored", l.Actor, "", fmt.Sprintf("%d touched resources checked against the snapshot; restored: %v", len(rep.Touched), restored))
	}

	rep.Ended = time.Now().UTC()
	rep.Outcome = outcomeOf(over, true)
	switch {
	case over != nil:
		if rep.Reason == "" {
			rep.Reason = over.Reason
		}
		gaps = append(gaps, cohortGaps(over)...)
	case overErr != nil:
		rep.Outcome = OutcomeFailed
	}
	if !restored {
		rep.Outcome = OutcomeNotRestored
	}
	rep.RTO = rto(over, start, time.Duration(flow.RTO), over != nil && over.State == store.RunCompleted)
	rep.Gates = gateSeries(over)
	if overPlan != nil {
		rep.Calls = l.calls(bctx, overPlan, start)
	}
	rep.Timeline, rep.Gaps = rec.timeline(), gaps
	rep.AsExpected = rep.Outcome == OutcomeCompleted
	rep.Notes = append(rep.Notes, "Calls are counted from Twilio's Calls API (webhook failures from its Alerts), which cannot see calls that died at the edge; fallback hits are not counted in a live drill.")
	body, jerr := json.Marshal(rep)
	if jerr != nil {
		return nil, jerr
	}
	// The record is saved before anything else can fail, so a drill that
	// moved numbers is never left "running".
	if err := save(rep.Outcome, body); err != nil {
		return nil, err
	}
	if rep.Actions, err = recordActions(bctx, l.Store, rep, l.Workbook); err != nil {
		return nil, err
	}
	if rep.History, err = history(bctx, l.Store, rep); err != nil {
		return nil, err
	}
	files, err := writeDrillFiles(dir, rep, nil, l.WorkbookPath)
	if err != nil {
		return nil, err
	}
	if body, err = json.Marshal(rep); err != nil {
		return nil, err
	}
	if err := save(rep.Outcome, body); err != nil {
		return nil, err
	}
	return &Outcome{Report: rep, Dir: dir, Files: files}, nil
}

// ownedCohort refuses a drill cohort picked by share: a live drill moves
// numbers the team owns, named in the workbook (numbers or tags), never a
// share of the customers' numbers.
func ownedCohort(f *workbook.Flow, name string) error {
	for _, c := range f.Cohorts {
		if c.Name != name {
			continue
		}
		if len(c.Numbers) == 0 && len(c.Tags) == 0 {
			return fmt.Errorf("live drill: cohort %s of flow %s is not a drill cohort: it picks numbers by share or country, so a live drill would move customers' numbers; give it numbers: (or tags:) the team owns", name, f.Name)
		}
		return nil
	}
	return fmt.Errorf("live drill: flow %s has no cohort %q; name its drill cohort in drills[].cohort", f.Name, name)
}

func actionKeys(p *plan.Plan) map[string]bool {
	keys := map[string]bool{}
	if p != nil {
		for _, a := range p.Actions() {
			keys[a.Key] = true
		}
	}
	return keys
}

// move plans the drill cohort's move (failover or failback) from s, waits
// for its approvals and applies it. keep, for a failback, restricts it to
// what the failover moved. A nil result means nothing ran: no plan
// (recorded), nothing to move, or not approved; an error is the engine's
// (the run stopped and is resumable).
func (l *Live) move(ctx context.Context, rec *recorder, s *snapshot.Snapshot, kind string, keep map[string]bool) (*execute.Result, *plan.Plan, error) {
	p, err := plan.Make(plan.Input{Snapshot: s, Workbook: l.Workbook, WorkbookDigest: workbookRef(l.WorkbookPath).SHA256,
		Flow: l.Flow, Kind: kind, Now: time.Now(), Source: "live", Only: []string{l.Cohort}})
	if err == nil && keep != nil {
		err = p.Restrict(keep)
		if err == nil && len(p.Actions()) == 0 {
			rec.add("plan", l.Actor, "", "nothing to fail back: the failover moved nothing that is still in "+p.From)
			return nil, nil, nil
		}
	}
	if err != nil {
		rec.add("plan", l.Actor, "", fmt.Sprintf("no %s plan: %v", kind, err))
		return nil, nil, nil
	}
	var targets []string
	for _, a := range p.Actions() {
		targets = append(targets, a.Target)
	}
	rec.add("plan", l.Actor, "", fmt.Sprintf("%s plan %s: %d actions, %s → %s: %s", kind, p.Digest[:12], len(targets), p.From, p.To, strings.Join(targets, ", ")))
	if err := l.awaitApproval(ctx, rec, p); err != nil {
		rec.add("approval", l.Actor, "", err.Error())
		return nil, p, nil
	}
	e := &execute.Engine{Store: l.Store, Router: &execute.TwilioRoutes{Set: l.Set, Order: p.RoutesWrite},
		Signals: execute.TwilioSignals{Env: signals.Env{Set: l.Set}}, Approver: l.Approver, Audit: l.Audit, Actor: l.Actor, Hooks: l.Hooks,
		OnEvent: func(ev execute.Event) { liveEvent(rec, kind, ev) }}
	res, err := e.Apply(ctx, p, execute.ApplyOptions{Fresh: s})
	if err != nil && res == nil {
		rec.add("run_ended", l.Actor, "", fmt.Sprintf("%s refused: %v", kind, err))
		return nil, p, nil
	}
	if err != nil {
		rec.add("run_ended", l.Actor, "", fmt.Sprintf("%s stopped: %v", kind, err))
	}
	return res, p, err
}

func liveEvent(rec *recorder, kind string, ev execute.Event) {
	prefix := ""
	if kind == plan.Failback {
		prefix = "failback: "
	}
	switch ev.Type {
	case "cohort_started", "cohort_routed", "proof", "gate", "cohort_committed", "cohort_rolled_back":
		text := ev.Msg
		if text == "" {
			text = fmt.Sprintf("%d/%d", ev.Done, ev.Total)
		}
		rec.add(ev.Type, "", ev.Cohort, prefix+text)
	case "run_completed", "run_paused", "run_rolled_back", "run_failed", "run_aborted":
		rec.add("run_ended", "", ev.Cohort, prefix+ev.Msg)
	}
}

// awaitApproval asks the approver until it approves or the wait ends.
func (l *Live) awaitApproval(ctx context.Context, rec *recorder, p *plan.Plan) error {
	if l.Approver == nil {
		return nil
	}
	deadline := time.Now().Add(l.ApprovalWait)
	asked := false
	for {
		err := l.Approver.Approve(ctx, p)
		if err == nil {
			rec.add("approval", l.Actor, "", fmt.Sprintf("plan %s approved", p.Digest[:12]))
			return nil
		}
		if !errors.Is(err, governance.ErrNotApproved) || !time.Now().Before(deadline) {
			// Only a missing approval is worth waiting for; an unknown
			// requester or a refused role will not fix itself.
			return fmt.Errorf("plan %s not approved: %w", p.Digest[:12], err)
		}
		if !asked {
			rec.add("approval", l.Actor, "", fmt.Sprintf("waiting up to %s for approvals of plan %s: voicedr approve %s --as NAME", l.ApprovalWait, p.Digest[:12], p.Digest))
			asked = true
		}
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
}

// touched compares every resource the drill's plans moved, before the
// drill and after it.
func touched(before, after *snapshot.Snapshot, plans ...*plan.Plan) []report.Touched {
	was, is := numbersByE164(before), numbersByE164(after)
	seen := map[string]bool{}
	var out []report.Touched
	for _, p := range plans {
		if p == nil {
			continue
		}
		for _, a := range p.Actions() {
			if seen[a.Key] {
				continue
			}
			seen[a.Key] = true
			t := report.Touched{Resource: a.Key}
			switch a.Kind {
			case plan.KindNumber:
				t.Before, t.After = describe(was[a.Target]), describe(is[a.Target])
			default:
				t.Before, t.After = routeOf(before, a), routeOf(after, a)
			}
			t.Restored = t.Before == t.After
			out = append(out, t)
		}
	}
	return out
}

func numbersByE164(s *snapshot.Snapshot) map[string]snapshot.Number {
	out := map[string]snapshot.Number{}
	for _, n := range s.Numbers {
		out[n.PhoneNumber] = n
	}
	return out
}

// describe is what a restored number must match: its effective routing
// (never set and explicitly us1 route alike) and each region's record.
func describe(n snapshot.Number) string {
	records := map[string]snapshot.NumberRecord{}
	for r, rec := range n.Records {
		if rec != nil {
			c := *rec
			c.SID = ""
			// Webhook URLs may carry basic-auth credentials; reports
			// and evidence are meant to be shared.
			c.VoiceURL, c.VoiceFallbackURL, c.StatusCallback = redact(c.VoiceURL), redact(c.VoiceFallbackURL), redact(c.StatusCallback)
			records[r] = c
		}
	}
	b, _ := json.Marshal(records)
	return "routes to " + n.Routing.VoiceRegion + "; records " + string(b)
}

// redact hides a URL's password, keeping it comparable.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	return p.Redacted()
}

func routeOf(s *snapshot.Snapshot, a plan.Action) string {
	rs := s.TrunkRouting
	if a.Kind == plan.KindSIPDomain {
		rs = s.SIPDomainRouting
	}
	for _, r := range rs {
		if r.Key == a.Target {
			return "routes to " + r.VoiceRegion
		}
	}
	return "routes to " + string(region.US1)
}

// calls counts the drill cohort's calls in both regions since the drill
// started, from the Calls and Alerts APIs (a one-evaluation gate per
// region, so the counting is the gates' own).
func (l *Live) calls(ctx context.Context, p *plan.Plan, since time.Time) report.Calls {
	out := report.Calls{Source: "Calls and Alerts API"}
	var numbers []string
	for _, a := range p.Actions() {
		if a.Kind == plan.KindNumber {
			numbers = append(numbers, a.Target)
		}
	}
	sigs := []workbook.Signal{
		{Name: "count", Source: "calls", Params: map[string]string{"measure": "count"}},
		{Name: "completed", Source: "calls"},
	}
	gate := workbook.Gate{Name: "drill calls", Window: workbook.Duration(time.Nanosecond), Conditions: []workbook.Condition{
		{Signal: "count", Threshold: workbook.Threshold{Op: ">=", Value: 0, Unit: "count"}},
		{Signal: "completed", Threshold: workbook.Threshold{Op: ">=", Value: 0, Unit: "percent"}},
	}}
	for _, r := range []string{p.From, p.To} {
		res, err := signals.EvaluateGate(ctx, signals.Env{Set: l.Set}, gate, sigs, signals.Scope{Flow: l.Flow, Target: region.Region(r), Numbers: numbers, Since: since})
		ph := report.Phase{Name: "in " + r}
		if err != nil || len(res.Measurements) < 2 {
			ph.Name += " (unreadable)"
		} else {
			ph.Placed = int(res.Measurements[0].Value)
			ended := res.Measurements[1].Sample
			ph.Lost = ended - int(float64(ended)*res.Measurements[1].Value/100+0.5)
		}
		out.Phases = append(out.Phases, ph)
		out.Placed, out.Lost = out.Placed+ph.Placed, out.Lost+ph.Lost
	}
	return out
}
