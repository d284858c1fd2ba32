package cli

import (
	"bytes"
	"context"
	"errors"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu/emutest"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

func runInit(getenv func(string) string, args ...string) (string, error) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: io.Discard, getenv: getenv, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cmd := newInitCmd(g)
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func flowNames(t *testing.T, path string) string {
	t.Helper()
	wb, err := workbook.Load(path)
	if err != nil {
		t.Fatalf("the written workbook does not load: %v", err)
	}
	var names []string
	for _, f := range wb.Flows {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

const demoFlows = "billing,contact-center,dispatch,marketing,sales,support,unassigned"

func TestInitFromSnapshot(t *testing.T) {
	dir := t.TempDir()
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 100, RandSeed: 1})
	snap := filepath.Join(dir, "snap.json")
	if err := writeSnapshot(snap, s); err != nil {
		t.Fatal(err)
	}
	wbPath := filepath.Join(dir, "voicedr.yaml")
	out, err := runInit(os.Getenv, "--snapshot", snap, "-o", wbPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Wrote "+wbPath) || !strings.Contains(out, "100 numbers") {
		t.Errorf("output = %q", out)
	}
	if got := flowNames(t, wbPath); got != demoFlows {
		t.Errorf("flows = %s, want %s", got, demoFlows)
	}

	// An existing workbook is kept unless --force.
	if err := os.WriteFile(wbPath, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ee *ExitError
	_, err = runInit(os.Getenv, "--snapshot", snap, "-o", wbPath)
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrite without --force: err = %v, want exit %d naming --force", err, ExitUsage)
	}
	if b, _ := os.ReadFile(wbPath); string(b) != "mine\n" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	if _, err := runInit(os.Getenv, "--snapshot", snap, "-o", wbPath, "--force"); err != nil {
		t.Fatal(err)
	}
	if got := flowNames(t, wbPath); got != demoFlows {
		t.Errorf("after --force flows = %s", got)
	}

	// -o - writes the draft to standard output.
	out, err = runInit(os.Getenv, "--snapshot", snap, "-o", "-")
	if err != nil || !strings.HasPrefix(out, "# voicedr workbook drafted by `voicedr init`") {
		t.Errorf("-o -: err %v, output starts %.80q", err, out)
	}

	for _, args := range [][]string{
		{"--snapshot", snap, "--primary", "us1", "--standby", "us1", "-o", "-"},
		{"--snapshot", snap, "--primary", "mars", "-o", "-"},
		{"--snapshot", filepath.Join(dir, "missing.json"), "-o", "-"},
		{"--snapshot", snap, "-o", ""},
	} {
		if _, err := runInit(os.Getenv, args...); !errors.As(err, &ee) || ee.Code != ExitUsage {
			t.Errorf("%v: err = %v, want exit %d", args, err, ExitUsage)
		}
	}
}

// TestInitReadsTheAccount drafts from the emulator through the twilio
// client, as `voicedr init` does against a real account.
func TestInitReadsTheAccount(t *testing.T) {
	a := emutest.Start(t, 60, nil, twilio.Options{}, twilioemu.GenerateOptions{RandSeed: 3})
	env := a.Env(t)
	wbPath := filepath.Join(t.TempDir(), "voicedr.yaml")
	if _, err := runInit(envFile(env, func(string) string { return "" }), "-o", wbPath); err != nil {
		t.Fatal(err)
	}
	if got := flowNames(t, wbPath); got != demoFlows {
		t.Errorf("flows = %s, want %s", got, demoFlows)
	}
}
