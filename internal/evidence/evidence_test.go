package evidence_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/evidence"
	"github.com/voicedr/voicedr/internal/signing"
)

// TestRunBundleVerifies exports a run and checks the manifest says what
// the bundle holds and that it verifies with the signer's key.
func TestRunBundleVerifies(t *testing.T) {
	f := newFixture(t)
	out := f.runBundle(t, filepath.Join(f.dir, "bundle"))
	res, err := evidence.Verify(out, f.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.SelfAttested || !res.SignatureValid {
		t.Fatalf("verify: ok %v self-attested %v signature %v, problems %v", res.OK, res.SelfAttested, res.SignatureValid, res.Problems)
	}
	m := res.Manifest
	var paths []string
	for _, fe := range m.Files {
		paths = append(paths, fe.Path)
	}
	want := []string{"approvals.json", "audit/audit.json", "ledger.jsonl", "plan.json", "run.json", "workbook/voicedr.yaml"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if m.Kind != evidence.KindRun || m.Subject != f.run.ID || !m.Created.Equal(t0) || m.KeyID != f.key.ID() || m.Program != "acme-voice-dr" {
		t.Errorf("manifest header = %+v", m)
	}
	if m.Workbook.Path != f.workbook || m.Workbook.SHA256 == "" || m.Workbook.BundlePath != "workbook/voicedr.yaml" {
		t.Errorf("workbook = %+v", m.Workbook)
	}
	if len(m.Audit) != 1 {
		t.Fatalf("audit slices = %+v, want 1", m.Audit)
	}
	if a := m.Audit[0]; !a.Intact || a.Entries != 5 || a.Checkpoints != 1 || a.Through != 5 {
		t.Errorf("audit slice = %+v, want intact, 5 entries, 1 checkpoint through 5", a)
	}
	if diff := cmp.Diff(f.auditSeqs, m.Audit[0].Seqs); diff != "" {
		t.Errorf("audit seqs about the run (-want +got):\n%s", diff)
	}
	if len(m.Notes) != 0 {
		t.Errorf("notes = %q, want none (the workbook is the plan's)", m.Notes)
	}
	ledger, err := os.ReadFile(filepath.Join(out, "ledger.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(ledger), "\n"); n != 4 || !strings.Contains(string(ledger), `"step":"committed"`) {
		t.Errorf("ledger.jsonl has %d lines:\n%s", n, ledger)
	}

	// Without a trusted key it proves integrity only, and says so.
	self, err := evidence.Verify(out)
	if err != nil {
		t.Fatal(err)
	}
	if !self.OK || !self.SelfAttested {
		t.Errorf("verify without keys: ok %v self-attested %v, want both", self.OK, self.SelfAttested)
	}
}

// TestTamperIsNamed alters a fresh bundle in each way and checks Verify
// names exactly what was done.
func TestTamperIsNamed(t *testing.T) {
	other, err := signing.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, dir string)
		trusted func(f *fixture) ed25519.PublicKey
		want    map[string]string
	}{
		{name: "one byte of a file", tamper: func(t *testing.T, dir string) { flipByte(t, filepath.Join(dir, "ledger.jsonl")) },
			want: map[string]string{"ledger.jsonl": evidence.ProblemAltered}},
		{name: "a file deleted", tamper: func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "approvals.json"))) },
			want: map[string]string{"approvals.json": evidence.ProblemMissing}},
		{name: "a file added", tamper: func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "audit", "late.json"), []byte("{}"), 0o644))
		}, want: map[string]string{"audit/late.json": evidence.ProblemExtra}},
		{name: "manifest edited to match an altered file", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "run.json")
			must(t, os.WriteFile(p, []byte(`{"id":"run-1","state":"completed","note":"forged"}`+"\n"), 0o644))
			editManifest(t, dir, func(m *evidence.Manifest) {
				for i := range m.Files {
					if m.Files[i].Path == "run.json" {
						m.Files[i] = fileEntry(t, dir, "run.json")
					}
				}
			})
		}, want: map[string]string{"manifest.json": evidence.ProblemSignature}},
		{name: "manifest.sig deleted", tamper: func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, evidence.SignatureFile))) },
			want: map[string]string{evidence.SignatureFile: evidence.ProblemSignature}},
		{name: "another trusted key", tamper: func(*testing.T, string) {},
			trusted: func(*fixture) ed25519.PublicKey { return other.Public },
			want:    map[string]string{"manifest.json": evidence.ProblemUntrusted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			dir := f.runBundle(t, filepath.Join(f.dir, "bundle"))
			tc.tamper(t, dir)
			trusted := f.key.Public
			if tc.trusted != nil {
				trusted = tc.trusted(f)
			}
			res, err := evidence.Verify(dir, trusted)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK {
				t.Fatal("verify says OK after tampering")
			}
			if diff := cmp.Diff(tc.want, problems(res)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, res.Problems)
			}
		})
	}
}

