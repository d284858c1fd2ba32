package readiness_test

import (
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func writePackage(t *testing.T) (string, *readiness.Report, *snapshot.Snapshot) {
	t.Helper()
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 60, RandSeed: 5})
	rep, err := readiness.Check(s, generatedWorkbook(), "support", opts())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pkg")
	if err := rep.WritePackage(dir); err != nil {
		t.Fatal(err)
	}
	return dir, rep, s
}

// TestPackageManifestVerifies checks the manifest covers every file and
// that tampering with any file, or adding one, is caught.
func TestPackageManifestVerifies(t *testing.T) {
	dir, _, _ := writePackage(t)
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	sort.Strings(files)
	want := []string{"MANIFEST.sha256", "checklist.html", "checklist.md", "evidence/snapshot.json", "gaps.json", "report.json", "resource-map.json"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Fatalf("package files (-want +got):\n%s", diff)
	}
	if err := readiness.VerifyPackage(dir); err != nil {
		t.Fatal(err)
	}
	// sha256sum itself must agree: the format is its, so an auditor needs no voicedr.
	if path, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(path, "-c", "--quiet", readiness.ManifestFile)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "gaps.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := readiness.VerifyPackage(dir); err == nil || !strings.Contains(err.Error(), "gaps.json: sha256 mismatch") {
		t.Errorf("tampered gaps.json: err = %v", err)
	}
	os.WriteFile(filepath.Join(dir, "evidence", "extra.txt"), []byte("x"), 0o644)
	if err := readiness.VerifyPackage(dir); err == nil || !strings.Contains(err.Error(), "evidence/extra.txt: not in the manifest") {
		t.Errorf("extra file: err = %v", err)
	}
}

// TestPackageContents checks the evidence is the snapshot judged and the
// gap list and resource map say what the report says.
func TestPackageContents(t *testing.T) {
	dir, rep, s := writePackage(t)
	f, err := os.Open(filepath.Join(dir, "evidence", "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ev, err := snapshot.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, ev); diff != "" {
		t.Errorf("evidence snapshot (-judged +written):\n%s", diff)
	}
	var gaps struct {
		Format string          `json:"format"`
		Gaps   []readiness.Gap `json:"gaps"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "gaps.json"))
	if err := json.Unmarshal(b, &gaps); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep.Gaps, gaps.Gaps); diff != "" || gaps.Format != readiness.GapsFormat {
		t.Errorf("gaps.json format %q (-report +file):\n%s", gaps.Format, diff)
	}
	var rm struct {
		Regions map[string]*readiness.RegionMap `json:"regions"`
	}
	b, _ = os.ReadFile(filepath.Join(dir, "resource-map.json"))
	if err := json.Unmarshal(b, &rm); err != nil {
		t.Fatal(err)
	}
	ie1 := rm.Regions["ie1"]
	if ie1 == nil || ie1.Role != "standby" || rm.Regions["us1"].NumbersConfigured != rep.Numbers {
		t.Fatalf("resource map: %+v", rm.Regions)
	}
	if want := rep.Numbers - rep.GapCounts()[readiness.GapStandbyUnconfigured]; ie1.NumbersConfigured != want {
		t.Errorf("ie1 numbers configured = %d, want %d", ie1.NumbersConfigured, want)
	}
	if diff := cmp.Diff([]string{"support-ivr"}, ie1.Apps); diff != "" {
		t.Errorf("ie1 apps (-want +got):\n%s", diff)
	}
	if len(ie1.SIPDomains) != 0 || len(rm.Regions["us1"].SIPDomains) != 1 {
		t.Errorf("SIP domains: us1 %v, ie1 %v; want the domain in us1 only", rm.Regions["us1"].SIPDomains, ie1.SIPDomains)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "checklist.md"))
	for _, want := range []string{"# Readiness of flow support: NOT READY", "- [ ] SIP domains of the flow exist in ie1",
		"evidence: `evidence/snapshot.json#/resources/us1/sip_domains`", "- [x] TwiML Apps of the flow exist in ie1"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("checklist.md lacks %q:\n%s", want, md)
		}
	}
}

func TestHTMLShowsEveryGapEscaped(t *testing.T) {
	dir, rep, _ := writePackage(t)
	b, err := os.ReadFile(filepath.Join(dir, "checklist.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := html.UnescapeString(string(b))
	if len(rep.Gaps) == 0 {
		t.Fatal("the package under test has no gaps to show")
	}
	for _, g := range rep.Gaps {
		if !strings.Contains(page, g.Resource) || !strings.Contains(page, g.Kind) {
			t.Errorf("page lacks gap %s %s", g.Kind, g.Resource)
		}
	}
	if !strings.Contains(page, "NOT READY") {
		t.Errorf("page does not say the flow is not ready")
	}
}
