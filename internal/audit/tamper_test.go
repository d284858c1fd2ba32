package audit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/store"
)

// TestTamperIsNamed edits the SQLite file directly (12 entries, checkpoints
// at 5 and 10) and checks Verify names the first bad entry and why.
func TestTamperIsNamed(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, f *fixture, recs []store.AuditRecord)
		want   audit.Problem // Reason is checked to mention Seq
	}{
		{
			name: "body altered after the last checkpoint",
			tamper: func(t *testing.T, f *fixture, _ []store.AuditRecord) {
				exec(t, f.raw(t), `UPDATE audit SET body = '{"step":"committed"}' WHERE seq = 11`)
			},
			want: audit.Problem{Seq: 11, Kind: audit.ProblemAltered},
		},
		{
			name: "actor altered under a checkpoint",
			tamper: func(t *testing.T, f *fixture, _ []store.AuditRecord) {
				exec(t, f.raw(t), `UPDATE audit SET actor = 'mallory' WHERE seq = 7`)
			},
			want: audit.Problem{Seq: 7, Kind: audit.ProblemAltered},
		},
		{
			name: "time altered",
			tamper: func(t *testing.T, f *fixture, _ []store.AuditRecord) {
				exec(t, f.raw(t), `UPDATE audit SET at = at + 1 WHERE seq = 2`)
			},
			want: audit.Problem{Seq: 2, Kind: audit.ProblemAltered},
		},
		{
			name: "body no longer JSON",
			tamper: func(t *testing.T, f *fixture, _ []store.AuditRecord) {
				exec(t, f.raw(t), `UPDATE audit SET body = '{"step":' WHERE seq = 4`)
			},
			want: audit.Problem{Seq: 4, Kind: audit.ProblemAltered},
		},
		{
			name: "one entry deleted",
			tamper: func(t *testing.T, f *fixture, _ []store.AuditRecord) {
				exec(t, f.raw(t), `DELETE FROM audit WHERE seq = 7`)
			},
			want: audit.Problem{Seq: 7, Kind: audit.ProblemMissing},
		},
		{
			name: "first entry deleted",
			tamper: func(t *testing.T, f *fixture, _ []store.AuditRecord) {
				exec(t, f.raw(t), `DELETE FROM audit WHERE seq = 1`)
			},
			want: audit.Problem{Seq: 1, Kind: audit.ProblemMissing},
		},
		{
			name: "deleted entry and the gap closed by renumbering",
			tamper: func(t *testing.T, f *fixture, _ []store.AuditRecord) {
				db := f.raw(t)
				exec(t, db, `DELETE FROM audit WHERE seq = 7`)
				exec(t, db, `UPDATE audit SET seq = seq - 1 WHERE seq > 7`)
			},
			want: audit.Problem{Seq: 7, Kind: audit.ProblemAltered},
		},
		{
			name: "tail under a checkpoint truncated",
			tamper: func(t *testing.T, f *fixture, _ []store.AuditRecord) {
				exec(t, f.raw(t), `DELETE FROM audit WHERE seq >= 9`)
			},
			want: audit.Problem{Seq: 9, Kind: audit.ProblemTruncated},
		},
		{
			name: "one entry rewritten and re-hashed alone",
			tamper: func(t *testing.T, f *fixture, recs []store.AuditRecord) {
				r := recs[6]
				r.Body = []byte(`{"step":"rolled_back"}`)
				r.Hash = attackerHash(t, r)
				exec(t, f.raw(t), `UPDATE audit SET body = ?, hash = ? WHERE seq = 7`, string(r.Body), r.Hash)
			},
			want: audit.Problem{Seq: 7, Kind: audit.ProblemRelinked},
		},
		{
			name: "tail rewritten and re-hashed consistently from 7",
			tamper: func(t *testing.T, f *fixture, recs []store.AuditRecord) {
				f.rewriteFrom(t, recs, 7)
			},
			// The chain is self-consistent again; only the checkpoint at 10
			// (whose signature the attacker cannot redo) still knows.
			want: audit.Problem{Seq: 10, Kind: audit.ProblemRewritten},
		},
		{
			name: "tail rewritten from 3: the earliest broken checkpoint is named",
			tamper: func(t *testing.T, f *fixture, recs []store.AuditRecord) {
				f.rewriteFrom(t, recs, 3)
			},
			want: audit.Problem{Seq: 5, Kind: audit.ProblemRewritten},
		},
		{
			name: "tail rewritten and the checkpoint's hash moved to match",
			tamper: func(t *testing.T, f *fixture, recs []store.AuditRecord) {
				out := f.rewriteFrom(t, recs, 7)
				exec(t, f.raw(t), `UPDATE checkpoints SET hash = ? WHERE seq = 10`, out[9].Hash)
			},
			want: audit.Problem{Seq: 10, Kind: audit.ProblemSignature},
		},
		{
			name: "checkpoint signature forged with another key",
			tamper: func(t *testing.T, f *fixture, recs []store.AuditRecord) {
				forger := testKey(t, 99)
				sig := forger.Sign(audit.CheckpointMessage(5, recs[4].Hash))
				exec(t, f.raw(t), `UPDATE checkpoints SET signature = ? WHERE seq = 5`, sig)
			},
			want: audit.Problem{Seq: 5, Kind: audit.ProblemSignature},
		},
		{
			name: "checkpoint signature bit flipped",
			tamper: func(t *testing.T, f *fixture, _ []store.AuditRecord) {
				exec(t, f.raw(t), `UPDATE checkpoints SET signature = zeroblob(64) WHERE seq = 10`)
			},
			want: audit.Problem{Seq: 10, Kind: audit.ProblemSignature},
		},
		{
			name: "checkpoint inserted by a key nobody trusts",
			tamper: func(t *testing.T, f *fixture, recs []store.AuditRecord) {
				forger := testKey(t, 99)
				exec(t, f.raw(t), `INSERT INTO checkpoints (seq, hash, at, key_id, signature) VALUES (12, ?, 0, ?, ?)`,
					recs[11].Hash, forger.ID(), forger.Sign(audit.CheckpointMessage(12, recs[11].Hash)))
			},
			want: audit.Problem{Seq: 12, Kind: audit.ProblemUntrusted},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, 5)
			recs := f.appendN(t, 12)
			if rep, err := f.log.Verify(ctx, f.trusted()); err != nil || !rep.OK {
				t.Fatalf("before tampering: %+v, %v", rep, err)
			}
			tt.tamper(t, f, recs)
			rep, err := f.log.Verify(ctx, f.trusted())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBad == nil {
				t.Fatalf("Verify after tampering = %+v, want a bad entry", rep)
			}
			got := *rep.FirstBad
			if !strings.Contains(got.Reason, "entr") || !strings.Contains(got.Reason, strconv.FormatInt(tt.want.Seq, 10)) {
				t.Errorf("reason %q does not name entry %d", got.Reason, tt.want.Seq)
			}
			got.Reason = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FirstBad (-want +got):\n%s\nreason: %s", diff, rep.FirstBad.Reason)
			}
		})
	}
}

