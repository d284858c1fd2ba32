package execute

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/store"
)

// Event is one step of progress, for people and for --json streams.
type Event struct {
	Time   time.Time `json:"time"`
	Run    string    `json:"run"`
	Type   string    `json:"type"`
	Cohort string    `json:"cohort,omitempty"`
	Done   int       `json:"done,omitempty"`
	Total  int       `json:"total,omitempty"`
	Msg    string    `json:"msg,omitempty"`
	Detail any       `json:"detail,omitempty"`
}

// runner is one Apply: the plan, its run, its journal and its leases.
type runner struct {
	e   *Engine
	p   *plan.Plan
	run store.Run
	j   *journal
	res *Result
}

func (r *runner) emit(ev Event) {
	if r.e.OnEvent == nil {
		return
	}
	ev.Time, ev.Run = r.e.Now().UTC(), r.run.ID
	r.e.OnEvent(ev)
}

// Apply executes p, or continues its unfinished run. The returned Result's
// State says where the run stands: completed, paused (a human is needed),
// rolled_back (no-go) or aborted. Refusals wrap ErrRefused and change
// nothing.
func (e *Engine) Apply(ctx context.Context, p *plan.Plan, opts ApplyOptions) (*Result, error) {
	e.defaults()
	if err := e.Approver.Approve(ctx, p); err != nil {
		if errors.Is(err, ErrRefused) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if len(p.Hooks) > 0 && e.Hooks == nil {
		return nil, fmt.Errorf("%w: the plan has hooks and no hook runner is configured", ErrRefused)
	}
	run, resumed, err := e.findRun(ctx, p, opts.RunID)
	if err != nil {
		return nil, err
	}
	// Lease first, then check drift: nothing of the plan's can change
	// under another run of voicedr between the check and the writes.
	stop, err := e.lease(ctx, p, run.ID)
	if err != nil {
		return nil, err
	}
	defer stop()
	j := &journal{st: e.Store, run: run.ID, fail: e.Failpoint, state: map[string]last{}, first: map[string]entry{}}
	if resumed {
		if j, err = openJournal(ctx, e.Store, run.ID, e.Failpoint); err != nil {
			return nil, err
		}
	}
	var drift []plan.Change
	if opts.Fresh != nil {
		moving := map[string]bool{}
		for _, a := range p.Actions() {
			if l := j.get(a.Key); l.Step != "" {
				moving[a.Key] = true
			}
		}
		drift = p.Drift(opts.Fresh, moving, opts.InFlow)
		if len(drift) > 0 && !opts.Force {
			// Refused before the run exists: a refusal leaves no trace
			// but this error.
			return nil, &StaleError{Changes: drift}
		}
	}
	if !resumed {
		if err := e.createRun(ctx, p, run); err != nil {
			return nil, err
		}
	}
	r := &runner{e: e, p: p, run: run, j: j, res: &Result{RunID: run.ID, Started: e.Now().UTC(), Drift: drift}}
	if len(drift) > 0 {
		var forced []string
		for _, c := range drift {
			forced = append(forced, c.String())
		}
		if err := j.write(ctx, runKey, store.StepIntended, entry{Reason: "applied with --force over drift", Forced: forced}); err != nil {
			return nil, err
		}
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	state, reason, err := r.cohorts(ctx)
	r.res.State, r.res.Reason, r.res.Ended = state, reason, e.Now().UTC()
	if err != nil {
		return r.res, err
	}
	return r.res, nil
}

// findRun returns the named run, or the plan's latest unfinished run
// (resumed true), or a new run not yet stored.
func (e *Engine) findRun(ctx context.Context, p *plan.Plan, id string) (store.Run, bool, error) {
	if id != "" {
		run, err := e.Store.GetRun(ctx, id)
		if err != nil {
			return store.Run{}, false, err
		}
		if run.PlanDigest != p.Digest {
			return store.Run{}, false, fmt.Errorf("%w: run %s executes plan %.12s, not %.12s", ErrRefused, id, run.PlanDigest, p.Digest)
		}
		return run, true, nil
	}
	runs, err := e.Store.ListRuns(ctx, 200)
	if err != nil {
		return store.Run{}, false, err
	}
	for _, run := range runs {
		if run.PlanDigest == p.Digest {
			switch run.State {
			case store.RunRunning, store.RunPaused, store.RunPlanned:
				return run, true, nil
			case store.RunCompleted:
				return store.Run{}, false, fmt.Errorf("%w: plan %.12s was already applied by run %s; make a new plan", ErrRefused, p.Digest, run.ID)
			}
		}
	}
	now := e.Now().UTC()
	return store.Run{ID: newRunID(p, now), PlanDigest: p.Digest, Flow: p.Flow, Kind: p.Kind, CreatedAt: now, State: store.RunPlanned}, false, nil
}

// createRun stores the plan and the new run, so the run can be resumed or
// rolled back from the store alone.
func (e *Engine) createRun(ctx context.Context, p *plan.Plan, run store.Run) error {
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		return err
	}
	if err := e.Store.PutPlan(ctx, p.Digest, buf.Bytes()); err != nil {
		return err
	}
	return e.Store.CreateRun(ctx, run)
}

// lease claims the flow and every resource of the plan for this process, and
// keeps renewing them until stop is called.
func (e *Engine) lease(ctx context.Context, p *plan.Plan, run string) (func(), error) {
	who := holder(run)
	keys := leaseKeys(p)
	ls, err := e.Store.AcquireLeases(ctx, keys, who, e.LeaseTTL)
	if err != nil {
		var held *store.LeaseHeldError
		if errors.As(err, &held) {
			return nil, fmt.Errorf("%w: %s is held by %s until %s: another run is moving it; wait for it, or pause or abort it (voicedr run list)",
				ErrRefused, held.Key, held.Holder, held.Expires.UTC().Format(time.RFC3339))
		}
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(e.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				// Renew in chunks: one long write would hold the store's
				// lock and stall every ledger write (and so every routing
				// write) behind it. The keys are already ours, so chunks
				// are as safe as one transaction.
				const chunk = 256
				for i := 0; i < len(keys) && rctx.Err() == nil; i += chunk {
					if _, err := e.Store.AcquireLeases(rctx, keys[i:min(i+chunk, len(keys))], who, e.LeaseTTL); err != nil && rctx.Err() == nil {
						e.Logger.Warn("renew leases", "run", run, "err", err)
					}
				}
			}
		}
	}()
	stop := func() {
		cancel()
		<-done
		if err := e.Store.ReleaseLeases(context.WithoutCancel(ctx), ls); err != nil {
			e.Logger.Warn("release leases (they expire by themselves)", "run", run, "err", err)
		}
	}
	return stop, nil
}

