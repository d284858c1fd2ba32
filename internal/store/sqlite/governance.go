package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/voicedr/voicedr/internal/store"
)

// AppendAudit appends one chained entry in a transaction that reads the head.
func (s *Store) AppendAudit(ctx context.Context, build func(head *store.AuditRecord) (store.AuditRecord, error)) (store.AuditRecord, error) {
	var out store.AuditRecord
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var head *store.AuditRecord
		h, err := scanAudit(tx.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit ORDER BY seq DESC LIMIT 1`))
		switch {
		case err == nil:
			head = &h
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		r, err := build(head)
		if err != nil {
			return err
		}
		wantSeq, wantPrev := int64(1), ""
		if head != nil {
			wantSeq, wantPrev = head.Seq+1, head.Hash
		}
		if r.Seq != wantSeq || r.Prev != wantPrev || r.Hash == "" {
			return fmt.Errorf("%w: audit entry %d (prev %.12s) does not extend head %d", store.ErrInvalid, r.Seq, r.Prev, wantSeq-1)
		}
		if !json.Valid(r.Body) {
			return fmt.Errorf("%w: audit body is not JSON", store.ErrInvalid)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, r.At.UnixNano(), r.Kind, r.Actor, r.Subject, string(r.Body), r.Prev, r.Hash)
		if err != nil {
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
		out = r
		return nil
	})
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("append audit: %w", err)
	}
	return out, nil
}

const auditCols = `seq, at, kind, actor, subject, body, prev, hash`

func scanAudit(sc scanner) (store.AuditRecord, error) {
	var r store.AuditRecord
	var at int64
	var body string
	if err := sc.Scan(&r.Seq, &at, &r.Kind, &r.Actor, &r.Subject, &body, &r.Prev, &r.Hash); err != nil {
		return store.AuditRecord{}, err
	}
	r.At, r.Body = fromNanos(at), json.RawMessage(body)
	return r, nil
}

// AuditRecords returns entries after seq in order.
func (s *Store) AuditRecords(ctx context.Context, after int64, limit int) ([]store.AuditRecord, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+auditCols+` FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("audit records: %w", err)
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveCheckpoint stores a signed head.
func (s *Store) SaveCheckpoint(ctx context.Context, c store.Checkpoint) error {
	if c.Hash == "" || c.KeyID == "" || len(c.Signature) == 0 {
		return fmt.Errorf("save checkpoint: %w: hash, key and signature are required", store.ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)`,
		c.Seq, c.Hash, c.At.UnixNano(), c.KeyID, c.Signature)
	if err != nil {
		return fmt.Errorf("save checkpoint %d: %w: %v", c.Seq, store.ErrConflict, err)
	}
	return nil
}

// Checkpoints returns every checkpoint, oldest first.
func (s *Store) Checkpoints(ctx context.Context) ([]store.Checkpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, hash, at, key_id, signature FROM checkpoints ORDER BY seq, key_id`)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	defer rows.Close()
	var out []store.Checkpoint
	for rows.Next() {
		var c store.Checkpoint
		var at int64
		if err := rows.Scan(&c.Seq, &c.Hash, &at, &c.KeyID, &c.Signature); err != nil {
			return nil, err
		}
		c.At = fromNanos(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddApproval records one approval; a duplicate ID is ErrConflict.
func (s *Store) AddApproval(ctx context.Context, a store.Approval) error {
	if a.ID == "" || a.PlanDigest == "" || a.Person == "" || a.Decision == "" {
		return fmt.Errorf("add approval: %w: id, plan digest, person and decision are required", store.ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO approvals (id, plan_digest, run_id, person, role, decision, reason, at, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.PlanDigest, a.RunID, a.Person, a.Role, a.Decision, a.Reason,
		a.At.UnixNano(), a.Expires.UnixNano())
	if err != nil {
		return fmt.Errorf("add approval %s: %w: %v", a.ID, store.ErrConflict, err)
	}
	return nil
}

// Approvals returns a digest's approvals, oldest first.
func (s *Store) Approvals(ctx context.Context, digest string) ([]store.Approval, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, plan_digest, run_id, person, role, decision, reason, at, expires
		FROM approvals WHERE plan_digest = ? ORDER BY at, id`, digest)
	if err != nil {
		return nil, fmt.Errorf("approvals: %w", err)
	}
	defer rows.Close()
	var out []store.Approval
	for rows.Next() {
		var a store.Approval
		var at, exp int64
		if err := rows.Scan(&a.ID, &a.PlanDigest, &a.RunID, &a.Person, &a.Role, &a.Decision, &a.Reason, &at, &exp); err != nil {
			return nil, err
		}
		a.At, a.Expires = fromNanos(at), fromNanos(exp)
		out = append(out, a)
	}
	return out, rows.Err()
}

// PutToken stores or replaces a token by ID.
func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	if t.ID == "" || t.Person == "" || t.Hash == "" {
		return fmt.Errorf("put token: %w: id, person and hash are required", store.ErrInvalid)
	}
	revoked := 0
	if t.Revoked {
		revoked = 1
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens (id, person, hash, created_at, revoked) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET person = excluded.person, hash = excluded.hash, revoked = excluded.revoked`,
		t.ID, t.Person, t.Hash, t.CreatedAt.UnixNano(), revoked)
	if err != nil {
		return fmt.Errorf("put token %s: %w: %v", t.ID, store.ErrConflict, err)
	}
	return nil
}

// TokenByHash finds a token by its hash.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	var t store.Token
	var created int64
	var revoked int
	err := s.db.QueryRowContext(ctx, `SELECT id, person, hash, created_at, revoked FROM tokens WHERE hash = ?`, hash).
		Scan(&t.ID, &t.Person, &t.Hash, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("token: %w", err)
	}
	t.CreatedAt, t.Revoked = fromNanos(created), revoked == 1
	return t, nil
}
