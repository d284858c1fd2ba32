//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
)

// chromiumPath finds Debian's chromium, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("install chromium (apt-get install chromium) to run the browser test")
	return ""
}

// server is a running `voicedr serve`.
type server struct {
	base string // http://host:port
}

// startServe runs `voicedr serve` against the world's emulator and db, with
// short probe and readiness intervals, and waits for /healthz.
func startServe(t *testing.T, w *world, wb string) *server {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--listen", addr, "--workbook", wb, "--db", w.db,
		"--probe-interval", "1s", "--readiness-interval", "2s", "--rate", "1000")
	cmd.Env = w.env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("voicedr serve did not stop on SIGINT")
		}
		if t.Failed() {
			t.Logf("voicedr serve log:\n%s", logs.String())
		}
	})
	s := &server{base: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("voicedr serve never answered /healthz: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call sends an API request with a person's token and decodes a JSON
// answer into out (when not nil); it returns the status code.
func (s *server) call(t *testing.T, token, method, path string, body io.Reader, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.base+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, b, err)
		}
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return resp.StatusCode
}

// salesFlow is a second flow whose TwiML App the generated account lacks
// in the standby region: the flows page has a gap to show.
const salesFlow = `  - name: sales
    criticality: high
    selectors: {friendly_name_prefix: [sales-]}
    rto: 30m
    cohorts:
      - {name: all, order: 1, share: 1, gate: g, no_go: rollback}
`