// TestRewriteAfterLastCheckpointIsPending pins the documented limit: a
// consistent rewrite past the last checkpoint cannot be detected, so Verify
// reports those entries as not yet checkpointed rather than as proven.
func TestRewriteAfterLastCheckpointIsPending(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5)
	recs := f.appendN(t, 12)
	out := f.rewriteFrom(t, recs, 11)
	rep, err := f.log.Verify(ctx, f.trusted())
	if err != nil {
		t.Fatal(err)
	}
	want := audit.Report{OK: true, Entries: 12, Checkpoints: 2, Head: 12, HeadHash: out[11].Hash, CheckpointedThrough: 10, Pending: 2}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}
}

func TestUntrustedKeyFails(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5)
	f.appendN(t, 6)
	other := testKey(t, 42)
	for name, pubs := range map[string]map[string]ed25519.PublicKey{
		"no keys":                  nil,
		"another key":              {other.ID(): other.Public},
		"key under its ID swapped": {f.key.ID(): other.Public},
	} {
		t.Run(name, func(t *testing.T) {
			rep, err := f.log.Verify(ctx, pubs)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBad == nil || rep.FirstBad.Seq != 5 {
				t.Errorf("Verify = %+v, want checkpoint 5 refused", rep)
			}
		})
	}
}

// TestCheckpointRefusesToSignBrokenChain: a new signature must never
// launder tampering that happened since the last checkpoint.
func TestCheckpointRefusesToSignBrokenChain(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5)
	f.appendN(t, 7)
	exec(t, f.raw(t), `UPDATE audit SET subject = 'run-2' WHERE seq = 6`)
	if _, err := f.log.Checkpoint(ctx); !errors.Is(err, audit.ErrBroken) || !strings.Contains(err.Error(), "entry 6") {
		t.Errorf("Checkpoint: err = %v, want ErrBroken naming entry 6", err)
	}
	// The automatic checkpoint at 10 refuses too, but the entry stands.
	var last store.AuditRecord
	for i := 8; i <= 10; i++ {
		r, err := f.log.Append(ctx, "gate", "voicedr", "run-1", map[string]int{"i": i})
		if i < 10 && err != nil {
			t.Fatal(err)
		}
		if i == 10 && !errors.Is(err, audit.ErrCheckpoint) {
			t.Errorf("append 10: err = %v, want ErrCheckpoint", err)
		}
		last = r
	}
	if last.Seq != 10 {
		t.Errorf("append 10 returned seq %d, want the stored entry 10", last.Seq)
	}
	cps, err := f.db.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 1 || cps[0].Seq != 5 {
		t.Errorf("checkpoints = %+v, want only the one at 5", cps)
	}
}
