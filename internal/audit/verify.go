package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sort"

	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
)

// pageSize bounds how many entries Verify, Checkpoint and Export hold at once.
const pageSize = 1000

// Report is the outcome of verifying a chain and its checkpoints.
type Report struct {
	// OK: every entry hashes to its recorded hash, links to its
	// predecessor without gaps, and every checkpoint's signature verifies
	// with a trusted key and matches the entry at its seq.
	OK          bool `json:"ok"`
	Entries     int  `json:"entries"`
	Checkpoints int  `json:"checkpoints"`
	// Head and HeadHash are the last entry's seq and hash.
	Head     int64  `json:"head"`
	HeadHash string `json:"head_hash,omitempty"`
	// CheckpointedThrough is the highest seq covered by a valid checkpoint
	// (0: none). Pending entries after it are chained but not yet
	// checkpointed: a consistent rewrite of them would go unnoticed, which
	// is a gap in proof, not a fault.
	CheckpointedThrough int64 `json:"checkpointed_through"`
	Pending             int   `json:"not_yet_checkpointed"`
	// SelfAttested: the checkpoints were verified only with public keys
	// carried by the export itself, which proves integrity but not origin
	// (pass a trusted key to prove that too).
	SelfAttested bool `json:"self_attested,omitempty"`
	// FirstBad is the earliest entry verification implicates (nil when OK).
	FirstBad *Problem `json:"first_bad,omitempty"`
}

// Problem names one bad entry.
type Problem struct {
	Seq int64 `json:"seq"`
	// Kind is one of the Problem* constants, for scripts.
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Problem kinds.
const (
	ProblemAltered   = "altered"    // the entry's content no longer hashes to its recorded hash
	ProblemMissing   = "missing"    // a seq is absent: entries were deleted
	ProblemOrder     = "order"      // a seq appears twice or out of order
	ProblemRelinked  = "relinked"   // an entry was changed and re-hashed alone: its successor's prev no longer matches
	ProblemRewritten = "rewritten"  // consistent chain, but a signed checkpoint's hash no longer matches its entry
	ProblemTruncated = "truncated"  // a checkpoint signs entries that are gone
	ProblemSignature = "signature"  // a checkpoint's signature does not verify
	ProblemUntrusted = "untrusted"  // a checkpoint is signed by a key the verifier was not given
	ProblemMalformed = "checkpoint" // a checkpoint names no possible entry
)

// Verify walks every entry and checkpoint in the store and reports the first
// bad entry. pubs maps signing.KeyID to public key; a checkpoint by a key not
// in pubs fails. The error is for failing to read the store, never for a bad
// chain.
func (l *Log) Verify(ctx context.Context, pubs map[string]ed25519.PublicKey) (Report, error) {
	// Checkpoints first: entries read afterwards include every seq they name.
	cps, err := l.Store.Checkpoints(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("verify audit: %w", err)
	}
	v := newVerifier(1, cps)
	var after int64
	for {
		recs, err := l.Store.AuditRecords(ctx, after, pageSize)
		if err != nil {
			return Report{}, fmt.Errorf("verify audit: %w", err)
		}
		for _, r := range recs {
			v.feed(r)
		}
		if len(recs) < pageSize {
			break
		}
		after = recs[len(recs)-1].Seq
	}
	return v.finish(cps, pubs), nil
}

// verifier checks a stream of entries in seq order. It keeps going after
// the first problem so checkpoints later in the chain are still checked and
// the earliest problem of either kind is the one reported.
type verifier struct {
	next      int64  // the seq the next entry must have
	prev      string // the hash it must name as prev
	prevKnown bool   // false when starting mid-chain
	entries   int
	headHash  string
	want      map[int64]bool   // seqs some checkpoint names
	seen      map[int64]string // their hashes as fed
	first     *Problem
}

func newVerifier(start int64, cps []store.Checkpoint) *verifier {
	v := &verifier{next: start, prevKnown: start == 1, want: map[int64]bool{}, seen: map[int64]string{}}
	for _, c := range cps {
		v.want[c.Seq] = true
	}
	return v
}

func (v *verifier) fail(seq int64, kind, format string, args ...any) {
	if v.first == nil {
		v.first = &Problem{Seq: seq, Kind: kind, Reason: fmt.Sprintf(format, args...)}
	}
}

func (v *verifier) feed(r store.AuditRecord) {
	v.entries++
	switch {
	case r.Seq > v.next:
		what := fmt.Sprintf("entry %d is missing", v.next)
		if r.Seq > v.next+1 {
			what = fmt.Sprintf("entries %d to %d are missing", v.next, r.Seq-1)
		}
		v.fail(v.next, ProblemMissing, "%s: the chain goes from %d to %d (entries deleted)", what, v.next-1, r.Seq)
	case r.Seq < v.next:
		v.fail(r.Seq, ProblemOrder, "entry %d appears out of order or twice (after %d)", r.Seq, v.next-1)
	}
	h, err := EntryHash(r)
	switch {
	case err != nil:
		v.fail(r.Seq, ProblemAltered, "entry %d was altered: its body is not valid JSON", r.Seq)
	case h != r.Hash:
		v.fail(r.Seq, ProblemAltered, "entry %d was altered: its content hashes to %.16s…, not its recorded %.16s…", r.Seq, h, r.Hash)
	case r.Seq == 1 && r.Prev != "":
		v.fail(1, ProblemAltered, "entry 1 names a predecessor (%.16s…): the chain was cut", r.Prev)
	case v.prevKnown && r.Seq == v.next && r.Seq > 1 && r.Prev != v.prev:
		v.fail(r.Seq-1, ProblemRelinked, "entry %d was rewritten and re-hashed: entry %d records its hash as %.16s…, it is now %.16s…", r.Seq-1, r.Seq, r.Prev, v.prev)
	}
	if v.want[r.Seq] {
		v.seen[r.Seq] = r.Hash
	}
	v.next, v.prev, v.prevKnown, v.headHash = r.Seq+1, r.Hash, true, r.Hash
}

// finish checks the checkpoints against what was fed and builds the report.
func (v *verifier) finish(cps []store.Checkpoint, pubs map[string]ed25519.PublicKey) Report {
	last := v.next - 1
	rep := Report{Entries: v.entries, Checkpoints: len(cps), Head: last, HeadHash: v.headHash}
	first := v.first
	lastGood := int64(0) // seq of the last checkpoint that matched, for messages
	cps = append([]store.Checkpoint(nil), cps...)
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].Seq < cps[j].Seq })
	for _, c := range cps {
		p := checkCheckpoint(c, pubs, v.seen, last, lastGood)
		if p == nil {
			if c.Seq > rep.CheckpointedThrough {
				rep.CheckpointedThrough = c.Seq
			}
			lastGood = c.Seq
			continue
		}
		if first == nil || p.Seq < first.Seq {
			first = p
		}
	}
	rep.FirstBad = first
	rep.OK = first == nil
	if rep.OK {
		rep.Pending = int(last - rep.CheckpointedThrough)
	}
	return rep
}