// TestDashboard drives the embedded dashboard in headless Chromium: log in
// with a token, see a readiness gap, be refused approving one's own
// request, approve a plan as two other people (one on a phone-sized
// screen), then watch the run's cohorts commit and its gate chart draw
// its threshold. It asserts on what the page shows.
func TestDashboard(t *testing.T) {
	chromium := chromiumPath(t)
	w := startWorld(t, 300)
	wb := w.writeWorkbook(t, workbookOpts{Extra: governanceYAML})
	b, err := os.ReadFile(wb)
	if err != nil {
		t.Fatal(err)
	}
	withSales := strings.Replace(string(b), "flows:\n", "flows:\n"+salesFlow, 1)
	if err := os.WriteFile(wb, []byte(withSales), 0o644); err != nil {
		t.Fatal(err)
	}

	tokens := map[string]string{}
	for _, who := range []string{"Ada", "Alan", "Grace"} {
		out, stderr, code := w.voicedr(t, "token", "create", "--person", who, "--workbook", wb, "--db", w.db)
		if code != 0 || strings.TrimSpace(out) == "" {
			t.Fatalf("token create --person %s: exit %d\n%s%s", who, code, out, stderr)
		}
		tokens[who] = strings.TrimSpace(out)
	}
	planFile := filepath.Join(w.dir, "plan.json")
	if out, stderr, code := w.voicedr(t, "plan", "failover", "--flow", "support", "--workbook", wb, "--db", w.db, "-o", planFile, "--rate", "1000"); code != 0 {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, stderr)
	}
	seedDrill(t, w)
	srv := startServe(t, w, wb)
	if resp, err := http.Get(srv.base + "/"); err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("voicedr serve does not serve the dashboard at / (is server.Options.UI set to ui.Handler()?): %v %v", err, resp)
	}

	// Ada uploads the plan and asks to apply it before anyone approved:
	// refused, and she is now its requester.
	body, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	var up struct{ Digest string }
	if code := srv.call(t, tokens["Ada"], "POST", "/v1/plans", bytes.NewReader(body), &up); code != 201 || up.Digest == "" {
		t.Fatalf("POST /v1/plans: %d %+v", code, up)
	}
	digest := up.Digest
	if code := srv.call(t, tokens["Ada"], "POST", "/v1/plans/"+digest+"/apply", strings.NewReader("{}"), nil); code < 400 {
		t.Fatalf("apply before any approval: %d, want a refusal", code)
	}

	// A flow with gaps, as the API tells it once readiness has run.
	var gapFlow, gapKind string
	deadline := time.Now().Add(60 * time.Second)
	for gapFlow == "" {
		var flows []struct {
			Flow string
			Gaps []struct{ Kind, Remediation string }
		}
		srv.call(t, tokens["Alan"], "GET", "/v1/flows", nil, &flows)
		for _, f := range flows {
			if len(f.Gaps) > 0 && gapFlow == "" {
				gapFlow, gapKind = f.Flow, f.Gaps[0].Kind
			}
		}
		if gapFlow == "" {
			if time.Now().After(deadline) {
				t.Fatalf("no flow shows a gap in /v1/flows: %+v", flows)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	// One browser, one tab per person: sessionStorage (where the token
	// lives) is per tab.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, 4*time.Minute)
	defer cancel()
	tab := func(w, h int64, opts ...chromedp.EmulateViewportOption) context.Context {
		c, _ := chromedp.NewContext(ctx)
		if err := chromedp.Do(c, chromedp.EmulateViewport(w, h, opts...)); err != nil {
			t.Fatalf("open a tab: %v", err)
		}
		return c
	}
	fail := func(c context.Context, step string, err error) {
		t.Helper()
		html, _ := chromedp.Run(c, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: %v\npage main:\n%s", step, err, html)
	}
	do := func(c context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(c, steps...); err != nil {
			fail(c, step, err)
		}
	}
	visible := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.WaitVisible(chromedp.CSS(sel)) }
	text := func(c context.Context, sel string) string {
		t.Helper()
		if err := chromedp.Do(c, visible(sel)); err != nil {
			fail(c, "find "+sel, err)
		}
		s, err := chromedp.Run(c, chromedp.Evaluate[string](fmt.Sprintf("document.querySelector(%q).innerText", sel)))
		if err != nil {
			fail(c, "read "+sel, err)
		}
		return strings.TrimSpace(s)
	}
	click := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }
	keys := func(sel, v string) chromedp.Action[chromedp.Void] { return chromedp.SendKeys(chromedp.CSS(sel), v) }
	// hash moves the single-page app to a route: a hash-only change is not
	// a page load, which chromedp.Navigate would wait for.
	hash := func(route string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[string](fmt.Sprintf("location.hash = %q", route))(ctx, t)
			return err
		})
	}
	login := func(c context.Context, who string) {
		t.Helper()
		do(c, "log in as "+who,
			chromedp.Navigate(srv.base+"/#/login"),
			visible(`[data-testid="token-input"]`),
			keys(`[data-testid="token-input"]`, tokens[who]),
			click(`[data-testid="login-submit"]`),
			visible(`[data-testid="region"]`))
		if me := text(c, `[data-testid="me"]`); !strings.Contains(me, who) {
			t.Errorf("logged in as %s, the header says %q", who, me)
		}
	}

	// A wrong token stays on the login page with a message.
	stranger := tab(1280, 900)
	do(stranger, "log in with a wrong token",
		chromedp.Navigate(srv.base+"/#/login"),
		visible(`[data-testid="token-input"]`),
		keys(`[data-testid="token-input"]`, "not-a-token"),
		click(`[data-testid="login-submit"]`),
		visible(`[data-testid="login-error"]`))
	if msg := text(stranger, `[data-testid="login-error"]`); !strings.Contains(msg, "refused") {
		t.Errorf("login with a wrong token says %q", msg)
	}
	ada := tab(1280, 900)
	login(ada, "Ada")
	// The overview shows every region's live health.
	if regions := text(ada, `[data-testid="regions"]`); !strings.Contains(regions, "us1") || !strings.Contains(regions, "ie1") {
		t.Errorf("the overview's regions read %q", regions)
	}

	// Alan, on a phone-sized screen, sees the gap and its remediation.
	alan := tab(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	login(alan, "Alan")
	flowSel := fmt.Sprintf(`[data-testid="flow"][data-flow=%q]`, gapFlow)
	gapSel := fmt.Sprintf(`%s [data-testid="gap"][data-kind=%q]`, flowSel, gapKind)
	do(alan, "see a gap on the flows page", hash("#/flows"), visible(gapSel))
	gapText := text(alan, gapSel)
	fix := text(alan, gapSel+` [data-testid="gap-remediation"]`)
	if !strings.Contains(gapText, gapKind) || fix == "" {
		t.Errorf("the gap shows %q with remediation %q; want its kind %s and a remediation", gapText, fix, gapKind)
	}
	if ready := text(alan, flowSel+` [data-testid="flow-ready"]`); ready != "not ready" {
		t.Errorf("flow %s with gaps is shown as %q", gapFlow, ready)
	}
	// The phone layout does not scroll sideways.
	if wide, err := chromedp.Run(alan, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); err != nil || wide {
		t.Errorf("the flows page is wider than a 390 px phone screen (err %v)", err)
	}

	// Ada, the requester, is refused and the page says why.
	card := fmt.Sprintf(`[data-testid="approval"][data-digest=%q]`, digest)
	do(ada, "the requester's own approval is refused",
		hash("#/approvals"),
		visible(card+` [data-testid="approve"]`),
		click(card+` [data-testid="approve"]`),
		visible(card+` [data-testid="approval-error"]`))
	refusal := text(ada, card+` [data-testid="approval-error"]`)
	if !strings.HasPrefix(refusal, "Refused: ") || len(refusal) < 15 {
		t.Errorf("the requester's approval shows %q; want the server's 403 message", refusal)
	}
	t.Logf("the requester's own approval: %s", refusal)

	// Alan (phone) and Grace approve; the card then shows the plan approved.
	do(alan, "Alan approves",
		hash("#/approvals"),
		visible(card+` [data-testid="approve"]`),
		keys(card+` [data-testid="approval-reason"]`, "us1 is down; standby verified"),
		click(card+` [data-testid="approve"]`),
		visible(card+` [data-testid="approval-record"][data-person="Alan"]`))
	grace := tab(1280, 900)
	login(grace, "Grace")
	do(grace, "Grace approves",
		hash("#/approvals"),
		visible(card+` [data-testid="approve"]`),
		click(card+` [data-testid="approve"]`),
		visible(card+`[data-satisfied="true"] [data-testid="approval-record"][data-person="Grace"]`))
	if status := text(grace, card+` [data-testid="approval-state"]`); status != "approved" {
		t.Errorf("after two approvals the card says %q", status)
	}

	// Ada applies; the run page shows cohorts committing and a gate chart
	// with its threshold line.
	var started struct {
		RunID string `json:"run_id"`
	}
	if code := srv.call(t, tokens["Ada"], "POST", "/v1/plans/"+digest+"/apply", strings.NewReader("{}"), &started); code >= 300 || started.RunID == "" {
		t.Fatalf("apply with both approvals: %d %+v", code, started)
	}
	canary := `[data-testid="cohort"][data-cohort="canary"]`
	canaryGate := `[data-testid="gate"][data-cohort="canary"]`
	do(ada, "watch the canary cohort commit",
		hash("#/runs/"+started.RunID),
		visible(canary),
		visible(canary+`[data-committed-all="true"]`),
		visible(canaryGate+` [data-testid="value-line"]`))
	progress := text(ada, canary+` [data-testid="cohort-progress"]`)
	var n, total int
	if _, err := fmt.Sscanf(progress, "%d / %d committed", &n, &total); err != nil || n != total || n == 0 {
		t.Errorf("canary progress reads %q; want every action committed", progress)
	}
	label, err := chromedp.Run(ada, chromedp.AttributeValue(chromedp.CSS(canaryGate+` [data-testid="gate-chart"]`), "aria-label"))
	if err != nil {
		fail(ada, "read the gate chart", err)
	}
	lines, err := chromedp.Run(ada, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="gate"][data-cohort="canary"] svg [data-testid="threshold-line"]').length`))
	if err != nil || lines == 0 || !strings.Contains(label.Value, "threshold") {
		t.Errorf("canary gate chart: %d threshold lines (err %v), label %q", lines, err, label.Value)
	}
	do(ada, "the run completes", visible(`[data-testid="cohort"][data-cohort="rest"][data-committed-all="true"]`))
	t.Logf("canary: %s; gate chart: %q; run: %s", progress, label.Value, text(ada, `[data-testid="run-state-badge"]`))

	// The runs history lists it; the audit page shows its verify status.
	do(grace, "runs history", hash("#/runs"),
		visible(fmt.Sprintf(`[data-testid="run-row"] a[href=%q]`, "#/runs/"+started.RunID)))
	do(grace, "audit log", hash("#/audit"), visible(`[data-testid="audit-verify-status"]`))
	audit := text(grace, `[data-testid="audit-verify-status"]`)
	if audit != "verified" {
		t.Errorf("the audit page says the chain is %q, want verified", audit)
	}
	// The page lists the latest entries, newest first: the run is there.
	if entries := text(grace, `[data-testid="audit-entries"]`); !strings.Contains(entries, "run") {
		t.Errorf("the audit log on the page shows nothing of the run:\n%s", entries)
	}
	t.Logf("audit verify status on the page: %s", audit)

	// The drills page lists the drill with its report's figures, shows the
	// report itself, and closes an action item with a note, as Grace.
	row := `[data-testid="drill-row"][data-drill="drill-e2e"]`
	do(grace, "drills history", hash("#/drills"), visible(row), visible(`[data-testid="action"][data-action="act-e2e"]`))
	if got := text(grace, row+` [data-testid="drill-outcome"]`); got != "Completed" {
		t.Errorf("the drill's outcome reads %q; want Completed", got)
	}
	if got := text(grace, row+` [data-testid="drill-lost"]`); got != "2" {
		t.Errorf("the drill's calls lost read %q; want 2", got)
	}
	if got := text(grace, row); !strings.Contains(got, "4m 00s / 15m 00s") || !strings.Contains(got, "met") {
		t.Errorf("the drill's row reads %q; want its RTO against the objective, met", got)
	}
	do(grace, "open the drill's report", click(row+` [data-testid="drill-report"]`), visible(`[data-testid="report-view"]`))
	shown, err := chromedp.Run(grace, chromedp.Evaluate[bool](`(() => {
		const r = document.querySelector('[data-testid="report-view"]').shadowRoot;
		return !!r && r.textContent.includes("primary-voice-down") && r.adoptedStyleSheets.length === 1;
	})()`))
	if err != nil || !shown {
		t.Errorf("the report view does not show the styled report (err %v)", err)
	}
	// The note prompt answers as a person would type.
	do(grace, "close the action item",
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[string](`window.prompt = () => "standby app created"; ""`)(ctx, t)
			return err
		}),
		click(`[data-testid="action"][data-action="act-e2e"] [data-testid="action-close"]`),
		visible(`[data-testid="no-actions"]`))
	var items []struct {
		ID       string
		ClosedBy string `json:"closed_by"`
		Note     string
	}
	srv.call(t, tokens["Alan"], "GET", "/v1/actions?all=1", nil, &items)
	if len(items) != 1 || items[0].ClosedBy != "Grace" || items[0].Note != "standby app created" {
		t.Errorf("action items after closing from the page: %+v; want act-e2e closed by Grace with the note", items)
	}
	// On a phone the drills page does not scroll sideways either.
	do(alan, "drills on a phone", hash("#/drills"), visible(row))
	if wide, err := chromedp.Run(alan, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); err != nil || wide {
		t.Errorf("the drills page is wider than a 390 px phone screen (err %v)", err)
	}
}

