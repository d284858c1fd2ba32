//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The failover engine end to end: the real binary plans and applies moves of
// a flow against a real emulator process with sample apps answering every
// webhook, and the emulator's operator API (routing table, routing writes,
// call ledger) is the ground truth the tests judge by. Windows are short
// (gates of 3 s, proof polls of 500 ms); nothing here passes or fails on how
// long something took.

// accountCPS makes the emulated account's Calls API rate what the test
// workbook declares (execution.calls_per_second: 20): at the emulator's
// default of 1 the synthetic calls a gate places stay queued past its 3 s
// window and a gate without live traffic is inconclusive.
var accountCPS = []string{"--calls-per-second", "20"}

// rateFlag lets the binary read thousands of numbers quickly: the default
// shared rate (250/s) is Twilio's, the emulator takes more.
const rateFlag = "--rate=1000"

// foPlan is the part of a plan file the tests read (internal/plan.Plan).
type foPlan struct {
	Digest         string   `json:"digest"`
	Kind           string   `json:"kind"`
	Mode           string   `json:"mode"`
	Flow           string   `json:"flow"`
	From           string   `json:"from"`
	To             string   `json:"to"`
	SnapshotSource string   `json:"snapshot_source"`
	RoutesWrite    []string `json:"routes_write"`
	Observed       struct {
		Numbers []struct {
			PhoneNumber string `json:"phone_number"`
			Routing     struct {
				VoiceRegion string `json:"voice_region"`
				Explicit    bool   `json:"explicit"`
			} `json:"routing"`
		} `json:"numbers"`
	} `json:"observed"`
	Cohorts []foCohort `json:"cohorts"`
}

type foCohort struct {
	Name    string     `json:"name"`
	Kind    string     `json:"kind"`
	Actions []foAction `json:"actions"`
	Sample  []string   `json:"sample"`
}

type foAction struct {
	Key          string `json:"key"`
	Kind         string `json:"kind"`
	Target       string `json:"target"`
	From         string `json:"from"`
	FromExplicit bool   `json:"from_explicit"`
	To           string `json:"to"`
}

func (p foPlan) actions() []foAction {
	var out []foAction
	for _, c := range p.Cohorts {
		out = append(out, c.Actions...)
	}
	return out
}

func (p foPlan) targets() map[string]bool {
	out := map[string]bool{}
	for _, a := range p.actions() {
		out[a.Target] = true
	}
	return out
}

func foReadPlan(t *testing.T, path string) foPlan {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p foPlan
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("plan %s: %v", path, err)
	}
	return p
}

// foMakePlan runs `voicedr plan KIND` into a file and requires exit 0.
func foMakePlan(t *testing.T, w *world, kind, wb, out string, extra ...string) (foPlan, string, string) {
	t.Helper()
	args := append([]string{"plan", kind, "--flow", "support", "--workbook", wb, "--db", w.db, "-o", out, rateFlag}, extra...)
	stdout, stderr, code := w.voicedr(t, args...)
	if code != 0 {
		t.Fatalf("voicedr %s: exit %d\n%s\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return foReadPlan(t, out), stdout, stderr
}

// foResult is apply's --json result (internal/execute.Result).
type foResult struct {
	RunID   string           `json:"run_id"`
	State   string           `json:"state"`
	Reason  string           `json:"reason"`
	Cohorts []foCohortResult `json:"cohorts"`
	Drift   []foChange       `json:"drift"`
}

type foCohortResult struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Actions  int    `json:"actions"`
	Flipped  int    `json:"flipped"`
	Failed   int    `json:"failed"`
	Outcome  string `json:"outcome"`
	Rollback bool   `json:"rolled_back"`
	Proofs   []struct {
		Number string `json:"number"`
		Proven bool   `json:"proven"`
		Reason string `json:"reason"`
	} `json:"proofs"`
}

type foChange struct {
	Key   string `json:"key"`
	Field string `json:"field"`
}

// foOutput is everything a --json engine command wrote.
type foOutput struct {
	Result  *foResult
	Refused *struct {
		Refused string     `json:"refused"`
		Drift   []foChange `json:"drift"`
	}
	Events []map[string]any
	Stdout string
	Stderr string
	Code   int
}

// foEngine runs an engine command (apply, run resume) with --json and
// sorts its output lines into events, the result or a refusal.
func foEngine(t *testing.T, w *world, args ...string) foOutput {
	t.Helper()
	args = append(args, "--db", w.db, "--json", rateFlag)
	stdout, stderr, code := w.voicedr(t, args...)
	out := foOutput{Stdout: stdout, Stderr: stderr, Code: code}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var probe map[string]any
		if err := json.Unmarshal([]byte(line), &probe); err != nil {
			t.Fatalf("voicedr %v: stdout line is not JSON: %q", args, line)
		}
		switch {
		case probe["run_id"] != nil && probe["state"] != nil:
			out.Result = new(foResult)
			if err := json.Unmarshal([]byte(line), out.Result); err != nil {
				t.Fatal(err)
			}
		case probe["refused"] != nil:
			out.Refused = &struct {
				Refused string     `json:"refused"`
				Drift   []foChange `json:"drift"`
			}{}
			if err := json.Unmarshal([]byte(line), out.Refused); err != nil {
				t.Fatal(err)
			}
		default:
			out.Events = append(out.Events, probe)
		}
	}
	return out
}

