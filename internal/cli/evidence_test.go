package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/evidence"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// voicedr runs the whole command line as the binary would and returns its
// exit code and output.
func voicedr(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, &out, &errOut, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

// TestEvidenceExportVerifyRun exports a run from a state database through
// the CLI, verifies it, then tampers with it and checks verify exits 1
// naming the file; a bundle is refused without a key.
func TestEvidenceExportVerifyRun(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db := filepath.Join(dir, "voicedr.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	if err := st.PutPlan(ctx, "digest-1", []byte(`{"format":"voicedr.plan/v1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateRun(ctx, store.Run{ID: "run-9", PlanDigest: "digest-1", Flow: "support", Kind: "failover", CreatedAt: at, State: store.RunCompleted}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendAction(ctx, store.ActionRecord{RunID: "run-9", ActionKey: "number:+14155550100", Step: store.StepCommitted, At: at}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	wb := "../../examples/voicedr.yaml"
	keyDir := filepath.Join(dir, "keys")
	key, pub := filepath.Join(keyDir, signing.PrivateFile), filepath.Join(keyDir, signing.PublicFile)

	out := filepath.Join(dir, "bundle")
	code, _, stderr := voicedr(t, "evidence", "export", "--run", "run-9", "--out", out, "--db", db, "--workbook", wb, "--signing-key", key)
	if code != ExitUsage || !strings.Contains(stderr, "evidence keys --generate") {
		t.Fatalf("export without a key: exit %d, stderr %q; want %d saying how to make one", code, stderr, ExitUsage)
	}
	if code, _, stderr := voicedr(t, "evidence", "keys", "--generate", "--dir", keyDir); code != ExitOK {
		t.Fatalf("keys --generate: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := voicedr(t, "evidence", "export", "--run", "run-9", "--out", out, "--db", db, "--workbook", wb, "--signing-key", key)
	if code != ExitOK || !strings.Contains(stdout, "wrote evidence bundle") {
		t.Fatalf("export: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "PRIVATE KEY") {
		t.Error("export printed key material")
	}
	code, stdout, stderr = voicedr(t, "evidence", "verify", out, "--pub", pub)
	if code != ExitOK || !strings.Contains(stdout, "INTACT") || !strings.Contains(stdout, "run run-9") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, _ := voicedr(t, "evidence", "export", "--run", "run-9", "--out", out, "--db", db, "--workbook", wb, "--signing-key", key); code != ExitUsage {
		t.Errorf("export over an existing bundle: exit %d, want %d", code, ExitUsage)
	}
	if code, _, _ := voicedr(t, "evidence", "export", "--run", "nope", "--out", filepath.Join(dir, "b2"), "--db", db, "--workbook", wb, "--signing-key", key); code != ExitUsage {
		t.Errorf("export of an unknown run: exit %d, want %d", code, ExitUsage)
	}

	ledger := filepath.Join(out, "ledger.jsonl")
	b, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ledger, bytes.Replace(b, []byte("committed"), []byte("rolled_back"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = voicedr(t, "evidence", "verify", out, "--pub", pub, "--json")
	var res evidence.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, stdout)
	}
	if code != ExitFailed || res.OK || len(res.Problems) != 1 || res.Problems[0].Path != "ledger.jsonl" || res.Problems[0].Kind != evidence.ProblemAltered {
		t.Errorf("verify of a tampered bundle: exit %d, %+v; want %d naming ledger.jsonl altered", code, res.Problems, ExitFailed)
	}
	if code, _, _ := voicedr(t, "evidence", "verify", filepath.Join(dir, "nope")); code != ExitUsage {
		t.Errorf("verify of a missing path: exit %d, want %d", code, ExitUsage)
	}
}

// TestEvidenceExportReadiness bundles a readiness check of a snapshot
// file into a .tar.gz that verifies.
func TestEvidenceExportReadiness(t *testing.T) {
	dir := t.TempDir()
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 50, RandSeed: 1})
	snap := filepath.Join(dir, "snap.json")
	if err := writeSnapshot(snap, s); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := voicedr(t, "evidence", "keys", "--generate", "--dir", dir); code != ExitOK {
		t.Fatalf("keys: %s", stderr)
	}
	out := filepath.Join(dir, "sales.tar.gz")
	code, stdout, stderr := voicedr(t, "evidence", "export", "--readiness", "sales", "--snapshot", snap, "--out", out,
		"--workbook", "../../examples/voicedr.yaml", "--signing-key", filepath.Join(dir, signing.PrivateFile), "--json")
	if code != ExitOK {
		t.Fatalf("export: exit %d\n%s%s", code, stdout, stderr)
	}
	var got struct {
		Path     string             `json:"path"`
		Manifest *evidence.Manifest `json:"manifest"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Manifest.Kind != evidence.KindReadiness || got.Manifest.Snapshot == nil || got.Manifest.Snapshot.File != snap {
		t.Errorf("manifest = %+v", got.Manifest)
	}
	if code, stdout, _ := voicedr(t, "evidence", "verify", out, "--pub", filepath.Join(dir, signing.PublicFile)); code != ExitOK {
		t.Errorf("verify: exit %d\n%s", code, stdout)
	}
	if code, _, _ := voicedr(t, "evidence", "export", "--readiness", "sales", "--run", "x", "--out", filepath.Join(dir, "x")); code != ExitUsage {
		t.Errorf("two subjects: exit %d, want %d", code, ExitUsage)
	}
}
