package execute

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/store"
)

// Cohort outcomes.
const (
	outcomeGo           = "go"
	outcomeNoGo         = "no_go"
	outcomeInconclusive = "inconclusive"
	outcomeSkipped      = "skipped"
	// outcomeResumeRollback: the ledger shows a rollback decided before a
	// crash; it is finished, not decided again.
	outcomeResumeRollback = "resume_rollback"
)

// cohorts runs the plan's cohorts in order and returns the run's end state.
func (r *runner) cohorts(ctx context.Context) (store.RunState, string, error) {
	for _, c := range r.p.Cohorts {
		if st, ok := r.interrupted(ctx); ok {
			r.emit(Event{Type: "run_" + string(st), Msg: "stopped before cohort " + c.Name})
			return st, fmt.Sprintf("%s before cohort %s", st, c.Name), nil
		}
		cr, outcome, reason, err := r.cohort(ctx, c)
		r.res.Cohorts = append(r.res.Cohorts, cr)
		var stop stopError
		if errors.As(err, &stop) {
			r.emit(Event{Type: "run_" + string(stop.state), Cohort: c.Name, Msg: "stopped during cohort " + c.Name})
			return stop.state, fmt.Sprintf("%s during cohort %s", stop.state, c.Name), nil
		}
		if err != nil {
			return store.RunRunning, "", err
		}
		if outcome == outcomeGo || outcome == outcomeSkipped {
			continue
		}
		if outcome == outcomeResumeRollback {
			return r.decide(ctx, c, plan.NoGoRollback, fmt.Sprintf("cohort %s: %s", c.Name, reason))
		}
		policy := c.NoGo
		if outcome == outcomeInconclusive {
			policy = plan.NoGoPause
			if c.Gate != nil && c.Gate.Inconclusive == plan.NoGoRollback {
				policy = plan.NoGoRollback
			}
		}
		if err := r.j.write(ctx, cohortKey(c.Name), store.StepFailed, entry{Op: policy, Reason: reason, Detail: outcome}); err != nil {
			return store.RunRunning, "", err
		}
		if err := r.audit(ctx, "run.cohort", map[string]any{"cohort": c.Name, "outcome": outcome, "reason": reason, "policy": policy, "gate": cr.Gate}); err != nil {
			return store.RunRunning, "", err
		}
		return r.decide(ctx, c, policy, fmt.Sprintf("cohort %s: %s: %s", c.Name, outcome, reason))
	}
	if r.p.Kind == plan.Failback {
		if err := r.hooks(ctx, "after_failback", "run"); err != nil {
			return store.RunRunning, "", err
		}
	}
	if err := r.finish(ctx, store.RunCompleted); err != nil {
		return store.RunRunning, "", err
	}
	r.emit(Event{Type: "run_completed", Msg: fmt.Sprintf("%s of %s completed", r.p.Kind, r.p.Flow)})
	return store.RunCompleted, "", nil
}

// decide carries out a no-go policy: roll the cohort back, or pause.
func (r *runner) decide(ctx context.Context, c plan.Cohort, policy, reason string) (store.RunState, string, error) {
	if policy == plan.NoGoRollback {
		if err := r.rollbackCohort(ctx, c); err != nil {
			return store.RunRunning, "", err
		}
		r.res.Cohorts[len(r.res.Cohorts)-1].Rollback = true
		if err := r.finish(ctx, store.RunRolledBack); err != nil {
			return store.RunRunning, "", err
		}
		r.emit(Event{Type: "run_rolled_back", Cohort: c.Name, Msg: reason})
		return store.RunRolledBack, reason, nil
	}
	if err := r.finish(ctx, store.RunPaused); err != nil {
		return store.RunRunning, "", err
	}
	r.emit(Event{Type: "run_paused", Cohort: c.Name, Msg: reason})
	return store.RunPaused, reason, nil
}

