package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/store/storetest"
)

func open(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c *storetest.Clock) store.Store {
		return open(t, filepath.Join(t.TempDir(), "voicedr.db"), sqlite.WithClock(c.Now))
	})
}

// rawDB opens the file directly, bypassing the store, to inspect what it
// wrote on disk.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "voicedr.db")
	clock := storetest.NewClock(storetest.Epoch)
	s, err := sqlite.Open(ctx, path, sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	snap := storetest.Snapshot("AC1", storetest.Epoch)
	meta, err := s.SaveSnapshot(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	run := store.Run{ID: "r1", PlanDigest: "d", Flow: "f", Kind: "failover", CreatedAt: storetest.Epoch, State: store.RunRunning}
	if err := s.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	act, err := s.AppendAction(ctx, store.ActionRecord{RunID: "r1", ActionKey: "number:+1", Step: store.StepIntended,
		Detail: []byte(`{"to":"ie1"}`), At: storetest.Epoch})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := s.AcquireLease(ctx, "flow:f", "r1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := open(t, path, sqlite.WithClock(clock.Now))
	gotSnap, gotMeta, err := s2.LatestSnapshot(ctx, "AC1")
	if err != nil {
		t.Fatalf("LatestSnapshot after reopen: %v", err)
	}
	if diff := cmp.Diff(snap, gotSnap); diff != "" {
		t.Errorf("snapshot after reopen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(meta, gotMeta); diff != "" {
		t.Errorf("meta after reopen (-want +got):\n%s", diff)
	}
	gotRun, err := s2.GetRun(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(run, gotRun); diff != "" {
		t.Errorf("run after reopen (-want +got):\n%s", diff)
	}
	acts, err := s2.Actions(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.ActionRecord{act}, acts); diff != "" {
		t.Errorf("ledger after reopen (-want +got):\n%s", diff)
	}
	// The lease survives a restart: a crashed run still holds its flow.
	if _, err := s2.AcquireLease(ctx, "flow:f", "r2", time.Minute); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("AcquireLease after reopen: err = %v, want ErrLeaseHeld", err)
	}
	renewed, err := s2.AcquireLease(ctx, "flow:f", "r1", time.Minute)
	if err != nil || renewed.Token != lease.Token {
		t.Errorf("renew after reopen = %+v, %v; want token %d", renewed, err, lease.Token)
	}
}

func TestPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "voicedr.db")
	open(t, path)
	db := rawDB(t, path)
	// journal_mode=WAL is persistent in the file, so a fresh connection that
	// never asked for it reports it.
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	// AppendAction checks the run itself; this proves the schema would also
	// refuse an orphan row, i.e. foreign_keys is on for store connections.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "voicedr.db")
	s := open(t, path)
	if _, err := s.AppendAction(ctx, store.ActionRecord{RunID: "none", ActionKey: "k", Step: store.StepIntended}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AppendAction orphan: err = %v, want ErrNotFound", err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec(`PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO actions (run_id, seq, action_key, step, at) VALUES ('none', 1, 'k', 'intended', 0)`); err == nil {
		t.Error("orphan ledger row accepted: actions.run_id has no foreign key")
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "voicedr.db")
	for range 3 {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		s.Close()
	}
	db := rawDB(t, path)
	var n, max int
	if err := db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != sqlite.SchemaVersion() || max != sqlite.SchemaVersion() {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d rows up to %d",
			n, max, sqlite.SchemaVersion(), sqlite.SchemaVersion())
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "voicedr.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)`,
		sqlite.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(context.Background(), path)
	if !errors.Is(err, sqlite.ErrSchemaTooNew) {
		t.Fatalf("Open newer database: err = %v, want ErrSchemaTooNew", err)
	}
	t.Logf("refusal reads: %v", err)
}

func BenchmarkAppendAction(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "voicedr.db"))
	if err := s.CreateRun(ctx, store.Run{ID: "r1", State: store.RunRunning, CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	a := store.ActionRecord{RunID: "r1", ActionKey: "number:+14155550100", Step: store.StepIntended,
		Detail: []byte(`{"from":"us1","to":"ie1"}`), At: time.Now()}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.AppendAction(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}
