package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
)

// Checkpoint signs the chain's current head with Key and stores the
// checkpoint (see CheckpointMessage for the exact signed bytes). Before
// signing it re-verifies the entries since the last checkpoint this key
// made, so a tampered chain is never laundered by a fresh signature: it
// then fails with ErrBroken naming the bad entry. If the head is already
// checkpointed by this key, that checkpoint is returned.
func (l *Log) Checkpoint(ctx context.Context) (store.Checkpoint, error) {
	return l.checkpointAt(ctx, store.AuditRecord{})
}

// checkpointAt checkpoints target (or the head when target.Seq is 0).
func (l *Log) checkpointAt(ctx context.Context, target store.AuditRecord) (store.Checkpoint, error) {
	if l.Key == nil {
		return store.Checkpoint{}, ErrNoKey
	}
	keyID := l.Key.ID()
	cps, err := l.Store.Checkpoints(ctx)
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("audit checkpoint: %w", err)
	}
	// Start from the newest checkpoint this key validly signed at or before
	// the target: everything up to it was proven when it was made.
	var base *store.Checkpoint
	for i := len(cps) - 1; i >= 0; i-- {
		c := cps[i]
		if c.KeyID == keyID && (target.Seq == 0 || c.Seq <= target.Seq) &&
			signing.Verify(l.Key.Public, CheckpointMessage(c.Seq, c.Hash), c.Signature) {
			base = &c
			break
		}
	}
	start, check := int64(1), []store.Checkpoint(nil)
	if base != nil {
		start, check = base.Seq, []store.Checkpoint{*base}
	}
	v := newVerifier(start, check)
	var head store.AuditRecord
	after := start - 1
	for done := false; !done; {
		recs, err := l.Store.AuditRecords(ctx, after, pageSize)
		if err != nil {
			return store.Checkpoint{}, fmt.Errorf("audit checkpoint: %w", err)
		}
		done = len(recs) < pageSize
		for _, r := range recs {
			if target.Seq != 0 && r.Seq > target.Seq {
				done = true
				break
			}
			v.feed(r)
			head = r
		}
		if len(recs) > 0 {
			after = recs[len(recs)-1].Seq
		}
	}
	if head.Seq == 0 {
		return store.Checkpoint{}, fmt.Errorf("audit checkpoint: the audit log is empty: nothing to sign")
	}
	if target.Seq != 0 && (head.Seq != target.Seq || head.Hash != target.Hash) {
		return store.Checkpoint{}, fmt.Errorf("audit checkpoint: %w: entry %d changed after it was appended: run voicedr audit verify", ErrBroken, target.Seq)
	}
	rep := v.finish(check, map[string]ed25519.PublicKey{keyID: l.Key.Public})
	if !rep.OK {
		return store.Checkpoint{}, fmt.Errorf("audit checkpoint: %w at entry %d (%s): run voicedr audit verify", ErrBroken, rep.FirstBad.Seq, rep.FirstBad.Reason)
	}
	if base != nil && base.Seq == head.Seq {
		return *base, nil
	}
	c := store.Checkpoint{Seq: head.Seq, Hash: head.Hash, At: l.now(), KeyID: keyID}
	c.Signature = l.Key.Sign(CheckpointMessage(c.Seq, c.Hash))
	if err := l.Store.SaveCheckpoint(ctx, c); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Another writer checkpointed the same entry with this key
			// first; that checkpoint signs the same message.
			return l.existing(ctx, c)
		}
		return store.Checkpoint{}, fmt.Errorf("audit checkpoint: %w", err)
	}
	return c, nil
}

func (l *Log) existing(ctx context.Context, want store.Checkpoint) (store.Checkpoint, error) {
	cps, err := l.Store.Checkpoints(ctx)
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("audit checkpoint: %w", err)
	}
	for _, c := range cps {
		if c.Seq == want.Seq && c.KeyID == want.KeyID && c.Hash == want.Hash {
			return c, nil
		}
	}
	return store.Checkpoint{}, fmt.Errorf("audit checkpoint %d: %w: a different checkpoint exists for it: run voicedr audit verify", want.Seq, ErrBroken)
}