// seedDrill stores, in the world's state database, a finished tabletop
// drill of support whose report package report rendered into its own
// directory (as voicedr drill does), and one open action item from it: the
// dashboard reads what a drill leaves, without spending half a minute on
// running one.
func seedDrill(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	rep := &report.Drill{
		Version: report.Version, ID: "drill-e2e", Program: "e2e", Flow: "support", Kind: "tabletop",
		Scenario: report.Scenario{Name: "primary-voice-down", Description: "us1 voice is down"},
		Primary:  "us1", Standby: "ie1", Started: start, Ended: start.Add(6 * time.Minute),
		Outcome: "completed", Expected: "completed", AsExpected: true,
		RTO:     report.RTO{ObjectiveSeconds: 900, OverallSeconds: 240, Met: true},
		Calls:   report.Calls{Source: "emulator ledger", Placed: 50, Lost: 2},
		Gaps:    []report.Gap{{Source: "readiness", Kind: "app_missing", Severity: "error", Text: "the standby has no app"}},
		Actions: []report.Action{{ID: "act-e2e", Title: "Create the standby app", Owner: "Ada", Status: "open"}},
	}
	dir := filepath.Join(w.dir, "drills", "drill-e2e")
	if _, err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	body, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SaveDrill(ctx, store.Drill{ID: "drill-e2e", Flow: "support", Kind: "tabletop", Scenario: "primary-voice-down",
		Outcome: "completed", StartedAt: start, EndedAt: rep.Ended, Dir: dir, Report: body}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveActionItem(ctx, store.ActionItem{ID: "act-e2e", DrillID: "drill-e2e", Flow: "support",
		Title: "Create the standby app", Owner: "Ada", CreatedAt: rep.Ended}); err != nil {
		t.Fatal(err)
	}
}
