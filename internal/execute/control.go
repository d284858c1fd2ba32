package execute

import (
	"bytes"
	"context"
	"fmt"

	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/store"
)

// rollbackCohort writes every touched action of c back to its observed
// region (us1 where the route was never set: Twilio has no way to unset
// it), journalled like a flip.
func (r *runner) rollbackCohort(ctx context.Context, c plan.Cohort) error {
	r.emit(Event{Type: "rollback_started", Cohort: c.Name, Total: len(c.Actions)})
	n := 0
	for _, a := range c.Actions {
		l := r.j.get(a.Key)
		if l.Step == "" || l.Step == store.StepRolledBack {
			continue // never touched, or already restored
		}
		if l.Step == store.StepFailed && l.Op == "" {
			// The flip was refused: read before writing, Twilio may still
			// have taken it.
			if got, err := r.e.Router.Read(ctx, a); err == nil && got == a.From {
				if err := r.j.write(ctx, a.Key, store.StepRolledBack, entry{Answer: got, Recovered: true}); err != nil {
					return err
				}
				continue
			}
		}
		if err := r.j.write(ctx, a.Key, store.StepIntended, entry{Op: opRollback, To: a.From}); err != nil {
			return err
		}
		answer, via, err := r.e.Router.Write(ctx, a, a.From)
		if err != nil {
			// Leave the intended record: a resumed rollback retries it.
			return fmt.Errorf("roll back %s to %s: %w", a.Key, a.From, err)
		}
		if answer != a.From {
			return fmt.Errorf("roll back %s: Twilio's answer shows %s, not %s", a.Key, answer, a.From)
		}
		if err := r.j.write(ctx, a.Key, store.StepRolledBack, entry{Answer: answer, Via: via}); err != nil {
			return err
		}
		n++
	}
	if err := r.j.write(ctx, cohortKey(c.Name), store.StepRolledBack, entry{Cohort: c.Name}); err != nil {
		return err
	}
	r.emit(Event{Type: "cohort_rolled_back", Cohort: c.Name, Done: n, Total: len(c.Actions)})
	if err := r.audit(ctx, "run.rollback", map[string]any{"cohort": c.Name, "restored": n}); err != nil {
		return err
	}
	return r.hooks(ctx, "after_rollback", c.Name)
}

// Pause asks a running run to stop at its next safe point (between writes
// batches, before proof or gate). A run not running is refused.
func (e *Engine) Pause(ctx context.Context, runID string) error {
	return e.transition(ctx, runID, store.RunRunning, store.RunPaused)
}

// Abort stops a running or paused run for good, leaving routing as the
// ledger shows it (roll it back with Rollback).
func (e *Engine) Abort(ctx context.Context, runID string) error {
	run, err := e.Store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	return e.transition(ctx, runID, run.State, store.RunAborted)
}

func (e *Engine) transition(ctx context.Context, runID string, from, to store.RunState) error {
	switch from {
	case store.RunRunning, store.RunPaused, store.RunPlanned:
	default:
		return fmt.Errorf("%w: run %s is %s", ErrRefused, runID, from)
	}
	if err := e.Store.UpdateRunState(ctx, runID, from, to); err != nil {
		return fmt.Errorf("%w: run %s: %v", ErrRefused, runID, err)
	}
	return nil
}

// LoadPlan returns the plan a run executes, from the store.
func (e *Engine) LoadPlan(ctx context.Context, runID string) (*plan.Plan, store.Run, error) {
	run, err := e.Store.GetRun(ctx, runID)
	if err != nil {
		return nil, store.Run{}, err
	}
	body, err := e.Store.GetPlan(ctx, run.PlanDigest)
	if err != nil {
		return nil, run, err
	}
	p, err := plan.Read(bytes.NewReader(body))
	return p, run, err
}

// Rollback restores the observed routing of one cohort of a run (cohort
// non-empty) or of every cohort, newest first. It takes the run's leases,
// so a run still executing elsewhere is refused: pause it first.
func (e *Engine) Rollback(ctx context.Context, runID, cohort string) (*Result, error) {
	e.defaults()
	p, run, err := e.LoadPlan(ctx, runID)
	if err != nil {
		return nil, err
	}
	stop, err := e.lease(ctx, p, runID)
	if err != nil {
		return nil, err
	}
	defer stop()
	j, err := openJournal(ctx, e.Store, runID, e.Failpoint)
	if err != nil {
		return nil, err
	}
	r := &runner{e: e, p: p, run: run, j: j, res: &Result{RunID: runID, Started: e.Now().UTC()}}
	found := false
	for i := len(p.Cohorts) - 1; i >= 0; i-- {
		c := p.Cohorts[i]
		if cohort != "" && c.Name != cohort {
			continue
		}
		found = true
		if err := r.rollbackCohort(ctx, c); err != nil {
			return r.res, err
		}
		r.res.Cohorts = append(r.res.Cohorts, CohortResult{Name: c.Name, Kind: c.Kind, Actions: len(c.Actions), Rollback: true, Outcome: "rolled_back"})
	}
	if !found {
		return nil, fmt.Errorf("run %s has no cohort %q", runID, cohort)
	}
	to := store.RunRolledBack
	if cohort != "" {
		to = store.RunPaused // the rest of the run stays as it is, for a human
	}
	if run.State != to {
		if err := e.Store.UpdateRunState(ctx, runID, run.State, to); err != nil {
			return r.res, fmt.Errorf("record run %s as %s: %w", runID, to, err)
		}
	}
	r.res.State, r.res.Ended = to, e.Now().UTC()
	return r.res, nil
}
