//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGracefulFailoverAndFailbackUnderTraffic moves a flow of more than a
// thousand numbers to the standby and back while live calls hit every
// number of the account: each move completes with both gates go, every flow
// number ends in the target and nothing else changes, each number costs one
// routing write, and no caller loses a call (the emulator's ledger).
func TestGracefulFailoverAndFailbackUnderTraffic(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 2000, accountCPS...)
	// sales- numbers run on a TwiML App the standby lacks (a planted gap),
	// so the flow is the three prefixes whose standby is complete.
	prefixes := []string{"support-", "billing-", "marketing-"}
	wb := w.writeWorkbook(t, workbookOpts{Prefixes: prefixes})
	before := w.numbers(t)

	p, _, _ := foMakePlan(t, w, "failover", wb, filepath.Join(w.dir, "failover.json"))
	acts := p.actions()
	if len(acts) < 1000 {
		t.Fatalf("the plan moves %d numbers, want a flow of at least 1000", len(acts))
	}
	flow := p.targets()
	for e164, n := range before {
		in := slices.ContainsFunc(prefixes, func(pre string) bool { return strings.HasPrefix(n.FriendlyName, pre) })
		if in != flow[e164] {
			t.Errorf("%s (%s): in the plan %v, in the flow by its name %v", e164, n.FriendlyName, flow[e164], in)
		}
	}
	for _, a := range acts {
		if a.Kind != "number" || a.From != "us1" || a.To != "ie1" {
			t.Fatalf("action %+v, want number us1 → ie1", a)
		}
	}

	// Live calls to every number of the account, through both moves.
	startTraffic(t, w, `{"version":1,"calls_per_second":40,"numbers":{"all":true},"for":"10m","max_in_flight":64}`)
	tr := waitPlaced(t, w, 40)
	l0 := w.ledger(t)
	w0 := lastSeq(w.routeWrites(t))

	res := foApply(t, w, filepath.Join(w.dir, "failover.json"), wb).mustState(t, "apply failover", 0, "completed")
	for _, c := range res.Cohorts {
		if c.Outcome != "go" || c.Flipped != c.Actions {
			t.Errorf("failover cohort %s: %s, moved %d/%d", c.Name, c.Outcome, c.Flipped, c.Actions)
		}
	}
	after := w.numbers(t)
	wantRouted(t, after, flow, "ie1")
	wantUntouched(t, before, after, flow)
	// One routing write per number, through the target's routes host.
	byKey := writesByKey(w.routeWrites(t), w0)
	if len(byKey) != len(flow) {
		t.Errorf("routing writes touched %d keys, want the %d flow numbers", len(byKey), len(flow))
	}
	for k, ws := range byKey {
		if !flow[k] || len(ws) != 1 || ws[0].VoiceRegion != "ie1" || ws[0].Via != "ie1" {
			t.Errorf("routing writes of %s: %+v, want one to ie1 via ie1 for a flow number", k, ws)
		}
	}
	foRunStatus(t, w, res.RunID).wantAllCommitted(t, len(acts))

	// Calls keep coming after the move and land in ie1.
	tr = waitPlaced(t, w, tr.Placed+40)
	l1 := w.ledger(t)
	if l := lost(l0, l1); len(l) > 0 {
		t.Errorf("calls lost during the failover: %v (ledger %+v → %+v)", l, l0, l1)
	}
	if l1.ByRegion["ie1"] <= l0.ByRegion["ie1"] {
		t.Errorf("no call was processed in ie1 during the failover: %v → %v", l0.ByRegion, l1.ByRegion)
	}

	// And back.
	fb, _, _ := foMakePlan(t, w, "failback", wb, filepath.Join(w.dir, "failback.json"))
	if got := fb.targets(); !reflect.DeepEqual(got, flow) {
		t.Errorf("the failback plan moves %d numbers, the failover moved %d", len(got), len(flow))
	}
	for _, a := range fb.actions() {
		if a.From != "ie1" || a.To != "us1" {
			t.Fatalf("failback action %+v, want ie1 → us1", a)
		}
	}
	w1 := lastSeq(w.routeWrites(t))
	res = foApply(t, w, filepath.Join(w.dir, "failback.json"), wb).mustState(t, "apply failback", 0, "completed")
	back := w.numbers(t)
	wantRouted(t, back, flow, "us1")
	wantUntouched(t, before, back, flow)
	for k, ws := range writesByKey(w.routeWrites(t), w1) {
		if !flow[k] || len(ws) != 1 || ws[0].VoiceRegion != "us1" {
			t.Errorf("failback routing writes of %s: %+v, want one to us1 for a flow number", k, ws)
		}
	}
	foRunStatus(t, w, res.RunID).wantAllCommitted(t, len(fb.actions()))

	waitPlaced(t, w, tr.Placed+40)
	stopTraffic(t, w) // every call placed is in the ledger from here on
	l2 := w.ledger(t)
	if l := lost(l0, l2); len(l) > 0 {
		t.Errorf("calls lost across failover and failback: %v (ledger %+v → %+v)", l, l0, l2)
	}
	t.Logf("%d numbers moved and back; ledger %d calls: %v by region %v", len(flow), l2.Total-l0.Total, l2.ByOutcome, l2.ByRegion)
}

