package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
)

// scheduleTestDB is a state database holding the given drills and action items.
func scheduleTestDB(t *testing.T, drills []store.Drill, items []store.ActionItem) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "voicedr.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, d := range drills {
		if err := db.SaveDrill(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range items {
		if err := db.SaveActionItem(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// runDrillSubcmd executes a command built by newCmd with args and returns its
// standard output.
func runDrillSubcmd(newCmd func(*globals) *cobra.Command, env map[string]string, args ...string) (string, error) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: io.Discard, getenv: func(k string) string { return env[k] },
		logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cmd := newCmd(g)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestDrillActionsListAndClose lists open items, closes one with a note
// (audited), refuses an unknown ID with exit 2 and a second close with 6.
func TestDrillActionsListAndClose(t *testing.T) {
	created := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	db := scheduleTestDB(t, nil, []store.ActionItem{
		{ID: "ai-1", DrillID: "drill-7", Flow: "sales", Title: "create sales-ivr in ie1", Owner: "ana", CreatedAt: created},
		{ID: "ai-2", DrillID: "drill-7", Flow: "sales", Title: "raise ie1 CPS", Owner: "bo", CreatedAt: created.Add(time.Minute)},
		{ID: "ai-0", DrillID: "drill-3", Flow: "support", Title: "old", Owner: "cy", CreatedAt: created.Add(-time.Hour),
			ClosedAt: created, ClosedBy: "cy", Note: "done"},
	})
	env := map[string]string{"USER": "dana"}
	out, err := runDrillSubcmd(newDrillActionsCmd, env, "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ai-1", "sales", "ana", "create sales-ivr in ie1", "drill-7", "ai-2", "2 open"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ai-0") {
		t.Errorf("list shows the closed item without --all:\n%s", out)
	}

	out, err = runDrillSubcmd(newDrillActionsCmd, env, "close", "ai-1", "--note", "app created, readiness green", "--db", db, "--signing-key", "", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var closed store.ActionItem
	if err := json.Unmarshal([]byte(out), &closed); err != nil {
		t.Fatalf("close --json: %v\n%s", err, out)
	}
	if closed.ClosedBy != "dana" || closed.Note != "app created, readiness green" || closed.ClosedAt.IsZero() {
		t.Errorf("closed item = %+v, want closed by $USER dana with the note", closed)
	}

	out, err = runDrillSubcmd(newDrillActionsCmd, env, "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var open []store.ActionItem
	if err := json.Unmarshal([]byte(out), &open); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range open {
		ids = append(ids, a.ID)
	}
	if diff := cmp.Diff([]string{"ai-2"}, ids); diff != "" {
		t.Errorf("open after closing ai-1 (-want +got):\n%s", diff)
	}
	if out, err = runDrillSubcmd(newDrillActionsCmd, env, "--db", db, "--all"); err != nil || !strings.Contains(out, "by dana") || !strings.Contains(out, "ai-0") {
		t.Errorf("--all: err %v, output lacks the closed items:\n%s", err, out)
	}

	var ee *ExitError
	_, err = runDrillSubcmd(newDrillActionsCmd, env, "close", "ai-9", "--note", "x", "--db", db, "--signing-key", "")
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), "ai-9 not found") {
		t.Errorf("unknown ID: err = %v, want exit %d naming it", err, ExitUsage)
	}
	_, err = runDrillSubcmd(newDrillActionsCmd, env, "close", "ai-1", "--note", "again", "--as", "eve", "--db", db, "--signing-key", "")
	if !errors.As(err, &ee) || ee.Code != ExitRefused {
		t.Errorf("closing twice: err = %v, want exit %d", err, ExitRefused)
	}
	if _, err = runDrillSubcmd(newDrillActionsCmd, env, "close", "ai-2", "--db", db); !errors.As(err, &ee) || ee.Code != ExitUsage {
		t.Errorf("no --note: err = %v, want exit %d", err, ExitUsage)
	}

	// The closing is in the audit log, by the person who closed it.
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.AuditRecords(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Kind+" "+r.Actor+" "+r.Subject)
	}
	if diff := cmp.Diff([]string{"drill.action_closed dana ai-1"}, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	if rep, err := (&audit.Log{Store: st}).Verify(context.Background(), nil); err != nil || !rep.OK {
		t.Errorf("audit chain: %+v, %v", rep, err)
	}
}
