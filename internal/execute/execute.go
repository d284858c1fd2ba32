// Package execute applies a reviewed plan: cohort by cohort, under leases,
// with every routing write journalled in the store before and after it is
// sent, each flip proven by calls landing in the target region, and each
// cohort judged by its gate before the next one moves. A no-go rolls the
// cohort back to the exact observed state (or pauses, per the workbook); an
// inconclusive gate pauses for a human.
//
// The ledger is the truth: a process killed at any instant is resumed by
// applying the same plan (or resuming the run), which re-reads what was in
// flight instead of repeating it and never sends a committed write twice.
package execute

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/workbook"
)

// ErrRefused wraps every refusal that changed nothing: a stale plan, a
// missing approval, a lease another run holds, a run in the wrong state.
var ErrRefused = errors.New("refused")

// Router writes and reads routing (TwilioRoutes on Twilio).
type Router interface {
	Write(ctx context.Context, a plan.Action, region string) (answer, via string, err error)
	Read(ctx context.Context, a plan.Action) (string, error)
}

// Signals proves flips and judges gates (signals.Env on Twilio).
type Signals interface {
	Prove(ctx context.Context, in signals.ProveInput) ([]signals.NumberProof, error)
	EvaluateGate(ctx context.Context, g workbook.Gate, sigs []workbook.Signal, sc signals.Scope) (signals.Result, error)
	Baseline(ctx context.Context, r region.Region, numbers []string, since, until time.Time) (float64, int, error)
}

// HookRunner runs a workbook hook (hooks.Runner).
type HookRunner interface {
	Run(ctx context.Context, h workbook.Hook, c hooks.Call) (hooks.Result, error)
}

// Approver decides whether a plan's digest is approved for execution. The
// governance issue plugs its policies in here.
type Approver interface {
	Approve(ctx context.Context, p *plan.Plan) error
}

// PolicyNone approves plans whose workbook policy is none and refuses the
// rest: this build records no approvals, so a policy that needs them can
// only be refused, never silently skipped.
type PolicyNone struct{}

// Approve implements Approver.
func (PolicyNone) Approve(_ context.Context, p *plan.Plan) error {
	if p.Approval == "" || p.Approval == "none" {
		return nil
	}
	return fmt.Errorf("%w: the workbook's approval policy is %s and this voicedr records no approvals yet; set governance.approval.policy: none to apply without approval", ErrRefused, p.Approval)
}

// Auditor appends to the tamper-evident audit log (audit.Log).
type Auditor interface {
	Append(ctx context.Context, kind, actor, subject string, body any) (store.AuditRecord, error)
}

// Engine applies plans. Zero fields take the defaults documented on them.
type Engine struct {
	Store    store.Store
	Router   Router
	Signals  Signals
	Hooks    HookRunner // nil: hooks are refused if the plan has any
	Approver Approver   // nil: PolicyNone
	Logger   *slog.Logger
	Now      func() time.Time
	// OnEvent receives progress (the CLI prints it or streams it as JSON).
	OnEvent func(Event)
	// Failpoint is called after every durable ledger record with its step;
	// crash tests kill the process there.
	Failpoint func(step string)
	// Workers bounds concurrent routing writes (default 64); the client's
	// pool still applies the shared rate and concurrency limits.
	Workers int
	// LeaseTTL is how long a dead process keeps its leases (default 30s).
	LeaseTTL time.Duration
	// SkipProof skips proof and gates (benchmarks of raw routing speed).
	SkipProof bool
	// Audit, when set, receives the run's start, each cohort's decision
	// with its gate values and a digest of the ledger so far, rollbacks and
	// the run's end. Actor names who runs it (default "voicedr").
	Audit Auditor
	Actor string
}

// ApplyOptions tune one apply.
type ApplyOptions struct {
	// Fresh is the account as read now, for the drift check (nil skips it,
	// which only resume of a run already checked may do).
	Fresh *snapshot.Snapshot
	// InFlow tells whether the workbook puts a number in the plan's flow.
	InFlow func(snapshot.Number) bool
	// Force applies a stale plan anyway; the drift is journalled.
	Force bool
	// RunID resumes that run; empty resumes the plan's unfinished run, or
	// starts a new one.
	RunID string
}

// Result is where a run stands when Apply returns.
type Result struct {
	RunID   string         `json:"run_id"`
	State   store.RunState `json:"state"`
	Reason  string         `json:"reason,omitempty"`
	Cohorts []CohortResult `json:"cohorts"`
	Drift   []plan.Change  `json:"drift,omitempty"`
	Started time.Time      `json:"started"`
	Ended   time.Time      `json:"ended"`
}

// CohortResult is one cohort's timings, proof and gate.
type CohortResult struct {
	Name     string                `json:"name"`
	Kind     string                `json:"kind"`
	Actions  int                   `json:"actions"`
	Flipped  int                   `json:"flipped"`
	Failed   int                   `json:"failed"`
	Started  time.Time             `json:"started"`
	Routed   time.Time             `json:"routed"`
	Proven   time.Time             `json:"proven"`
	Decided  time.Time             `json:"decided"`
	Proofs   []signals.NumberProof `json:"proofs,omitempty"`
	Gate     *signals.Result       `json:"gate,omitempty"`
	Outcome  string                `json:"outcome"` // go, no_go, inconclusive, skipped (already committed)
	Rollback bool                  `json:"rolled_back,omitempty"`
}

// StaleError is a refusal to apply a plan the account has drifted from.
type StaleError struct{ Changes []plan.Change }

func (e *StaleError) Error() string {
	n := len(e.Changes)
	msg := fmt.Sprintf("the account changed since the plan was made (%d change(s)", n)
	for i, c := range e.Changes {
		if i == 5 {
			msg += fmt.Sprintf("; and %d more", n-5)
			break
		}
		msg += "; " + c.String()
	}
	return msg + "): make the plan again and review it, or apply with --force"
}

// Unwrap makes a stale plan a refusal.
func (e *StaleError) Unwrap() error { return ErrRefused }

func (e *Engine) defaults() {
	if e.Approver == nil {
		e.Approver = PolicyNone{}
	}
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Workers <= 0 {
		e.Workers = 64
	}
	if e.LeaseTTL <= 0 {
		e.LeaseTTL = 30 * time.Second
	}
}

// newRunID names a run after its plan, so people can tell runs of the same
// plan apart from runs of another.
func newRunID(p *plan.Plan, now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%s-%s-%s", p.Flow, p.Kind, now.UTC().Format("20060102T150405Z"), hex.EncodeToString(b))
}

// holder is this process's lease identity for a run: a process killed
// mid-run keeps its leases until they expire, and a second process on the
// same run is refused until then.
func holder(run string) string {
	h, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s@%s/%d/%s", run, h, os.Getpid(), hex.EncodeToString(b))
}

// leaseKeys are the flow and every resource the plan touches, sorted so
// that two runs acquire in the same order.
func leaseKeys(p *plan.Plan) []string {
	keys := []string{"flow:" + p.Flow}
	for _, a := range p.Actions() {
		keys = append(keys, a.Key)
	}
	sort.Strings(keys[1:])
	return keys
}
