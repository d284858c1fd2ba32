//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voicedr/voicedr/internal/drill"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/scenario"
)

// drillWorld is a world whose stored snapshot and workbook name its
// sample apps as the customer's endpoints: a tabletop drill must never
// send them a request.
func drillWorld(t *testing.T) (*world, string) {
	t.Helper()
	w := startWorld(t, 200)
	us1, ie1 := w.appURL("us1"), w.appURL("ie1")
	y := strings.NewReplacer(
		"https://us1.support.acme.example/voice", us1+"/voice", "https://fallback.acme.example/voice", us1+"/fallback",
		"https://us1.support.acme.example/status", us1+"/status",
		"https://ie1.support.acme.example/voice", ie1+"/voice", "https://fallback-eu.acme.example/voice", ie1+"/fallback",
		"https://ie1.support.acme.example/status", ie1+"/status").Replace(string(drill.ExampleWorkbook))
	wb := filepath.Join(w.dir, "voicedr.yaml")
	if err := os.WriteFile(wb, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := w.voicedr(t, "readiness", "--flow", "support", "--workbook", wb, "--db", w.db); code != 0 {
		t.Fatalf("readiness (stores the snapshot): exit %d\n%s\n%s", code, out, stderr)
	}
	return w, wb
}

// appRequests is how many webhook requests a world's sample app answered.
func appRequests(t *testing.T, base string) int64 {
	t.Helper()
	resp, err := http.Get(base + "/__sampleapp/mode")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Counters struct {
			Requests map[string]map[string]int64 `json:"requests"`
		} `json:"counters"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, by := range st.Counters.Requests {
		for _, c := range by {
			n += c
		}
	}
	return n
}

type drillJSON struct {
	Report  report.Drill      `json:"report"`
	Files   map[string]string `json:"files"`
	Network *drill.Network    `json:"network"`
}

// TestScenarioLibraryAsTabletopDrills runs every library scenario as a
// tabletop drill through the binary and checks each ends as it expects,
// with the evidence of why in its report; and that none of them sent a
// single request to the account's (the world's) webhook endpoints.
func TestScenarioLibraryAsTabletopDrills(t *testing.T) {
	w, wb := drillWorld(t)
	before := appRequests(t, w.appURL("us1")) + appRequests(t, w.appURL("ie1"))
	checks := map[string]func(t *testing.T, r *report.Drill){
		"primary-voice-down": func(t *testing.T, r *report.Drill) {
			if !r.RTO.Met || r.Calls.Phases[2].Lost != 0 {
				t.Errorf("RTO %+v, calls %+v: want the objective met and no call lost after the move", r.RTO, r.Calls)
			}
		},
		"primary-api-down-voice-up": func(t *testing.T, r *report.Drill) {
			wantGap(t, r, "primary_unreadable")
			wantEvent(t, r, "detection", "us1-api-down")
		},
		"both-down": func(t *testing.T, r *report.Drill) {
			wantGap(t, r, "gate_inconclusive")
		},
		"degraded-primary": func(t *testing.T, r *report.Drill) {
			wantEvent(t, r, "detection", "us1-volume-drop")
		},
		"standby-webhook-failing": func(t *testing.T, r *report.Drill) {
			wantGap(t, r, "cohort_no_go")
			if c := r.RTO.Cohorts[0]; c.Name != "canary" || !c.RolledBack {
				t.Errorf("first cohort %+v; want the canary rolled back", c)
			}
			if len(r.Actions) == 0 {
				t.Error("no action item for the failing standby app")
			}
		},
		"standby-key-revoked": func(t *testing.T, r *report.Drill) {
			if !strings.Contains(r.Reason, "20003") {
				t.Errorf("reason %q; want the credential error (20003) named", r.Reason)
			}
		},
		"rate-limit-storm": func(t *testing.T, r *report.Drill) {
			wantEvent(t, r, "fault", "concurrency limit drops to 3")
		},
		"slow-propagation": func(t *testing.T, r *report.Drill) {
			if r.RTO.OverallSeconds < 8 {
				t.Errorf("RTO %.1fs; want at least the 8s propagation delay", r.RTO.OverallSeconds)
			}
		},
		"cohort-fails-gate-midway": func(t *testing.T, r *report.Drill) {
			if len(r.RTO.Cohorts) < 2 || r.RTO.Cohorts[0].Outcome != "go" || r.RTO.Cohorts[1].Outcome != "no_go" || !r.RTO.Cohorts[1].RolledBack {
				t.Errorf("cohorts %+v; want the canary go and the second cohort no-go, rolled back", r.RTO.Cohorts)
			}
		},
	}
	if got := scenario.Library(); len(got) != len(checks) {
		t.Fatalf("library %v; this test checks %d scenarios: give each new scenario its check", got, len(checks))
	}
	// Three drills at a time: each runs an emulator under 20 calls/s.
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	reports := map[string]drillJSON{}
	for _, name := range scenario.Library() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(name, func(t *testing.T) {
				out, stderr, code := w.voicedr(t, "drill", "--flow", "support", "--scenario", name, "--workbook", wb,
					"--db", w.db, "--dir", filepath.Join(w.dir, "drills"), "--json")
				var d drillJSON
				if err := json.Unmarshal([]byte(out), &d); err != nil {
					t.Fatalf("exit %d, output not JSON: %v\n%s\n%s", code, err, out, stderr)
				}
				r := &d.Report
				if code != 0 || !r.AsExpected {
					t.Fatalf("exit %d: outcome %s, expected %s (reason %q)\n%s", code, r.Outcome, r.Expected, r.Reason, stderr)
				}
				if d.Network == nil || len(d.Network.Refused) != 0 {
					t.Errorf("network %+v: want no refused (non-loopback) connection", d.Network)
				}
				for _, f := range []string{"report.html", "report.md", "report.json", "scenario.yaml"} {
					if _, err := os.Stat(d.Files[f]); err != nil {
						t.Errorf("%s: %v", f, err)
					}
				}
				checks[name](t, r)
				mu.Lock()
				reports[name] = d
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
	if after := appRequests(t, w.appURL("us1")) + appRequests(t, w.appURL("ie1")); after != before {
		t.Errorf("the account's webhook endpoints got %d requests during tabletop drills; want 0", after-before)
	}
	// A real drill's report, read back from the browser: one chart per gate
	// series, and the canary's failing webhook-error point drawn as failing.
	if d, ok := reports["standby-webhook-failing"]; ok {
		t.Run("report in chromium", func(t *testing.T) { realReportInChromium(t, d) })
	}
}

func realReportInChromium(t *testing.T, d drillJSON) {
	chromium := chromiumPath(t)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox)...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	page := (&url.URL{Scheme: "file", Path: d.Files["report.html"]}).String()
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("svg.gate-chart"))); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	charts, err1 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.gate-chart').length`))
	failing, err2 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.gate-chart circle.point[data-pass="false"]').length`))
	outcome, err3 := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#outcome').innerText`))
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if charts != len(d.Report.Gates) || charts == 0 {
		t.Errorf("%d gate charts; want one per series, %d", charts, len(d.Report.Gates))
	}
	if failing == 0 {
		t.Error("no failing point drawn, though the canary's gate said no-go")
	}
	if !strings.Contains(outcome, "rolled back") {
		t.Errorf("outcome reads %q; want rolled back", outcome)
	}
}

func wantGap(t *testing.T, r *report.Drill, kind string) {
	t.Helper()
	if !slices.ContainsFunc(r.Gaps, func(g report.Gap) bool { return g.Kind == kind }) {
		t.Errorf("report gaps %+v lack %s", r.Gaps, kind)
	}
}

func wantEvent(t *testing.T, r *report.Drill, kind, text string) {
	t.Helper()
	if !slices.ContainsFunc(r.Timeline, func(e report.Event) bool { return e.Kind == kind && strings.Contains(e.Text, text) }) {
		t.Errorf("timeline has no %s event mentioning %q", kind, text)
	}
}
