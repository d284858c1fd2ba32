package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/voicedr/voicedr/internal/store"
)

// SaveDecision creates or replaces a decision by ID.
func (s *Store) SaveDecision(ctx context.Context, d store.Decision) error {
	if d.ID == "" || d.State == "" || !json.Valid(d.Body) {
		return fmt.Errorf("save decision: %w: id, state and a JSON body are required", store.ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO decisions (id, flow, trigger, state, opened_at, updated_at, body)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET flow = excluded.flow, trigger = excluded.trigger, state = excluded.state,
			updated_at = excluded.updated_at, body = excluded.body`,
		d.ID, d.Flow, d.Trigger, d.State, d.OpenedAt.UnixNano(), d.UpdatedAt.UnixNano(), string(d.Body))
	if err != nil {
		return fmt.Errorf("save decision %s: %w", d.ID, err)
	}
	return nil
}

const decisionCols = `id, flow, trigger, state, opened_at, updated_at, body`

func scanDecision(sc scanner) (store.Decision, error) {
	var d store.Decision
	var opened, updated int64
	var body string
	if err := sc.Scan(&d.ID, &d.Flow, &d.Trigger, &d.State, &opened, &updated, &body); err != nil {
		return store.Decision{}, err
	}
	d.OpenedAt, d.UpdatedAt, d.Body = fromNanos(opened), fromNanos(updated), json.RawMessage(body)
	return d, nil
}

// GetDecision returns one decision.
func (s *Store) GetDecision(ctx context.Context, id string) (store.Decision, error) {
	d, err := scanDecision(s.db.QueryRowContext(ctx, `SELECT `+decisionCols+` FROM decisions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Decision{}, fmt.Errorf("get decision %s: %w", id, err)
	}
	return d, nil
}

// ListDecisions returns decisions, newest first.
func (s *Store) ListDecisions(ctx context.Context, limit int) ([]store.Decision, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+decisionCols+` FROM decisions ORDER BY opened_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	defer rows.Close()
	var out []store.Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
