// Package audit is voicedr's tamper-evident log: every decision step,
// approval, plan, run action, gate result and configuration change is
// appended to one hash chain, whose head is checkpointed with an ed25519
// signature (package signing, the program's evidence keys).
//
// The entry hash is the hex sha256 of the RFC 8785 (JCS) canonical JSON of
//
//	{"seq":N,"at":"<RFC 3339, nanoseconds, UTC>","kind":…,"actor":…,
//	 "subject":…,"body":<the body>,"prev":"<hex hash of entry N-1, or "">"}
//
// so editing any field of an entry changes its hash, and deleting or
// reordering entries breaks the prev links. A chain rewritten from some entry
// onward and re-hashed consistently is only caught by a signed checkpoint
// past that entry: Verify then names the checkpoint whose signed hash no
// longer matches. Entries after the last checkpoint are reported as not yet
// checkpointed; publishing checkpoints elsewhere (with notifications) is what
// makes deleting the checkpoints themselves evident.
//
// The store keeps the chain gapless (store.Store.AppendAudit); this package
// computes it, signs it and proves it.
package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/gowebpki/jcs"

	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
)

// DefaultCheckpointEvery is how many entries pass between automatic
// checkpoints when Log.CheckpointEvery is zero.
const DefaultCheckpointEvery = 100

// CheckpointDomain starts every checkpoint's signed message, so a signature
// over a checkpoint can never be replayed as one over anything else.
const CheckpointDomain = "voicedr-audit-checkpoint/v1"

// appendAttempts bounds retries when another writer took the head first.
const appendAttempts = 5

// Errors callers classify with errors.Is.
var (
	// ErrNoKey: a checkpoint was asked for but Log.Key is nil.
	ErrNoKey = errors.New("no signing key: run voicedr evidence keys --generate and pass the key")
	// ErrCheckpoint: Append stored the entry (the returned record is valid)
	// but the automatic checkpoint after it failed.
	ErrCheckpoint = errors.New("audit checkpoint failed")
	// ErrBroken: Checkpoint refused to sign a head whose chain does not
	// verify back to the previous checkpoint.
	ErrBroken = errors.New("audit chain is broken")
)

// Log appends to and checkpoints the audit chain held in Store.
type Log struct {
	Store store.Store
	// Key signs checkpoints; nil means entries are chained but never
	// checkpointed.
	Key *signing.Key
	// Now is the clock entries and checkpoints are stamped with (time.Now
	// when nil).
	Now func() time.Time
	// CheckpointEvery: Append checkpoints the entry whose seq is a multiple
	// of it (DefaultCheckpointEvery when zero; negative: never, only on
	// demand through Checkpoint).
	CheckpointEvery int
	// PublicKeys are carried by Export besides Key's own, e.g. the public
	// half of a retired key that signed older checkpoints, or the only key
	// when the private one is not at hand.
	PublicKeys []ed25519.PublicKey
}

func (l *Log) now() time.Time {
	if l.Now == nil {
		return time.Now().UTC()
	}
	return l.Now().UTC()
}

func (l *Log) every() int64 {
	if l.CheckpointEvery == 0 {
		return DefaultCheckpointEvery
	}
	return int64(l.CheckpointEvery)
}

