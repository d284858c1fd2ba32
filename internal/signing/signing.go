// Package signing holds voicedr's evidence keys: one ed25519 key pair
// ("voicedr evidence keys") that signs audit checkpoints and, later, drill
// evidence bundles.
//
// Keys live on disk as PEM: the private key as PKCS#8 in voicedr-signing.key
// (mode 0600), the public key as PKIX in voicedr-signing.pub, so auditors can
// read them with openssl. Private key material is never printed: Key's
// String, GoString, LogValue and MarshalJSON show only its ID and public half,
// and no error built here quotes file contents.
package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// File names WriteFiles uses inside its directory.
const (
	PrivateFile = "voicedr-signing.key"
	PublicFile  = "voicedr-signing.pub"
)

// generateHint is what a user without keys should do next.
const generateHint = "run voicedr evidence keys --generate"

// Key is an ed25519 key pair. Printing or logging a Key shows its ID only.
type Key struct {
	Private ed25519.PrivateKey
	Public  ed25519.PublicKey
}

// Generate makes a new key pair from rand (crypto/rand when nil).
func Generate(r io.Reader) (*Key, error) {
	if r == nil {
		r = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return &Key{Private: priv, Public: pub}, nil
}

// KeyID names a public key: the first 16 hex digits of sha256 over its 32
// raw bytes. Checkpoints and evidence carry it so a verifier picks the key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])[:16]
}

// ID is KeyID of k's public key.
func (k *Key) ID() string { return KeyID(k.Public) }

// Sign signs msg with k's private key.
func (k *Key) Sign(msg []byte) []byte { return ed25519.Sign(k.Private, msg) }

// Verify reports whether sig is pub's signature of msg. A malformed key or
// signature is false, never a panic (ed25519.Verify panics on a short key).
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, msg, sig)
}

// String shows the key's ID, never its private half.
func (k Key) String() string { return "ed25519 key " + KeyID(k.Public) }

// GoString keeps %#v from dumping the private key.
func (k Key) GoString() string { return "signing.Key{ID: " + KeyID(k.Public) + "}" }

// LogValue keeps slog from dumping the private key.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key_id", KeyID(k.Public)))
}

// MarshalJSON writes the public half only.
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		KeyID  string `json:"key_id"`
		Public string `json:"public"`
	}{KeyID(k.Public), base64.StdEncoding.EncodeToString(k.Public)})
}

// WriteFiles writes k into dir (created 0700 if missing) as PrivateFile
// (PKCS#8 PEM, mode 0600) and PublicFile (PKIX PEM, 0644), and returns their
// paths. It never overwrites: replacing a key would leave every checkpoint
// it signed unverifiable by the new one.
func (k *Key) WriteFiles(dir string) (privPath, pubPath string, err error) {
	privPath, pubPath = filepath.Join(dir, PrivateFile), filepath.Join(dir, PublicFile)
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s already exists: keep it (checkpoints and evidence are signed with it) or move it away before generating a new key: %w", p, fs.ErrExist)
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return "", "", fmt.Errorf("encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("create key directory %s: %w", dir, err)
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		// A private key without its public half is a half-made pair; remove
		// it so the next --generate starts clean.
		os.Remove(privPath)
		return "", "", err
	}
	return privPath, pubPath, nil
}

// writeNew creates path exclusively with mode and writes b to it.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// OpenFile's mode passes through the umask; Chmod states it exactly, so
	// the public key is readable even under a strict umask.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// LoadPrivate reads a key pair from a PKCS#8 PEM file written by WriteFiles.
func LoadPrivate(path string) (*Key, error) {
	block, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s is not a PKCS#8 private key (%v): %s", path, err, generateHint)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not an ed25519 key: %s", path, k, generateHint)
	}
	return &Key{Private: priv, Public: priv.Public().(ed25519.PublicKey)}, nil
}

// LoadPublic reads an ed25519 public key from a PKIX PEM file.
func LoadPublic(path string) (ed25519.PublicKey, error) {
	block, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s is not a PKIX public key (%v): use the %s written by voicedr evidence keys --generate", path, err, PublicFile)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not an ed25519 key: use the %s written by voicedr evidence keys --generate", path, k, PublicFile)
	}
	return pub, nil
}

// readPEM reads the first PEM block of path and checks its type. Errors
// name the file and the block types, never the bytes.
func readPEM(path, typ string) (*pem.Block, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no key at %s: %s (or pass the right path): %w", path, generateHint, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s is not a PEM file: expected a %q block as written by voicedr evidence keys --generate", path, typ)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("%s holds a %q PEM block, want %q: pass the %s file", path, block.Type, typ, map[string]string{"PRIVATE KEY": ".key", "PUBLIC KEY": ".pub"}[typ])
	}
	return block, nil
}
