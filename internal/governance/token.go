package governance

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/store"
)

// TokenPrefix starts every voicedr API token, so secret scanners and
// people can recognise one.
const TokenPrefix = "vdr_"

const tokenBytes = 32

// IssueToken makes a new API token for person from 32 bytes of rnd
// (crypto/rand.Reader in production) and stores only its sha256. The token
// is returned once and cannot be recovered. The caller checks that person
// is in the workbook; Can refuses everything to a person who later leaves
// it, so their token stops granting anything.
func IssueToken(ctx context.Context, st store.Store, person string, rnd io.Reader) (string, error) {
	if strings.TrimSpace(person) == "" {
		return "", fmt.Errorf("issue token: %w: a person is required", ErrInvalid)
	}
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("issue token: read randomness: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	h := hashToken(token)
	t := store.Token{ID: "tok_" + h[:16], Person: person, Hash: h, CreatedAt: time.Now().UTC()}
	if err := st.PutToken(ctx, t); err != nil {
		return "", fmt.Errorf("issue token for %s: %w", person, err)
	}
	return token, nil
}

// Authenticate returns the person a token belongs to. A malformed, unknown
// or revoked token is an error wrapping ErrUnauthenticated; no error ever
// carries the token or its hash. The store finds the token by its hash; a
// timing difference there reveals nothing usable, because an attacker
// cannot choose a token whose sha256 shares a prefix with a stored one.
// The stored hash is still compared in constant time.
func Authenticate(ctx context.Context, st store.Store, token string) (string, error) {
	t, err := lookup(ctx, st, token)
	if err != nil {
		return "", err
	}
	if t.Revoked {
		return "", fmt.Errorf("%w: the token was revoked; ask an admin for a new one (voicedr token create)", ErrUnauthenticated)
	}
	return t.Person, nil
}

// RevokeToken revokes a token; it stops authenticating at once. Revoking
// twice is a no-op.
func RevokeToken(ctx context.Context, st store.Store, token string) error {
	t, err := lookup(ctx, st, token)
	if err != nil {
		return err
	}
	if t.Revoked {
		return nil
	}
	t.Revoked = true
	if err := st.PutToken(ctx, t); err != nil {
		return fmt.Errorf("revoke token %s: %w", t.ID, err)
	}
	return nil
}

func lookup(ctx context.Context, st store.Store, token string) (store.Token, error) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return store.Token{}, fmt.Errorf("%w: not a voicedr token (they start with %s)", ErrUnauthenticated, TokenPrefix)
	}
	if b, err := base64.RawURLEncoding.DecodeString(rest); err != nil || len(b) != tokenBytes {
		return store.Token{}, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	h := hashToken(token)
	t, err := st.TokenByHash(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	if err != nil {
		// Store errors name the table, never the query's arguments.
		return store.Token{}, fmt.Errorf("authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(h)) != 1 {
		return store.Token{}, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	return t, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
