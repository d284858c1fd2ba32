// Package evidence writes and verifies voicedr's signed evidence bundles:
// what a run, a readiness check or a drill produced, packed so an auditor
// can prove it intact without voicedr's database.
//
// A bundle is a directory (or one .tar.gz of that directory) holding the
// evidence files, manifest.json and manifest.sig. The manifest names the
// program, the kind and subject of the evidence, when it was made, the
// workbook version it concerns (sha256 and, when the workbook is in git,
// the commit), the signing key's ID, and every file with its sha256 and
// size. manifest.sig is the base64 ed25519 signature over the exact bytes
// of manifest.json, so a digest cannot be edited to match an altered file
// without the signature failing. Verify recomputes every digest and names
// each altered, missing or extra file.
//
// The manifest is signed as bytes rather than re-canonicalized on verify:
// an auditor can check it with openssl or any ed25519 library alone. A
// manifest always starts with "{", so its signature can never be replayed
// as an audit checkpoint's (those start with their own domain string) even
// though both are signed with the program's one key.
package evidence

import (
	"archive/tar"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/signing"
)

// Format tags every manifest; Verify refuses others.
const Format = "voicedr.evidence/v1"

// Names of the two files every bundle holds besides its evidence.
const (
	ManifestFile  = "manifest.json"
	SignatureFile = "manifest.sig"
)

// Kind is what a bundle is evidence of.
type Kind string

// Bundle kinds.
const (
	KindRun       Kind = "run"
	KindReadiness Kind = "readiness"
	KindDrill     Kind = "drill"
)

// ErrNoKey: Write was given no signing key. An unsigned bundle proves
// nothing, so none is written.
var ErrNoKey = errors.New("no signing key: an evidence bundle must be signed: run voicedr evidence keys --generate, then pass --signing-key")

// Manifest is manifest.json.
type Manifest struct {
	Format   string      `json:"format"`
	Program  string      `json:"program"`
	Kind     Kind        `json:"kind"`
	Subject  string      `json:"subject"`
	Created  time.Time   `json:"created"`
	Workbook WorkbookRef `json:"workbook"`
	KeyID    string      `json:"key_id"`
	// PublicKey is the signer's public half (base64), so a bundle proves
	// itself intact even where the auditor has no key file yet; only a
	// trusted key given to Verify proves who signed it.
	PublicKey string       `json:"public_key"`
	Snapshot  *SnapshotRef `json:"snapshot,omitempty"`
	Audit     []AuditSlice `json:"audit,omitempty"`
	// Notes are what the exporter found worth telling an auditor (a
	// workbook changed since the plan, an empty audit slice).
	Notes []string    `json:"notes,omitempty"`
	Files []FileEntry `json:"files"`
}

// WorkbookRef is the workbook version a bundle concerns.
type WorkbookRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	// GitCommit is HEAD of the git work tree holding the file ("" outside
	// git or without git); Dirty says the file's bytes are not that
	// commit's (modified or untracked).
	GitCommit string `json:"git_commit,omitempty"`
	Dirty     bool   `json:"git_dirty,omitempty"`
	// BundlePath is where the bundle carries the file itself.
	BundlePath string `json:"bundle_path,omitempty"`
}

// SnapshotRef names the account snapshot a readiness check judged.
type SnapshotRef struct {
	Source     string    `json:"source"` // "stored" or "file"
	ID         int64     `json:"id,omitempty"`
	File       string    `json:"file,omitempty"`
	AccountSID string    `json:"account_sid"`
	TakenAt    time.Time `json:"taken_at"`
	Numbers    int       `json:"numbers"`
	SHA256     string    `json:"sha256"`
}

// AuditSlice describes an audit log export carried in a bundle: the whole
// chain with its checkpoints (a slice alone could not be verified against
// them) and which entries concern the bundle's subject.
type AuditSlice struct {
	File        string   `json:"file"`
	Source      string   `json:"source"`
	Entries     int      `json:"entries"`
	Checkpoints int      `json:"checkpoints"`
	Through     int64    `json:"checkpointed_through"`
	Intact      bool     `json:"intact"`
	Subjects    []string `json:"subjects,omitempty"`
	Seqs        []int64  `json:"seqs"`
}

// FileEntry is one evidence file: its slash-separated path inside the
// bundle, hex sha256 and size.
type FileEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Bundle is evidence being assembled: its manifest fields and files, in
// memory until Write.
type Bundle struct {
	Program  string
	Kind     Kind
	Subject  string
	Workbook WorkbookRef
	Snapshot *SnapshotRef
	Audit    []AuditSlice
	Notes    []string
	files    map[string][]byte
}

// NewBundle starts a bundle of kind about subject.
func NewBundle(program string, kind Kind, subject string) *Bundle {
	return &Bundle{Program: program, Kind: kind, Subject: subject, files: map[string][]byte{}}
}

// Add puts a file into the bundle at the slash-separated path p. It refuses
// paths that could escape the bundle and the manifest's own names.
func (b *Bundle) Add(p string, data []byte) error {
	if err := safePath(p); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	if p == ManifestFile || p == SignatureFile {
		return fmt.Errorf("evidence: %s is the bundle's own manifest: name the file otherwise", p)
	}
	if _, ok := b.files[p]; ok {
		return fmt.Errorf("evidence: %s added twice", p)
	}
	b.files[p] = data
	return nil
}

