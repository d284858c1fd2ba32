//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/voicedr/voicedr/internal/report"
)

// reportFixture is a drill report like the ones drills write: an unattended
// tabletop drill whose second cohort fails its gate and rolls back, with a
// missing measurement, stand-ins, gaps, actions and three drills of
// history. Times come from a fixed clock, and the scenario's description
// carries markup that must stay text.
func reportFixture() *report.Drill {
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	return &report.Drill{
		Version: report.Version, ID: "drill-e2e", Program: "Acme Support DR", Flow: "support-line", Kind: "tabletop",
		Scenario: report.Scenario{Name: "standby-webhook-failing",
			Description: `ie1's webhook answers 500 to 30% of calls <script>document.title="pwned"</script>`},
		Workbook: report.Workbook{Path: "workbooks/acme.yaml", SHA256: "9f86d081884c7d65"},
		Primary:  "us1", Standby: "ie1", Started: start, Ended: at(214.6),
		Outcome: "rolled_back", Expected: "rolled_back", AsExpected: true,
		Reason: "cohort wave-1 failed its gate",
		RTO: report.RTO{ObjectiveSeconds: 300, Cohorts: []report.CohortRTO{
			{Name: "canary", Numbers: 5, Started: at(20), Routed: at(24.5), Proven: at(31.2), Decided: at(62), Outcome: "go", RTOSeconds: 62},
			{Name: "wave-1", Numbers: 45, Started: at(70), Routed: at(78.3), Proven: at(85.1), Decided: at(128.4), Outcome: "no_go", RolledBack: true},
		}},
		Timeline: []report.Event{
			{At: at(0), Kind: "scenario", Text: "scenario started"},
			{At: at(8.2), Kind: "detection", Actor: "trigger:us1-voice-errors", Text: "us1 voice errors"},
			{At: at(128.4), Kind: "gate", Cohort: "wave-1", Text: "no-go: error_rate 0.18 >= 0.05"},
			{At: at(140.2), Kind: "cohort_rolled_back", Cohort: "wave-1", Text: "45 numbers back on us1"},
		},
		Calls: report.Calls{Source: "emulator ledger", Placed: 1240, Lost: 31, Fallback: 17,
			Phases: []report.Phase{{Name: "during the move", Placed: 620, Lost: 29, Fallback: 17}}},
		Gates: []report.GateSeries{
			{Gate: "error-rate", Signal: "error_rate", Op: "<", Threshold: 0.05, Points: []report.Point{
				{At: at(45), Cohort: "canary", Value: 0.012, Sample: 48, Pass: true},
				{At: at(62), Cohort: "canary", Value: 0.008, Sample: 121, Pass: true},
				{At: at(128.4), Cohort: "wave-1", Value: 0.18, Sample: 210},
			}},
			{Gate: "answer-latency", Signal: "p95_answer_ms", Op: "<=", Threshold: 1500, Unit: "ms", Points: []report.Point{
				{At: at(45), Cohort: "canary", Value: 820, Sample: 48, Pass: true},
				{At: at(62), Cohort: "canary", Missing: "no answered calls in the window"},
			}},
			{Gate: "fallback-share", Signal: "fallback_ratio", Op: "<", Threshold: 0.1}, // never evaluated
		},
		Gaps:     []report.Gap{{Source: "drill", Kind: "standby_webhook_failing", Severity: "error", Text: "ie1 webhook answers 500"}},
		Actions:  []report.Action{{ID: "A-1", Title: "Fix the ie1 webhook", Owner: "carol", Status: "open"}},
		StandIns: []report.StandIn{{Person: "bob", Role: "approver", Step: "approval"}},
		History: []report.HistoryPoint{
			{DrillID: "d1", At: start.AddDate(0, -6, 0), Kind: "tabletop", Outcome: "completed", RTOSeconds: 240, CallsLost: 12, GapsOpen: 3},
			{DrillID: "d2", At: start.AddDate(0, -3, 0), Kind: "live", Outcome: "completed", RTOSeconds: 210, CallsLost: 8, GapsOpen: 2},
			{DrillID: "drill-e2e", At: start, Kind: "tabletop", Outcome: "rolled_back", CallsLost: 31, GapsOpen: 2},
		},
		Notes: []string{"Runbook: https://wiki.acme.example/dr"},
	}
}