// Append adds one entry and returns it as stored. body is marshalled with
// encoding/json and stored in canonical (RFC 8785) form; an integer the
// canonical form would write as a different integer (most beyond 2^53) is
// refused rather than silently rounded: send such numbers as strings. When the new entry's seq is a multiple of
// CheckpointEvery and Key is set, a signed checkpoint of it follows; if that
// fails the entry still stands and the error wraps ErrCheckpoint.
func (l *Log) Append(ctx context.Context, kind, actor, subject string, body any) (store.AuditRecord, error) {
	if kind == "" || actor == "" {
		return store.AuditRecord{}, fmt.Errorf("audit append: %w: kind and actor are required", store.ErrInvalid)
	}
	canon, err := canonicalBody(body)
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit append %s: %w", kind, err)
	}
	var rec store.AuditRecord
	for attempt := 1; ; attempt++ {
		rec, err = l.Store.AppendAudit(ctx, func(head *store.AuditRecord) (store.AuditRecord, error) {
			r := store.AuditRecord{Seq: 1, At: l.now(), Kind: kind, Actor: actor, Subject: subject, Body: canon}
			if head != nil {
				r.Seq, r.Prev = head.Seq+1, head.Hash
			}
			// Stamped inside the store's transaction, so seq order and
			// time order agree even with concurrent writers.
			h, err := EntryHash(r)
			if err != nil {
				return store.AuditRecord{}, err
			}
			r.Hash = h
			return r, nil
		})
		if err == nil || !errors.Is(err, store.ErrConflict) || attempt == appendAttempts || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit append %s: %w", kind, err)
	}
	if l.Key != nil && l.every() > 0 && rec.Seq%l.every() == 0 {
		if _, err := l.checkpointAt(ctx, rec); err != nil {
			return rec, fmt.Errorf("%w after entry %d: %w", ErrCheckpoint, rec.Seq, err)
		}
	}
	return rec, nil
}

// canonicalBody marshals body and returns its RFC 8785 form.
func canonicalBody(body any) (json.RawMessage, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%w: encode body: %v", store.ErrInvalid, err)
	}
	if err := checkNumbers(raw); err != nil {
		return nil, err
	}
	c, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: canonicalize body: %v", store.ErrInvalid, err)
	}
	return c, nil
}

// checkNumbers refuses integers the canonical form would change: JCS
// writes numbers as the shortest IEEE double text, so 9007199254740993
// becomes 9007199254740992 and 2^60 becomes 1152921504606847000. An audit
// entry must never record a different number than it was given.
func checkNumbers(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF: json.Marshal output is valid JSON
		}
		n, ok := tok.(json.Number)
		if !ok {
			continue
		}
		f64, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return fmt.Errorf("%w: body number %s is out of range: send it as a string", store.ErrInvalid, n)
		}
		given, _, err := big.ParseFloat(string(n), 10, 1024, big.ToNearestEven)
		if err != nil || !given.IsInt() {
			continue // a fraction is a float by nature; JCS keeps its float64 exactly
		}
		text, err := jcs.NumberToJSON(f64)
		if err != nil {
			return fmt.Errorf("%w: body number %s: %v", store.ErrInvalid, n, err)
		}
		written, _, err := big.ParseFloat(text, 10, 1024, big.ToNearestEven)
		if err != nil || written.Cmp(given) != 0 {
			return fmt.Errorf("%w: body integer %s would be written as %s by the canonical form: send it as a string", store.ErrInvalid, n, text)
		}
	}
}

// Canonical returns the RFC 8785 bytes an entry's hash is computed over
// (every field but Hash). It fails only if Body is not JSON.
func Canonical(r store.AuditRecord) ([]byte, error) {
	body := r.Body
	if len(body) == 0 {
		body = json.RawMessage("null")
	}
	raw, err := json.Marshal(struct {
		Seq     int64           `json:"seq"`
		At      string          `json:"at"`
		Kind    string          `json:"kind"`
		Actor   string          `json:"actor"`
		Subject string          `json:"subject"`
		Body    json.RawMessage `json:"body"`
		Prev    string          `json:"prev"`
	}{r.Seq, r.At.UTC().Format(time.RFC3339Nano), r.Kind, r.Actor, r.Subject, body, r.Prev})
	if err != nil {
		return nil, fmt.Errorf("entry %d: body is not JSON: %w", r.Seq, err)
	}
	c, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("entry %d: canonicalize: %w", r.Seq, err)
	}
	return c, nil
}

// EntryHash is the hex sha256 of Canonical(r): the value r.Hash must hold.
func EntryHash(r store.AuditRecord) (string, error) {
	c, err := Canonical(r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// CheckpointMessage is the exact byte string a checkpoint signs:
//
//	voicedr-audit-checkpoint/v1\n<seq in decimal>\n<hex hash of that entry>
//
// with no trailing newline. The checkpoint's At and KeyID are not signed:
// At is informational, and KeyID only selects the key to try.
func CheckpointMessage(seq int64, hash string) []byte {
	return []byte(CheckpointDomain + "\n" + strconv.FormatInt(seq, 10) + "\n" + hash)
}
