package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
)

// SaveSnapshot stores s as compact JSON. Snapshots with credentials are
// refused before anything is written: secrets must never reach the disk.
func (s *Store) SaveSnapshot(ctx context.Context, snap *snapshot.Snapshot) (store.SnapshotMeta, error) {
	if snap == nil {
		return store.SnapshotMeta{}, fmt.Errorf("save snapshot: %w: nil snapshot", store.ErrInvalid)
	}
	if len(snap.Credentials) > 0 {
		return store.SnapshotMeta{}, fmt.Errorf("save snapshot of %s: %w: remove the credentials section (emulator seeds only)",
			snap.AccountSID, store.ErrCredentials)
	}
	if err := snap.Validate(); err != nil {
		return store.SnapshotMeta{}, fmt.Errorf("save snapshot: %w: %w", store.ErrInvalid, err)
	}
	body, err := json.Marshal(snap)
	if err != nil {
		return store.SnapshotMeta{}, fmt.Errorf("save snapshot: encode: %w", err)
	}
	sum := sha256.Sum256(body)
	meta := store.SnapshotMeta{
		AccountSID: snap.AccountSID,
		TakenAt:    snap.TakenAt.UTC(),
		SavedAt:    s.now().UTC(),
		Numbers:    len(snap.Numbers),
		SHA256:     hex.EncodeToString(sum[:]),
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO snapshots (account_sid, taken_at, saved_at, numbers, sha256, body)
			VALUES (?, ?, ?, ?, ?, ?)`, meta.AccountSID, meta.TakenAt.UnixNano(), meta.SavedAt.UnixNano(),
			meta.Numbers, meta.SHA256, body)
		if err != nil {
			return err
		}
		meta.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return store.SnapshotMeta{}, fmt.Errorf("save snapshot of %s: %w", snap.AccountSID, err)
	}
	// Report the time as stored so the caller's meta equals what Get returns.
	meta.TakenAt, meta.SavedAt = fromNanos(meta.TakenAt.UnixNano()), fromNanos(meta.SavedAt.UnixNano())
	return meta, nil
}

const snapshotCols = `id, account_sid, taken_at, saved_at, numbers, sha256`

// LatestSnapshot returns the account's snapshot with the newest TakenAt.
func (s *Store) LatestSnapshot(ctx context.Context, accountSID string) (*snapshot.Snapshot, store.SnapshotMeta, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+snapshotCols+`, body FROM snapshots
		WHERE account_sid = ? ORDER BY taken_at DESC, id DESC LIMIT 1`, accountSID)
	snap, meta, err := scanSnapshot(row)
	if err != nil {
		return nil, store.SnapshotMeta{}, fmt.Errorf("latest snapshot of %s: %w", accountSID, err)
	}
	return snap, meta, nil
}

// GetSnapshot returns one snapshot by ID.
func (s *Store) GetSnapshot(ctx context.Context, id int64) (*snapshot.Snapshot, store.SnapshotMeta, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+snapshotCols+`, body FROM snapshots WHERE id = ?`, id)
	snap, meta, err := scanSnapshot(row)
	if err != nil {
		return nil, store.SnapshotMeta{}, fmt.Errorf("get snapshot %d: %w", id, err)
	}
	return snap, meta, nil
}

// ListSnapshots returns up to limit metas for an account, newest first;
// limit <= 0 means all.
func (s *Store) ListSnapshots(ctx context.Context, accountSID string, limit int) ([]store.SnapshotMeta, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+snapshotCols+` FROM snapshots
		WHERE account_sid = ? ORDER BY taken_at DESC, id DESC LIMIT ?`, accountSID, limit)
	if err != nil {
		return nil, fmt.Errorf("list snapshots of %s: %w", accountSID, err)
	}
	defer rows.Close()
	var out []store.SnapshotMeta
	for rows.Next() {
		var m store.SnapshotMeta
		var taken, saved int64
		if err := rows.Scan(&m.ID, &m.AccountSID, &taken, &saved, &m.Numbers, &m.SHA256); err != nil {
			return nil, fmt.Errorf("list snapshots of %s: %w", accountSID, err)
		}
		m.TakenAt, m.SavedAt = fromNanos(taken), fromNanos(saved)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list snapshots of %s: %w", accountSID, err)
	}
	return out, nil
}

func scanSnapshot(row *sql.Row) (*snapshot.Snapshot, store.SnapshotMeta, error) {
	var m store.SnapshotMeta
	var taken, saved int64
	var body []byte
	err := row.Scan(&m.ID, &m.AccountSID, &taken, &saved, &m.Numbers, &m.SHA256, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, m, store.ErrNotFound
	}
	if err != nil {
		return nil, m, err
	}
	m.TakenAt, m.SavedAt = fromNanos(taken), fromNanos(saved)
	// Read is strict (unknown fields refused), so a body this binary cannot
	// fully represent is an error rather than silently lossy.
	snap, err := snapshot.Read(bytes.NewReader(body))
	if err != nil {
		return nil, m, fmt.Errorf("decode stored snapshot %d: %w", m.ID, err)
	}
	return snap, m, nil
}