// TestUngracefulFailoverWithPrimaryDown plans from the snapshot stored
// before us1 went down, writes routing through ie1's routes host, and
// calls that died at the edge are answered in ie1 afterwards.
func TestUngracefulFailoverWithPrimaryDown(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 300, accountCPS...)
	wb := w.writeWorkbook(t, workbookOpts{})
	// A graceful plan reads the account and stores its snapshot in --db.
	g, _, _ := foMakePlan(t, w, "failover", wb, filepath.Join(w.dir, "graceful.json"))
	flow := g.targets()
	if len(flow) == 0 {
		t.Fatal("the flow has no numbers")
	}
	some := slices.Sorted(maps.Keys(flow))

	w.operatorSend(t, http.MethodPut, "faults", `{"version":1,"regions":[{"region":"us1","product":"*","down":"503"}]}`)
	if out := mustCall(t, w, fmt.Sprintf(`{"to":%q,"from":"+447700900123"}`, some[0])); out.Outcome != "rejected" {
		t.Fatalf("with us1 down a call to %s was %+v, want it to die at the edge", some[0], out)
	}

	planPath := filepath.Join(w.dir, "ungraceful.json")
	stdout, stderr, code := w.voicedr(t, "plan", "failover", "--mode", "ungraceful", "--flow", "support",
		"--workbook", wb, "--db", w.db, "-o", planPath, rateFlag)
	if code != 0 {
		t.Fatalf("plan failover --mode ungraceful: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "stored snapshot") || !strings.Contains(stdout, " old") {
		t.Errorf("the ungraceful plan does not say it rests on a stored snapshot and how old it is:\n%s", stdout)
	}
	p := foReadPlan(t, planPath)
	if p.Mode != "ungraceful" || p.SnapshotSource != "stored" {
		t.Errorf("plan mode %q from a %q snapshot, want ungraceful from stored", p.Mode, p.SnapshotSource)
	}
	if !reflect.DeepEqual(p.targets(), flow) {
		t.Errorf("the ungraceful plan moves %d numbers, the graceful one %d", len(p.targets()), len(flow))
	}

	w0 := lastSeq(w.routeWrites(t))
	foApply(t, w, planPath, wb).mustState(t, "apply ungraceful failover", 0, "completed")
	byKey := writesByKey(w.routeWrites(t), w0)
	if len(byKey) != len(flow) {
		t.Errorf("routing writes touched %d keys, want the %d flow numbers", len(byKey), len(flow))
	}
	for k, ws := range byKey {
		for _, x := range ws {
			if x.Via != "ie1" || x.VoiceRegion != "ie1" || !flow[k] {
				t.Errorf("routing write %+v: want flow numbers written to ie1 via ie1's routes host", x)
			}
		}
	}
	wantRouted(t, w.numbers(t), flow, "ie1")
	for _, n := range some {
		out := mustCall(t, w, fmt.Sprintf(`{"to":%q,"from":"+447700900123"}`, n))
		if out.Region != "ie1" || out.Outcome != "answered" {
			t.Errorf("call to %s after the failover: %+v, want answered in ie1", n, out)
		}
	}
}