// TestReportRendersInChromium opens the written report.html from disk in
// headless Chromium and reads its charts back from the DOM, as a reader's
// browser would lay them out, and checks the page fetched nothing.
func TestReportRendersInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	d := reportFixture()
	files, err := d.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	page := (&url.URL{Scheme: "file", Path: files["report.html"]}).String()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()

	// Every request the tab makes, recorded from the network domain: the
	// page itself is the only one allowed.
	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("svg.rto-chart"))); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	eval := func(expr string, out any) {
		t.Helper()
		var err error
		switch p := out.(type) {
		case *int:
			*p, err = chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		case *string:
			*p, err = chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		case *[]string:
			*p, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](expr))
		default:
			t.Fatalf("eval into %T", out)
		}
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
	}

	var charts int
	eval(`document.querySelectorAll('svg.gate-chart').length`, &charts)
	if charts != len(d.Gates) {
		t.Errorf("%d gate charts on the page; want one per series, %d", charts, len(d.Gates))
	}
	for _, g := range d.Gates {
		sel := fmt.Sprintf(`svg.gate-chart[data-gate=%q][data-signal=%q]`, g.Gate, g.Signal)
		var pass []string
		eval(fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(c => c.dataset.pass)`, sel+" circle.point"), &pass)
		var want []string
		for _, p := range g.Points {
			want = append(want, fmt.Sprint(p.Pass))
		}
		if strings.Join(pass, ",") != strings.Join(want, ",") {
			t.Errorf("gate %s: circles' data-pass %v; want %v", g.Gate, pass, want)
		}
		var threshold string
		eval(fmt.Sprintf(`(document.querySelector(%q) || {dataset: {}}).dataset.threshold || ""`, sel+" line.threshold"), &threshold)
		if threshold != fmt.Sprint(g.Threshold) {
			t.Errorf("gate %s: threshold line %q; want %v", g.Gate, threshold, g.Threshold)
		}
		// Laid out, not just present: the threshold line has a width.
		var width int
		eval(fmt.Sprintf(`Math.round(document.querySelector(%q).getBoundingClientRect().width)`, sel+" line.threshold"), &width)
		if width <= 0 {
			t.Errorf("gate %s: the threshold line is not drawn (width %d)", g.Gate, width)
		}
	}

	var bars []string
	eval(`Array.from(document.querySelectorAll('svg.rto-chart rect.rto-bar')).map(b => b.dataset.cohort)`, &bars)
	if strings.Join(bars, ",") != "canary,wave-1" {
		t.Errorf("RTO bars for %v; want canary,wave-1", bars)
	}
	var objective string
	eval(`(document.querySelector('svg.rto-chart line.objective') || {dataset: {}}).dataset.objective || ""`, &objective)
	if objective != "300" {
		t.Errorf("objective line %q; want 300", objective)
	}
	var trends int
	eval(`document.querySelectorAll('svg.trend-chart').length`, &trends)
	if trends != 1 {
		t.Errorf("%d trend charts; want 1 for three drills of history", trends)
	}

	var outcome, title, description string
	eval(`document.querySelector('#outcome .outcome').innerText`, &outcome)
	if !strings.Contains(outcome, "Outcome: rolled back") || !strings.Contains(outcome, "as expected") {
		t.Errorf("the outcome reads %q", outcome)
	}
	// The description's script is text on the page, and did not run.
	eval(`document.title`, &title)
	eval(`document.querySelector('.scenario-description').innerText`, &description)
	if strings.Contains(title, "pwned") || !strings.Contains(description, "<script>") {
		t.Errorf("the description's markup was not kept as text: title %q, description %q", title, description)
	}
	var scripts int
	eval(`document.querySelectorAll('script').length`, &scripts)
	if scripts != 0 {
		t.Errorf("the page has %d script elements; want none", scripts)
	}

	var resources int
	eval(`performance.getEntriesByType('resource').length`, &resources)
	if resources != 0 {
		t.Errorf("the page loaded %d resources; want none", resources)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range requests {
		if r != page {
			t.Errorf("the page made a request to %s", r)
		}
	}
	if len(requests) == 0 {
		t.Error("no request seen at all, not even the page's: the network listener saw nothing, so it proves nothing")
	}
}
