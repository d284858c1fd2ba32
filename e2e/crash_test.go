//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/store/sqlite"
)

// The crash test moves a flow of 2,029 numbers (of 2,250: the 221 dispatch-
// numbers stay outside it and must never be touched) back and forth between
// us1 and ie1, one plan per scenario, killing voicedr with SIGKILL along the
// way and resuming it each time:
//
//   - deterministic: VOICEDR_FAILPOINT kills the process right after the N-th
//     durable ledger record of each step (intended, applied, routed, proven,
//     committed), mid-cohort; one is resumed while the dead process's lease
//     still holds (refused, naming it, then resumed), one only after an
//     outage longer than the proof wait;
//   - random: 30 SIGKILLs at seeded random delays after the run starts,
//     resumed alternately by applying the plan again and by `run resume`.
//
// After each scenario the run must be completed (one run for the plan), every
// flow number routed to the target and every other number untouched, the
// ledger must show each action committed after exactly one applied routing
// write, and the emulator's routing-write journal (ground truth, which voicedr
// cannot read) must show each flow number written to the target exactly once
// across all the crashes of that run. At every kill, the journal's writes and
// the ledger must agree: nothing written without an intended record before it,
// no answer recorded for a write Twilio never took.
const (
	crashNumbers = 2250
	crashFlowMin = 2000
	// crashRate is the client's request rate: it bounds the inventory read
	// every process makes (the drift check) before it resumes; routing writes
	// stay at the plan's own rate.
	crashRate     = "3000"
	crashLeaseTTL = "1s"
	crashKills    = 30
	// crashProofWait bounds each cohort's proof; the outage scenario stays
	// down longer than it before resuming.
	crashProofWait = 15 * time.Second
	crashSeed      = 20260101
)

var crashPrefixes = []string{"support-", "sales-", "billing-", "marketing-", "contact-center-"}

func TestCrash(t *testing.T) {
	t0 := time.Now()
	w := startWorld(t, crashNumbers)
	c := &crashWorld{w: w}
	// The standby is configured for every flow number (the generator leaves
	// sales-ivr out of ie1): close those gaps the way a user would.
	wb := c.workbook(t, true, 250, crashProofWait)
	if out, stderr, code := w.voicedr(t, "standby", "apply", "--flow", "support", "--workbook", wb, "--db", w.db, "--rate", crashRate); code != 0 {
		t.Fatalf("standby apply: exit %d\n%s%s", code, out, stderr)
	}
	c.initial = w.numbers(t)
	c.flow = map[string]bool{}
	for e164, n := range c.initial {
		for _, p := range crashPrefixes {
			if strings.HasPrefix(n.FriendlyName, p) {
				c.flow[e164] = true
			}
		}
	}
	if len(c.flow) < crashFlowMin || len(c.flow) == len(c.initial) {
		t.Fatalf("the flow has %d of %d numbers; want at least %d, and some outside it", len(c.flow), len(c.initial), crashFlowMin)
	}
	c.seq = c.lastWriteSeq(t)
	t.Logf("setup: %d numbers, %d in the flow, standby applied, %s", len(c.initial), len(c.flow), time.Since(t0).Round(time.Millisecond))

	kind := "failover"
	for i, fp := range []failpoint{
		// Per-action steps: the 150th record of the step lands in cohort
		// "early" (canary has 102 numbers, plus the cohort's own record).
		{step: "applied", n: 150}, {step: "routed", n: 150},
		// The canary's proof: killed before its gate decides; its leases
		// outlive it long enough that the first resume is refused.
		{step: "proven", n: 1, leaseTTL: "5s"},
		// Mid-way through committing cohort early's actions.
		{step: "committed", n: 150},
		// Mid-way through cohort early's writes, and down longer than the
		// proof wait: the resumed proof must still get its wait.
		{step: "intended", n: 150, outage: true},
	} {
		name := fmt.Sprintf("%s/failpoint=%s:%d", kind, fp.step, fp.n)
		if fp.outage {
			name += "/outage"
		}
		fp.resumeWithRunCmd = i%2 == 1 // alternate "apply PLAN" and "run resume RUN"
		if !t.Run(name, func(t *testing.T) { c.failpointScenario(t, kind, fp) }) {
			return // the next plan starts from this one's end state
		}
		kind = crashOther(kind)
	}
	t.Run(kind+"/random-kills", func(t *testing.T) { c.randomScenario(t, kind) })
	if c.recovered == 0 {
		t.Errorf("no resume ever found a write in flight that Twilio had taken: the re-read path was not exercised")
	}
	t.Logf("total %s; %d kills; %d in-flight writes re-read instead of re-sent; %d resumes refused while the dead process's lease lived",
		time.Since(t0).Round(time.Millisecond), c.kills, c.recovered, c.leaseRefusals)
}