// TestNoGoGateRollsTheCohortBack: the standby app fails every webhook, so
// the canary's gate is no-go; the canary goes back to exactly the routing
// the plan observed and the later cohort is never written.
func TestNoGoGateRollsTheCohortBack(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 300, accountCPS...)
	wb := w.writeWorkbook(t, workbookOpts{})
	planPath := filepath.Join(w.dir, "failover.json")
	p, _, _ := foMakePlan(t, w, "failover", wb, planPath)
	if len(p.Cohorts) < 2 {
		t.Fatalf("plan has %d cohorts, want canary and rest", len(p.Cohorts))
	}
	first := p.Cohorts[0]
	observed := map[string]foPlanRouting{}
	for _, n := range p.Observed.Numbers {
		observed[n.PhoneNumber] = foPlanRouting{n.Routing.VoiceRegion, n.Routing.Explicit}
	}

	setAppMode(t, w.appURL("ie1"), `{"voice":"fail","fallback":"fail","slow":"20s","healthy":true}`)
	w0 := lastSeq(w.routeWrites(t))
	out := foApply(t, w, planPath, wb)
	res := out.mustState(t, "apply with a failing standby app", 5, "rolled_back")
	if len(res.Cohorts) != 1 || res.Cohorts[0].Name != first.Name || !res.Cohorts[0].Rollback || res.Cohorts[0].Outcome != "no_go" {
		t.Errorf("cohorts %+v, want only %s, no_go and rolled back", res.Cohorts, first.Name)
	}

	now := w.numbers(t)
	in := map[string]bool{}
	for _, a := range first.Actions {
		in[a.Target] = true
		want, got := observed[a.Target], now[a.Target].Routing
		// Routing never set (404, us1) is written back as explicit us1:
		// Twilio cannot unset a route.
		if got.VoiceRegion != want.VoiceRegion || (want.Explicit && !got.Explicit) {
			t.Errorf("%s after rollback: %+v, observed %+v", a.Target, got, want)
		}
	}
	byKey := writesByKey(w.routeWrites(t), w0)
	for k, ws := range byKey {
		if !in[k] {
			t.Errorf("%s (not in cohort %s) was written: %+v", k, first.Name, ws)
			continue
		}
		if l := ws[len(ws)-1]; l.VoiceRegion != observed[k].VoiceRegion {
			t.Errorf("%s: last routing write %+v, want back to %s", k, l, observed[k].VoiceRegion)
		}
	}
	if len(byKey) != len(in) {
		t.Errorf("routing writes touched %d keys, want the %d of cohort %s", len(byKey), len(in), first.Name)
	}

	st := foRunStatus(t, w, res.RunID)
	if st.Run.State != "rolled_back" {
		t.Errorf("run status: %s, want rolled_back", st.Run.State)
	}
	for _, c := range st.Cohorts {
		want := map[string]int{"pending": c.Actions}
		if c.Name == first.Name {
			want = map[string]int{"rolled_back": c.Actions}
		}
		if !reflect.DeepEqual(c.Steps, want) {
			t.Errorf("cohort %s: actions by step %v, want %v", c.Name, c.Steps, want)
		}
	}
}

type foPlanRouting struct {
	VoiceRegion string
	Explicit    bool
}

