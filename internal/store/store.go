// Package store defines voicedr's one interface to durable state: account
// snapshots, leases, and the runs ledger the failover engine resumes from.
//
// Every stateful component goes through Store so that a second backend (etcd,
// for a control plane that survives the loss of a region) can be added beside
// the embedded SQLite one without touching callers. The behaviour every
// backend must have is pinned by the contract suite in package storetest,
// not by this file's comments alone.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/voicedr/voicedr/internal/snapshot"
)

// Sentinel errors. Backends wrap them so callers classify with errors.Is.
var (
	// ErrNotFound: the snapshot, run or lease named does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLeaseHeld: another holder has an unexpired lease on a key. The
	// concrete error is a *LeaseHeldError naming the holder and expiry, so a
	// refused operator can be told who to talk to and when to retry.
	ErrLeaseHeld = errors.New("lease held")
	// ErrConflict: a compare-and-swap lost (run state moved, lease token
	// superseded) or an ID already exists.
	ErrConflict = errors.New("conflict")
	// ErrCredentials: a snapshot carried a credentials section. Those exist
	// for emulator seeds only and must never be persisted.
	ErrCredentials = errors.New("snapshot carries credentials")
	// ErrInvalid: the caller passed something malformed (empty key, bad step,
	// non-positive TTL, detail that is not JSON).
	ErrInvalid = errors.New("invalid argument")
)

// LeaseHeldError reports who holds a lease and until when.
type LeaseHeldError struct {
	Key     string
	Holder  string
	Expires time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("lease %q held by %q until %s", e.Key, e.Holder, e.Expires.UTC().Format(time.RFC3339))
}

// Unwrap lets errors.Is(err, ErrLeaseHeld) match.
func (e *LeaseHeldError) Unwrap() error { return ErrLeaseHeld }

// SnapshotMeta describes a stored snapshot without loading it. Commands show
// a snapshot's age from TakenAt (when the account was observed), not SavedAt.
type SnapshotMeta struct {
	ID         int64
	AccountSID string
	TakenAt    time.Time
	SavedAt    time.Time
	Numbers    int
	// SHA256 is the hex digest of the stored JSON, so evidence can bind to
	// exactly the bytes a plan was computed from.
	SHA256 string
}

// PlanMeta names a stored plan without loading its bytes.
type PlanMeta struct {
	Digest  string    `json:"digest"`
	SavedAt time.Time `json:"saved_at"`
}

// Lease is a time-bounded exclusive claim on a key such as "flow:support" or
// "number:+14155550100". Token increases every time the key changes hands,
// so a holder that was paused past its expiry can be fenced off.
type Lease struct {
	Key     string
	Holder  string
	Token   int64
	Expires time.Time
}

// RunState is the state of a run. The engine owns the vocabulary; the store
// only compares and swaps it.
type RunState string

// Run states the engine uses today.
const (
	RunPlanned    RunState = "planned"
	RunRunning    RunState = "running"
	RunPaused     RunState = "paused"
	RunCompleted  RunState = "completed"
	RunAborted    RunState = "aborted"
	RunRolledBack RunState = "rolled_back"
	RunFailed     RunState = "failed"
)

// Run is one execution of a reviewed plan.
type Run struct {
	ID         string    `json:"id"`
	PlanDigest string    `json:"plan_digest"`
	Flow       string    `json:"flow"`
	Kind       string    `json:"kind"` // e.g. failover, failback, rollback, drill
	CreatedAt  time.Time `json:"created_at"`
	State      RunState  `json:"state"`
}

// Step is one point in an action's life. The engine writes "intended" before
// a Twilio call and "applied" after it, so resume after a crash knows which
// calls may have happened and must be re-read rather than repeated blindly.
type Step string

// Steps, in the order an action normally passes through them.
const (
	StepIntended   Step = "intended"
	StepApplied    Step = "applied"
	StepRouted     Step = "routed"
	StepProven     Step = "proven"
	StepCommitted  Step = "committed"
	StepRolledBack Step = "rolled_back"
	StepFailed     Step = "failed"
)

// Valid reports whether s is one of the known steps.
func (s Step) Valid() bool {
	switch s {
	case StepIntended, StepApplied, StepRouted, StepProven, StepCommitted, StepRolledBack, StepFailed:
		return true
	}
	return false
}

// ActionRecord is one append-only ledger entry. Seq is assigned by the store
// (1, 2, 3... per run) and is the order resume replays.
type ActionRecord struct {
	RunID     string
	Seq       int64
	ActionKey string // e.g. "number:+14155550100", "trunk:acme.pstn.twilio.com"
	Step      Step
	Detail    json.RawMessage
	At        time.Time
}

