package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gowebpki/jcs"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"

	_ "modernc.org/sqlite" // the tamper tests open the file directly
)

// clock is an injected clock that advances a second per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type fixture struct {
	log  *audit.Log
	db   *sqlite.Store
	path string
	key  *signing.Key
}

func newFixture(t testing.TB, every int) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "voicedr.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := testKey(t, 7)
	return &fixture{
		log:  &audit.Log{Store: db, Key: key, Now: newClock().Now, CheckpointEvery: every},
		db:   db,
		path: path,
		key:  key,
	}
}

func testKey(t testing.TB, seed byte) *signing.Key {
	t.Helper()
	k, err := signing.Generate(strings.NewReader(strings.Repeat(string(rune('A'+seed)), 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// trusted is the key map Verify is given: the fixture's own key.
func (f *fixture) trusted() map[string]ed25519.PublicKey {
	return map[string]ed25519.PublicKey{f.key.ID(): f.key.Public}
}

// appendN appends n entries and returns them.
func (f *fixture) appendN(t testing.TB, n int) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	for i := 1; i <= n; i++ {
		r, err := f.log.Append(context.Background(), "run.action", "voicedr", "run-1",
			map[string]any{"step": "applied", "number": fmt.Sprintf("+1415555%04d", i), "i": i})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

// raw opens the database file behind the store's back, as an attacker with
// file access would.
func (f *fixture) raw(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+f.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// attackerHash recomputes an entry hash with this test's own code, written
// from the documented form rather than calling the package, so the tamper
// tests also check the package hashes what it documents.
func attackerHash(t *testing.T, r store.AuditRecord) string {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"seq": r.Seq, "at": r.At.UTC().Format(time.RFC3339Nano), "kind": r.Kind, "actor": r.Actor,
		"subject": r.Subject, "body": json.RawMessage(r.Body), "prev": r.Prev,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := jcs.Transform(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:])
}

// rewriteFrom rewrites every entry from seq k on with a new body and
// re-hashes the chain consistently, the way a careful attacker would.
func (f *fixture) rewriteFrom(t *testing.T, recs []store.AuditRecord, k int64) []store.AuditRecord {
	t.Helper()
	db := f.raw(t)
	out := append([]store.AuditRecord(nil), recs...)
	for i := range out {
		r := &out[i]
		if r.Seq < k {
			continue
		}
		r.Body = json.RawMessage(fmt.Sprintf(`{"step":"rolled_back","seq":%d}`, r.Seq))
		r.Prev = out[i-1].Hash
		r.Hash = attackerHash(t, *r)
		exec(t, db, `UPDATE audit SET body = ?, prev = ?, hash = ? WHERE seq = ?`, string(r.Body), r.Prev, r.Hash, r.Seq)
	}
	return out
}

func TestAppendChainsAndVerifies(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5)
	recs := f.appendN(t, 12)
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Errorf("entry %d: seq %d", i+1, r.Seq)
		}
		if i > 0 && r.Prev != recs[i-1].Hash {
			t.Errorf("entry %d: prev %s, want %s", r.Seq, r.Prev, recs[i-1].Hash)
		}
		if got := attackerHash(t, r); r.Hash != got {
			t.Errorf("entry %d: hash %s, but the documented form hashes to %s", r.Seq, r.Hash, got)
		}
		if i > 0 && !r.At.After(recs[i-1].At) {
			t.Errorf("entry %d: at %v not after %v", r.Seq, r.At, recs[i-1].At)
		}
	}
	if got, want := string(recs[0].Body), `{"i":1,"number":"+14155550001","step":"applied"}`; got != want {
		t.Errorf("body stored as %s, want canonical %s", got, want)
	}
	stored, err := f.db.AuditRecords(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recs, stored); diff != "" {
		t.Errorf("stored entries differ from returned (-returned +stored):\n%s", diff)
	}

	cps, err := f.db.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cpSeqs []int64
	for _, c := range cps {
		cpSeqs = append(cpSeqs, c.Seq)
		if c.KeyID != f.key.ID() || !signing.Verify(f.key.Public, audit.CheckpointMessage(c.Seq, c.Hash), c.Signature) {
			t.Errorf("checkpoint %d: not a valid signature by %s", c.Seq, f.key.ID())
		}
		if c.Hash != recs[c.Seq-1].Hash {
			t.Errorf("checkpoint %d signs %s, entry hash is %s", c.Seq, c.Hash, recs[c.Seq-1].Hash)
		}
	}
	if diff := cmp.Diff([]int64{5, 10}, cpSeqs); diff != "" {
		t.Errorf("automatic checkpoints (-want +got):\n%s", diff)
	}

	rep, err := f.log.Verify(ctx, f.trusted())
	if err != nil {
		t.Fatal(err)
	}
	want := audit.Report{OK: true, Entries: 12, Checkpoints: 2, Head: 12, HeadHash: recs[11].Hash, CheckpointedThrough: 10, Pending: 2}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}

	// On demand: the head; asked again, the same checkpoint.
	c, err := f.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Seq != 12 || c.Hash != recs[11].Hash {
		t.Errorf("Checkpoint = seq %d hash %.12s, want 12 %.12s", c.Seq, c.Hash, recs[11].Hash)
	}
	again, err := f.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, again); diff != "" {
		t.Errorf("second Checkpoint of the same head (-first +second):\n%s", diff)
	}
	rep, err = f.log.Verify(ctx, f.trusted())
	if err != nil {
		t.Fatal(err)
	}
	want = audit.Report{OK: true, Entries: 12, Checkpoints: 3, Head: 12, HeadHash: recs[11].Hash, CheckpointedThrough: 12}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("Verify after Checkpoint (-want +got):\n%s", diff)
	}
}

