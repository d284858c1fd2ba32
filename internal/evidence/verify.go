package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/signing"
)

// maxManifest bounds how much of manifest.json and manifest.sig Verify
// holds in memory: a real manifest is kilobytes, a forged one could be
// anything.
const maxManifest = 64 << 20

// Problem kinds, for scripts.
const (
	ProblemAltered   = "altered"     // a file's sha256 or size differs from the manifest's
	ProblemMissing   = "missing"     // a file the manifest lists is absent
	ProblemExtra     = "extra"       // a file is present that the manifest does not list
	ProblemSignature = "signature"   // manifest.sig is absent or does not verify over manifest.json
	ProblemUntrusted = "untrusted"   // the manifest is signed by a key the verifier was not given
	ProblemManifest  = "manifest"    // manifest.json is malformed
	ProblemUnsafe    = "unsafe_path" // a manifest path is absolute or climbs out, or a file is not regular
	ProblemAudit     = "audit"       // a carried audit export that was intact at export no longer verifies
)

// Problem is one way a bundle fails verification.
type Problem struct {
	Kind   string `json:"kind"`
	Path   string `json:"path,omitempty"`
	Detail string `json:"detail"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Kind + ": " + p.Detail
	}
	return p.Path + ": " + p.Kind + ": " + p.Detail
}

// Result is the outcome of Verify.
type Result struct {
	// OK: the signature verifies with a trusted key (or, with none given,
	// the key the manifest carries), and every file is present, unaltered
	// and listed.
	OK      bool      `json:"ok"`
	Path    string    `json:"path"`
	Program string    `json:"program,omitempty"`
	Kind    Kind      `json:"kind,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Created time.Time `json:"created,omitzero"`
	KeyID   string    `json:"key_id,omitempty"`
	Files   int       `json:"files"`
	// SignatureValid: manifest.sig verifies over manifest.json with the
	// key checked (a trusted one, else the one the manifest carries).
	SignatureValid bool `json:"signature_valid"`
	// SelfAttested: no trusted key was given, so the signature was checked
	// with the key the manifest carries: the bundle is intact, but who
	// signed it is unproven.
	SelfAttested bool      `json:"self_attested,omitempty"`
	Problems     []Problem `json:"problems"`
	Manifest     *Manifest `json:"manifest,omitempty"`
}

// entry is a file found in a bundle.
type entry struct {
	sum     string
	size    int64
	regular bool
}

// tree is what a bundle holds, read from a directory or an archive.
type tree struct {
	files         map[string]entry
	manifest, sig []byte
	hasSig        bool
	keep          map[string][]byte // contents of the files asked for
}

// Verify proves the bundle at p (a directory or a .tar.gz) intact: the
// manifest's signature, by one of trusted (or, when none is given, by the
// key the manifest carries, which proves integrity only), and every file's
// digest. Each altered, missing or extra file is a Problem naming it. The
// error is for what is not a bundle at all, or an archive refused whole
// (an entry that would unpack outside it, a link, a device).
func Verify(p string, trusted ...ed25519.PublicKey) (Result, error) {
	st, err := os.Stat(p)
	if err != nil {
		return Result{}, fmt.Errorf("evidence bundle %s: %w", p, err)
	}
	load := func(keep func(string) bool) (*tree, error) {
		if st.IsDir() {
			return readDir(p, keep)
		}
		return readTar(p, keep)
	}
	t, err := load(nil)
	if err != nil {
		return Result{}, err
	}
	if t.manifest == nil {
		return Result{}, fmt.Errorf("%s is not an evidence bundle: it has no %s (voicedr evidence export writes one)", p, ManifestFile)
	}
	res := Result{Path: p, Problems: []Problem{}}
	m, perr := parseManifest(t.manifest)
	if perr != nil {
		res.problem(ProblemManifest, ManifestFile, perr.Error())
	}
	res.checkSignature(t, m, trusted)
	if m == nil {
		return res.finish(), nil
	}
	res.Manifest, res.Program, res.Kind, res.Subject, res.Created, res.Files = m, m.Program, m.Kind, m.Subject, m.Created, len(m.Files)
	res.checkFiles(t, m)
	if len(m.Audit) > 0 && !slices.ContainsFunc(res.Problems, func(pr Problem) bool { return pr.Kind == ProblemAltered }) {
		// Read again keeping the audit exports: checking their chains
		// shows the log was intact when exported, not only that its file
		// is the one signed.
		want := map[string]bool{}
		for _, a := range m.Audit {
			want[a.File] = true
		}
		t2, err := load(func(name string) bool { return want[name] })
		if err != nil {
			return Result{}, err
		}
		res.checkAudit(t2, m)
	}
	return res.finish(), nil
}