// TestSignedManifestCannotReachOutside: even a manifest signed by the
// trusted key may not list a path outside the bundle; Verify names it and
// never reads it.
func TestSignedManifestCannotReachOutside(t *testing.T) {
	f := newFixture(t)
	dir := f.runBundle(t, filepath.Join(f.dir, "bundle"))
	editManifest(t, dir, func(m *evidence.Manifest) {
		m.Files = append(m.Files, evidence.FileEntry{Path: "../voicedr.yaml", SHA256: m.Workbook.SHA256, Bytes: 1},
			evidence.FileEntry{Path: "/etc/passwd", SHA256: "00", Bytes: 1})
	})
	resign(t, dir, f.key)
	res, err := evidence.Verify(dir, f.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"../voicedr.yaml": evidence.ProblemUnsafe, "/etc/passwd": evidence.ProblemUnsafe}
	if diff := cmp.Diff(want, problems(res)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestTarGzRoundTrip writes a .tar.gz bundle, verifies it, and checks a
// byte changed inside the archive is named.
func TestTarGzRoundTrip(t *testing.T) {
	f := newFixture(t)
	out := f.runBundle(t, filepath.Join(f.dir, "run-1-evidence.tar.gz"))
	res, err := evidence.Verify(out, f.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Files != 6 {
		t.Fatalf("verify: ok %v, %d files, problems %v", res.OK, res.Files, res.Problems)
	}
	entries := readTarGz(t, out)
	if _, ok := entries["run-1-evidence/manifest.json"]; !ok {
		t.Errorf("archive entries %v: want everything under run-1-evidence/", keys(entries))
	}
	entries["run-1-evidence/plan.json"] = append([]byte(" "), entries["run-1-evidence/plan.json"]...)
	entries["run-1-evidence/extra.txt"] = []byte("x")
	tampered := filepath.Join(f.dir, "tampered.tar.gz")
	writeTarGz(t, tampered, entries)
	res, err = evidence.Verify(tampered, f.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"plan.json": evidence.ProblemAltered, "extra.txt": evidence.ProblemExtra}
	if diff := cmp.Diff(want, problems(res)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestTarTraversalRefused: an archive with an entry that would unpack
// outside its directory is refused whole, whatever else it holds.
func TestTarTraversalRefused(t *testing.T) {
	f := newFixture(t)
	good := readTarGz(t, f.runBundle(t, filepath.Join(f.dir, "b.tar.gz")))
	for _, evil := range []string{"../evil", "b/../../evil", "/tmp/evil"} {
		entries := map[string][]byte{}
		for k, v := range good {
			entries[k] = v
		}
		entries[evil] = []byte("pwned")
		p := filepath.Join(f.dir, "evil.tar.gz")
		writeTarGz(t, p, entries)
		_, err := evidence.Verify(p, f.key.Public)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("entry %q: err = %v, want refused", evil, err)
		}
	}
}

// TestWriteRefuses: no key, or an existing output, writes nothing.
func TestWriteRefuses(t *testing.T) {
	f := newFixture(t)
	b, err := evidence.RunBundle(t.Context(), f.st, f.run.ID, f.options())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(f.dir, "bundle")
	if _, err := b.Write(out, nil, t0); !errors.Is(err, evidence.ErrNoKey) || !strings.Contains(err.Error(), "voicedr evidence keys --generate") {
		t.Errorf("no key: err = %v, want ErrNoKey saying how to make one", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused export left %s: %v", out, err)
	}
	must(t, os.Mkdir(out, 0o755))
	if _, err := b.Write(out, f.key, t0); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("existing output: err = %v, want refused", err)
	}
	if _, err := evidence.RunBundle(t.Context(), f.st, "run-nope", f.options()); err == nil || !strings.Contains(err.Error(), "voicedr run list") {
		t.Errorf("unknown run: err = %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	b[len(b)/2] ^= 0x01
	must(t, os.WriteFile(p, b, 0o644))
}

func fileEntry(t *testing.T, dir, rel string) evidence.FileEntry {
	t.Helper()
	b := evidence.NewBundle("", "", "")
	data, err := os.ReadFile(filepath.Join(dir, rel))
	must(t, err)
	must(t, b.Add(rel, data))
	return b.Manifest(make(ed25519.PublicKey, ed25519.PublicKeySize), t0).Files[0]
}

func editManifest(t *testing.T, dir string, edit func(*evidence.Manifest)) {
	t.Helper()
	p := filepath.Join(dir, evidence.ManifestFile)
	b, err := os.ReadFile(p)
	must(t, err)
	var m evidence.Manifest
	must(t, json.Unmarshal(b, &m))
	edit(&m)
	b, err = json.MarshalIndent(m, "", "  ")
	must(t, err)
	must(t, os.WriteFile(p, append(b, '\n'), 0o644))
}

func resign(t *testing.T, dir string, k *signing.Key) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, evidence.ManifestFile))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, evidence.SignatureFile), []byte(base64.StdEncoding.EncodeToString(k.Sign(b))), 0o644))
}

