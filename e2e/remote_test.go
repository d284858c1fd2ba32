//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// remoteGovernanceYAML names a person (tokens need one) under approval
// policy none, so a plan runs without approvals.
const remoteGovernanceYAML = `
governance:
  roles:
    - {name: incident_commander}
  people:
    - {name: Ada, role: incident_commander}
  approval: {policy: none}
`

// TestRemoteApplyThroughServe: `voicedr apply PLAN --server URL` with the
// token in VOICEDR_TOKEN uploads the plan to a real `voicedr serve`, runs it
// there and watches it to completion (exit 0); `voicedr run list --server
// --json` then shows the run completed. No output carries the token, and a
// wrong token is refused with exit 6.
func TestRemoteApplyThroughServe(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 100)
	wb := w.writeWorkbook(t, workbookOpts{Extra: remoteGovernanceYAML})
	planPath := filepath.Join(w.dir, "plan.json")
	if out, stderr, code := w.voicedr(t, "plan", "failover", "--flow", "support", "--workbook", wb, "--db", w.db, "-o", planPath, rateFlag); code != 0 {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code := w.voicedr(t, "token", "create", "--person", "Ada", "--workbook", wb, "--db", w.db, "--json")
	var tok struct {
		Token string `json:"token"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &tok) != nil || tok.Token == "" {
		t.Fatalf("token create: exit %d\n%s\n%s", code, out, stderr)
	}
	srv := startServe(t, w, wb)
	env := append(append([]string{}, w.env...), "VOICEDR_TOKEN="+tok.Token)
	noToken := func(what, s string) {
		t.Helper()
		if strings.Contains(s, tok.Token) {
			t.Errorf("%s carries the token:\n%s", what, s)
		}
	}

	wrong := append(append([]string{}, w.env...), "VOICEDR_TOKEN=vdr_not-a-real-token")
	if out, stderr, code := run(t, wrong, "run", "list", "--server", srv.base); code != 6 || !strings.Contains(stderr, "refused the token") {
		t.Errorf("run list with a wrong token: exit %d, want 6\n%s\n%s", code, out, stderr)
	}

	out, stderr, code = run(t, env, "apply", planPath, "--server", srv.base)
	noToken("apply's output", out+stderr)
	if code != 0 {
		t.Fatalf("apply --server: exit %d, want 0\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "started in the server") || !strings.Contains(stderr, "cohort canary") {
		t.Errorf("apply --server printed no start or cohort progress:\n%s", stderr)
	}
	if !strings.Contains(out, ": completed") {
		t.Errorf("apply --server's final status is not completed:\n%s", out)
	}

	out, stderr, code = run(t, env, "run", "list", "--server", srv.base, "--json")
	noToken("run list's output", out+stderr)
	if code != 0 {
		t.Fatalf("run list --server: exit %d\n%s\n%s", code, out, stderr)
	}
	var runs []struct {
		ID, Flow, Kind, State string
	}
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("run list --json: %v\n%s", err, out)
	}
	if len(runs) != 1 || runs[0].State != "completed" || runs[0].Flow != "support" || runs[0].Kind != "failover" {
		t.Fatalf("runs %+v; want one completed failover of support", runs)
	}

	out, stderr, code = run(t, env, "run", "status", runs[0].ID, "--server", srv.base, "--json")
	noToken("run status's output", out+stderr)
	var st struct {
		Run struct {
			State string `json:"state"`
		} `json:"run"`
		Cohorts []struct {
			Name string `json:"name"`
			Step string `json:"step"`
		} `json:"cohorts"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("run status --server --json: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, c := range st.Cohorts {
		if c.Step != "committed" {
			t.Errorf("cohort %s at %q, want committed", c.Name, c.Step)
		}
	}
	if len(st.Cohorts) == 0 || st.Run.State != "completed" {
		t.Errorf("status %+v; want a completed run with cohorts", st)
	}

	if out, stderr, code := run(t, env, "run", "status", "no-such-run", "--server", srv.base); code != 2 {
		t.Errorf("run status of an unknown run: exit %d, want 2\n%s\n%s", code, out, stderr)
	}
}
