//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// writeRoute sets a number's voice routing through the emulator's routes
// host, as an operator would have before the test.
func (w *world) writeRoute(t *testing.T, e164, region string) {
	t.Helper()
	form := url.Values{"VoiceRegion": {region}}
	req, err := http.NewRequest("POST", "http://"+w.addr+"/v2/PhoneNumbers/"+url.PathEscape(e164), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "routes.dublin.ie1.twilio.com"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(w.getenv("TWILIO_IE1_API_KEY"), w.getenv("TWILIO_IE1_API_SECRET"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("route %s to %s: %d %s", e164, region, resp.StatusCode, b)
	}
}

// TestLiveDrillMovesOnlyTheDrillCohort: a live drill against the emulator
// standing in for the real account moves the drill cohort's numbers to
// ie1 and back, proves them with test calls, and leaves every other number
// untouched — checked number by number against the emulator's own state
// and its journal of routing writes. The drill's evidence bundle then
// verifies, and names a file altered after export.
func TestLiveDrillMovesOnlyTheDrillCohort(t *testing.T) {
	t.Parallel()
	w := startWorld(t, 200)
	before := w.numbers(t)
	var support []string
	for e164, n := range before {
		if strings.HasPrefix(n.FriendlyName, "support-") {
			support = append(support, e164)
		}
	}
	sort.Strings(support)
	if len(support) < 10 {
		t.Fatalf("%d support numbers; want at least 10", len(support))
	}
	// The drill cohort: two numbers in us1, and one the team had already
	// moved to ie1 before the drill, which the drill must leave there.
	cohort, inIE1 := support[:2], support[2]
	w.writeRoute(t, inIE1, "ie1")
	before = w.numbers(t)
	writesBefore := len(w.routeWrites(t))
	wb := w.writeWorkbook(t, workbookOpts{
		Cohorts: fmt.Sprintf(`
      - {name: drill, order: 1, numbers: ["%s", "%s", "%s"], gate: g, no_go: rollback}
      - {name: rest, order: 2, share: 1, gate: g, no_go: rollback}`, cohort[0], cohort[1], inIE1),
		Extra: `
drills:
  - {name: support-live, flow: support, kind: live, cadence: annual, cohort: drill}
`})
	out, stderr, code := w.voicedr(t, "drill", "--flow", "support", "--kind", "live", "--workbook", wb, "--db", w.db,
		"--dir", filepath.Join(w.dir, "drills"), "--json")
	var d drillJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("exit %d, output not JSON: %v\n%s\n%s", code, err, out, stderr)
	}
	r := &d.Report
	if code != 0 || r.Outcome != "completed" {
		t.Fatalf("live drill: exit %d, outcome %s (%s)\n%s", code, r.Outcome, r.Reason, stderr)
	}

	// Only the cohort was written: each of its numbers once to ie1, once back.
	writes := map[string][]string{}
	for _, wr := range w.routeWrites(t)[writesBefore:] {
		writes[wr.Key] = append(writes[wr.Key], wr.VoiceRegion)
	}
	for _, n := range cohort {
		if got := writes[n]; !reflect.DeepEqual(got, []string{"ie1", "us1"}) {
			t.Errorf("%s: routing writes %v; want ie1 then us1", n, got)
		}
		delete(writes, n)
	}
	if len(writes) != 0 {
		t.Errorf("routing writes to resources the drill did not move (outside the cohort, or already in ie1): %v", writes)
	}
	if got := w.numbers(t)[inIE1].Routing.VoiceRegion; got != "ie1" {
		t.Errorf("%s was in ie1 before the drill and is in %s after; want ie1", inIE1, got)
	}
	// Every number of the account is as it was, number by number.
	after := w.numbers(t)
	for e164, was := range before {
		is := after[e164]
		if is.Routing.VoiceRegion != was.Routing.VoiceRegion || !reflect.DeepEqual(is.Records, was.Records) {
			t.Errorf("%s: routing %s → %s, records equal %v: want it untouched or restored", e164, was.Routing.VoiceRegion,
				is.Routing.VoiceRegion, reflect.DeepEqual(is.Records, was.Records))
		}
	}
	if len(r.Touched) != len(cohort) {
		t.Errorf("report touched %+v; want the %d cohort numbers", r.Touched, len(cohort))
	}
	for _, tr := range r.Touched {
		if !tr.Restored {
			t.Errorf("report says %s not restored: %s → %s", tr.Resource, tr.Before, tr.After)
		}
	}
	if r.Calls.Source != "Calls and Alerts API" || r.Calls.Placed == 0 {
		t.Errorf("calls %+v; want the test calls counted from the Calls API", r.Calls)
	}

	// The drill's evidence: exported, verified, then tampered with.
	if out, stderr, code := w.voicedr(t, "evidence", "keys", "--generate", "--dir", w.dir); code != 0 {
		t.Fatalf("evidence keys: exit %d\n%s\n%s", code, out, stderr)
	}
	key, pub := filepath.Join(w.dir, "voicedr-signing.key"), filepath.Join(w.dir, "voicedr-signing.pub")
	bundle := filepath.Join(w.dir, "bundle")
	if out, stderr, code := w.voicedr(t, "evidence", "export", "--drill", r.ID, "--db", w.db, "--workbook", wb,
		"--signing-key", key, "--out", bundle); code != 0 {
		t.Fatalf("evidence export: exit %d\n%s\n%s", code, out, stderr)
	}
	if out, stderr, code := w.voicedr(t, "evidence", "verify", bundle, "--pub", pub); code != 0 {
		t.Fatalf("evidence verify: exit %d\n%s\n%s", code, out, stderr)
	}
	if len(r.RunIDs) != 2 {
		t.Fatalf("report run IDs %v; want the failover's and the failback's", r.RunIDs)
	}
	for _, id := range r.RunIDs {
		if _, err := os.Stat(filepath.Join(bundle, "runs", id, "ledger.jsonl")); err != nil {
			t.Errorf("bundle lacks run %s's ledger: %v", id, err)
		}
	}
	report := filepath.Join(bundle, "drill", "report.json")
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("bundle lacks the drill report: %v", err)
	}
	if err := os.WriteFile(report, []byte(strings.Replace(string(b), `"completed"`, `"complete"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = w.voicedr(t, "evidence", "verify", bundle, "--pub", pub)
	if code != 1 || !strings.Contains(out+stderr, "drill/report.json") {
		t.Errorf("verify of a tampered bundle: exit %d\n%s\n%s; want 1 naming drill/report.json", code, out, stderr)
	}
}