func checkCheckpoint(c store.Checkpoint, pubs map[string]ed25519.PublicKey, seen map[int64]string, last, lastGood int64) *Problem {
	if c.Seq < 1 {
		return &Problem{Seq: c.Seq, Kind: ProblemMalformed, Reason: fmt.Sprintf("checkpoint names entry %d, which no chain has", c.Seq)}
	}
	pub, ok := pubs[c.KeyID]
	if !ok {
		return &Problem{Seq: c.Seq, Kind: ProblemUntrusted, Reason: fmt.Sprintf(
			"checkpoint at entry %d is signed by key %s, which was not given as trusted: pass its public key (--pub)", c.Seq, c.KeyID)}
	}
	if !signing.Verify(pub, CheckpointMessage(c.Seq, c.Hash), c.Signature) {
		return &Problem{Seq: c.Seq, Kind: ProblemSignature, Reason: fmt.Sprintf(
			"checkpoint at entry %d does not carry a valid signature by key %s: it was forged or altered", c.Seq, c.KeyID)}
	}
	if c.Seq > last {
		return &Problem{Seq: last + 1, Kind: ProblemTruncated, Reason: fmt.Sprintf(
			"entries %d to %d were deleted: the checkpoint at entry %d signed them, the chain ends at %d", last+1, c.Seq, c.Seq, last)}
	}
	h, ok := seen[c.Seq]
	if !ok {
		return &Problem{Seq: c.Seq, Kind: ProblemMissing, Reason: fmt.Sprintf("entry %d, signed by a checkpoint, is missing", c.Seq)}
	}
	if h != c.Hash {
		return &Problem{Seq: c.Seq, Kind: ProblemRewritten, Reason: fmt.Sprintf(
			"entry %d no longer has the hash its signed checkpoint records (%.16s…, now %.16s…): the chain was rewritten and re-hashed somewhere in entries %d to %d",
			c.Seq, c.Hash, h, lastGood+1, c.Seq)}
	}
	return nil
}
