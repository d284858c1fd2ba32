package execute

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/voicedr/voicedr/internal/store"
)

// Ledger keys besides the plan's action keys ("number:+1...").
func cohortKey(name string) string { return "cohort:" + name }
func hookKey(hook, cohort, when string) string {
	return "hook:" + hook + ":" + cohort + ":" + when
}

const runKey = "run"

// Ops of an intended record: which way the write goes.
const (
	opFlip     = "flip"
	opRollback = "rollback"
)

// entry is the detail of a ledger record. Only the fields that matter for a
// step are set; the JSON is what an auditor reads.
type entry struct {
	Op        string    `json:"op,omitempty"`
	To        string    `json:"to,omitempty"`
	Via       string    `json:"via,omitempty"`
	Answer    string    `json:"answer,omitempty"`
	Recovered bool      `json:"recovered,omitempty"` // re-read after a crash instead of re-written
	Error     string    `json:"error,omitempty"`
	Cohort    string    `json:"cohort,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Forced    []string  `json:"forced_drift,omitempty"`
	Baseline  *float64  `json:"baseline_per_minute,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Detail    any       `json:"detail,omitempty"`
}

// last is the latest record of one key.
type last struct {
	Step store.Step
	Op   string
}

// journal appends to a run's ledger and keeps the last step of every key,
// so the engine decides from the ledger alone what is done, what was in
// flight when a process died, and what remains.
type journal struct {
	st    store.Store
	run   string
	fail  func(step string)
	mu    sync.Mutex
	state map[string]last
	// first keeps each cohort's intended entry: its baseline and flip time
	// are what a resumed gate must judge against.
	first map[string]entry
}

func openJournal(ctx context.Context, st store.Store, run string, fail func(string)) (*journal, error) {
	recs, err := st.Actions(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("read the ledger of run %s: %w", run, err)
	}
	j := &journal{st: st, run: run, fail: fail, state: map[string]last{}, first: map[string]entry{}}
	for _, r := range recs {
		var e entry
		_ = json.Unmarshal(r.Detail, &e) // detail is ours; a bad one only loses the op
		l := last{Step: r.Step, Op: e.Op}
		if _, ok := j.first[r.ActionKey]; !ok && strings.HasPrefix(r.ActionKey, "cohort:") {
			j.first[r.ActionKey] = e
		}
		if r.Step != store.StepIntended && r.Step != store.StepFailed {
			l.Op = j.state[r.ActionKey].Op
		}
		j.state[r.ActionKey] = l
	}
	return j, nil
}

// write appends one record, then gives the failpoint its chance: a crash
// test kills the process right after a step is durable.
func (j *journal) write(ctx context.Context, key string, step store.Step, e entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := j.st.AppendAction(ctx, store.ActionRecord{RunID: j.run, ActionKey: key, Step: step, Detail: b}); err != nil {
		return fmt.Errorf("write ledger %s %s: %w", key, step, err)
	}
	j.mu.Lock()
	l := last{Step: step, Op: e.Op}
	if _, ok := j.first[key]; !ok && strings.HasPrefix(key, "cohort:") {
		j.first[key] = e
	}
	if step != store.StepIntended && step != store.StepFailed {
		l.Op = j.state[key].Op
	}
	j.state[key] = l
	j.mu.Unlock()
	if j.fail != nil {
		j.fail(string(step))
	}
	return nil
}

// writeAll appends the same step for many keys in batches (one store write
// each): a cohort's thousands of commits. The failpoint fires per record
// once its batch is durable.
func (j *journal) writeAll(ctx context.Context, keys []string, step store.Step, e entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	const batch = 500
	for len(keys) > 0 {
		n := min(batch, len(keys))
		recs := make([]store.ActionRecord, n)
		for i, k := range keys[:n] {
			recs[i] = store.ActionRecord{RunID: j.run, ActionKey: k, Step: step, Detail: b}
		}
		if _, err := j.st.AppendActions(ctx, recs); err != nil {
			return fmt.Errorf("write ledger %d × %s: %w", n, step, err)
		}
		j.mu.Lock()
		for _, k := range keys[:n] {
			j.state[k] = last{Step: step, Op: j.state[k].Op}
		}
		j.mu.Unlock()
		if j.fail != nil {
			for range n {
				j.fail(string(step))
			}
		}
		keys = keys[n:]
	}
	return nil
}

func (j *journal) get(key string) last {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state[key]
}

// flipped reports whether key's flip took effect and was not undone.
func (l last) flipped() bool {
	switch l.Step {
	case store.StepApplied, store.StepRouted, store.StepProven, store.StepCommitted:
		return true
	}
	return false
}

// ledgerDigest is the sha256 over the run's ledger so far (each record's
// seq, key, step and detail): an audit entry carrying it binds every
// action before it into the tamper-evident chain.
func ledgerDigest(ctx context.Context, st store.Store, run string) (string, int, error) {
	recs, err := st.Actions(ctx, run)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	for _, r := range recs {
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s\n", r.Seq, r.ActionKey, r.Step, r.Detail)
	}
	return hex.EncodeToString(h.Sum(nil)), len(recs), nil
}

// audit appends one entry about this run, if the engine keeps an audit log.
func (r *runner) audit(ctx context.Context, kind string, body map[string]any) error {
	if r.e.Audit == nil {
		return nil
	}
	d, n, err := ledgerDigest(ctx, r.e.Store, r.run.ID)
	if err != nil {
		return err
	}
	body["plan_digest"], body["ledger_sha256"], body["ledger_records"] = r.p.Digest, d, n
	actor := r.e.Actor
	if actor == "" {
		actor = "voicedr"
	}
	if _, err := r.e.Audit.Append(ctx, kind, actor, r.run.ID, body); err != nil {
		return fmt.Errorf("audit %s: %w", kind, err)
	}
	return nil
}
