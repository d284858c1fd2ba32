//go:build e2e

// Package e2e builds the real voicedr binary and runs it against the real
// emulator, as a user would. Run with: go test -tags e2e ./e2e/...
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "voicedr-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "voicedr")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/voicedr").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build voicedr: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes voicedr with env and returns stdout, stderr and exit code.
func run(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startEmulator runs `voicedr emulator` and returns its address and the
// environment its --env-out file describes.
func startEmulator(t *testing.T, extra ...string) (string, []string, string) {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	envFile, gaps := filepath.Join(dir, "emu.env"), filepath.Join(dir, "gaps.json")
	args := append([]string{"emulator", "--listen", addr, "--numbers", "300", "--env-out", envFile, "--gaps-out", gaps, "--log-format", "json"}, extra...)
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("emulator exit: %v\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("emulator did not stop on SIGINT")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/__emulator/v1/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator never became healthy: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	f, err := os.Open(envFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "export ")
		if strings.Contains(line, "=") && !strings.HasPrefix(line, "#") {
			env = append(env, line)
		}
	}
	return addr, env, gaps
}

type health struct {
	Region, Status, Error string
}

func probe(t *testing.T, env []string) ([]health, int) {
	t.Helper()
	out, stderr, code := run(t, env, "probe", "--json")
	var hs []health
	if err := json.Unmarshal([]byte(out), &hs); err != nil {
		t.Fatalf("probe --json output %q: %v (stderr %s)", out, err, stderr)
	}
	return hs, code
}

func TestProbeThroughTheEmulator(t *testing.T) {
	addr, env, gaps := startEmulator(t)
	hs, code := probe(t, env)
	if code != 0 || len(hs) != 3 {
		t.Fatalf("probe: exit %d, %+v", code, hs)
	}
	for _, h := range hs {
		if h.Status != "up" {
			t.Errorf("%s is %s (%s), want up", h.Region, h.Status, h.Error)
		}
	}
	b, err := os.ReadFile(gaps)
	if err != nil || !strings.Contains(string(b), "number_standby_unconfigured") {
		t.Errorf("gaps file: %v %s", err, b)
	}
	// Take ie1 down at run time: probe says so and exits 1.
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/__emulator/v1/faults",
		strings.NewReader(`{"version":1,"regions":[{"region":"ie1","product":"*","down":"reset"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("set faults: %v %v", err, resp)
	}
	hs, code = probe(t, env)
	if code != 1 {
		t.Errorf("probe with ie1 down exited %d, want 1", code)
	}
	for _, h := range hs {
		want := "up"
		if h.Region == "ie1" {
			want = "down"
		}
		if h.Status != want {
			t.Errorf("%s is %s, want %s", h.Region, h.Status, want)
		}
	}
}

func TestWrongRegionKeyIsExplained(t *testing.T) {
	_, env, _ := startEmulator(t)
	// Give us1 the ie1 key: Twilio (and the emulator) refuse it.
	var key, secret string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "TWILIO_IE1_API_KEY="); ok {
			key = v
		}
		if v, ok := strings.CutPrefix(kv, "TWILIO_IE1_API_SECRET="); ok {
			secret = v
		}
	}
	env = append(env, "TWILIO_US1_API_KEY="+key, "TWILIO_US1_API_SECRET="+secret)
	out, stderr, code := run(t, env, "probe", "--regions", "us1")
	if code != 1 || !strings.Contains(out, "region-specific") {
		t.Errorf("probe with an ie1 key in us1: exit %d\n%s%s", code, out, stderr)
	}
	if strings.Contains(out+stderr, secret) {
		t.Errorf("the key secret appears in the output")
	}
}

func TestDemoRunsOnEmbeddedDefaults(t *testing.T) {
	out, stderr, code := run(t, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + t.TempDir()}, "demo")
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, stderr)
	}
	// The drill's move ends with every flow number in ie1: calls placed
	// after it are all answered, and the report says so from the
	// emulator's ledger.
	after := regexp.MustCompile(`after the move +(\d+) placed, +(\d+) lost`).FindStringSubmatch(out)
	if after == nil || after[1] == "0" || after[2] != "0" {
		t.Errorf("demo lost calls after the move, or placed none (%v):\n%s", after, out)
	}
	for _, want := range []string{"us1    up", "ie1    up", "au1    up", "200", "Inbound routing", "standby gaps",
		"readiness now: ready true, 0 gaps", "trigger us1-volume-drop fired", "approved (business_owner",
		"cohort_committed   rest", "validated", "completed (scenario expects completed)"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`Report: (\S+report\.html)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo prints no report path:\n%s", out)
	}
	if b, err := os.ReadFile(m[1]); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("report %s: %v; want a self-contained HTML report with charts", m[1], err)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	env := []string{"PATH=" + os.Getenv("PATH")}
	for _, args := range [][]string{
		{"no-such-command"},
		{"emulator", "--down", "xx9"},
		{"emulator", "--log-format", "yaml"},
		{"probe", "--regions", "jp1"},
	} {
		if _, stderr, code := run(t, env, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
	out, _, code := run(t, env, "version", "--json")
	if code != 0 || !strings.Contains(out, `"twilio_go":"v1.31.0"`) {
		t.Errorf("version: %d %s", code, out)
	}
}