// start moves the run to running (from planned or paused).
func (r *runner) start(ctx context.Context) error {
	st := r.e.Store
	cur, err := st.GetRun(ctx, r.run.ID)
	if err != nil {
		return err
	}
	switch cur.State {
	case store.RunRunning:
		// A process died mid-run; the ledger says where it was.
	case store.RunPlanned, store.RunPaused:
		if err := st.UpdateRunState(ctx, r.run.ID, cur.State, store.RunRunning); err != nil {
			return fmt.Errorf("%w: run %s changed state while starting: %v", ErrRefused, r.run.ID, err)
		}
	default:
		return fmt.Errorf("%w: run %s is %s; it cannot be resumed (make a new plan)", ErrRefused, r.run.ID, cur.State)
	}
	r.run.State = store.RunRunning
	if err := r.audit(ctx, "run.started", map[string]any{"flow": r.p.Flow, "kind": r.p.Kind, "from": r.p.From, "to": r.p.To,
		"mode": r.p.Mode, "resumed_from": string(cur.State), "forced_drift": len(r.res.Drift)}); err != nil {
		return err
	}
	r.emit(Event{Type: "run_started", Msg: fmt.Sprintf("%s of %s: %s → %s", r.p.Kind, r.p.Flow, r.p.From, r.p.To), Total: len(r.p.Actions())})
	return nil
}

// interrupted reports a pause or abort someone asked for since the run
// started; the engine stops at the next safe point.
func (r *runner) interrupted(ctx context.Context) (store.RunState, bool) {
	cur, err := r.e.Store.GetRun(ctx, r.run.ID)
	if err != nil || cur.State == store.RunRunning {
		return "", false
	}
	return cur.State, true
}

// finish moves the run from running to its final state.
func (r *runner) finish(ctx context.Context, to store.RunState) error {
	if err := r.e.Store.UpdateRunState(ctx, r.run.ID, store.RunRunning, to); err != nil {
		return fmt.Errorf("record run %s as %s: %w", r.run.ID, to, err)
	}
	r.run.State = to
	return r.audit(ctx, "run.finished", map[string]any{"state": string(to), "reason": r.res.Reason})
}
