package server_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/server"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/twilio"
)

func twilioOpts() twilio.Options { return twilio.Options{} }

func planBody(t testing.TB, p *plan.Plan) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestApplyThroughTheAPI: a plan uploaded and applied through the API runs
// inside the server against the emulator to completed, each number written
// once to the standby, and GET /v1/runs/{id} shows its status, plan,
// events; /metrics shows its progress.
func TestApplyThroughTheAPI(t *testing.T) {
	e := newEnv(t, 30, parseWB(t, "none", ""), twilioOpts())
	srv := e.start(t, nil)
	p := e.makePlan(t)

	r := e.call(t, srv.http.URL, "olga", "POST", "/v1/plans", planBody(t, p))
	if r.code != http.StatusCreated || !strings.Contains(string(r.body), p.Digest) {
		t.Fatalf("POST /v1/plans: %d %s", r.code, r.body)
	}
	tampered := bytes.Replace(planBody(t, p), []byte(`"flow":"support"`), []byte(`"flow":"sales"`), 1)
	if r := e.call(t, srv.http.URL, "olga", "POST", "/v1/plans", tampered); r.code != http.StatusBadRequest {
		t.Errorf("tampered plan: %d %s; want 400 (digest mismatch)", r.code, r.body)
	}
	var inbox []server.ApprovalItem
	e.call(t, srv.http.URL, "vic", "GET", "/v1/approvals", nil).decode(t, &inbox)
	if len(inbox) != 1 || inbox[0].Digest != p.Digest || !inbox[0].Status.Satisfied {
		t.Errorf("approvals inbox before the run: %+v; want the plan, satisfied (policy none)", inbox)
	}

	r = e.call(t, srv.http.URL, "olga", "POST", "/v1/plans/"+p.Digest+"/apply", map[string]bool{"force": false})
	if r.code != http.StatusAccepted {
		t.Fatalf("apply: %d %s", r.code, r.body)
	}
	var started struct {
		RunID string `json:"run_id"`
	}
	r.decode(t, &started)
	if started.RunID == "" {
		t.Fatalf("apply answered no run_id: %s", r.body)
	}
	// A second apply of the same plan while it runs is refused.
	if r := e.call(t, srv.http.URL, "olga", "POST", "/v1/plans/"+p.Digest+"/apply", nil); r.code != http.StatusConflict {
		t.Errorf("second apply: %d %s; want 409", r.code, r.body)
	}

	d := e.waitRun(t, srv.http.URL, started.RunID, store.RunCompleted, 50*time.Second)
	n := len(p.Actions())
	if d.Status.Steps[store.StepCommitted] != n {
		t.Errorf("status steps %v; want %d committed", d.Status.Steps, n)
	}
	if d.Plan.Digest != p.Digest || d.Plan.From != "us1" || d.Plan.To != "ie1" || len(d.Plan.Cohorts) != len(p.Cohorts) {
		t.Errorf("plan summary %+v", d.Plan)
	}
	for i, c := range d.Status.Cohorts {
		if c.Step != store.StepCommitted || d.Plan.Cohorts[i].Actions != len(p.Cohorts[i].Actions) {
			t.Errorf("cohort %+v (plan %+v); want committed", c, d.Plan.Cohorts[i])
		}
	}
	types := map[string]bool{}
	for _, ev := range d.Events {
		types[ev.Type] = true
		if ev.Run != started.RunID {
			t.Errorf("event of run %q in run %s", ev.Run, started.RunID)
		}
	}
	for _, want := range []string{"run_started", "cohort_started", "cohort_routed", "proof", "cohort_committed", "run_completed"} {
		if !types[want] {
			t.Errorf("events lack %s: %v", want, types)
		}
	}
	if d.Gates == nil {
		t.Error("gates is null; want a list")
	}
	written := map[string]int{}
	for _, w := range e.acct.Emulator.RouteWrites(0) {
		if w.VoiceRegion != "ie1" {
			t.Errorf("write of %s to %s; want only ie1", w.Key, w.VoiceRegion)
		}
		written[w.Key]++
	}
	for _, a := range p.Actions() {
		if written[a.Target] != 1 {
			t.Errorf("%s written %d times; want once", a.Key, written[a.Target])
		}
	}
	var runs []store.Run
	e.call(t, srv.http.URL, "vic", "GET", "/v1/runs", nil).decode(t, &runs)
	if len(runs) != 1 || runs[0].ID != started.RunID || runs[0].State != store.RunCompleted {
		t.Errorf("GET /v1/runs: %+v", runs)
	}
	inbox = nil
	e.call(t, srv.http.URL, "vic", "GET", "/v1/approvals", nil).decode(t, &inbox)
	if len(inbox) != 0 {
		t.Errorf("approvals inbox after the run completed: %+v; want empty", inbox)
	}
	m := e.call(t, srv.http.URL, "vic", "GET", "/metrics", nil)
	if want := `voicedr_run_actions{run="` + started.RunID + `",state="committed"} ` + itoa(n); !strings.Contains(string(m.body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	// Control of a finished run is refused; of an unknown one, not found.
	if r := e.call(t, srv.http.URL, "olga", "POST", "/v1/runs/"+started.RunID+"/pause", nil); r.code != http.StatusConflict {
		t.Errorf("pause a completed run: %d %s; want 409", r.code, r.body)
	}
	if r := e.call(t, srv.http.URL, "olga", "POST", "/v1/runs/nope/abort", nil); r.code != http.StatusNotFound {
		t.Errorf("abort an unknown run: %d %s; want 404", r.code, r.body)
	}
	// Rolling the whole run back restores us1 through the server.
	r = e.call(t, srv.http.URL, "olga", "POST", "/v1/runs/"+started.RunID+"/rollback", map[string]string{"cohort": ""})
	if r.code != http.StatusAccepted {
		t.Fatalf("rollback: %d %s", r.code, r.body)
	}
	e.waitRun(t, srv.http.URL, started.RunID, store.RunRolledBack, 30*time.Second)
	srv.stop(t)
	e.checkNoSecrets(t, "the server log", e.logs.String())
}

func itoa(n int) string { return strconv.Itoa(n) }
