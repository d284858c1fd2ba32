package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilio"
)

// loadSnapshot reads a saved account snapshot (--snapshot FILE).
func loadSnapshot(path string) (*snapshot.Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError("--snapshot: %v", err)
	}
	defer f.Close()
	s, err := snapshot.Read(f)
	if err != nil {
		return nil, usageError("--snapshot %s: %v", path, err)
	}
	return s, nil
}

// readAccount reads the whole account through the clients and, when dbPath
// is set, keeps the snapshot in the state database: every posture,
// readiness and plan run saves the observed state it judged.
func readAccount(ctx context.Context, g *globals, set *twilio.Set, dbPath string) (*snapshot.Snapshot, error) {
	s, err := inventory.Read(ctx, set, inventory.Options{})
	if err != nil {
		return nil, err
	}
	if dbPath == "" {
		return s, nil
	}
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return nil, fmt.Errorf("open --db %s: %w", dbPath, err)
	}
	defer db.Close()
	meta, err := db.SaveSnapshot(ctx, s)
	if err != nil {
		return nil, err
	}
	g.logger.Info("snapshot saved", "db", dbPath, "id", meta.ID, "numbers", meta.Numbers, "sha256", meta.SHA256)
	return s, nil
}

const dbFlagHelp = "state database (SQLite) that keeps every snapshot read; empty: keep none"
