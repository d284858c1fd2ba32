package signing_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/signing"
)

// fixedKey is generated from a constant seed, so its ID is a constant too.
func fixedKey(t *testing.T, seed byte) *signing.Key {
	t.Helper()
	k, err := signing.Generate(bytes.NewReader(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyIDIsStable(t *testing.T) {
	// Pinned: checkpoints already stored name keys by this ID, so the
	// derivation (first 16 hex of sha256 of the raw public key) must never
	// change. The value was cross-checked with openssl (pkey -pubout, sha256sum).
	k := fixedKey(t, 1)
	if got, want := signing.KeyID(k.Public), "34750f98bd59fcfc"; got != want {
		t.Errorf("KeyID = %s, want %s", got, want)
	}
	if got, want := k.ID(), signing.KeyID(k.Public); got != want {
		t.Errorf("ID() = %s, want %s", got, want)
	}
	if got := signing.KeyID(fixedKey(t, 2).Public); got == k.ID() {
		t.Errorf("two keys share ID %s", got)
	}
}

func TestSignVerify(t *testing.T) {
	k, err := signing.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	other := fixedKey(t, 9)
	msg := []byte("voicedr-audit-checkpoint/v1\n7\nabc")
	sig := k.Sign(msg)
	tests := []struct {
		name string
		pub  ed25519.PublicKey
		msg  []byte
		sig  []byte
		want bool
	}{
		{"genuine", k.Public, msg, sig, true},
		{"altered message", k.Public, []byte("voicedr-audit-checkpoint/v1\n8\nabc"), sig, false},
		{"other key", other.Public, msg, sig, false},
		{"altered signature", k.Public, msg, append([]byte{sig[0] ^ 1}, sig[1:]...), false},
		{"short key", k.Public[:5], msg, sig, false},
		{"nil key", nil, msg, sig, false},
		{"short signature", k.Public, msg, sig[:10], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signing.Verify(tt.pub, tt.msg, tt.sig); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWriteAndLoadFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k := fixedKey(t, 3)
	privPath, pubPath, err := k.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []string{privPath, pubPath}, []string{filepath.Join(dir, signing.PrivateFile), filepath.Join(dir, signing.PublicFile)}; !cmp.Equal(got, want) {
		t.Errorf("paths: %s", cmp.Diff(want, got))
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]fs.FileMode{privPath: 0o600, pubPath: 0o644} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != want {
				t.Errorf("%s mode = %v, want %v", filepath.Base(path), got, want)
			}
		}
	}
	pem, err := os.ReadFile(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pem, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("private key file is not PKCS#8 PEM:\n%.40s", pem)
	}
	got, err := signing.LoadPrivate(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Private.Equal(k.Private) || !got.Public.Equal(k.Public) {
		t.Error("LoadPrivate did not return the written key")
	}
	pub, err := signing.LoadPublic(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(k.Public) {
		t.Error("LoadPublic did not return the written key")
	}

	// Overwriting would orphan every checkpoint the first key signed.
	_, _, err = fixedKey(t, 4).WriteFiles(dir)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), privPath) {
		t.Errorf("second WriteFiles: err = %v, want ErrExist naming %s", err, privPath)
	}
	if again, _ := signing.LoadPrivate(privPath); again == nil || !again.Public.Equal(k.Public) {
		t.Error("second WriteFiles replaced the key")
	}
}

func TestLoadErrorsNameFileAndNextStep(t *testing.T) {
	dir := t.TempDir()
	k := fixedKey(t, 5)
	privPath, pubPath, err := k.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope.key")
	tests := []struct {
		name string
		load func() error
		path string
		hint string
	}{
		{"missing private", func() error { _, err := signing.LoadPrivate(missing); return err }, missing, "voicedr evidence keys --generate"},
		{"public given as private", func() error { _, err := signing.LoadPrivate(pubPath); return err }, pubPath, ".key"},
		{"private given as public", func() error { _, err := signing.LoadPublic(privPath); return err }, privPath, ".pub"},
		{"not PEM", func() error { _, err := signing.LoadPublic(garbage); return err }, garbage, "voicedr evidence keys --generate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load()
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("error %q does not name %s and %q", err, tt.path, tt.hint)
			}
			assertNoSecret(t, err.Error(), k)
		})
	}
}

func TestKeyNeverPrintsPrivateMaterial(t *testing.T) {
	k := fixedKey(t, 6)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "key", k, "value", *k)
	js, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, *k, *k, k), logged.String(), string(js),
	} {
		assertNoSecret(t, out, k)
		if !strings.Contains(out, k.ID()) {
			t.Errorf("%q does not name key %s", out, k.ID())
		}
	}
}

// assertNoSecret fails if out carries k's seed in any usual encoding.
func assertNoSecret(t *testing.T, out string, k *signing.Key) {
	t.Helper()
	seed := k.Private.Seed()
	for _, enc := range []string{
		hex.EncodeToString(seed), base64.StdEncoding.EncodeToString(k.Private), base64.StdEncoding.EncodeToString(seed)[:20],
		fmt.Sprint([]byte(k.Private)), fmt.Sprintf("%x", seed[:8]),
	} {
		if strings.Contains(out, enc) {
			t.Errorf("output carries private key material: %q", out)
		}
	}
}
