//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestPostureFindsThePlantedGaps runs `voicedr posture --json` against a
// generated account and compares its stage 1/2 counts with the gaps file.
func TestPostureFindsThePlantedGaps(t *testing.T) {
	_, env, gapsFile := startEmulator(t)
	db := t.TempDir() + "/voicedr.db"
	out, stderr, code := run(t, env, "posture", "--json", "--db", db)
	if code != 0 {
		t.Fatalf("posture exit %d: %s", code, stderr)
	}
	var rep struct {
		Report struct {
			ByKind map[string]int `json:"findings_by_kind"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(db); err != nil || st.Size() == 0 {
		t.Errorf("posture kept no snapshot in %s: %v", db, err)
	}
	b, err := os.ReadFile(gapsFile)
	if err != nil {
		t.Fatal(err)
	}
	var gaps struct{ Gaps []struct{ Kind string } }
	json.Unmarshal(b, &gaps)
	planted := map[string]int{}
	for _, g := range gaps.Gaps {
		planted[g.Kind]++
	}
	for gap, finding := range map[string]string{"number_no_fallback": "no_fallback", "number_region_mismatch": "region_mismatch",
		"trunk_no_disaster_recovery_url": "trunk_no_disaster_recovery_url"} {
		if planted[gap] == 0 || planted[gap] != rep.Report.ByKind[finding] {
			t.Errorf("%s: planted %d, posture found %d", finding, planted[gap], rep.Report.ByKind[finding])
		}
	}
}

func TestValidateTheExampleWorkbook(t *testing.T) {
	env := []string{"PATH=" + os.Getenv("PATH")}
	if out, stderr, code := run(t, env, "validate", "../examples/voicedr.yaml"); code != 0 {
		t.Errorf("example workbook: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code := run(t, env, "validate", "../internal/workbook/testdata/bad/inline_secret.yaml")
	if code != 2 || !strings.Contains(out+stderr, "inline_secret.yaml:") {
		t.Errorf("bad workbook: exit %d, want 2 with file:line:col\n%s%s", code, out, stderr)
	}
}
