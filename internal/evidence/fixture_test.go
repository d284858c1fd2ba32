package evidence_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/evidence"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
)

// t0 is the fixtures' clock: bundles and entries are stamped from it, never
// from the wall clock.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

const fixtureWorkbook = `version: 1
program: acme-voice-dr
`

// fixture is a state database holding one run with its plan, ledger,
// approval and audit entries (checkpointed), a workbook file and a key.
type fixture struct {
	dir, db, workbook string
	st                *sqlite.Store
	key               *signing.Key
	run               store.Run
	auditSeqs         []int64 // seqs of entries about the run or its plan
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dir: t.TempDir()}
	f.db = filepath.Join(f.dir, "voicedr.db")
	st, err := sqlite.Open(ctx, f.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	if f.key, err = signing.Generate(nil); err != nil {
		t.Fatal(err)
	}
	f.workbook = filepath.Join(f.dir, "voicedr.yaml")
	if err := os.WriteFile(f.workbook, []byte(fixtureWorkbook), 0o644); err != nil {
		t.Fatal(err)
	}
	wbSum := sha256.Sum256([]byte(fixtureWorkbook))
	plan, _ := json.Marshal(map[string]any{"format": "voicedr.plan/v1", "kind": "failover", "flow": "support",
		"workbook_digest": hex.EncodeToString(wbSum[:])})
	sum := sha256.Sum256(plan)
	digest := hex.EncodeToString(sum[:])
	if err := st.PutPlan(ctx, digest, plan); err != nil {
		t.Fatal(err)
	}
	f.run = store.Run{ID: "run-1", PlanDigest: digest, Flow: "support", Kind: "failover", CreatedAt: t0, State: store.RunCompleted}
	if err := st.CreateRun(ctx, f.run); err != nil {
		t.Fatal(err)
	}
	for i, step := range []store.Step{store.StepIntended, store.StepApplied, store.StepRouted, store.StepCommitted} {
		_, err := st.AppendAction(ctx, store.ActionRecord{RunID: f.run.ID, ActionKey: "number:+14155550100", Step: step,
			Detail: json.RawMessage(`{"target":"ie1"}`), At: t0.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddApproval(ctx, store.Approval{ID: "ap-1", PlanDigest: digest, Person: "dana", Role: "incident-commander",
		Decision: "approve", At: t0, Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	l := &audit.Log{Store: st, Key: f.key, Now: func() time.Time { return t0 }, CheckpointEvery: -1}
	for _, e := range []struct{ kind, subject string }{
		{"config", "support"}, {"plan", digest}, {"approval", digest}, {"run.action", f.run.ID}, {"config", "other"},
	} {
		rec, err := l.Append(ctx, e.kind, "dana", e.subject, map[string]string{"note": e.kind})
		if err != nil {
			t.Fatal(err)
		}
		if e.subject == digest || e.subject == f.run.ID {
			f.auditSeqs = append(f.auditSeqs, rec.Seq)
		}
	}
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) options() evidence.Options {
	return evidence.Options{Program: "acme-voice-dr", WorkbookPath: f.workbook, PublicKeys: []ed25519.PublicKey{f.key.Public}}
}

// runBundle exports the fixture's run to out and returns out.
func (f *fixture) runBundle(t *testing.T, out string) string {
	t.Helper()
	b, err := evidence.RunBundle(context.Background(), f.st, f.run.ID, f.options())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(out, f.key, t0); err != nil {
		t.Fatal(err)
	}
	return out
}

// problems is a result's problems as path → kind, for comparing.
func problems(r evidence.Result) map[string]string {
	out := map[string]string{}
	for _, p := range r.Problems {
		out[p.Path] = p.Kind
	}
	return out
}