func (r *Result) problem(kind, p, detail string) {
	r.Problems = append(r.Problems, Problem{Kind: kind, Path: p, Detail: detail})
}

func (r *Result) finish() Result {
	slices.SortStableFunc(r.Problems, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) })
	r.OK = len(r.Problems) == 0
	return *r
}

func parseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not valid %s JSON: %v", Format, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("format is %q, want %q", m.Format, Format)
	}
	return &m, nil
}

// checkSignature verifies manifest.sig over the exact manifest bytes. The
// key is picked by the manifest's key_id among trusted; the key the
// manifest carries is used only when no trusted key is given.
func (r *Result) checkSignature(t *tree, m *Manifest, trusted []ed25519.PublicKey) {
	if !t.hasSig {
		r.problem(ProblemSignature, SignatureFile, "missing: the manifest is unsigned")
		return
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(t.sig)))
	if err != nil {
		r.problem(ProblemSignature, SignatureFile, "not base64")
		return
	}
	var keyID string
	var carried ed25519.PublicKey
	if m != nil {
		keyID = m.KeyID
		r.KeyID = keyID
		if b, err := base64.StdEncoding.DecodeString(m.PublicKey); err == nil && len(b) == ed25519.PublicKeySize {
			carried = b
		}
	}
	var key ed25519.PublicKey
	if len(trusted) == 0 {
		key, r.SelfAttested = carried, true
		if key != nil && signing.KeyID(key) != keyID {
			r.problem(ProblemManifest, ManifestFile, fmt.Sprintf("public_key has ID %s but key_id says %s", signing.KeyID(key), keyID))
		}
	} else {
		for _, k := range trusted {
			if signing.KeyID(k) == keyID {
				key = k
			}
		}
		if key == nil {
			ids := make([]string, 0, len(trusted))
			for _, k := range trusted {
				ids = append(ids, signing.KeyID(k))
			}
			r.problem(ProblemUntrusted, ManifestFile, fmt.Sprintf("signed by key %q, not by a trusted key (%s): pass the signer's %s with --pub if you trust it", keyID, strings.Join(ids, ", "), signing.PublicFile))
			// Still say whether the carried key signed it, so an auditor
			// can tell a foreign signer from a forged signature.
			key = carried
		}
	}
	r.SignatureValid = key != nil && signing.Verify(key, t.manifest, sig)
	if !r.SignatureValid {
		r.problem(ProblemSignature, ManifestFile, "manifest.sig does not verify over manifest.json: the manifest was edited or signed by another key")
	}
}

func (r *Result) checkFiles(t *tree, m *Manifest) {
	listed := map[string]bool{ManifestFile: true, SignatureFile: true}
	for _, f := range m.Files {
		if err := safePath(f.Path); err != nil {
			r.problem(ProblemUnsafe, f.Path, err.Error())
			continue
		}
		if listed[f.Path] {
			r.problem(ProblemManifest, f.Path, "listed twice in the manifest")
			continue
		}
		listed[f.Path] = true
		got, ok := t.files[f.Path]
		switch {
		case !ok:
			r.problem(ProblemMissing, f.Path, "listed in the manifest but absent from the bundle")
		case !got.regular:
			r.problem(ProblemUnsafe, f.Path, "not a regular file (a link or device): bundles hold regular files only")
		case got.sum != f.SHA256 || got.size != f.Bytes:
			r.problem(ProblemAltered, f.Path, fmt.Sprintf("sha256 %s (%d bytes), manifest says %s (%d bytes): the file was altered", got.sum, got.size, f.SHA256, f.Bytes))
		}
	}
	for name, e := range t.files {
		if listed[name] {
			continue
		}
		detail := "present but not in the manifest: it was added after signing"
		if !e.regular {
			detail = "not a regular file and not in the manifest"
		}
		r.problem(ProblemExtra, name, detail)
	}
}

// checkAudit re-verifies each carried audit export that the exporter found
// intact. The bundle's signature already binds the file's bytes; this
// catches an exporter that recorded "intact" over a broken chain.
func (r *Result) checkAudit(t *tree, m *Manifest) {
	for _, a := range m.Audit {
		b, ok := t.keep[a.File]
		if !ok || !a.Intact {
			continue
		}
		rep, err := audit.VerifyExport(bytes.NewReader(b))
		switch {
		case err != nil:
			r.problem(ProblemAudit, a.File, err.Error())
		case !rep.OK:
			r.problem(ProblemAudit, a.File, fmt.Sprintf("the manifest says the audit chain was intact, but entry %d: %s", rep.FirstBad.Seq, rep.FirstBad.Reason))
		}
	}
}