// AddJSON adds v as indented JSON.
func (b *Bundle) AddJSON(p string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("evidence: encode %s: %w", p, err)
	}
	return b.Add(p, append(data, '\n'))
}

// Paths lists the bundle's files, sorted.
func (b *Bundle) Paths() []string {
	out := make([]string, 0, len(b.files))
	for p := range b.files {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Manifest builds the manifest the bundle would be written with.
func (b *Bundle) Manifest(pub ed25519.PublicKey, created time.Time) *Manifest {
	m := &Manifest{Format: Format, Program: b.Program, Kind: b.Kind, Subject: b.Subject, Created: created.UTC(),
		Workbook: b.Workbook, KeyID: signing.KeyID(pub), PublicKey: base64.StdEncoding.EncodeToString(pub),
		Snapshot: b.Snapshot, Audit: b.Audit, Notes: b.Notes, Files: []FileEntry{}}
	for _, p := range b.Paths() {
		sum := sha256.Sum256(b.files[p])
		m.Files = append(m.Files, FileEntry{Path: p, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(b.files[p]))})
	}
	return m
}

// Write signs the bundle with key and writes it to out: a directory, or a
// gzipped tar when out ends in .tar.gz. created is the manifest's time
// (from the caller's clock). out must not exist: evidence is never
// overwritten, and a directory with other files in it would not verify.
// The bundle is built beside out and renamed into place, so a failed
// export never leaves a half bundle an auditor could take for whole.
func (b *Bundle) Write(out string, key *signing.Key, created time.Time) (*Manifest, error) {
	if key == nil {
		return nil, ErrNoKey
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("evidence: %s already exists: choose another --out or move it away (evidence is never overwritten)", out)
	}
	m := b.Manifest(key.Public, created)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("evidence: encode manifest: %w", err)
	}
	mb = append(mb, '\n')
	sig := []byte(base64.StdEncoding.EncodeToString(key.Sign(mb)) + "\n")
	all := map[string][]byte{ManifestFile: mb, SignatureFile: sig}
	for p, d := range b.files {
		all[p] = d
	}
	if strings.HasSuffix(out, ".tar.gz") {
		return m, writeTar(out, all)
	}
	return m, writeDir(out, all)
}

func writeDir(out string, files map[string][]byte) error {
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".voicedr-evidence-*")
	if err != nil {
		return fmt.Errorf("evidence: write %s: %w", out, err)
	}
	defer os.RemoveAll(tmp)
	for p, d := range files {
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("evidence: write %s: %w", out, err)
		}
		if err := os.WriteFile(dst, d, 0o644); err != nil {
			return fmt.Errorf("evidence: write %s: %w", out, err)
		}
	}
	// MkdirTemp makes 0700; a bundle is meant to be read by others.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("evidence: write %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("evidence: write %s: %w", out, err)
	}
	return nil
}

// writeTar writes files under one top directory named after the archive,
// so unpacking it never scatters files into the current directory.
func writeTar(out string, files map[string][]byte) error {
	top := strings.TrimSuffix(filepath.Base(out), ".tar.gz")
	if top == "" || top == "." || top == ".." {
		top = "evidence"
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".voicedr-evidence-*.tar.gz")
	if err != nil {
		return fmt.Errorf("evidence: write %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		// A fixed time and owner keep the archive a function of its content.
		hdr := &tar.Header{Name: path.Join(top, p), Mode: 0o644, Size: int64(len(files[p])), Typeflag: tar.TypeReg,
			ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			tmp.Close()
			return fmt.Errorf("evidence: write %s: %w", out, err)
		}
		if _, err := tw.Write(files[p]); err != nil {
			tmp.Close()
			return fmt.Errorf("evidence: write %s: %w", out, err)
		}
	}
	if err := errors.Join(tw.Close(), zw.Close(), tmp.Chmod(0o644)); err != nil {
		tmp.Close()
		return fmt.Errorf("evidence: write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("evidence: write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("evidence: write %s: %w", out, err)
	}
	return nil
}

// safePath refuses a bundle path that is empty, absolute, not in clean
// slash form, or climbs out with "..": such a path in a forged manifest or
// tar entry would make Verify read, or an unpacking tool write, outside
// the bundle.
func safePath(p string) error {
	switch {
	case p == "" || p == ".":
		return fmt.Errorf("empty path in bundle")
	case strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || filepath.IsAbs(p) || filepath.VolumeName(p) != "":
		return fmt.Errorf("path %q in bundle is absolute: bundle paths are relative", p)
	case path.Clean(p) != p:
		return fmt.Errorf("path %q in bundle is not clean: write it as %q", p, path.Clean(p))
	}
	if slices.Contains(strings.Split(p, "/"), "..") {
		return fmt.Errorf("path %q in bundle climbs out of it with ..", p)
	}
	if !fs.ValidPath(p) {
		return fmt.Errorf("path %q in bundle is not a valid path", p)
	}
	return nil
}