// cohort moves one cohort and judges it.
func (r *runner) cohort(ctx context.Context, c plan.Cohort) (CohortResult, string, string, error) {
	cr := CohortResult{Name: c.Name, Kind: c.Kind, Actions: len(c.Actions), Started: r.e.Now().UTC()}
	key := cohortKey(c.Name)
	switch l := r.j.get(key); l.Step {
	case store.StepCommitted:
		cr.Flipped, cr.Outcome = len(c.Actions), outcomeSkipped
		return cr, outcomeSkipped, "", r.commitActions(ctx, c)
	case store.StepFailed:
		if l.Op == plan.NoGoRollback {
			// A rollback was decided before a crash: finish it.
			cr.Outcome = outcomeNoGo
			return cr, outcomeResumeRollback, "rollback decided before a restart", nil
		}
		// The run paused here and a human resumed it: judge the cohort
		// again, from its proof.
		if err := r.j.write(ctx, key, store.StepRouted, entry{Cohort: c.Name, Reason: "resumed after pause"}); err != nil {
			return cr, "", "", err
		}
	case "":
		since := r.e.Now().UTC()
		e := entry{Cohort: c.Name, Since: since}
		if b, ok := r.baseline(ctx, c, since); ok {
			e.Baseline = &b
		}
		if err := r.j.write(ctx, key, store.StepIntended, e); err != nil {
			return cr, "", "", err
		}
		r.emit(Event{Type: "cohort_started", Cohort: c.Name, Total: len(c.Actions)})
		if err := r.hooks(ctx, "before_cohort", c.Name); err != nil {
			return cr, outcomeNoGo, err.Error(), nil
		}
	}
	first := r.j.first[key]
	since := first.Since
	if since.IsZero() {
		since = cr.Started
	}
	if l := r.j.get(key); l.Step == store.StepIntended {
		if err := r.hooks(ctx, "before_flip", c.Name); err != nil {
			return cr, outcomeNoGo, err.Error(), nil
		}
		flipped, failed, err := r.flip(ctx, c)
		cr.Flipped, cr.Failed = flipped, failed
		if err != nil {
			return cr, "", "", err
		}
		if failed > 0 {
			return cr, outcomeNoGo, fmt.Sprintf("%d of %d routing write(s) failed", failed, len(c.Actions)), nil
		}
		if err := r.hooks(ctx, "after_flip", c.Name); err != nil {
			return cr, outcomeNoGo, err.Error(), nil
		}
		cr.Routed = r.e.Now().UTC()
		if err := r.j.write(ctx, key, store.StepRouted, entry{Cohort: c.Name}); err != nil {
			return cr, "", "", err
		}
		r.emit(Event{Type: "cohort_routed", Cohort: c.Name, Done: flipped, Total: len(c.Actions)})
	} else {
		cr.Flipped = len(c.Actions)
	}
	if r.e.SkipProof {
		return r.commit(ctx, c, cr, nil)
	}
	if st, ok := r.interrupted(ctx); ok {
		return cr, "", "", stopError{st}
	}
	if l := r.j.get(key); l.Step == store.StepRouted {
		outcome, reason, err := r.prove(ctx, c, since, &cr)
		if err != nil || outcome != outcomeGo {
			return cr, outcome, reason, err
		}
	}
	if c.Gate == nil {
		return r.commit(ctx, c, cr, nil)
	}
	res, err := r.e.Signals.EvaluateGate(ctx, *c.Gate, r.p.Signals, r.scope(c, since, first.Baseline))
	if err != nil {
		return cr, "", "", fmt.Errorf("gate %s of cohort %s: %w", c.Gate.Name, c.Name, err)
	}
	cr.Gate, cr.Decided = &res, r.e.Now().UTC()
	r.emit(Event{Type: "gate", Cohort: c.Name, Msg: string(res.Outcome) + ": " + res.Reason, Detail: res.Measurements})
	switch res.Outcome {
	case signals.Outcome(outcomeGo):
		return r.commit(ctx, c, cr, &res)
	case signals.Outcome(outcomeNoGo):
		cr.Outcome = outcomeNoGo
		return cr, outcomeNoGo, "gate " + c.Gate.Name + ": " + res.Reason, r.j.write(ctx, "gate:"+c.Name, store.StepFailed, entry{Cohort: c.Name, Detail: res})
	default:
		cr.Outcome = outcomeInconclusive
		return cr, outcomeInconclusive, "gate " + c.Gate.Name + ": " + res.Reason, r.j.write(ctx, "gate:"+c.Name, store.StepFailed, entry{Cohort: c.Name, Detail: res})
	}
}

// stopError is how a pause or abort asked during a cohort surfaces: the
// run already holds its new state, so the engine only stops.
type stopError struct{ state store.RunState }

func (e stopError) Error() string { return "run " + string(e.state) }

// commit records a cohort's go and commits its actions.
func (r *runner) commit(ctx context.Context, c plan.Cohort, cr CohortResult, res *signals.Result) (CohortResult, string, string, error) {
	if err := r.j.write(ctx, cohortKey(c.Name), store.StepCommitted, entry{Cohort: c.Name, Detail: res}); err != nil {
		return cr, "", "", err
	}
	if err := r.commitActions(ctx, c); err != nil {
		return cr, "", "", err
	}
	if err := r.audit(ctx, "run.cohort", map[string]any{"cohort": c.Name, "outcome": outcomeGo, "actions": len(c.Actions), "gate": res}); err != nil {
		return cr, "", "", err
	}
	if err := r.hooks(ctx, "after_cohort", c.Name); err != nil {
		// The cohort moved and was proven; a failing after-cohort hook is
		// reported, not a reason to undo the move.
		r.e.Logger.Warn("after_cohort hook failed", "cohort", c.Name, "err", err)
	}
	cr.Outcome = outcomeGo
	if cr.Decided.IsZero() {
		cr.Decided = r.e.Now().UTC()
	}
	r.emit(Event{Type: "cohort_committed", Cohort: c.Name, Done: len(c.Actions), Total: len(c.Actions)})
	return cr, outcomeGo, "", nil
}

