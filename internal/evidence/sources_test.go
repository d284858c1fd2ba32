package evidence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/evidence"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// TestDrillBundle fabricates what a tabletop drill leaves (its record, a
// directory with reports and its own state.db) and checks the bundle
// carries every file plus the ledger and audit log exported from state.db,
// without changing state.db itself.
func TestDrillBundle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dir := filepath.Join(f.dir, "drills", "drill-7")
	must(t, os.MkdirAll(dir, 0o755))
	for name, body := range map[string]string{
		"report.json": `{"rto_seconds":42}`, "report.html": "<html></html>", "report.md": "# drill\n",
		"scenario.yaml": "name: primary-voice-down\n", "workbook.yaml": fixtureWorkbook,
	} {
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	ds, err := sqlite.Open(ctx, filepath.Join(dir, evidence.DrillStateFile))
	must(t, err)
	must(t, ds.PutPlan(ctx, "d1", []byte(`{"kind":"failover"}`)))
	must(t, ds.CreateRun(ctx, store.Run{ID: "tabletop-run", PlanDigest: "d1", Flow: "support", Kind: "drill", CreatedAt: t0, State: store.RunCompleted}))
	_, err = ds.AppendAction(ctx, store.ActionRecord{RunID: "tabletop-run", ActionKey: "number:+14155550100", Step: store.StepCommitted, At: t0})
	must(t, err)
	l := &audit.Log{Store: ds, Key: f.key, Now: func() time.Time { return t0 }, CheckpointEvery: -1}
	_, err = l.Append(ctx, "run.action", "voicedr", "tabletop-run", map[string]string{"step": "committed"})
	must(t, err)
	_, err = l.Checkpoint(ctx)
	must(t, err)
	must(t, ds.Close())
	before, err := os.ReadFile(filepath.Join(dir, evidence.DrillStateFile))
	must(t, err)

	must(t, f.st.SaveDrill(ctx, store.Drill{ID: "drill-7", Flow: "support", Kind: "tabletop", Scenario: "primary-voice-down",
		Outcome: "passed", StartedAt: t0, EndedAt: t0.Add(time.Minute), Dir: dir, Report: json.RawMessage(`{"rto_seconds":42}`)}))
	b, err := evidence.DrillBundle(ctx, f.st, "drill-7", f.options())
	must(t, err)
	out := filepath.Join(f.dir, "drill-7.tar.gz")
	_, err = b.Write(out, f.key, t0)
	must(t, err)
	res, err := evidence.Verify(out, f.key.Public)
	must(t, err)
	if !res.OK {
		t.Fatalf("verify: %v", res.Problems)
	}
	var paths []string
	for _, fe := range res.Manifest.Files {
		paths = append(paths, fe.Path)
	}
	for _, want := range []string{"drill.json", "drill/report.json", "drill/report.html", "drill/report.md", "drill/scenario.yaml",
		"drill/workbook.yaml", "drill/state.db", "state/runs/tabletop-run/ledger.jsonl", "state/runs/tabletop-run/plan.json",
		"state/runs/tabletop-run/run.json", "state/audit.json", "workbook/voicedr.yaml"} {
		if !slices.Contains(paths, want) {
			t.Errorf("bundle lacks %s; has %v", want, paths)
		}
	}
	if res.Kind != evidence.KindDrill || res.Subject != "drill-7" {
		t.Errorf("kind %q subject %q", res.Kind, res.Subject)
	}
	var drillAudit *evidence.AuditSlice
	for i, a := range res.Manifest.Audit {
		if a.File == "state/audit.json" {
			drillAudit = &res.Manifest.Audit[i]
		}
		if a.File == "audit/audit.json" {
			t.Errorf("the state database's audit log was bundled though no entry concerns the drill")
		}
	}
	if drillAudit == nil || !drillAudit.Intact || drillAudit.Entries != 1 || drillAudit.Through != 1 {
		t.Errorf("drill audit slice = %+v, want intact, 1 entry checkpointed", drillAudit)
	}
	after, err := os.ReadFile(filepath.Join(dir, evidence.DrillStateFile))
	must(t, err)
	if !bytes.Equal(before, after) {
		t.Error("exporting changed the drill's state.db")
	}
}