func readTarGz(t *testing.T, p string) map[string][]byte {
	t.Helper()
	f, err := os.Open(p)
	must(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	must(t, err)
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(tr)
		must(t, err)
		out[h.Name] = buf.Bytes()
	}
	return out
}

func writeTarGz(t *testing.T, p string, entries map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range keys(entries) {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(entries[name])), Typeflag: tar.TypeReg}))
		_, err := tw.Write(entries[name])
		must(t, err)
	}
	must(t, tw.Close())
	must(t, zw.Close())
	must(t, os.WriteFile(p, buf.Bytes(), 0o644))
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestForgedAuditIsCaught: an exporter that re-signs a manifest over an
// audit log whose chain is broken, while claiming it intact, is caught by
// re-verifying the chain, in a directory and in an archive.
func TestForgedAuditIsCaught(t *testing.T) {
	f := newFixture(t)
	dir := f.runBundle(t, filepath.Join(f.dir, "bundle"))
	p := filepath.Join(dir, "audit", "audit.json")
	b, err := os.ReadFile(p)
	must(t, err)
	must(t, os.WriteFile(p, bytes.Replace(b, []byte(`"note":"approval"`), []byte(`"note":"forged!!"`), 1), 0o644))
	editManifest(t, dir, func(m *evidence.Manifest) {
		for i := range m.Files {
			if m.Files[i].Path == "audit/audit.json" {
				m.Files[i] = fileEntry(t, dir, "audit/audit.json")
			}
		}
	})
	resign(t, dir, f.key)
	want := map[string]string{"audit/audit.json": evidence.ProblemAudit}
	res, err := evidence.Verify(dir, f.key.Public)
	must(t, err)
	if diff := cmp.Diff(want, problems(res)); diff != "" {
		t.Errorf("directory: problems (-want +got):\n%s", diff)
	}
	entries := map[string][]byte{}
	for _, name := range []string{"manifest.json", "manifest.sig", "approvals.json", "audit/audit.json", "ledger.jsonl", "plan.json", "run.json", "workbook/voicedr.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		must(t, err)
		entries["top/"+name] = data
	}
	archive := filepath.Join(f.dir, "forged.tar.gz")
	writeTarGz(t, archive, entries)
	res, err = evidence.Verify(archive, f.key.Public)
	must(t, err)
	if diff := cmp.Diff(want, problems(res)); diff != "" {
		t.Errorf("archive: problems (-want +got):\n%s", diff)
	}
}