func (r *runner) commitActions(ctx context.Context, c plan.Cohort) error {
	var keys []string
	for _, a := range c.Actions {
		if r.j.get(a.Key).Step != store.StepCommitted {
			keys = append(keys, a.Key)
		}
	}
	return r.j.writeAll(ctx, keys, store.StepCommitted, entry{})
}

// flip writes every action of the cohort that the ledger does not show as
// done, under the plan's routing rate and the engine's worker bound.
func (r *runner) flip(ctx context.Context, c plan.Cohort) (flipped, failed int, err error) {
	lim := rate.NewLimiter(rate.Limit(r.p.Execution.RoutingRate), max(1, int(r.p.Execution.RoutingRate/10)))
	var nFlipped, nFailed atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.e.Workers)
	total := len(c.Actions)
	for _, a := range c.Actions {
		l := r.j.get(a.Key)
		if l.flipped() {
			nFlipped.Add(1)
			continue
		}
		g.Go(func() error {
			ok, err := r.flipOne(gctx, a, l, lim)
			if err != nil {
				return err
			}
			if ok {
				if n := nFlipped.Add(1); n%500 == 0 || int(n) == total {
					r.emit(Event{Type: "flip_progress", Cohort: c.Name, Done: int(n), Total: total})
				}
			} else {
				nFailed.Add(1)
			}
			return nil
		})
	}
	err = g.Wait()
	return int(nFlipped.Load()), int(nFailed.Load()), err
}

// flipOne moves one action. An intended record without its answer means a
// process died with the write in flight: the route is read first, and the
// write is sent again only if it did not take effect.
func (r *runner) flipOne(ctx context.Context, a plan.Action, l last, lim *rate.Limiter) (bool, error) {
	if l.Step == store.StepIntended && l.Op == opFlip {
		got, err := r.e.Router.Read(ctx, a)
		if err == nil && got == a.To {
			if err := r.j.write(ctx, a.Key, store.StepApplied, entry{Answer: got, Recovered: true}); err != nil {
				return false, err
			}
			return true, r.j.write(ctx, a.Key, store.StepRouted, entry{})
		}
	}
	if err := lim.Wait(ctx); err != nil {
		return false, err
	}
	if err := r.j.write(ctx, a.Key, store.StepIntended, entry{Op: opFlip, To: a.To}); err != nil {
		return false, err
	}
	answer, via, err := r.e.Router.Write(ctx, a, a.To)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, r.j.write(ctx, a.Key, store.StepFailed, entry{Error: err.Error(), Via: via})
	}
	if err := r.j.write(ctx, a.Key, store.StepApplied, entry{Answer: answer, Via: via}); err != nil {
		return false, err
	}
	if answer != a.To {
		return false, r.j.write(ctx, a.Key, store.StepFailed, entry{Error: "Twilio's answer shows voice_region " + answer + ", not " + a.To, Via: via})
	}
	return true, r.j.write(ctx, a.Key, store.StepRouted, entry{})
}