func TestCheckpointMessage(t *testing.T) {
	// The signed bytes are part of the evidence format: pinned exactly.
	if got, want := string(audit.CheckpointMessage(12, "ab01")), "voicedr-audit-checkpoint/v1\n12\nab01"; got != want {
		t.Errorf("CheckpointMessage = %q, want %q", got, want)
	}
}

func TestWithoutKeyNoCheckpoints(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 2)
	f.log.Key = nil
	f.appendN(t, 5)
	if cps, err := f.db.Checkpoints(ctx); err != nil || len(cps) != 0 {
		t.Errorf("Checkpoints = %d, %v; want none", len(cps), err)
	}
	if _, err := f.log.Checkpoint(ctx); !errors.Is(err, audit.ErrNoKey) {
		t.Errorf("Checkpoint without key: err = %v, want ErrNoKey", err)
	}
	rep, err := f.log.Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Pending != 5 || rep.CheckpointedThrough != 0 {
		t.Errorf("Verify = %+v, want OK with 5 entries not yet checkpointed", rep)
	}
}

func TestEmptyChainVerifies(t *testing.T) {
	f := newFixture(t, 5)
	rep, err := f.log.Verify(context.Background(), f.trusted())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(audit.Report{OK: true}, rep); diff != "" {
		t.Errorf("Verify of an empty chain (-want +got):\n%s", diff)
	}
	if _, err := f.log.Checkpoint(context.Background()); err == nil {
		t.Error("Checkpoint of an empty chain succeeded")
	}
}

func TestAppendRefusesNumbersCanonicalFormWouldChange(t *testing.T) {
	f := newFixture(t, 5)
	ctx := context.Background()
	for _, n := range []uint64{9007199254740993, 1 << 60} {
		_, err := f.log.Append(ctx, "config", "alice", "wb", map[string]any{"n": n})
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprint(n)) {
			t.Errorf("%d: err = %v, want ErrInvalid naming the number", n, err)
		}
	}
	// Exactly representable numbers, integers or not, are kept.
	r, err := f.log.Append(ctx, "config", "alice", "wb", map[string]any{"big": 1e20, "exact": uint64(1) << 53, "f": 0.1, "neg": -42})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(r.Body), `{"big":100000000000000000000,"exact":9007199254740992,"f":0.1,"neg":-42}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if _, err := f.log.Append(ctx, "", "alice", "wb", nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty kind: err = %v, want ErrInvalid", err)
	}
}

func TestConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10)
	const writers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := f.log.Append(ctx, "gate", fmt.Sprintf("writer-%d", w), "run-1", map[string]int{"i": i}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rep, err := f.log.Verify(ctx, f.trusted())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Entries != writers*each || rep.Checkpoints != writers*each/10 || rep.Pending != 0 {
		t.Errorf("Verify = %+v, want OK, %d entries, %d checkpoints", rep, writers*each, writers*each/10)
	}
}
