package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/voicedr/voicedr/internal/store"
)

// CreateRun inserts a new run; an existing ID is ErrConflict.
func (s *Store) CreateRun(ctx context.Context, r store.Run) error {
	if r.ID == "" || r.State == "" {
		return fmt.Errorf("create run: %w: id and state are required", store.ErrInvalid)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE id = ?`, r.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: run already exists", store.ErrConflict)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO runs (id, plan_digest, flow, kind, created_at, state, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ID, r.PlanDigest, r.Flow, r.Kind, r.CreatedAt.UnixNano(), string(r.State),
			s.now().UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("create run %s: %w", r.ID, err)
	}
	return nil
}

const runCols = `id, plan_digest, flow, kind, created_at, state`

type scanner interface{ Scan(...any) error }

func scanRun(sc scanner) (store.Run, error) {
	var r store.Run
	var created int64
	var state string
	if err := sc.Scan(&r.ID, &r.PlanDigest, &r.Flow, &r.Kind, &created, &state); err != nil {
		return store.Run{}, err
	}
	r.CreatedAt, r.State = fromNanos(created), store.RunState(state)
	return r, nil
}

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("get run %s: %w", id, err)
	}
	return r, nil
}

// ListRuns returns up to limit runs, newest first; limit <= 0 means all.
func (s *Store) ListRuns(ctx context.Context, limit int) ([]store.Run, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+runCols+` FROM runs ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// UpdateRunState is a compare-and-swap on the run's state, so two processes
// (say, `run pause` racing the engine finishing) cannot both win.
func (s *Store) UpdateRunState(ctx context.Context, id string, from, to store.RunState) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET state = ?, updated_at = ? WHERE id = ? AND state = ?`,
			string(to), s.now().UnixNano(), id, string(from))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var cur string
		err = tx.QueryRowContext(ctx, `SELECT state FROM runs WHERE id = ?`, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: state is %s, not %s", store.ErrConflict, cur, from)
	})
	if err != nil {
		return fmt.Errorf("update run %s %s→%s: %w", id, from, to, err)
	}
	return nil
}

// AppendAction appends a ledger record with the run's next sequence number.
// It commits before returning: the engine calls Twilio only after the
// "intended" record is durable.
func (s *Store) AppendAction(ctx context.Context, a store.ActionRecord) (store.ActionRecord, error) {
	out, err := s.AppendActions(ctx, []store.ActionRecord{a})
	if err != nil {
		return store.ActionRecord{}, err
	}
	return out[0], nil
}

// appendSQL numbers and inserts one record in one statement: the next
// sequence of the run, only if the run exists (no row returned otherwise).
const appendSQL = `INSERT INTO actions (run_id, seq, action_key, step, detail, at)
	SELECT ?1, COALESCE((SELECT MAX(seq) FROM actions WHERE run_id = ?1), 0) + 1, ?2, ?3, ?4, ?5
	WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1)
	RETURNING seq`

// AppendActions appends records in order in one transaction: all or none.
// The engine commits a cohort's thousands of actions this way.
func (s *Store) AppendActions(ctx context.Context, as []store.ActionRecord) ([]store.ActionRecord, error) {
	details := make([]sql.NullString, len(as))
	for i, a := range as {
		if a.RunID == "" || a.ActionKey == "" || !a.Step.Valid() {
			return nil, fmt.Errorf("append action: %w: need run id, action key and a known step (got %q)",
				store.ErrInvalid, a.Step)
		}
		if len(a.Detail) > 0 {
			if !json.Valid(a.Detail) {
				return nil, fmt.Errorf("append action: %w: detail is not JSON", store.ErrInvalid)
			}
			details[i] = sql.NullString{String: string(a.Detail), Valid: true}
		}
	}
	out := make([]store.ActionRecord, len(as))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, s.appendStmt)
		for i, a := range as {
			err := stmt.QueryRowContext(ctx, a.RunID, a.ActionKey, string(a.Step), details[i], a.At.UnixNano()).Scan(&a.Seq)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("run %s: %w", a.RunID, store.ErrNotFound)
			}
			if err != nil {
				return err
			}
			a.At = fromNanos(a.At.UnixNano())
			out[i] = a
		}
		return nil
	})
	if err != nil {
		first := as[0]
		return nil, fmt.Errorf("append action %s %s to run %s: %w", first.ActionKey, first.Step, first.RunID, err)
	}
	return out, nil
}

// Actions returns the run's ledger in sequence order; an unknown run is
// ErrNotFound (an empty ledger of a known run is not an error).
func (s *Store) Actions(ctx context.Context, runID string) ([]store.ActionRecord, error) {
	return s.ActionsAfter(ctx, runID, 0)
}

// ActionsAfter returns the run's records after seq, in order.
func (s *Store) ActionsAfter(ctx context.Context, runID string, after int64) ([]store.ActionRecord, error) {
	var out []store.ActionRecord
	err := func() error {
		var exists int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE id = ?`, runID).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return store.ErrNotFound
		}
		rows, err := s.db.QueryContext(ctx, `SELECT seq, action_key, step, detail, at FROM actions
			WHERE run_id = ? AND seq > ? ORDER BY seq`, runID, after)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a := store.ActionRecord{RunID: runID}
			var step string
			var detail sql.NullString
			var at int64
			if err := rows.Scan(&a.Seq, &a.ActionKey, &step, &detail, &at); err != nil {
				return err
			}
			a.Step, a.At = store.Step(step), fromNanos(at)
			if detail.Valid {
				a.Detail = json.RawMessage(strings.Clone(detail.String))
			}
			out = append(out, a)
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("actions of run %s: %w", runID, err)
	}
	return out, nil
}
