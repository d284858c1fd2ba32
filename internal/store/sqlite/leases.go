package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/voicedr/voicedr/internal/store"
)

// AcquireLease claims one key; see store.Store.
func (s *Store) AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (store.Lease, error) {
	ls, err := s.AcquireLeases(ctx, []string{key}, holder, ttl)
	if err != nil {
		return store.Lease{}, err
	}
	return ls[0], nil
}

// AcquireLeases claims every key in one IMMEDIATE transaction: either all
// are taken or, on the first held key, the transaction rolls back and none
// are. Keys are processed sorted so the result order is deterministic.
func (s *Store) AcquireLeases(ctx context.Context, keys []string, holder string, ttl time.Duration) ([]store.Lease, error) {
	if holder == "" || ttl <= 0 || len(keys) == 0 {
		return nil, fmt.Errorf("acquire leases: %w: need keys, a holder and a positive ttl", store.ErrInvalid)
	}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	for i, k := range sorted {
		if k == "" || (i > 0 && sorted[i-1] == k) {
			return nil, fmt.Errorf("acquire leases: %w: empty or duplicate key %q", store.ErrInvalid, k)
		}
	}
	var out []store.Lease
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Read the clock inside the transaction (after the write lock) so a
		// long wait for the lock does not leave us judging expiry by a stale now.
		now := s.now()
		expires := now.Add(ttl)
		out = out[:0]
		// A run leases thousands of keys: prepare once per transaction.
		get, err := tx.PrepareContext(ctx, `SELECT holder, token, expires FROM leases WHERE key = ?`)
		if err != nil {
			return err
		}
		defer get.Close()
		put, err := tx.PrepareContext(ctx, `INSERT INTO leases (key, holder, token, expires) VALUES (?, ?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, token = excluded.token, expires = excluded.expires`)
		if err != nil {
			return err
		}
		defer put.Close()
		for _, k := range sorted {
			var cur store.Lease
			var exp int64
			err := get.QueryRowContext(ctx, k).Scan(&cur.Holder, &cur.Token, &exp)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				cur = store.Lease{}
			case err != nil:
				return err
			}
			live := cur.Holder != "" && fromNanos(exp).After(now)
			token := cur.Token + 1
			switch {
			case live && cur.Holder != holder:
				return &store.LeaseHeldError{Key: k, Holder: cur.Holder, Expires: fromNanos(exp)}
			case live:
				token = cur.Token // a renewal keeps the fencing token
			}
			if _, err := put.ExecContext(ctx, k, holder, token, expires.UnixNano()); err != nil {
				return err
			}
			out = append(out, store.Lease{Key: k, Holder: holder, Token: token, Expires: fromNanos(expires.UnixNano())})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("acquire leases for %s: %w", holder, err)
	}
	return out, nil
}

// ReleaseLease frees l if it is still the current lease on its key. The row
// stays (holder emptied) so the next acquirer's token is higher still.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var holder string
		var token int64
		err := tx.QueryRowContext(ctx, `SELECT holder, token FROM leases WHERE key = ?`, l.Key).Scan(&holder, &token)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if holder != l.Holder || token != l.Token {
			return fmt.Errorf("%w: lease is now %q token %d", store.ErrConflict, holder, token)
		}
		_, err = tx.ExecContext(ctx, `UPDATE leases SET holder = '', expires = 0 WHERE key = ?`, l.Key)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease %q (holder %q, token %d): %w", l.Key, l.Holder, l.Token, err)
	}
	return nil
}

// ReleaseLeases frees, in one transaction, every lease of ls that is still
// current (same holder and token); the rest are left as they are.
func (s *Store) ReleaseLeases(ctx context.Context, ls []store.Lease) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE leases SET holder = '', expires = 0 WHERE key = ? AND holder = ? AND token = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, l := range ls {
			if _, err := stmt.ExecContext(ctx, l.Key, l.Holder, l.Token); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release %d leases: %w", len(ls), err)
	}
	return nil
}
