package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu/emutest"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// TestReadinessCommandOnSnapshot runs the command on a generated account's
// snapshot with the example workbook: the demo's standby lacks sales-ivr, so
// sales is not ready (exit 3) and the package it writes verifies.
func TestReadinessCommandOnSnapshot(t *testing.T) {
	dir := t.TempDir()
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 100, RandSeed: 1})
	if err := writeSnapshot(filepath.Join(dir, "snap.json"), s); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		g := &globals{stdout: &out, stderr: io.Discard, getenv: os.Getenv, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		cmd := newReadinessCmd(g)
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	pkg := filepath.Join(dir, "pkg")
	out, err := run("--flow", "sales", "--workbook", "../../examples/voicedr.yaml", "--snapshot", filepath.Join(dir, "snap.json"), "--out", pkg)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitNotReady {
		t.Fatalf("err = %v, want exit %d", err, ExitNotReady)
	}
	for _, want := range []string{"Flow sales: NOT READY", "app_missing", "FAIL"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	if err := readiness.VerifyPackage(pkg); err != nil {
		t.Error(err)
	}
	if _, err := run("--flow", "nope", "--workbook", "../../examples/voicedr.yaml", "--snapshot", filepath.Join(dir, "snap.json")); !errors.As(err, &ee) || ee.Code != ExitUsage {
		t.Errorf("unknown flow: err = %v, want exit %d", err, ExitUsage)
	}
	if _, err := run("--workbook", "../../examples/voicedr.yaml"); !errors.As(err, &ee) || ee.Code != ExitUsage {
		t.Errorf("no --flow: err = %v, want exit %d", err, ExitUsage)
	}
}

// TestReadinessCommandReadsTheAccount reads a generated account from the
// emulator through the twilio client (no --snapshot) with the credentials
// the emulator writes, and judges the contact-center flow: its standby trunk
// lacks the disaster-recovery URL and some numbers lack a standby record.
func TestReadinessCommandReadsTheAccount(t *testing.T) {
	a := emutest.Start(t, 80, nil, twilio.Options{}, twilioemu.GenerateOptions{RandSeed: 2})
	seed, planted := a.Seed, a.Gaps
	env := a.Env(t)
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: io.Discard, getenv: envFile(env, func(string) string { return "" }),
		logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cmd := newReadinessCmd(g)
	db := filepath.Join(t.TempDir(), "voicedr.db")
	cmd.SetArgs([]string{"--flow", "contact-center", "--workbook", "../../examples/voicedr.yaml", "--regions", "us1,ie1", "--json", "--db", db})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitNotReady {
		t.Fatalf("err = %v, want exit %d", err, ExitNotReady)
	}
	var rep readiness.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, gp := range planted.Gaps {
		if gp.Region == "ie1" && (gp.Resource == "acme-cc.pstn.twilio.com" || strings.HasPrefix(numberName(seed, gp.Resource), "contact-center-")) {
			want[gp.Kind]++
		}
	}
	if len(want) < 2 {
		t.Fatalf("generator planted %v for contact-center: want a trunk gap and number gaps", want)
	}
	got := rep.GapCounts()
	delete(got, readiness.GapAttestationExpired) // the example's attestations age with the real clock
	// The example's monthly contact-center tabletop has never run in this
	// fresh database: --db makes it an overdue-drill warning.
	if got[readiness.GapDrillOverdue] != 1 {
		t.Errorf("drill_overdue gaps = %d, want 1 (contact-center-tabletop never ran)", got[readiness.GapDrillOverdue])
	}
	delete(got, readiness.GapDrillOverdue)
	if st, err := os.Stat(db); err != nil || st.Size() == 0 {
		t.Errorf("readiness kept no snapshot in %s: %v", db, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gap counts (-planted +found):\n%s", diff)
	}
}

func numberName(s *snapshot.Snapshot, e164 string) string {
	for _, n := range s.Numbers {
		if n.PhoneNumber == e164 {
			return n.FriendlyName
		}
	}
	return ""
}