func crashOther(kind string) string {
	if kind == "failover" {
		return "failback"
	}
	return "failover"
}

// crashWorld is the world of the crash test and what it knows across
// scenarios.
type crashWorld struct {
	w       *world
	initial map[string]accountNumber // routing of every number before any run
	flow    map[string]bool          // E.164 of the flow's numbers
	seq     int64                    // last routing write seen by the previous scenario

	kills, recovered, leaseRefusals int
}

// workbook writes the workbook: three cohorts (canary 5 %, early 30 %, the
// rest), canary judged by a 2 s gate when gated, the others going once
// proven; rate is the plan's routing writes per second.
func (c *crashWorld) workbook(t *testing.T, gated bool, rate int, proofWait time.Duration) string {
	canary := "{name: canary, order: 1, share: 0.05}"
	if gated {
		canary = "{name: canary, order: 1, share: 0.05, gate: g, no_go: pause}"
	}
	return c.w.writeWorkbook(t, workbookOpts{
		Prefixes: crashPrefixes,
		Cohorts: `
      - ` + canary + `
      - {name: early, order: 2, share: 0.3}
      - {name: rest, order: 3, share: 1}`,
		Gate:  `{name: g, window: 2s, min_sample: 2, conditions: [{signal: answered, threshold: {op: ">=", value: 95, unit: percent}}]}`,
		Extra: fmt.Sprintf("\nexecution:\n  proof: {sample: 2, wait: %s, interval: 500ms}\n  calls_per_second: 20\n  max_routing_writes_per_second: %d\n", proofWait, rate),
	})
}

// crashPlan is what the test reads of a plan file.
type crashPlan struct {
	path, workbook string
	Digest         string `json:"digest"`
	Kind           string `json:"kind"`
	From           string `json:"from"`
	To             string `json:"to"`
	Cohorts        []struct {
		Name    string `json:"name"`
		Actions []struct {
			Key    string `json:"key"`
			Kind   string `json:"kind"`
			Target string `json:"target"`
			To     string `json:"to"`
		} `json:"actions"`
	} `json:"cohorts"`
	to map[string]string // action key → E.164
}

