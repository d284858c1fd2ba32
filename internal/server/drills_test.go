package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/server"
	"github.com/voicedr/voicedr/internal/store"
)

// drillsYAML adds a quarterly tabletop drill of support that never ran
// (overdue) to the test workbook.
const drillsYAML = `drills:
  - {name: support-quarterly, flow: support, kind: tabletop, cadence: quarterly}
`

// saveDrill stores a finished drill of flow whose report (rendered by
// package report into its own directory, as a drill does) recovered in
// rtoSec against a 900 s objective, lost one call and found one error gap.
func saveDrill(t *testing.T, st store.Store, id, flow string, started time.Time) store.Drill {
	t.Helper()
	rep := &report.Drill{
		Version: report.Version, ID: id, Program: "t", Flow: flow, Kind: "tabletop",
		Scenario: report.Scenario{Name: "primary-voice-down", Description: "us1 voice <down> & out"},
		Primary:  "us1", Standby: "ie1", Started: started, Ended: started.Add(5 * time.Minute),
		Outcome: "completed", Expected: "completed", AsExpected: true,
		RTO:   report.RTO{ObjectiveSeconds: 900, OverallSeconds: 240, Met: true},
		Calls: report.Calls{Source: "emulator ledger", Placed: 40, Lost: 1},
		Gaps: []report.Gap{
			{Source: "readiness", Kind: "app_missing", Severity: "error", Text: "standby app missing"},
			{Source: "readiness", Kind: "drill_overdue", Severity: "warning", Text: "late"},
		},
	}
	dir := t.TempDir()
	if _, err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	// A drill directory also holds the drill's own state database: never
	// served.
	if err := os.WriteFile(filepath.Join(dir, "state.db"), []byte("secret state"), 0o600); err != nil {
		t.Fatal(err)
	}
	body, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	d := store.Drill{ID: id, Flow: flow, Kind: "tabletop", Scenario: "primary-voice-down", Outcome: "completed",
		StartedAt: started, EndedAt: rep.Ended, Dir: dir, Report: body}
	if err := st.SaveDrill(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDrillsThroughTheAPI: the history lists newest first with the
// report's figures, filters by flow, serves the report JSON and the HTML
// under its CSP, and nothing else of a drill directory.
func TestDrillsThroughTheAPI(t *testing.T) {
	e := newEnv(t, 5, parseWB(t, "none", drillsYAML), twilioOpts())
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	old := saveDrill(t, e.st, "d-old", "support", t0)
	saveDrill(t, e.st, "d-new", "support", t0.Add(24*time.Hour))
	saveDrill(t, e.st, "d-other", "billing", t0.Add(48*time.Hour))
	running := store.Drill{ID: "d-running", Flow: "support", Kind: "live", Scenario: "primary-voice-down", Outcome: "running", StartedAt: t0.Add(72 * time.Hour)}
	if err := e.st.SaveDrill(t.Context(), running); err != nil {
		t.Fatal(err)
	}
	srv := e.start(t, nil)
	base := srv.http.URL

	var got []server.DrillItem
	if r := e.call(t, base, "vic", "GET", "/v1/drills?flow=support", nil); r.code != http.StatusOK {
		t.Fatalf("list drills: %d %s", r.code, r.body)
	} else {
		r.decode(t, &got)
	}
	want := []server.DrillItem{
		{ID: "d-running", Flow: "support", Kind: "live", Scenario: "primary-voice-down", Outcome: "running", StartedAt: t0.Add(72 * time.Hour)},
		{ID: "d-new", Flow: "support", Kind: "tabletop", Scenario: "primary-voice-down", Outcome: "completed", StartedAt: t0.Add(24 * time.Hour),
			EndedAt: t0.Add(24*time.Hour + 5*time.Minute), Report: true, RTOSeconds: 240, ObjectiveSeconds: 900, Met: true, CallsLost: 1, Gaps: 1, AsExpected: true},
		{ID: "d-old", Flow: "support", Kind: "tabletop", Scenario: "primary-voice-down", Outcome: "completed", StartedAt: t0,
			EndedAt: t0.Add(5 * time.Minute), Report: true, RTOSeconds: 240, ObjectiveSeconds: 900, Met: true, CallsLost: 1, Gaps: 1, AsExpected: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /v1/drills?flow=support (-want +got):\n%s", diff)
	}
	var all []server.DrillItem
	e.call(t, base, "vic", "GET", "/v1/drills", nil).decode(t, &all)
	if len(all) != 4 || all[1].ID != "d-other" {
		t.Errorf("GET /v1/drills: %+v; want 4 drills, billing's second newest", all)
	}

	r := e.call(t, base, "vic", "GET", "/v1/drills/d-old", nil)
	if r.code != http.StatusOK || !bytes.Equal(r.body, old.Report) {
		t.Errorf("GET /v1/drills/d-old: %d %s; want the stored report", r.code, r.body)
	}
	if r := e.call(t, base, "vic", "GET", "/v1/drills/d-running", nil); r.code != http.StatusNotFound {
		t.Errorf("report of a running drill: %d %s; want 404", r.code, r.body)
	}
	if r := e.call(t, base, "vic", "GET", "/v1/drills/nope", nil); r.code != http.StatusNotFound {
		t.Errorf("unknown drill: %d %s; want 404", r.code, r.body)
	}

	html, err := os.ReadFile(filepath.Join(old.Dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	r = e.call(t, base, "vic", "GET", "/v1/drills/d-old/report.html", nil)
	if r.code != http.StatusOK || !bytes.Equal(r.body, html) {
		t.Fatalf("report.html: %d, %d bytes; want the file's %d", r.code, len(r.body), len(html))
	}
	if got, want := r.hdr.Get("Content-Security-Policy"), "default-src 'none'; style-src 'unsafe-inline'; img-src data:"; got != want {
		t.Errorf("report.html CSP %q; want %q", got, want)
	}
	if ct := r.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("report.html Content-Type %q; want text/html", ct)
	}
	if r := e.call(t, base, "", "GET", "/v1/drills/d-old/report.html", nil); r.code != http.StatusUnauthorized {
		t.Errorf("report.html without a token: %d; want 401", r.code)
	}
	// Only report.html: other files of the directory are not routes, and
	// escaping the directory through the ID finds no drill.
	for _, p := range []string{"/v1/drills/d-old/state.db", "/v1/drills/d-old/report.json", "/v1/drills/..%2Fd-old/report.html"} {
		if r := e.call(t, base, "vic", "GET", p, nil); r.code != http.StatusNotFound || strings.Contains(string(r.body), "secret state") {
			t.Errorf("GET %s: %d %s; want 404", p, r.code, r.body)
		}
	}
	if err := os.Remove(filepath.Join(old.Dir, "report.html")); err != nil {
		t.Fatal(err)
	}
	if r := e.call(t, base, "vic", "GET", "/v1/drills/d-old/report.html", nil); r.code != http.StatusNotFound {
		t.Errorf("missing report.html: %d %s; want 404", r.code, r.body)
	}
	// A report.html that is a symlink (to the state database here) is not
	// followed.
	if err := os.Symlink(filepath.Join(old.Dir, "state.db"), filepath.Join(old.Dir, "report.html")); err != nil {
		t.Fatal(err)
	}
	if r := e.call(t, base, "vic", "GET", "/v1/drills/d-old/report.html", nil); r.code != http.StatusNotFound || strings.Contains(string(r.body), "secret state") {
		t.Errorf("report.html as a symlink: %d %s; want 404", r.code, r.body)
	}
	if r := e.call(t, base, "vic", "GET", "/v1/drills/d-running/report.html", nil); r.code != http.StatusNotFound {
		t.Errorf("report.html of a drill without a directory: %d %s; want 404", r.code, r.body)
	}
}

// TestActionItemsThroughTheAPI: open items list, a viewer cannot close,
// an operator closes with a note as themself (audited), a second close is
// a conflict, and an admin may close too.
func TestActionItemsThroughTheAPI(t *testing.T) {
	e := newEnv(t, 5, parseWB(t, "none", ""), twilioOpts())
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i, title := range []string{"create the standby app", "set the trunk's DR URL"} {
		a := store.ActionItem{ID: []string{"a1", "a2"}[i], DrillID: "d1", Flow: "support", Title: title, Owner: "olga", CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
		if err := e.st.SaveActionItem(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	srv := e.start(t, func(o *server.Options) { o.Audit = &audit.Log{Store: e.st, CheckpointEvery: -1} })
	base := srv.http.URL
	open := func() []string {
		var items []store.ActionItem
		e.call(t, base, "vic", "GET", "/v1/actions", nil).decode(t, &items)
		var ids []string
		for _, a := range items {
			ids = append(ids, a.ID)
		}
		return ids
	}
	if diff := cmp.Diff([]string{"a1", "a2"}, open()); diff != "" {
		t.Fatalf("open items (-want +got):\n%s", diff)
	}
	note := map[string]string{"note": "standby app created, readiness green"}
	if r := e.call(t, base, "vic", "POST", "/v1/actions/a1/close", note); r.code != http.StatusForbidden {
		t.Errorf("viewer closes: %d %s; want 403", r.code, r.body)
	}
	if r := e.call(t, base, "olga", "POST", "/v1/actions/a1/close", map[string]string{"note": "  "}); r.code != http.StatusBadRequest {
		t.Errorf("close without a note: %d %s; want 400", r.code, r.body)
	}
	if r := e.call(t, base, "olga", "POST", "/v1/actions/a1/close", map[string]string{"note": "x", "closed_by": "bob"}); r.code != http.StatusBadRequest {
		t.Errorf("a body naming the closer: %d %s; want 400 (the token's person closes)", r.code, r.body)
	}
	if r := e.call(t, base, "olga", "POST", "/v1/actions/nope/close", note); r.code != http.StatusNotFound {
		t.Errorf("close an unknown item: %d %s; want 404", r.code, r.body)
	}
	r := e.call(t, base, "olga", "POST", "/v1/actions/a1/close", note)
	if r.code != http.StatusOK {
		t.Fatalf("operator closes: %d %s", r.code, r.body)
	}
	var closed store.ActionItem
	r.decode(t, &closed)
	if closed.ClosedBy != "olga" || closed.Note != note["note"] || closed.ClosedAt.IsZero() {
		t.Errorf("closed item: %+v; want closed by olga with the note", closed)
	}
	if r := e.call(t, base, "alice", "POST", "/v1/actions/a1/close", note); r.code != http.StatusConflict || !strings.Contains(string(r.body), "olga") {
		t.Errorf("close again: %d %s; want 409 naming who closed it", r.code, r.body)
	}
	if diff := cmp.Diff([]string{"a2"}, open()); diff != "" {
		t.Errorf("open items after closing a1 (-want +got):\n%s", diff)
	}
	if r := e.call(t, base, "root", "POST", "/v1/actions/a2/close", map[string]string{"note": "done"}); r.code != http.StatusOK {
		t.Errorf("admin closes: %d %s; want 200", r.code, r.body)
	}
	var every []store.ActionItem
	e.call(t, base, "vic", "GET", "/v1/actions?all=1", nil).decode(t, &every)
	if len(every) != 2 || every[0].ClosedBy != "olga" || every[1].ClosedBy != "root" {
		t.Errorf("every item: %+v; want a1 closed by olga, a2 by root", every)
	}
	if ids := open(); len(ids) != 0 {
		t.Errorf("open items after closing both: %v; want none", ids)
	}
	recs, err := e.st.AuditRecords(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, rec := range recs {
		if rec.Kind == "drill.action_closed" {
			var item store.ActionItem
			if err := json.Unmarshal(rec.Body, &item); err != nil {
				t.Fatal(err)
			}
			audited = append(audited, rec.Actor+":"+rec.Subject+":"+item.Note)
		}
	}
	if diff := cmp.Diff([]string{"olga:a1:" + note["note"], "root:a2:done"}, audited); diff != "" {
		t.Errorf("audit entries drill.action_closed (-want +got):\n%s", diff)
	}
}

// TestFlowsShowOverdueDrills: the server's readiness judges the workbook's
// drills against the store's history: a drill never run is a drill_overdue
// warning, and once a drill of it is stored the gap goes.
func TestFlowsShowOverdueDrills(t *testing.T) {
	e := newEnv(t, 5, parseWB(t, "none", drillsYAML), twilioOpts())
	now := time.Now()
	srv := e.start(t, func(o *server.Options) { o.Now = func() time.Time { return now } })
	overdue := func() (bool, bool) {
		var flows []server.FlowView
		e.call(t, srv.http.URL, "vic", "GET", "/v1/flows", nil).decode(t, &flows)
		if len(flows) != 1 {
			return false, false
		}
		for _, g := range flows[0].Gaps {
			if g.Kind == "drill_overdue" && g.Severity == "warning" && strings.Contains(g.Resource, "support-quarterly") {
				return true, true
			}
		}
		return false, true
	}
	waitFor(t, "a drill_overdue gap", 20*time.Second, func() bool { got, _ := overdue(); return got })
	d := store.Drill{ID: "d1", Flow: "support", Name: "support-quarterly", Kind: "tabletop", Scenario: "primary-voice-down",
		Outcome: "completed", StartedAt: now.Add(-time.Hour), EndedAt: now.Add(-50 * time.Minute)}
	if err := e.st.SaveDrill(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the gap gone after the drill ran", 20*time.Second, func() bool { got, checked := overdue(); return checked && !got })
}