// prove checks the cohort's sample: calls land in the target and no longer
// in the old region.
func (r *runner) prove(ctx context.Context, c plan.Cohort, since time.Time, cr *CohortResult) (string, string, error) {
	sample := c.Sample
	if c.Kind != plan.KindNumber {
		sample = []string{c.Actions[0].Target}
	}
	r.emit(Event{Type: "proof_started", Cohort: c.Name, Total: len(sample),
		Msg: fmt.Sprintf("waiting up to %s for calls to land in %s", time.Duration(r.p.Execution.ProofWait), r.p.To)})
	proofs, err := r.e.Signals.Prove(ctx, signals.ProveInput{
		Kind: c.Kind, Numbers: sample, Target: region.Region(r.p.To), Old: region.Region(r.p.From), Since: since,
		Wait: time.Duration(r.p.Execution.ProofWait), Interval: time.Duration(r.p.Execution.ProofInterval),
		CallerID: r.p.Execution.CallerID, CallsPerSecond: r.p.Execution.CallsPerSecond,
		Progress: func(np signals.NumberProof) {
			r.emit(Event{Type: "proof_progress", Cohort: c.Name, Msg: np.Number, Detail: np})
		},
	})
	if err != nil {
		return "", "", fmt.Errorf("prove cohort %s: %w", c.Name, err)
	}
	cr.Proofs = proofs
	var notSeen, stillOld []string
	for _, p := range proofs {
		switch {
		case p.Proven:
		case p.OldCalls > 0:
			stillOld = append(stillOld, p.Number)
		default:
			notSeen = append(notSeen, p.Number)
		}
	}
	outcome, reason := outcomeGo, ""
	switch {
	case len(stillOld) > 0:
		outcome, reason = outcomeNoGo, fmt.Sprintf("calls to %s still land in %s after %s", strings.Join(stillOld, ", "), r.p.From, time.Duration(r.p.Execution.ProofWait))
	case len(notSeen) > 0:
		outcome, reason = outcomeInconclusive, fmt.Sprintf("no call to %s was seen in %s within %s", strings.Join(notSeen, ", "), r.p.To, time.Duration(r.p.Execution.ProofWait))
	}
	step := store.StepProven
	if outcome != outcomeGo {
		step = store.StepFailed
		cr.Outcome = outcome
	} else {
		cr.Proven = r.e.Now().UTC()
	}
	r.emit(Event{Type: "proof", Cohort: c.Name, Msg: cmp.Or(reason, "proven"), Detail: proofs})
	return outcome, reason, r.j.write(ctx, "proof:"+c.Name, step, entry{Cohort: c.Name, Reason: reason, Detail: proofs})
}

// scope is what the cohort's gate judges: calls to the numbers moved in it.
func (r *runner) scope(c plan.Cohort, since time.Time, baseline *float64) signals.Scope {
	sc := signals.Scope{
		Flow: r.p.Flow, Target: region.Region(r.p.To), Old: region.Region(r.p.From), Since: since,
		Webhooks: r.p.Webhooks, CallerID: r.p.Execution.CallerID, CallsPerSecond: r.p.Execution.CallsPerSecond,
		Synthetic: c.Sample,
	}
	for _, a := range c.Actions {
		switch a.Kind {
		case plan.KindNumber:
			sc.Numbers = append(sc.Numbers, a.Target)
		case plan.KindTrunk:
			sc.Trunks = append(sc.Trunks, a.Target)
		case plan.KindSIPDomain:
			sc.SIPDomains = append(sc.SIPDomains, a.Target)
		}
	}
	if baseline != nil {
		sc.Baseline = *baseline
	}
	return sc
}

// baseline measures the cohort's inbound calls per minute in the old region
// over the gate's window before the flip; unknown (false) when it cannot.
func (r *runner) baseline(ctx context.Context, c plan.Cohort, now time.Time) (float64, bool) {
	if r.e.SkipProof || c.Gate == nil || c.Kind != plan.KindNumber {
		return 0, false
	}
	w := time.Duration(c.Gate.Window)
	if w <= 0 {
		w = time.Minute
	}
	var ns []string
	for _, a := range c.Actions {
		ns = append(ns, a.Target)
	}
	b, _, err := r.e.Signals.Baseline(ctx, region.Region(r.p.From), ns, now.Add(-w), now)
	if err != nil {
		r.e.Logger.Info("no baseline for cohort", "cohort", c.Name, "err", err)
		return 0, false
	}
	return b, true
}

// hooks runs the plan's hooks for when, journalled and bounded by their
// timeouts; a hook already applied in this run is not run again.
func (r *runner) hooks(ctx context.Context, when, cohort string) error {
	for _, h := range r.p.Hooks {
		if h.When != when {
			continue
		}
		key := hookKey(h.Name, cohort, when)
		l := r.j.get(key)
		if l.Step == store.StepApplied {
			continue
		}
		attempt := 1
		if l.Step != "" {
			attempt = 2
		}
		if err := r.j.write(ctx, key, store.StepIntended, entry{Cohort: cohort}); err != nil {
			return err
		}
		res, err := r.e.Hooks.Run(ctx, h, hooks.Call{RunID: r.run.ID, Flow: r.p.Flow, Cohort: cohort, When: when,
			From: r.p.From, To: r.p.To, Attempt: attempt})
		if err != nil {
			_ = r.j.write(ctx, key, store.StepFailed, entry{Cohort: cohort, Error: err.Error(), Detail: res})
			return fmt.Errorf("hook %s (%s): %w", h.Name, when, err)
		}
		if err := r.j.write(ctx, key, store.StepApplied, entry{Cohort: cohort, Detail: res}); err != nil {
			return err
		}
		r.emit(Event{Type: "hook", Cohort: cohort, Msg: h.Name + " " + when + " ok"})
	}
	return nil
}
