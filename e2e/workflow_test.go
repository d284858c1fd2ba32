//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeWorkflow is the README's quickstart on the demo account:
// init → validate → posture → readiness (not ready) → standby apply →
// readiness (ready) → a second plan changes nothing.
func TestReadmeWorkflow(t *testing.T) {
	_, env, _ := startEmulator(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "voicedr.db")
	draft := filepath.Join(dir, "voicedr.yaml")
	step := func(want int, args ...string) string {
		t.Helper()
		out, stderr, code := run(t, env, args...)
		if code != want {
			t.Fatalf("voicedr %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, stderr)
		}
		return out
	}
	step(0, "init", "-o", draft)
	step(0, "validate", draft)
	page := filepath.Join(dir, "posture.html")
	step(0, "posture", "--workbook", "../examples/voicedr.yaml", "--db", db, "--html", page)
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "Blast radius") {
		t.Errorf("posture --html: %v", err)
	}
	wb := "../examples/voicedr.yaml"
	step(3, "readiness", "--flow", "sales", "--workbook", wb, "--db", db)
	step(0, "standby", "apply", "--flow", "sales", "--workbook", wb, "--db", db)
	step(0, "readiness", "--flow", "sales", "--workbook", wb, "--db", db, "--out", filepath.Join(dir, "pkg"))
	if out := step(0, "standby", "plan", "--flow", "sales", "--workbook", wb, "--db", db); !strings.Contains(out, "No changes") {
		t.Errorf("second plan:\n%s", out)
	}
}
