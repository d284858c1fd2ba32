//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// world is a running `voicedr emulator --sample-apps` with a generated
// account whose standby is fully configured, and the environment that
// reaches it (credentials, endpoint, VOICEDR_SAMPLE_APP_<REGION>).
type world struct {
	addr string   // host:port of the emulator
	env  []string // process environment for voicedr
	dir  string   // scratch directory (workbook, plans, db)
	db   string   // state database path
}

// startWorld starts an emulator with n generated numbers, one sample app
// per region answering every webhook, and the standby configured for every
// number; extra are more emulator flags (--propagation-delay, --down...).
func startWorld(t *testing.T, n int, extra ...string) *world {
	t.Helper()
	// The account's call rate matches the workbook's calls_per_second, so
	// synthetic calls are not left queued past a gate's window.
	args := append([]string{"--sample-apps", "--standby-share", "1", "--numbers", fmt.Sprint(n), "--calls-per-second", "20"}, extra...)
	addr, env, _ := startEmulator(t, args...)
	dir := t.TempDir()
	return &world{addr: addr, env: env, dir: dir, db: filepath.Join(dir, "voicedr.db")}
}

// getenv reads a variable of the world's environment.
func (w *world) getenv(k string) string {
	for _, kv := range w.env {
		if v, ok := strings.CutPrefix(kv, k+"="); ok {
			return v
		}
	}
	return ""
}

// appURL is the sample app of a region (http://127.0.0.1:port).
func (w *world) appURL(region string) string {
	return w.getenv("VOICEDR_SAMPLE_APP_" + strings.ToUpper(region))
}

// workbookOpts shape the test workbook.
type workbookOpts struct {
	Prefixes  []string // friendly-name prefixes of the flow's numbers (default support-)
	Cohorts   string   // YAML list items for cohorts (default: canary 5 % then rest)
	Gate      string   // YAML of the gate named g (default: answered >= 95 %, no webhook alerts)
	Trunks    []string
	Extra     string // more top-level YAML (execution:, hooks:...)
	Signals   string // more YAML list items under signals:
	ProofWait string // default 30s
}

// writeWorkbook writes voicedr.yaml for flow "support" (numbers whose
// friendly name starts with one of opts.Prefixes) pointing both regions' app
// endpoints at the sample apps, and returns its path.
func (w *world) writeWorkbook(t *testing.T, o workbookOpts) string {
	t.Helper()
	if len(o.Prefixes) == 0 {
		o.Prefixes = []string{"support-"}
	}
	if o.Cohorts == "" {
		o.Cohorts = `
      - {name: canary, order: 1, share: 0.05, gate: g, no_go: rollback}
      - {name: rest, order: 2, share: 1, gate: g, no_go: rollback}`
	}
	if o.Gate == "" {
		o.Gate = `{name: g, window: 3s, min_sample: 5, conditions: [{signal: answered, threshold: {op: ">=", value: 95, unit: percent}}, {signal: errors, threshold: {op: "<=", value: 0, unit: count}}]}`
	}
	if o.ProofWait == "" {
		o.ProofWait = "30s"
	}
	app := func(r string) string {
		u := w.appURL(r)
		return fmt.Sprintf(`{voice_url: "%s/voice", fallback_url: "%s/fallback", status_callback: "%s/status", twiml_app: support-ivr}`, u, u, u)
	}
	trunks := ""
	if len(o.Trunks) > 0 {
		trunks = "\n    trunks: [" + strings.Join(o.Trunks, ", ") + "]"
	}
	extra := o.Extra
	if !strings.Contains(extra, "execution:") {
		extra += fmt.Sprintf("\nexecution:\n  proof: {sample: 2, wait: %s, interval: 500ms}\n  calls_per_second: 20\n", o.ProofWait)
	}
	wb := fmt.Sprintf(`version: 1
program: e2e
regions:
  - {region: us1, role: primary, app: %s}
  - {region: ie1, edge: dublin, role: standby, app: %s}
flows:
  - name: support
    criticality: critical
    selectors: {friendly_name_prefix: [%s]}%s
    rto: 15m
    cohorts:%s
signals:
  - {name: answered, source: calls}
  - {name: errors, source: alerts}%s
gates:
  - %s
%s`, app("us1"), app("ie1"), strings.Join(o.Prefixes, ", "), trunks, o.Cohorts, o.Signals, o.Gate, extra)
	path := filepath.Join(w.dir, "voicedr.yaml")
	if err := os.WriteFile(path, []byte(wb), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// voicedr runs the binary in the world's directory and environment.
func (w *world) voicedr(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return run(t, w.env, args...)
}

// operator GETs /__emulator/v1/PATH into v.
func (w *world) operator(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + w.addr + "/__emulator/v1/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// operatorSend sends a JSON body to the operator API.
func (w *world) operatorSend(t *testing.T, method, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+w.addr+"/__emulator/v1/"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
}

// accountNumber is a number of the emulated account as its snapshot shows it.
type accountNumber struct {
	PhoneNumber  string `json:"phone_number"`
	FriendlyName string `json:"friendly_name"`
	Routing      struct {
		VoiceRegion string `json:"voice_region"`
		Explicit    bool   `json:"explicit"`
	} `json:"routing"`
	Records map[string]json.RawMessage `json:"records"`
}

// numbers returns the account's numbers by E.164, read from the emulator.
func (w *world) numbers(t *testing.T) map[string]accountNumber {
	t.Helper()
	var s struct {
		Numbers []accountNumber `json:"numbers"`
	}
	w.operator(t, "snapshot", &s)
	out := map[string]accountNumber{}
	for _, n := range s.Numbers {
		out[n.PhoneNumber] = n
	}
	return out
}

// routeWrite is one accepted routing write (operator routing/writes).
type routeWrite struct {
	Seq         int64  `json:"seq"`
	Kind        string `json:"kind"`
	Key         string `json:"key"`
	VoiceRegion string `json:"voice_region"`
	Via         string `json:"via"`
}

// routeWrites returns every routing write the emulator accepted.
func (w *world) routeWrites(t *testing.T) []routeWrite {
	t.Helper()
	var out struct {
		Writes []routeWrite `json:"writes"`
	}
	w.operator(t, "routing/writes", &out)
	return out.Writes
}

// ledgerCounts are the emulator's all-time call outcomes.
type ledgerCounts struct {
	Total     int64            `json:"total"`
	ByOutcome map[string]int64 `json:"by_outcome"`
	ByRegion  map[string]int64 `json:"by_region"`
}

func (w *world) ledger(t *testing.T) ledgerCounts {
	t.Helper()
	var out struct {
		Counts ledgerCounts `json:"counts"`
	}
	w.operator(t, "ledger?limit=1", &out)
	return out.Counts
}