func (c *crashWorld) plan(t *testing.T, kind, wb string) *crashPlan {
	t.Helper()
	path := fmt.Sprintf("%s/%s-%d.plan.json", c.w.dir, kind, time.Now().UnixNano())
	if out, stderr, code := c.w.voicedr(t, "plan", kind, "--flow", "support", "--workbook", wb, "--db", c.w.db, "--rate", crashRate, "-o", path); code != 0 {
		t.Fatalf("plan %s: exit %d\n%s%s", kind, code, out, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := &crashPlan{path: path, workbook: wb, to: map[string]string{}}
	if err := json.Unmarshal(b, p); err != nil {
		t.Fatal(err)
	}
	for _, co := range p.Cohorts {
		for _, a := range co.Actions {
			if a.Kind != "number" || a.To != p.To || !c.flow[a.Target] {
				t.Fatalf("plan action %+v: want a flow number moving to %s", a, p.To)
			}
			p.to[a.Key] = a.Target
		}
	}
	if len(p.to) != len(c.flow) || len(p.Cohorts) != 3 {
		t.Fatalf("plan %s moves %d numbers in %d cohorts; want all %d flow numbers in 3", kind, len(p.to), len(p.Cohorts), len(c.flow))
	}
	return p
}

// failpoint is a deterministic crash scenario.
type failpoint struct {
	step string // VOICEDR_FAILPOINT=step:n
	n    int
	// outage: stay down longer than the proof wait before resuming (an
	// operator who takes a while to restart it).
	outage bool
	// leaseTTL of the process that is killed (default crashLeaseTTL); a
	// longer one must make the first resume a refusal naming it.
	leaseTTL         string
	resumeWithRunCmd bool
}

// failpointScenario applies a plan with VOICEDR_FAILPOINT=step:n, checks
// the process died by SIGKILL where it was told to, then resumes it.
func (c *crashWorld) failpointScenario(t *testing.T, kind string, fp failpoint) {
	start := time.Now()
	step, n := fp.step, fp.n
	p := c.plan(t, kind, c.workbook(t, true, 250, crashProofWait))
	args := c.applyArgs(p)
	if fp.leaseTTL != "" {
		args[slices.Index(args, "--lease-ttl")+1] = fp.leaseTTL
	}
	a := c.exec(t, p, []string{fmt.Sprintf("VOICEDR_FAILPOINT=%s:%d", step, n)}, 0, args...)
	if !a.killed {
		t.Fatalf("VOICEDR_FAILPOINT=%s:%d: the process was not killed (exit %d)\n%s", step, n, a.code, a.stderr)
	}
	c.kills++
	if a.run == "" {
		t.Fatalf("the killed process never started its run\n%s", a.stderr)
	}
	killedAt := time.Since(start)
	recs := c.checkAtCrash(t, p, a.run)
	// The failpoint fires after the N-th record of its step; workers racing
	// the kill may add a few more, never fewer.
	got := 0
	for _, r := range recs {
		if string(r.Step) == step {
			got++
		}
	}
	if got < n {
		t.Errorf("the ledger holds %d %s record(s) after a kill at the %d-th", got, step, n)
	}
	st := c.status(t, a.run)
	if st.Run.State != "running" || st.Steps["committed"] == len(p.to) {
		t.Errorf("killed at %s:%d, the run is %s with %v: want it running, mid-way", step, n, st.Run.State, st.Steps)
	}
	t.Logf("killed at %s:%d after %s (last ledger record: %s, last event: %s): actions by step %v", step, n, killedAt.Round(time.Millisecond), lastRecord(recs), a.lastEvent, st.Steps)
	args = c.applyArgs(p)
	if fp.resumeWithRunCmd {
		args = c.resumeArgs(p, a.run)
	}
	if fp.outage {
		time.Sleep(crashProofWait + time.Second)
	}
	refusals, refusal := c.resume(t, p, args)
	if fp.leaseTTL != "" && (refusals == 0 || !strings.Contains(refusal, "held by "+a.run+"@")) {
		t.Errorf("a resume within the dead process's %s lease: %d refusal(s), want at least one naming its holder (%s@...); first: %s", fp.leaseTTL, refusals, a.run, refusal)
	}
	c.verify(t, p, a.run)
	t.Logf("%s with a kill at %s:%d: %s in all", kind, step, n, time.Since(start).Round(time.Millisecond))
}

// randomScenario kills the run 30 times, each after a seeded random delay
// counted from the moment the process reports its run started (before that
// it only reads the account), then resumes it to the end.
func (c *crashWorld) randomScenario(t *testing.T, kind string) {
	start := time.Now()
	// No gate here, and a slower routing rate: a 2 s gate window is longer
	// than most delays, so it would soak up every kill; this way the kills
	// spread over every cohort's flip, proof and commit.
	p := c.plan(t, kind, c.workbook(t, false, 100, crashProofWait))
	rng := rand.New(rand.NewPCG(crashSeed, crashSeed^0x9e3779b97f4a7c15))
	var (
		run        string
		kills      int
		landed     = map[string]int{}
		attempts   int
		completed  bool
		unfinished bool
	)
	for attempts = 1; attempts <= crashKills+10 && !completed; attempts++ {
		delay := time.Duration(0)
		if kills < crashKills {
			delay = 50*time.Millisecond + time.Duration(rng.Int64N(int64(800*time.Millisecond)))
		}
		args := c.applyArgs(p)
		if run != "" && attempts%2 == 0 {
			args = c.resumeArgs(p, run)
		}
		a := c.exec(t, p, nil, delay, args...)
		switch {
		case a.killed:
			if a.run == "" {
				t.Fatalf("attempt %d was killed before its run started\n%s", attempts, a.stderr)
			}
			run = a.run
			kills++
			c.kills++
			landed[lastRecord(c.checkAtCrash(t, p, run))]++
		case a.code == 0:
			completed = true
			run = a.run
		case a.code == 6 && strings.Contains(a.stderr, "is held by"):
			c.leaseRefusals++
			attempts-- // not an attempt: the dead process's lease has not expired yet
			time.Sleep(200 * time.Millisecond)
		default:
			unfinished = true
			t.Fatalf("attempt %d: exit %d\n%s", attempts, a.code, a.stderr)
		}
	}
	if !completed || unfinished {
		t.Fatalf("the run did not complete in %d attempts (%d kills)", attempts-1, kills)
	}
	t.Logf("%d kills landed before the run completed (%d scheduled); the last ledger record before each: %v", kills, crashKills, landed)
	if kills < crashKills {
		t.Logf("the run completed before the %d-th kill: the remaining kills land after completion", kills+1)
	}
	c.verify(t, p, run)
	t.Logf("%s with %d random kills: %s in all", kind, kills, time.Since(start).Round(time.Millisecond))
}

func (c *crashWorld) applyArgs(p *crashPlan) []string {
	return []string{"apply", p.path, "--workbook", p.workbook, "--db", c.w.db, "--lease-ttl", crashLeaseTTL, "--rate", crashRate, "--json"}
}

func (c *crashWorld) resumeArgs(p *crashPlan, run string) []string {
	return []string{"run", "resume", run, "--workbook", p.workbook, "--db", c.w.db, "--lease-ttl", crashLeaseTTL, "--rate", crashRate, "--json"}
}

// resume runs args until the run completes: a resume that starts before
// the dead process's lease expired is refused (exit 6) and tried again. It
// returns the refusals and the first one's message.
func (c *crashWorld) resume(t *testing.T, p *crashPlan, args []string) (int, string) {
	t.Helper()
	refusals, first := 0, ""
	for {
		a := c.exec(t, p, nil, 0, args...)
		if a.code == 6 && strings.Contains(a.stderr, "is held by") && refusals < 40 {
			if refusals == 0 {
				first = a.stderr
			}
			refusals++
			c.leaseRefusals++
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if a.code != 0 || a.killed {
			t.Fatalf("resume %v: exit %d (killed %v)\n%s", args[:3], a.code, a.killed, a.stderr)
		}
		return refusals, first
	}
}

// crashAttempt is how one voicedr process ended.
type crashAttempt struct {
	killed    bool   // it died by SIGKILL (a failpoint or the test)
	code      int    // its exit code otherwise
	run       string // the run its events name
	lastEvent string // its last event before it ended
	stderr    string
}

// exec runs voicedr with --json events on stdout; when killAfter > 0 the
// test SIGKILLs it that long after its run_started event.
func (c *crashWorld) exec(t *testing.T, p *crashPlan, env []string, killAfter time.Duration, args ...string) crashAttempt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(slices.Clone(c.w.env), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		a       crashAttempt
		started = make(chan struct{})
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		once := sync.Once{}
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var ev struct {
				Type  string `json:"type"`
				Run   string `json:"run"`
				RunID string `json:"run_id"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			mu.Lock()
			if ev.Run != "" {
				a.run = ev.Run
			}
			if ev.RunID != "" {
				a.run = ev.RunID
			}
			if ev.Type != "" && ev.Type != "flip_progress" && ev.Type != "proof_progress" {
				a.lastEvent = ev.Type
			}
			mu.Unlock()
			if ev.Type == "run_started" {
				once.Do(func() { close(started) })
			}
		}
	}()
	if killAfter > 0 {
		select {
		case <-started:
			select {
			case <-time.After(killAfter):
				_ = cmd.Process.Signal(syscall.SIGKILL)
			case <-done:
			}
		case <-done:
		}
	}
	<-done
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("voicedr %v did not finish in 2 minutes\n%s", args, stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	a.stderr = stderr.String()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			if ws.Signal() != syscall.SIGKILL {
				t.Fatalf("voicedr %v died by %v, not SIGKILL", args, ws.Signal())
			}
			a.killed = true
		}
		a.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("voicedr %v: %v", args, err)
	}
	return a
}

// crashRun is a run as `voicedr run list|status --json` show it.
type crashRun struct {
	ID         string `json:"id"`
	PlanDigest string `json:"plan_digest"`
	State      string `json:"state"`
}

// crashStatus is `voicedr run status --json`.
type crashStatus struct {
	Run     crashRun `json:"run"`
	Cohorts []struct {
		Name    string         `json:"name"`
		Actions int            `json:"actions"`
		Step    string         `json:"step"`
		Steps   map[string]int `json:"steps"`
	} `json:"cohorts"`
	Steps   map[string]int `json:"steps"`
	Records int            `json:"ledger_records"`
}

func (c *crashWorld) status(t *testing.T, run string) crashStatus {
	t.Helper()
	out, stderr, code := c.w.voicedr(t, "run", "status", run, "--json", "--db", c.w.db)
	var st crashStatus
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("run status %s: exit %d\n%s%s", run, code, out, stderr)
	}
	return st
}

// ledgerRecord is one record of a run's ledger, read from the store.
type ledgerRecord struct {
	Key, Step string
	Op, To    string
	Answer    string
	Recovered bool
}

// ledger reads a run's ledger from the store the processes left behind
// (none of them is running): the CLI shows counts, the audit needs records.
func (c *crashWorld) ledger(t *testing.T, run string) []ledgerRecord {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, c.w.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Actions(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]ledgerRecord, 0, len(recs))
	for _, r := range recs {
		var d struct {
			Op, To, Answer string
			Recovered      bool
		}
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatalf("ledger record %s %s: detail %s: %v", r.ActionKey, r.Step, r.Detail, err)
		}
		out = append(out, ledgerRecord{Key: r.ActionKey, Step: string(r.Step), Op: d.Op, To: d.To, Answer: d.Answer, Recovered: d.Recovered})
	}
	return out
}

// writesSince returns the routing writes the emulator accepted after seq.
func (c *crashWorld) writesSince(t *testing.T, seq int64) []routeWrite {
	t.Helper()
	var out struct {
		Writes []routeWrite `json:"writes"`
	}
	c.w.operator(t, fmt.Sprintf("routing/writes?after=%d", seq), &out)
	return out.Writes
}

func (c *crashWorld) lastWriteSeq(t *testing.T) int64 {
	ws := c.writesSince(t, 0)
	if len(ws) == 0 {
		return 0
	}
	return ws[len(ws)-1].Seq
}

// checkAtCrash compares the ledger a dead process left with what Twilio
// took: every write of this run has an intended record for its number (the
// ledger is written ahead), and every recorded answer is a write Twilio
// took. It returns the ledger.
func (c *crashWorld) checkAtCrash(t *testing.T, p *crashPlan, run string) []ledgerRecord {
	t.Helper()
	recs := c.ledger(t, run)
	intended, answered := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		switch {
		case r.Step == "intended" && r.Op == "flip":
			intended[r.Key] = true
		case r.Step == "applied" && !r.Recovered:
			answered[r.Key] = true
		}
	}
	written := map[string]int{}
	for _, wr := range c.writesSince(t, c.seq) {
		written["number:"+wr.Key]++
		if !intended["number:"+wr.Key] {
			t.Errorf("the emulator took a write for %s (seq %d) the ledger never intended", wr.Key, wr.Seq)
		}
		if wr.VoiceRegion != p.To {
			t.Errorf("write seq %d set %s to %s; the plan moves to %s", wr.Seq, wr.Key, wr.VoiceRegion, p.To)
		}
	}
	for k := range answered {
		if written[k] == 0 {
			t.Errorf("the ledger records Twilio's answer for %s, but the emulator took no write for it", k)
		}
	}
	for k, n := range written {
		if n > 1 {
			t.Errorf("%s was written %d times before this crash", k, n)
		}
	}
	return recs
}

// lastRecord names the kind of key and the step of a ledger's last record:
// where a kill landed.
func lastRecord(recs []ledgerRecord) string {
	if len(recs) == 0 {
		return "(empty)"
	}
	r := recs[len(recs)-1]
	kind, _, _ := strings.Cut(r.Key, ":")
	return kind + " " + r.Step
}

// verify checks a run's end: completed, every flow number where the plan
// said and the rest untouched, the ledger accounting for every action, and
// each number written to the target exactly once.
func (c *crashWorld) verify(t *testing.T, p *crashPlan, run string) {
	t.Helper()
	defer func() { c.seq = c.lastWriteSeq(t) }()

	// One run for the plan, completed: resumes continued it.
	out, stderr, code := c.w.voicedr(t, "run", "list", "--json", "--db", c.w.db)
	var runs []crashRun
	if code != 0 || json.Unmarshal([]byte(out), &runs) != nil {
		t.Fatalf("run list: exit %d\n%s%s", code, out, stderr)
	}
	var mine []string
	for _, r := range runs {
		if r.PlanDigest == p.Digest {
			mine = append(mine, r.ID+" "+r.State)
		}
	}
	if diff := cmp.Diff([]string{run + " completed"}, mine); diff != "" {
		t.Errorf("runs of plan %.12s (-want +got):\n%s", p.Digest, diff)
	}

	// run status: every action and cohort committed.
	st := c.status(t, run)
	if diff := cmp.Diff(map[string]int{"committed": len(p.to)}, st.Steps); diff != "" {
		t.Errorf("actions by last ledger step (-want +got):\n%s", diff)
	}
	for i, co := range st.Cohorts {
		if co.Step != "committed" || co.Name != p.Cohorts[i].Name || co.Actions != len(p.Cohorts[i].Actions) || co.Steps["committed"] != co.Actions {
			t.Errorf("cohort %d: %+v, want %s committed with its %d actions", i, co, p.Cohorts[i].Name, len(p.Cohorts[i].Actions))
		}
	}

	// The ledger, record by record.
	recs := c.ledger(t, run)
	if len(recs) != st.Records {
		t.Errorf("the store holds %d records, run status counts %d", len(recs), st.Records)
	}
	byKey := map[string][]ledgerRecord{}
	for _, r := range recs {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	recovered, reintended := 0, 0
	for key, e164 := range p.to {
		rs := byKey[key]
		var intended, applied, committed, bad int
		for _, r := range rs {
			switch r.Step {
			case "intended":
				intended++
				if r.Op != "flip" || r.To != p.To {
					bad++
				}
			case "applied":
				applied++
				if r.Answer != p.To {
					bad++
				}
				if r.Recovered {
					recovered++
				}
			case "routed":
			case "committed":
				committed++
			default:
				bad++
			}
		}
		if len(rs) == 0 || intended == 0 || applied != 1 || committed != 1 || bad > 0 || rs[len(rs)-1].Step != "committed" {
			t.Errorf("ledger of %s (%s): %+v; want intended flips to %s, one applied with Twilio's answer %s, committed last", key, e164, rs, p.To, p.To)
		}
		reintended += intended - 1
		delete(byKey, key)
	}
	for _, co := range p.Cohorts {
		for _, k := range []string{"cohort:" + co.Name, "proof:" + co.Name, "gate:" + co.Name} {
			rs := byKey[k]
			delete(byKey, k)
			switch {
			case strings.HasPrefix(k, "cohort:") && (len(rs) == 0 || rs[len(rs)-1].Step != "committed"):
				t.Errorf("ledger of %s: %+v, want committed last", k, rs)
			case strings.HasPrefix(k, "proof:") && (len(rs) == 0 || rs[len(rs)-1].Step != "proven"):
				t.Errorf("ledger of %s: %+v, want proven", k, rs)
			case strings.HasPrefix(k, "gate:") && len(rs) > 0:
				t.Errorf("ledger of %s: %+v: the gate never said no", k, rs)
			}
		}
	}
	if len(byKey) > 0 {
		t.Errorf("ledger records for keys outside the plan: %v", slices.Sorted(maps.Keys(byKey)))
	}
	c.recovered += recovered

	// The emulator's journal: each flow number written to the target
	// exactly once in this run, nothing else written.
	writes := c.writesSince(t, c.seq)
	count := map[string]int{}
	for _, wr := range writes {
		if wr.Kind != "phone_number" || wr.VoiceRegion != p.To || p.to["number:"+wr.Key] == "" {
			t.Errorf("unplanned write: %+v", wr)
		}
		count[wr.Key]++
	}
	dup := 0
	for _, e164 := range p.to {
		if count[e164] != 1 {
			dup++
			if dup <= 10 {
				t.Errorf("%s was written %d times in this run, want exactly once", e164, count[e164])
			}
		}
	}
	if dup > 10 {
		t.Errorf("... %d numbers in all were not written exactly once", dup)
	}

	// Routing as the account shows it now.
	now := c.w.numbers(t)
	moved, untouched := 0, 0
	for e164, n := range now {
		want := c.initial[e164].Routing
		if c.flow[e164] {
			want.VoiceRegion, want.Explicit = p.To, true
			moved++
		} else {
			untouched++
		}
		if n.Routing != want {
			t.Errorf("%s (%s) is routed %+v, want %+v", e164, n.FriendlyName, n.Routing, want)
		}
	}
	t.Logf("run %s: %d ledger records; %d numbers in %s, each written once (%d writes); %d numbers outside the flow untouched; %d in-flight writes re-read after a kill, %d re-intended",
		run, len(recs), moved, p.To, len(writes), untouched, recovered, reintended)
}
