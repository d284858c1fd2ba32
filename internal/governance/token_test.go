package governance_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "voicedr.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func hashOf(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func TestTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	tok, err := governance.IssueToken(ctx, db, "ada", bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "vdr_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"; tok != want {
		t.Errorf("token = %q, want %q (prefix and base64url of the 32 bytes)", tok, want)
	}
	// Only the hash is stored: nothing in the record holds the token.
	rec, err := db.TokenByHash(ctx, hashOf(tok))
	if err != nil {
		t.Fatalf("stored by its sha256: %v", err)
	}
	if rec.Person != "ada" || rec.Revoked || strings.Contains(rec.ID+rec.Hash, strings.TrimPrefix(tok, "vdr_")) {
		t.Errorf("stored token %+v", rec)
	}
	got, err := governance.Authenticate(ctx, db, tok)
	if err != nil || got != "ada" {
		t.Fatalf("Authenticate = %q, %v, want ada", got, err)
	}
	other, err := governance.IssueToken(ctx, db, "bob", bytes.NewReader(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if err := governance.RevokeToken(ctx, db, tok); err != nil {
		t.Fatal(err)
	}
	if err := governance.RevokeToken(ctx, db, tok); err != nil {
		t.Errorf("revoking twice = %v, want a no-op", err)
	}
	if _, err := governance.Authenticate(ctx, db, tok); !errors.Is(err, governance.ErrUnauthenticated) {
		t.Errorf("revoked token: %v, want ErrUnauthenticated", err)
	}
	if got, err := governance.Authenticate(ctx, db, other); err != nil || got != "bob" {
		t.Errorf("another person's token after a revoke = %q, %v, want bob", got, err)
	}
}

func TestIssueTokenFailsWithoutRandomness(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	if _, err := governance.IssueToken(ctx, db, "ada", bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("IssueToken with 31 random bytes succeeded")
	}
	if _, err := governance.IssueToken(ctx, db, "", bytes.NewReader(make([]byte, 32))); !errors.Is(err, governance.ErrInvalid) {
		t.Errorf("IssueToken without a person = %v, want ErrInvalid", err)
	}
	// The 31-byte token would be all zeros plus nothing: make sure the
	// all-zero 32-byte one was not stored by a partial read.
	tok := "vdr_" + strings.Repeat("A", 43)
	if _, err := governance.Authenticate(ctx, db, tok); !errors.Is(err, governance.ErrUnauthenticated) {
		t.Errorf("token never issued: %v, want ErrUnauthenticated", err)
	}
}

// No error ever carries the token, its secret part or its hash.
func TestTokenNeverInErrors(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	tok, err := governance.IssueToken(ctx, db, "ada", bytes.NewReader(bytes.Repeat([]byte{42}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	unknown := "vdr_" + strings.Repeat("Z", 43)
	secrets := []string{tok, strings.TrimPrefix(tok, "vdr_"), hashOf(tok), unknown, strings.Repeat("Z", 43), hashOf(unknown), "hunter2"}
	var errs []error
	collect := func(_ string, err error) { errs = append(errs, err) }
	collect(governance.Authenticate(ctx, db, unknown))
	collect(governance.Authenticate(ctx, db, "hunter2"))
	collect(governance.Authenticate(ctx, db, "vdr_hunter2"))
	collect(governance.Authenticate(ctx, db, tok+"x"))
	errs = append(errs, governance.RevokeToken(ctx, db, unknown))
	if err := governance.RevokeToken(ctx, db, tok); err != nil {
		t.Fatal(err)
	}
	collect(governance.Authenticate(ctx, db, tok))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	collect(governance.Authenticate(cancelled, db, unknown)) // a store error
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("case %d: error %q carries a secret", i, err)
			}
		}
		if i < 5 && !errors.Is(err, governance.ErrUnauthenticated) {
			t.Errorf("case %d: %v, want ErrUnauthenticated", i, err)
		}
	}
}

func TestTokenIDIsNotTheSecret(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	tok, err := governance.IssueToken(ctx, db, "ada", bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := db.TokenByHash(ctx, hashOf(tok))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.ID, "tok_") || strings.Contains(tok, strings.TrimPrefix(rec.ID, "tok_")) {
		t.Errorf("token ID %q", rec.ID)
	}
	var _ store.Token = rec
}
