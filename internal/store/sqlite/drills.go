package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/voicedr/voicedr/internal/store"
)

// SaveDrill creates or replaces a drill by ID.
func (s *Store) SaveDrill(ctx context.Context, d store.Drill) error {
	if d.ID == "" || d.Flow == "" || d.Kind == "" || (len(d.Report) > 0 && !json.Valid(d.Report)) {
		return fmt.Errorf("save drill: %w: id, flow, kind and (if any) a JSON report are required", store.ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO drills (id, flow, name, kind, scenario, outcome, started_at, ended_at, dir, report)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET flow = excluded.flow, name = excluded.name, kind = excluded.kind,
			scenario = excluded.scenario, outcome = excluded.outcome, started_at = excluded.started_at,
			ended_at = excluded.ended_at, dir = excluded.dir, report = excluded.report`,
		d.ID, d.Flow, d.Name, d.Kind, d.Scenario, d.Outcome, nanos(d.StartedAt), nanos(d.EndedAt), d.Dir, string(d.Report))
	if err != nil {
		return fmt.Errorf("save drill %s: %w", d.ID, err)
	}
	return nil
}

const drillCols = `id, flow, name, kind, scenario, outcome, started_at, ended_at, dir, report`

func scanDrill(sc scanner) (store.Drill, error) {
	var d store.Drill
	var started, ended int64
	var report string
	if err := sc.Scan(&d.ID, &d.Flow, &d.Name, &d.Kind, &d.Scenario, &d.Outcome, &started, &ended, &d.Dir, &report); err != nil {
		return store.Drill{}, err
	}
	d.StartedAt, d.EndedAt = fromNanosZero(started), fromNanosZero(ended)
	if report != "" {
		d.Report = json.RawMessage(report)
	}
	return d, nil
}

// GetDrill returns one drill.
func (s *Store) GetDrill(ctx context.Context, id string) (store.Drill, error) {
	d, err := scanDrill(s.db.QueryRowContext(ctx, `SELECT `+drillCols+` FROM drills WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Drill{}, fmt.Errorf("get drill %s: %w", id, err)
	}
	return d, nil
}

// ListDrills returns a flow's drills (every flow's when flow is ""), newest first.
func (s *Store) ListDrills(ctx context.Context, flow string, limit int) ([]store.Drill, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+drillCols+` FROM drills WHERE ? = '' OR flow = ?
		ORDER BY started_at DESC, id DESC LIMIT ?`, flow, flow, limit)
	if err != nil {
		return nil, fmt.Errorf("list drills: %w", err)
	}
	defer rows.Close()
	var out []store.Drill
	for rows.Next() {
		d, err := scanDrill(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SaveActionItem creates or replaces an action item by ID.
func (s *Store) SaveActionItem(ctx context.Context, a store.ActionItem) error {
	if a.ID == "" || a.Title == "" {
		return fmt.Errorf("save action item: %w: id and title are required", store.ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO action_items (id, drill_id, flow, title, owner, created_at, closed_at, closed_by, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET drill_id = excluded.drill_id, flow = excluded.flow, title = excluded.title,
			owner = excluded.owner, created_at = excluded.created_at, closed_at = excluded.closed_at,
			closed_by = excluded.closed_by, note = excluded.note`,
		a.ID, a.DrillID, a.Flow, a.Title, a.Owner, nanos(a.CreatedAt), nanos(a.ClosedAt), a.ClosedBy, a.Note)
	if err != nil {
		return fmt.Errorf("save action item %s: %w", a.ID, err)
	}
	return nil
}

// ActionItems returns action items oldest first, only open ones if openOnly.
func (s *Store) ActionItems(ctx context.Context, openOnly bool) ([]store.ActionItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, drill_id, flow, title, owner, created_at, closed_at, closed_by, note
		FROM action_items WHERE NOT ? OR closed_at = 0 ORDER BY created_at, id`, openOnly)
	if err != nil {
		return nil, fmt.Errorf("list action items: %w", err)
	}
	defer rows.Close()
	var out []store.ActionItem
	for rows.Next() {
		var a store.ActionItem
		var created, closed int64
		if err := rows.Scan(&a.ID, &a.DrillID, &a.Flow, &a.Title, &a.Owner, &created, &closed, &a.ClosedBy, &a.Note); err != nil {
			return nil, err
		}
		a.CreatedAt, a.ClosedAt = fromNanosZero(created), fromNanosZero(closed)
		out = append(out, a)
	}
	return out, rows.Err()
}

// nanos stores a zero time as 0, so "not yet" survives a round trip.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanosZero(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromNanos(n)
}
