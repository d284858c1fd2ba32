//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const governanceYAML = `
governance:
  roles:
    - {name: incident_commander}
    - {name: business_owner}
  people:
    - {name: Ada, role: incident_commander}
    - {name: Alan, role: incident_commander}
    - {name: Grace, role: business_owner}
  approval: {policy: two_person, roles: [incident_commander, business_owner]}
`

// TestApprovalsGateApply: with a two-person policy, a plan runs only once
// an incident commander and a business owner other than the requester have
// approved its digest; the requester's own approval and an approval of
// another plan are refused or do not count.
func TestApprovalsGateApply(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 300)
	wb := w.writeWorkbook(t, workbookOpts{Extra: governanceYAML})
	planA, planB := filepath.Join(w.dir, "a.json"), filepath.Join(w.dir, "b.json")
	if out, stderr, code := w.voicedr(t, "evidence", "keys", "--generate", "--dir", w.dir); code != 0 {
		t.Fatalf("evidence keys: exit %d\n%s\n%s", code, out, stderr)
	}
	key, pub := filepath.Join(w.dir, "voicedr-signing.key"), filepath.Join(w.dir, "voicedr-signing.pub")
	for _, p := range []string{planA, planB} {
		if out, stderr, code := w.voicedr(t, "plan", "failover", "--flow", "support", "--workbook", wb, "--db", w.db, "-o", p, "--rate", "1000"); code != 0 {
			t.Fatalf("plan: exit %d\n%s\n%s", code, out, stderr)
		}
	}
	apply := func() (string, int) {
		t.Helper()
		_, stderr, code := w.voicedr(t, "apply", planA, "--workbook", wb, "--db", w.db, "--as", "Ada", "--rate", "1000", "--signing-key", key)
		return stderr, code
	}
	approve := func(plan, who string) (string, int) {
		t.Helper()
		out, stderr, code := w.voicedr(t, "approve", plan, "--as", who, "--workbook", wb, "--db", w.db, "--signing-key", key)
		return out + stderr, code
	}
	if stderr, code := apply(); code != 6 || !strings.Contains(stderr, "approve") {
		t.Fatalf("apply without approvals: exit %d; want 6 saying what approval is missing\n%s", code, stderr)
	}
	if out, code := approve(planA, "Ada"); code != 6 || !strings.Contains(out, "own request") {
		t.Errorf("the requester approving her own request: exit %d; want 6\n%s", code, out)
	}
	if out, code := approve(planB, "Grace"); code != 0 {
		t.Fatalf("approve another plan: exit %d\n%s", code, out)
	}
	if out, code := approve(planA, "Alan"); code != 0 {
		t.Fatalf("approve as Alan: exit %d\n%s", code, out)
	}
	// Grace approved plan B, not A: one role is still missing.
	if stderr, code := apply(); code != 6 || !strings.Contains(stderr, "business_owner") {
		t.Fatalf("apply with an approval of another digest: exit %d; want 6 naming business_owner\n%s", code, stderr)
	}
	if out, code := approve(planA, "Grace"); code != 0 {
		t.Fatalf("approve as Grace: exit %d\n%s", code, out)
	}
	if stderr, code := apply(); code != 0 {
		t.Fatalf("apply with both approvals: exit %d\n%s", code, stderr)
	}
	// Every request, approval and the run are in the audit chain, which
	// verifies against the program's public key.
	out, stderr, code := w.voicedr(t, "audit", "verify", "--db", w.db, "--pub", pub, "--json")
	if code != 0 {
		t.Fatalf("audit verify: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{`"ok":true`} {
		if !strings.Contains(strings.ReplaceAll(out, " ", ""), want) {
			t.Errorf("audit verify output lacks %s:\n%s", want, out)
		}
	}
	export := filepath.Join(w.dir, "audit.json")
	if _, stderr, code := w.voicedr(t, "audit", "export", "--db", w.db, "-o", export, "--pub", pub); code != 0 {
		t.Fatalf("audit export: exit %d\n%s", code, stderr)
	}
	body, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"approval.request", "approval.approve", "run.started", "run.cohort", "run.finished"} {
		if !strings.Contains(string(body), `"`+kind+`"`) {
			t.Errorf("the audit export has no %s entry", kind)
		}
	}
}
