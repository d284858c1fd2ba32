package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/store"
)

// TestShutdownWaitsForTheRunThenRestartResumes: a run is held in a
// before_flip hook when the server's context ends. Run returns only after
// the run's goroutine has (its leases are released: another holder takes
// them at once) and leaves it running in the store; a new Server's Run
// resumes it from the ledger to completed.
func TestShutdownWaitsForTheRunThenRestartResumes(t *testing.T) {
	dir := t.TempDir()
	block, entered := filepath.Join(dir, "block"), filepath.Join(dir, "entered")
	if err := os.WriteFile(block, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	hook := `hooks:
  - name: hold
    type: command
    when: before_flip
    flow: support
    command: [sh, -c, 'touch ` + entered + `; while [ -e ` + block + ` ]; do sleep 0.05; done']
    timeout: 60s
    idempotent: true
`
	e := newEnv(t, 30, parseWB(t, "none", hook), twilioOpts())
	a := e.start(t, nil)
	p := e.makePlan(t)
	if r := e.call(t, a.http.URL, "olga", "POST", "/v1/plans", planBody(t, p)); r.code != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	r := e.call(t, a.http.URL, "olga", "POST", "/v1/plans/"+p.Digest+"/apply", nil)
	if r.code != http.StatusAccepted {
		t.Fatalf("apply: %d %s", r.code, r.body)
	}
	var started struct {
		RunID string `json:"run_id"`
	}
	r.decode(t, &started)
	waitFor(t, "the hook to hold the run", 20*time.Second, func() bool { _, err := os.Stat(entered); return err == nil })

	a.stop(t) // returns only once Run has
	// The run goroutine has returned: its leases are free now, not at TTL.
	ls, err := e.st.AcquireLeases(context.Background(), []string{"flow:support"}, "test", time.Minute)
	if err != nil {
		t.Fatalf("after Run returned the run still holds its leases: %v", err)
	}
	if err := e.st.ReleaseLeases(context.Background(), ls); err != nil {
		t.Fatal(err)
	}
	run, err := e.st.GetRun(context.Background(), started.RunID)
	if err != nil || run.State != store.RunRunning {
		t.Fatalf("run after shutdown: %+v, %v; want it left running (resumable)", run, err)
	}
	recs, _ := e.st.Actions(context.Background(), started.RunID)
	time.Sleep(300 * time.Millisecond)
	later, _ := e.st.Actions(context.Background(), started.RunID)
	if len(later) != len(recs) {
		t.Fatalf("the ledger grew from %d to %d records after Run returned", len(recs), len(later))
	}
	if len(e.acct.Emulator.RouteWrites(0)) != 0 {
		t.Fatalf("routing written before the hook let the flip happen")
	}

	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	b := e.start(t, nil)
	d := e.waitRun(t, b.http.URL, started.RunID, store.RunCompleted, 50*time.Second)
	if d.Status.Steps[store.StepCommitted] != len(p.Actions()) {
		t.Errorf("resumed run: steps %v; want %d committed", d.Status.Steps, len(p.Actions()))
	}
	seenResume := false
	for _, ev := range d.Events {
		seenResume = seenResume || ev.Type == "run_started"
	}
	if !seenResume {
		t.Errorf("the new server's events lack run_started: %+v", d.Events)
	}
}

// TestRestartResumesARunLeftRunning: a run the store shows as running with
// no ledger (its process died right after starting it) is resumed by a new
// Server's Run, without anyone asking.
func TestRestartResumesARunLeftRunning(t *testing.T) {
	e := newEnv(t, 30, parseWB(t, "none", ""), twilioOpts())
	p := e.makePlan(t)
	ctx := context.Background()
	if err := e.st.PutPlan(ctx, p.Digest, planBody(t, p)); err != nil {
		t.Fatal(err)
	}
	id := "support-failover-left-running"
	if err := e.st.CreateRun(ctx, store.Run{ID: id, PlanDigest: p.Digest, Flow: p.Flow, Kind: p.Kind, CreatedAt: time.Now().UTC(), State: store.RunRunning}); err != nil {
		t.Fatal(err)
	}
	srv := e.start(t, nil)
	e.waitRun(t, srv.http.URL, id, store.RunCompleted, 50*time.Second)
	written := map[string]int{}
	for _, w := range e.acct.Emulator.RouteWrites(0) {
		written[w.Key]++
	}
	for _, a := range p.Actions() {
		if written[a.Target] != 1 {
			t.Errorf("%s written %d times; want once", a.Key, written[a.Target])
		}
	}
}