// Store is voicedr's durable state. Every method takes a context first and
// returns errors wrapping the sentinels above. Implementations are safe for
// concurrent use by many goroutines and, where the backend allows, processes.
type Store interface {
	// SaveSnapshot stores s (which must validate and carry no credentials).
	SaveSnapshot(ctx context.Context, s *snapshot.Snapshot) (SnapshotMeta, error)
	// LatestSnapshot returns the most recently taken snapshot of an account.
	LatestSnapshot(ctx context.Context, accountSID string) (*snapshot.Snapshot, SnapshotMeta, error)
	GetSnapshot(ctx context.Context, id int64) (*snapshot.Snapshot, SnapshotMeta, error)
	// ListSnapshots returns up to limit metas, newest TakenAt first.
	ListSnapshots(ctx context.Context, accountSID string, limit int) ([]SnapshotMeta, error)

	// AcquireLease claims key for holder until now+ttl. The same holder
	// re-acquiring an unexpired lease renews it and keeps its token.
	AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (Lease, error)
	// AcquireLeases claims every key or none, atomically: a run leases its
	// flow and all its numbers at once so two runs never interleave.
	AcquireLeases(ctx context.Context, keys []string, holder string, ttl time.Duration) ([]Lease, error)
	// ReleaseLease gives l back. It fails with ErrConflict unless l is still
	// the current lease (same holder and token).
	ReleaseLease(ctx context.Context, l Lease) error
	// ReleaseLeases gives back every lease of ls that is still current, in
	// one write; the others are left alone (no error).
	ReleaseLeases(ctx context.Context, ls []Lease) error

	CreateRun(ctx context.Context, r Run) error
	GetRun(ctx context.Context, id string) (Run, error)
	// ListRuns returns up to limit runs, newest CreatedAt first.
	ListRuns(ctx context.Context, limit int) ([]Run, error)
	// UpdateRunState moves a run from one state to another, failing with
	// ErrConflict if its current state is not from.
	UpdateRunState(ctx context.Context, id string, from, to RunState) error
	// AppendAction appends a ledger record and returns it with Seq set.
	AppendAction(ctx context.Context, a ActionRecord) (ActionRecord, error)
	// AppendActions appends records in order, all or none, and returns them
	// with Seq set: a cohort's thousands of commits in one write.
	AppendActions(ctx context.Context, as []ActionRecord) ([]ActionRecord, error)
	// Actions returns a run's ledger in Seq order.
	Actions(ctx context.Context, runID string) ([]ActionRecord, error)
	// ActionsAfter returns a run's ledger records with Seq > after, in
	// order: readers that follow a live run read only what is new.
	ActionsAfter(ctx context.Context, runID string, after int64) ([]ActionRecord, error)

	// PutPlan stores a plan's bytes under its digest. Storing the same
	// digest again is a no-op; different bytes for a stored digest are
	// ErrConflict (a digest names exactly one plan).
	PutPlan(ctx context.Context, digest string, body []byte) error
	// GetPlan returns the bytes stored under digest.
	GetPlan(ctx context.Context, digest string) ([]byte, error)
	// ListPlans returns up to limit stored plans' digests, newest SavedAt
	// first (limit <= 0: all), so a reader such as the approvals inbox
	// sees plans another process stored.
	ListPlans(ctx context.Context, limit int) ([]PlanMeta, error)

	// AppendAudit appends one entry to the audit chain. build is called
	// with the current head (nil when the chain is empty) inside the
	// backend's transaction and returns the entry to append, whose Seq
	// must be head.Seq+1 (1 for the first) and Prev head's Hash: the
	// chain is computed by its owner (package audit), kept gapless here.
	AppendAudit(ctx context.Context, build func(head *AuditRecord) (AuditRecord, error)) (AuditRecord, error)
	// AuditRecords returns up to limit entries after seq, in order
	// (limit <= 0: all).
	AuditRecords(ctx context.Context, after int64, limit int) ([]AuditRecord, error)
	// SaveCheckpoint stores a signed checkpoint of the chain's head.
	SaveCheckpoint(ctx context.Context, c Checkpoint) error
	// Checkpoints returns every checkpoint, oldest first.
	Checkpoints(ctx context.Context) ([]Checkpoint, error)

	// AddApproval records an approval or rejection; IDs are unique.
	AddApproval(ctx context.Context, a Approval) error
	// Approvals returns the approvals of a plan digest, oldest first.
	Approvals(ctx context.Context, planDigest string) ([]Approval, error)

	// SaveDecision creates or replaces a decision by ID.
	SaveDecision(ctx context.Context, d Decision) error
	// GetDecision returns one decision.
	GetDecision(ctx context.Context, id string) (Decision, error)
	// ListDecisions returns up to limit decisions, newest OpenedAt first.
	ListDecisions(ctx context.Context, limit int) ([]Decision, error)

	// SaveDrill creates or replaces a drill record by ID.
	SaveDrill(ctx context.Context, d Drill) error
	// GetDrill returns one drill.
	GetDrill(ctx context.Context, id string) (Drill, error)
	// ListDrills returns up to limit drills of a flow ("" for every flow),
	// newest StartedAt first (limit <= 0: all).
	ListDrills(ctx context.Context, flow string, limit int) ([]Drill, error)
	// SaveActionItem creates or replaces a post-drill action item by ID.
	SaveActionItem(ctx context.Context, a ActionItem) error
	// ActionItems returns action items oldest first; only those not closed
	// when openOnly.
	ActionItems(ctx context.Context, openOnly bool) ([]ActionItem, error)

	// PutToken stores (or replaces, by ID) a person's API token hash.
	PutToken(ctx context.Context, t Token) error
	// TokenByHash finds the token with that hash (ErrNotFound if none).
	TokenByHash(ctx context.Context, hash string) (Token, error)

	Close() error
}