// readDir walks a bundle directory, hashing every file.
func readDir(root string, keep func(string) bool) (*tree, error) {
	t := &tree{files: map[string]entry{}, keep: map[string][]byte{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			// Never followed: a link could make Verify hash a file outside
			// the bundle.
			t.files[rel] = entry{}
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return t.add(rel, f, keep)
	})
	if err != nil {
		return nil, fmt.Errorf("read evidence bundle %s: %w", root, err)
	}
	return t, nil
}

// add hashes one file, keeping the manifest, the signature and the files
// keep asks for.
func (t *tree) add(name string, r io.Reader, keep func(string) bool) error {
	special := name == ManifestFile || name == SignatureFile
	e, data, err := hashEntry(r, special || (keep != nil && keep(name)), special)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch {
	case name == ManifestFile:
		t.manifest = data
	case name == SignatureFile:
		t.sig, t.hasSig = data, true
	default:
		t.files[name] = e
		if data != nil {
			t.keep[name] = data
		}
	}
	return nil
}

// readTar reads a gzipped tar bundle. Its files sit at the root or under
// one top directory (what Write makes); every entry is checked before it
// is read, and a name that is absolute or climbs out with "..", a link or
// a device refuses the whole archive: unpacked, it could write outside
// the directory the auditor chose.
func readTar(file string, keep func(string) bool) (*tree, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("evidence bundle %s: %w", file, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("evidence bundle %s is neither a directory nor a .tar.gz: %w", file, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	type item struct {
		name string
		e    entry
		data []byte
	}
	var items []item
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("evidence bundle %s: read archive: %w", file, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
		if err := safePath(name); err != nil {
			return nil, fmt.Errorf("evidence bundle %s refused: entry %q: %w", file, hdr.Name, err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return nil, fmt.Errorf("evidence bundle %s refused: entry %q is not a regular file or directory (type %q)", file, hdr.Name, hdr.Typeflag)
		}
		if seen[name] {
			return nil, fmt.Errorf("evidence bundle %s refused: entry %q appears twice", file, hdr.Name)
		}
		seen[name] = true
		// Whether the bundle sits under a top directory is known only once
		// every name is, so what to keep is judged with and without one.
		base := path.Base(name)
		special := base == ManifestFile || base == SignatureFile
		_, rest, _ := strings.Cut(name, "/")
		want := special || (keep != nil && (keep(name) || keep(rest)))
		e, data, err := hashEntry(tr, want, special)
		if err != nil {
			return nil, fmt.Errorf("evidence bundle %s: %s: %w", file, hdr.Name, err)
		}
		it := item{name: name, e: e, data: data}
		items = append(items, it)
	}
	prefix := ""
	if !seen[ManifestFile] {
		for n := range seen {
			if dir, b, ok := strings.Cut(n, "/"); ok && b == ManifestFile && !strings.Contains(dir, "/") {
				prefix = dir + "/"
			}
		}
	}
	t := &tree{files: map[string]entry{}, keep: map[string][]byte{}}
	for _, it := range items {
		rel, ok := strings.CutPrefix(it.name, prefix)
		if !ok {
			rel = it.name // outside the bundle's top directory: reported as extra
		}
		switch {
		case rel == ManifestFile && ok:
			t.manifest = it.data
		case rel == SignatureFile && ok:
			t.sig, t.hasSig = it.data, true
		default:
			t.files[rel] = it.e
			if it.data != nil {
				t.keep[rel] = it.data
			}
		}
	}
	return t, nil
}

// hashEntry hashes one archive entry, returning its bytes too when want
// (bounded by maxManifest when it is a manifest or signature).
func hashEntry(r io.Reader, want, special bool) (entry, []byte, error) {
	h := sha256.New()
	var buf *bytes.Buffer
	if want {
		buf = &bytes.Buffer{}
		r = io.TeeReader(r, buf)
	}
	if special {
		r = io.LimitReader(r, maxManifest+1)
	}
	n, err := io.Copy(h, r)
	if err != nil {
		return entry{}, nil, err
	}
	if special && n > maxManifest {
		return entry{}, nil, fmt.Errorf("over %d bytes: not a voicedr manifest", maxManifest)
	}
	e := entry{sum: hex.EncodeToString(h.Sum(nil)), size: n, regular: true}
	if buf == nil {
		return e, nil, nil
	}
	return e, buf.Bytes(), nil
}