// TestInconclusiveGatePauses: the gate reads a customer-side metric whose
// endpoint does not answer, so the canary's gate is inconclusive and the run
// pauses for a human (exit 4); once the endpoint answers, run resume judges
// the canary again and completes the move.
func TestInconclusiveGatePauses(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 300, accountCPS...)
	promAddr := freeAddr(t) // nothing listens here until the cause is fixed
	wb := w.writeWorkbook(t, workbookOpts{
		Gate: `{name: g, window: 3s, min_sample: 3, conditions: [{signal: answered, threshold: {op: ">=", value: 95, unit: percent}}, {signal: app_ok, threshold: {op: ">=", value: 1, unit: count}}]}`,
	})
	b, err := os.ReadFile(wb)
	if err != nil {
		t.Fatal(err)
	}
	sig := fmt.Sprintf("signals:\n  - {name: app_ok, source: prometheus, query: app_ok, params: {url: \"http://%s/metrics\"}}\n", promAddr)
	if !bytes.Contains(b, []byte("signals:\n")) {
		t.Fatalf("workbook has no signals section:\n%s", b)
	}
	if err := os.WriteFile(wb, bytes.Replace(b, []byte("signals:\n"), []byte(sig), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	planPath := filepath.Join(w.dir, "failover.json")
	p, _, _ := foMakePlan(t, w, "failover", wb, planPath)
	first := p.Cohorts[0]

	w0 := lastSeq(w.routeWrites(t))
	res := foApply(t, w, planPath, wb).mustState(t, "apply with the metric endpoint down", 4, "paused")
	if n := len(res.Cohorts); n != 1 || res.Cohorts[0].Outcome != "inconclusive" || res.Cohorts[0].Rollback {
		t.Errorf("cohorts %+v, want only %s, inconclusive, not rolled back", res.Cohorts, first.Name)
	}
	st := foRunStatus(t, w, res.RunID)
	if st.Run.State != "paused" {
		t.Errorf("run status: %s, want paused", st.Run.State)
	}
	for _, c := range st.Cohorts {
		switch c.Name {
		case first.Name:
			if c.Step != "failed" || !strings.Contains(c.Reason, "app_ok") || c.Steps["committed"] != 0 {
				t.Errorf("paused cohort %s: step %q, steps %v, reason %q; want failed, nothing committed, naming app_ok", c.Name, c.Step, c.Steps, c.Reason)
			}
		default:
			if want := map[string]int{"pending": c.Actions}; !reflect.DeepEqual(c.Steps, want) {
				t.Errorf("cohort %s moved while the run was paused: %v", c.Name, c.Steps)
			}
		}
	}
	// Paused, not rolled back: the canary stays in ie1, the rest in us1.
	now := w.numbers(t)
	in := map[string]bool{}
	for _, a := range first.Actions {
		in[a.Target] = true
		if got := now[a.Target].Routing.VoiceRegion; got != "ie1" {
			t.Errorf("paused canary number %s is in %s, want ie1", a.Target, got)
		}
	}
	for k := range writesByKey(w.routeWrites(t), w0) {
		if !in[k] {
			t.Errorf("%s was written although its cohort comes after the pause", k)
		}
	}

	// Fix the cause: the metric endpoint answers.
	ln, err := net.Listen("tcp", promAddr)
	if err != nil {
		t.Fatalf("listen on the metric address %s: %v", promAddr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(rw, "# TYPE app_ok gauge\napp_ok 1\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	res = foEngine(t, w, "run", "resume", res.RunID, "--workbook", wb).mustState(t, "run resume", 0, "completed")
	wantRouted(t, w.numbers(t), p.targets(), "ie1")
	foRunStatus(t, w, res.RunID).wantAllCommitted(t, len(p.actions()))
}

// TestStalePlanIsRefused: a flow number's standby record changes after the
// plan is made; apply refuses (exit 6) naming it and changes nothing, and
// --force applies it with the drift recorded.
func TestStalePlanIsRefused(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 300, accountCPS...)
	wb := w.writeWorkbook(t, workbookOpts{})
	planPath := filepath.Join(w.dir, "failover.json")
	p, _, _ := foMakePlan(t, w, "failover", wb, planPath)
	victim := p.Cohorts[len(p.Cohorts)-1].Actions[0].Target
	n := w.numbers(t)[victim]

	// Someone edits the number's ie1 record with the Twilio API.
	twilioREST(t, w, "ie1", "api.dublin.ie1.twilio.com",
		fmt.Sprintf("/2010-04-01/Accounts/%s/IncomingPhoneNumbers/%s.json", w.getenv("TWILIO_ACCOUNT_SID"), recordSID(t, n, "ie1")),
		url.Values{"VoiceUrl": {w.appURL("ie1") + "/voice?edited=1"}})

	w0 := lastSeq(w.routeWrites(t))
	out := foApply(t, w, planPath, wb)
	out.mustState(t, "apply a stale plan", 6, "")
	if !strings.Contains(out.Stderr, victim) {
		t.Errorf("the refusal does not name %s:\n%s", victim, out.Stderr)
	}
	if out.Refused == nil || !slices.ContainsFunc(out.Refused.Drift, func(c foChange) bool {
		return c.Key == "number:"+victim && c.Field == "record in ie1: voice_url"
	}) {
		t.Errorf("--json refusal %+v, want drift of number:%s record in ie1: voice_url", out.Refused, victim)
	}
	if ws := writesByKey(w.routeWrites(t), w0); len(ws) != 0 {
		t.Errorf("a refused apply wrote routing: %v", ws)
	}

	res := foApply(t, w, planPath, wb, "--force").mustState(t, "apply --force", 0, "completed")
	if !slices.ContainsFunc(res.Drift, func(c foChange) bool { return c.Key == "number:"+victim }) {
		t.Errorf("the forced run does not record the drift of %s: %+v", victim, res.Drift)
	}
	wantRouted(t, w.numbers(t), p.targets(), "ie1")
}

// TestSecondRunOnTheFlowIsRefused: while one apply is mid-run (its proof
// waits for a routing change that propagates in minutes), an apply of a
// second plan for the same flow is refused with exit 6 naming the lease
// holder, and writes nothing.
func TestSecondRunOnTheFlowIsRefused(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 300, append(accountCPS, "--propagation-delay", "10m")...)
	wb := w.writeWorkbook(t, workbookOpts{ProofWait: "2m"})
	planA, planB := filepath.Join(w.dir, "a.json"), filepath.Join(w.dir, "b.json")
	a, _, _ := foMakePlan(t, w, "failover", wb, planA)
	b, _, _ := foMakePlan(t, w, "failover", wb, planB)
	if a.Digest == b.Digest {
		t.Fatalf("two plans made at different times have the same digest %s", a.Digest)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "apply", planA, "--workbook", wb, "--db", w.db, "--json", rateFlag)
	cmd.Env = w.env
	var stderrA bytes.Buffer
	cmd.Stderr = &stderrA
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var once sync.Once
	stopA := func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-exited
				t.Errorf("apply A did not stop on SIGINT\n%s", stderrA.String())
			}
		})
	}
	// Wait until A is proving its first cohort: it holds its leases then.
	runA := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		sent := false
		for sc.Scan() {
			var ev struct{ Run, Type string }
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "proof_started" && !sent {
				runA <- ev.Run
				sent = true
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(stopA)
	var idA string
	select {
	case idA = <-runA:
	case err := <-exited:
		exited <- err
		t.Fatalf("apply A ended before proving its first cohort: %v\n%s", err, stderrA.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("apply A never started proving\n%s", stderrA.String())
	}

	w0 := lastSeq(w.routeWrites(t))
	out := foApply(t, w, planB, wb)
	out.mustState(t, "apply a second plan while the first runs", 6, "")
	if !strings.Contains(out.Stderr, "held by "+idA) {
		t.Errorf("the refusal does not name the lease holder (run %s):\n%s", idA, out.Stderr)
	}
	if ws := writesByKey(w.routeWrites(t), w0); len(ws) != 0 {
		t.Errorf("the refused apply wrote routing: %v", ws)
	}
	st := foRunStatus(t, w, idA)
	if st.Run.State != "running" {
		t.Errorf("run A is %s after the refusal, want running", st.Run.State)
	}
	stopA()
}

// TestTrunkFlipProvedBySBCCalls moves a flow with a SIP trunk while the
// customer's SBC keeps sending calls into the trunk's termination URI: the
// trunk's own cohort is proven by those calls landing in ie1, its gate
// judges them, and the trunk is routed to ie1.
func TestTrunkFlipProvedBySBCCalls(t *testing.T) {
	t.Parallel()
	const trunk = "acme-cc.pstn.twilio.com"
	w := startWorld(t, 300, accountCPS...)
	wb := w.writeWorkbook(t, workbookOpts{Prefixes: []string{"contact-center-"}, Trunks: []string{trunk}})
	planPath := filepath.Join(w.dir, "failover.json")
	p, _, _ := foMakePlan(t, w, "failover", wb, planPath)
	cohort := "trunk:" + trunk
	i := slices.IndexFunc(p.Cohorts, func(c foCohort) bool { return c.Name == cohort })
	if i < 0 || p.Cohorts[i].Kind != "trunk" || len(p.Cohorts[i].Actions) != 1 || p.Cohorts[i].Actions[0].Target != trunk {
		t.Fatalf("plan cohorts %+v, want a trunk cohort %s", p.Cohorts, cohort)
	}

	// The SBC: a few calls a second into the trunk, until the move is done.
	sbc := fmt.Sprintf(`{"to":"+442071234567","from":"+12025550111","trunk_domain":%q}`, trunk)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes, regions := map[string]int{}, map[string]int{}
	var callErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			out, err := placeCall(w, sbc)
			mu.Lock()
			if err != nil {
				callErr = err
			} else {
				outcomes[out.Outcome]++
				regions[out.Region]++
			}
			mu.Unlock()
		}
	}()
	stop := func() { cancel(); wg.Wait() }
	defer stop()

	out := foApply(t, w, planPath, wb)
	stop()
	if out.Result == nil {
		t.Fatalf("apply: exit %d, no result\n%s\n%s", out.Code, tail(out.Stdout, 3000), out.Stderr)
	}
	res := out.Result
	j := slices.IndexFunc(res.Cohorts, func(c foCohortResult) bool { return c.Name == cohort })
	if j < 0 {
		t.Fatalf("the run (%s: %s) never reached cohort %s", res.State, res.Reason, cohort)
	}
	tc := res.Cohorts[j]
	if len(tc.Proofs) != 1 || tc.Proofs[0].Number != trunk || !tc.Proofs[0].Proven {
		t.Errorf("cohort %s proofs %+v, want %s proven", cohort, tc.Proofs, trunk)
	}
	if got := trunkRouting(t, w)[trunk]; got != "ie1" {
		t.Errorf("trunk %s is routed to %q, want ie1", trunk, got)
	}
	// The trunk's gate judges the trunk's traffic: the SBC calls answered
	// in ie1. A gate that counts only calls to numbers sees none and can
	// only be inconclusive.
	if out.Code != 0 || res.State != "completed" || tc.Outcome != "go" {
		t.Errorf("apply: exit %d, run %s (%s), cohort %s %s; want exit 0, completed, go", out.Code, res.State, res.Reason, cohort, tc.Outcome)
	}
	st := foRunStatus(t, w, res.RunID)
	for _, c := range st.Cohorts {
		if c.Name == cohort && c.Step != "committed" {
			t.Errorf("run status: cohort %s at %q (%s), want committed", cohort, c.Step, c.Reason)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if callErr != nil {
		t.Errorf("SBC call: %v", callErr)
	}
	if regions["ie1"] == 0 || outcomes["answered"] == 0 {
		t.Errorf("SBC calls by region %v, outcome %v: want some answered in ie1", regions, outcomes)
	}
	if n := outcomes["rejected"] + outcomes["failed"] + outcomes["app_error"]; n != 0 {
		t.Errorf("SBC calls lost during the trunk flip: %v", outcomes)
	}
	after := mustCall(t, w, sbc)
	if after.Region != "ie1" || after.Outcome != "answered" {
		t.Errorf("SBC call after the move: %+v, want answered in ie1", after)
	}
}
