package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/voicedr/voicedr/internal/store"
)

// PutPlan stores body under digest once; the same bytes again are a no-op.
func (s *Store) PutPlan(ctx context.Context, digest string, body []byte) error {
	if digest == "" || len(body) == 0 {
		return fmt.Errorf("put plan: %w: digest and body are required", store.ErrInvalid)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var have []byte
		err := tx.QueryRowContext(ctx, `SELECT body FROM plans WHERE digest = ?`, digest).Scan(&have)
		switch {
		case err == nil && bytes.Equal(have, body):
			return nil
		case err == nil:
			return fmt.Errorf("%w: another plan is stored under this digest", store.ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO plans (digest, body, saved_at) VALUES (?, ?, ?)`,
			digest, body, s.now().UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("put plan %.12s: %w", digest, err)
	}
	return nil
}

// GetPlan returns the bytes stored under digest.
func (s *Store) GetPlan(ctx context.Context, digest string) ([]byte, error) {
	var body []byte
	err := s.db.QueryRowContext(ctx, `SELECT body FROM plans WHERE digest = ?`, digest).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get plan %.12s: %w", digest, err)
	}
	return body, nil
}

// ListPlans returns stored plans' digests, newest first; the digest breaks
// ties so the order is stable when two plans were saved in one instant.
func (s *Store) ListPlans(ctx context.Context, limit int) ([]store.PlanMeta, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT digest, saved_at FROM plans ORDER BY saved_at DESC, digest LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	defer rows.Close()
	var out []store.PlanMeta
	for rows.Next() {
		var m store.PlanMeta
		var saved int64
		if err := rows.Scan(&m.Digest, &saved); err != nil {
			return nil, fmt.Errorf("list plans: %w", err)
		}
		m.SavedAt = time.Unix(0, saved).UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	return out, nil
}