// TestReadinessBundle bundles a readiness check of a generated account
// with the example workbook: the package's files, the snapshot's identity
// and a note that the flow was not ready.
func TestReadinessBundle(t *testing.T) {
	f := newFixture(t)
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 60, RandSeed: 1})
	wbPath := "../../examples/voicedr.yaml"
	wb, err := workbook.Load(wbPath)
	must(t, err)
	rep, err := readiness.Check(s, wb, "sales", readiness.Options{Now: func() time.Time { return t0 }})
	must(t, err)
	snap := evidence.SnapshotRef{Source: "file", File: "snap.json", AccountSID: s.AccountSID, TakenAt: s.TakenAt, Numbers: len(s.Numbers), SHA256: "abc"}
	b, err := evidence.ReadinessBundle(rep, snap, evidence.Options{Program: wb.Program, WorkbookPath: wbPath})
	must(t, err)
	out := filepath.Join(f.dir, "ready")
	_, err = b.Write(out, f.key, t0)
	must(t, err)
	res, err := evidence.Verify(out, f.key.Public)
	must(t, err)
	if !res.OK {
		t.Fatalf("verify: %v", res.Problems)
	}
	if err := readiness.VerifyPackage(filepath.Join(out, "readiness")); err != nil {
		t.Errorf("the bundled readiness package does not verify on its own: %v", err)
	}
	m := res.Manifest
	if m.Snapshot == nil || m.Snapshot.AccountSID != s.AccountSID || m.Subject != "sales" || m.Kind != evidence.KindReadiness {
		t.Errorf("manifest: kind %q subject %q snapshot %+v", m.Kind, m.Subject, m.Snapshot)
	}
	if !slices.ContainsFunc(m.Notes, func(n string) bool { return strings.Contains(n, "NOT READY") }) {
		t.Errorf("notes %q do not say the flow was not ready", m.Notes)
	}
	if _, err := os.Stat(filepath.Join(out, "readiness", "evidence", "snapshot.json")); err != nil {
		t.Error(err)
	}
}

// TestWorkbookVersion: outside git only the digest; in a work tree, HEAD
// and whether the file differs from it.
func TestWorkbookVersion(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "voicedr.yaml")
	must(t, os.WriteFile(p, []byte(fixtureWorkbook), 0o644))
	sum, commit, err := evidence.WorkbookVersion(p)
	must(t, err)
	if len(sum) != 64 {
		t.Errorf("sha256 = %q", sum)
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	if commit != "" {
		t.Errorf("outside git: commit = %q, want empty", commit)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	if ref, err := evidence.Workbook(p); err != nil || !ref.Dirty && ref.GitCommit != "" {
		t.Errorf("before the first commit: %+v %v", ref, err)
	}
	git("add", "voicedr.yaml")
	git("commit", "-q", "-m", "workbook")
	head := git("rev-parse", "HEAD")
	ref, err := evidence.Workbook(p)
	must(t, err)
	if ref.GitCommit != head || ref.Dirty || ref.SHA256 != sum {
		t.Errorf("committed: %+v, want commit %s, clean", ref, head)
	}
	must(t, os.WriteFile(p, []byte(fixtureWorkbook+"# edited\n"), 0o644))
	ref, err = evidence.Workbook(p)
	must(t, err)
	if ref.GitCommit != head || !ref.Dirty {
		t.Errorf("edited: %+v, want commit %s, dirty", ref, head)
	}
	if _, _, err := evidence.WorkbookVersion(filepath.Join(dir, "nope.yaml")); err == nil || !strings.Contains(err.Error(), "--workbook") {
		t.Errorf("missing workbook: err = %v", err)
	}
}