// AuditRecord is one entry of the tamper-evident audit chain.
type AuditRecord struct {
	Seq     int64           `json:"seq"`
	At      time.Time       `json:"at"`
	Kind    string          `json:"kind"`    // e.g. plan, run.action, gate, approval, decision.step, config
	Actor   string          `json:"actor"`   // a person, or "voicedr" for the engine
	Subject string          `json:"subject"` // what it is about: a run ID, a plan digest, a flow
	Body    json.RawMessage `json:"body"`
	Prev    string          `json:"prev"` // hex hash of the previous entry ("" for the first)
	Hash    string          `json:"hash"` // hex sha256 over this entry's canonical form
}

// Checkpoint is a signed statement of the chain's head.
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	At        time.Time `json:"at"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
}

// Approval is one person's decision on one plan digest.
type Approval struct {
	ID         string    `json:"id"`
	PlanDigest string    `json:"plan_digest"`
	RunID      string    `json:"run_id,omitempty"`
	Person     string    `json:"person"`
	Role       string    `json:"role"`
	Decision   string    `json:"decision"` // approve, reject, break_glass
	Reason     string    `json:"reason,omitempty"`
	At         time.Time `json:"at"`
	Expires    time.Time `json:"expires"`
}

// Decision is a failover decision opened by a trigger; Body holds its
// steps (the decision package owns their shape).
type Decision struct {
	ID        string          `json:"id"`
	Flow      string          `json:"flow"`
	Trigger   string          `json:"trigger"`
	State     string          `json:"state"`
	OpenedAt  time.Time       `json:"opened_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	Body      json.RawMessage `json:"body"`
}

// Drill is one rehearsal: what was run and how it ended; Report holds the
// drill report's JSON (package report owns its shape) and Dir where its
// rendered files and its own run database live.
type Drill struct {
	ID        string          `json:"id"`
	Flow      string          `json:"flow"`
	Name      string          `json:"name,omitempty"` // the workbook's drills[] entry, when scheduled
	Kind      string          `json:"kind"`           // tabletop or live
	Scenario  string          `json:"scenario"`
	Outcome   string          `json:"outcome"` // running until it ends
	StartedAt time.Time       `json:"started_at"`
	EndedAt   time.Time       `json:"ended_at"`
	Dir       string          `json:"dir,omitempty"`
	Report    json.RawMessage `json:"report,omitempty"`
}

// ActionItem is a follow-up a drill found, tracked until closed.
type ActionItem struct {
	ID        string    `json:"id"`
	DrillID   string    `json:"drill_id"`
	Flow      string    `json:"flow"`
	Title     string    `json:"title"`
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"created_at"`
	ClosedAt  time.Time `json:"closed_at"` // zero while open
	ClosedBy  string    `json:"closed_by,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// Token is a person's API token, stored as a hash only.
type Token struct {
	ID        string    `json:"id"`
	Person    string    `json:"person"`
	Hash      string    `json:"hash"` // hex sha256 of the token
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked"`
}