func foApply(t *testing.T, w *world, planPath, wb string, extra ...string) foOutput {
	t.Helper()
	return foEngine(t, w, append([]string{"apply", planPath, "--workbook", wb}, extra...)...)
}

// mustState fails the test unless the command exited with code and its
// result (when one is wanted) is in state.
func (o foOutput) mustState(t *testing.T, what string, code int, state string) *foResult {
	t.Helper()
	if o.Code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout (tail): %s\nstderr: %s", what, o.Code, code, tail(o.Stdout, 3000), o.Stderr)
	}
	if state == "" {
		return o.Result
	}
	if o.Result == nil {
		t.Fatalf("%s: no result on stdout\n%s\n%s", what, tail(o.Stdout, 3000), o.Stderr)
	}
	if o.Result.State != state {
		t.Fatalf("%s: run %s is %s (%s), want %s", what, o.Result.RunID, o.Result.State, o.Result.Reason, state)
	}
	return o.Result
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// foStatus is `voicedr run status --json` (internal/execute.Status). The run
// is decoded case-insensitively: store.Run has no JSON tags today.
type foStatus struct {
	Run struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"run"`
	Cohorts []struct {
		Name    string         `json:"name"`
		Kind    string         `json:"kind"`
		Actions int            `json:"actions"`
		Step    string         `json:"step"`
		Steps   map[string]int `json:"steps"`
		Reason  string         `json:"reason"`
	} `json:"cohorts"`
	Steps map[string]int `json:"steps"`
}

func foRunStatus(t *testing.T, w *world, run string) foStatus {
	t.Helper()
	stdout, stderr, code := w.voicedr(t, "run", "status", run, "--db", w.db, "--json")
	if code != 0 {
		t.Fatalf("run status %s: exit %d\n%s%s", run, code, stdout, stderr)
	}
	var st foStatus
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("run status --json %q: %v", stdout, err)
	}
	return st
}

// wantAllCommitted checks the ledger shows every one of n actions committed.
func (st foStatus) wantAllCommitted(t *testing.T, n int) {
	t.Helper()
	if want := map[string]int{"committed": n}; !reflect.DeepEqual(st.Steps, want) {
		t.Errorf("run %s: actions by ledger step %v, want %v", st.Run.ID, st.Steps, want)
	}
	for _, c := range st.Cohorts {
		if c.Step != "committed" {
			t.Errorf("run %s: cohort %s is at %q, want committed", st.Run.ID, c.Name, c.Step)
		}
	}
}

// lost counts the calls that failed callers between two ledger readings:
// died at the edge, application error, or failed in the region.
func lost(before, after ledgerCounts) map[string]int64 {
	out := map[string]int64{}
	for _, k := range []string{"rejected", "app_error", "failed"} {
		if d := after.ByOutcome[k] - before.ByOutcome[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// trafficStatus is GET /__emulator/v1/traffic.
type trafficStatus struct {
	Running   bool             `json:"running"`
	Placed    int64            `json:"placed"`
	InFlight  int64            `json:"in_flight"`
	ByOutcome map[string]int64 `json:"by_outcome"`
	Processed map[string]int64 `json:"processed"`
}

// startTraffic starts live inbound calls and stops them at cleanup.
func startTraffic(t *testing.T, w *world, doc string) {
	t.Helper()
	w.operatorSend(t, http.MethodPut, "traffic", doc)
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, "http://"+w.addr+"/__emulator/v1/traffic", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
}

// waitPlaced waits until the traffic generator has placed at least n calls.
// The deadline only bounds a broken run; nothing is judged on time.
func waitPlaced(t *testing.T, w *world, n int64) trafficStatus {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var st trafficStatus
		w.operator(t, "traffic", &st)
		if st.Placed >= n {
			return st
		}
		if !st.Running {
			t.Fatalf("traffic stopped after %d calls, want %d", st.Placed, n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("traffic placed %d calls, want %d", st.Placed, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopTraffic stops the generator and waits for its calls in flight to end.
func stopTraffic(t *testing.T, w *world) {
	t.Helper()
	w.operatorSend(t, http.MethodDelete, "traffic", "")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st trafficStatus
		w.operator(t, "traffic", &st)
		if !st.Running && st.InFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("traffic still running with %d calls in flight after DELETE", st.InFlight)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// callOutcome is what POST /__emulator/v1/calls answers.
type callOutcome struct {
	Region   string `json:"region"`
	Handler  string `json:"handler"`
	Outcome  string `json:"outcome"`
	Rejected string `json:"rejected"`
}

func placeCall(w *world, body string) (callOutcome, error) {
	resp, err := http.Post("http://"+w.addr+"/__emulator/v1/calls", "application/json", strings.NewReader(body))
	if err != nil {
		return callOutcome{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var e map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return callOutcome{}, fmt.Errorf("POST calls %s: %s %v", body, resp.Status, e)
	}
	var out callOutcome
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

func mustCall(t *testing.T, w *world, body string) callOutcome {
	t.Helper()
	out, err := placeCall(w, body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// setAppMode sets a sample app's behaviour (internal/sampleapp/mode.go).
func setAppMode(t *testing.T, app, mode string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, app+"/__sampleapp/mode", strings.NewReader(mode))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("PUT %s/__sampleapp/mode: %s", app, resp.Status)
	}
}

// twilioREST sends a form request to the emulated Twilio as any Twilio
// client would (Host header kept, region credentials): a change made
// behind voicedr's back.
func twilioREST(t *testing.T, w *world, region, host, path string, form url.Values) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+w.addr+path, strings.NewReader(form.Encode()))
	req.Host = host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	up := strings.ToUpper(region)
	req.SetBasicAuth(w.getenv("TWILIO_"+up+"_API_KEY"), w.getenv("TWILIO_"+up+"_API_SECRET"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("POST %s%s: %s %v", host, path, resp.Status, e)
	}
}

// recordSID is a number's record SID in a region.
func recordSID(t *testing.T, n accountNumber, region string) string {
	t.Helper()
	var rec struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(n.Records[region], &rec); err != nil || rec.SID == "" {
		t.Fatalf("%s has no %s record: %v %s", n.PhoneNumber, region, err, n.Records[region])
	}
	return rec.SID
}

// trunkRouting reads the global routing of trunks from the emulator.
func trunkRouting(t *testing.T, w *world) map[string]string {
	t.Helper()
	var s struct {
		TrunkRouting []struct {
			Key         string `json:"key"`
			VoiceRegion string `json:"voice_region"`
		} `json:"trunk_routing"`
	}
	w.operator(t, "snapshot", &s)
	out := map[string]string{}
	for _, r := range s.TrunkRouting {
		out[r.Key] = r.VoiceRegion
	}
	return out
}

// writesByKey groups routing writes after seq by key, in order.
func writesByKey(ws []routeWrite, after int64) map[string][]routeWrite {
	out := map[string][]routeWrite{}
	for _, x := range ws {
		if x.Seq > after {
			out[x.Key] = append(out[x.Key], x)
		}
	}
	return out
}

func lastSeq(ws []routeWrite) int64 {
	var s int64
	for _, x := range ws {
		s = max(s, x.Seq)
	}
	return s
}

// wantUntouched checks that numbers outside the flow kept their routing and
// that no number's per-region records changed: a move writes routing only.
func wantUntouched(t *testing.T, before, after map[string]accountNumber, flow map[string]bool) {
	t.Helper()
	if len(after) != len(before) {
		t.Errorf("the account has %d numbers, had %d", len(after), len(before))
	}
	changed := 0
	for e164, b := range before {
		a, ok := after[e164]
		if !ok {
			t.Errorf("%s disappeared", e164)
			continue
		}
		if !flow[e164] && a.Routing != b.Routing {
			if changed++; changed <= 5 {
				t.Errorf("%s (%s) is outside the flow but its routing changed: %+v → %+v", e164, b.FriendlyName, b.Routing, a.Routing)
			}
		}
		if !reflect.DeepEqual(a.Records, b.Records) {
			if changed++; changed <= 5 {
				t.Errorf("%s (%s): per-region records changed; a move may only write routing", e164, b.FriendlyName)
			}
		}
	}
	if changed > 5 {
		t.Errorf("... %d numbers changed in all", changed)
	}
}

func wantRouted(t *testing.T, nums map[string]accountNumber, flow map[string]bool, region string) {
	t.Helper()
	bad := 0
	for e164 := range flow {
		if got := nums[e164].Routing.VoiceRegion; got != region {
			if bad++; bad <= 5 {
				t.Errorf("flow number %s is routed to %q, want %s", e164, got, region)
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d of %d flow numbers not routed to %s", bad, len(flow), region)
	}
}
