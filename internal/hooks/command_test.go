package hooks_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/workbook"
)

func commandHook(script string, args ...string) workbook.Hook {
	return workbook.Hook{
		Name: "crm-flag", Type: "command", When: "before_flip",
		Command: append([]string{"/bin/sh", "-c", script, "sh"}, args...),
		Timeout: workbook.Duration(30 * time.Second), Idempotent: true,
	}
}

func needShell(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
}

func TestCommandSuccessGetsContext(t *testing.T) {
	needShell(t)
	t.Setenv("VOICEDR_RUN_ID", "stale-from-parent") // the call's value must win
	t.Setenv("HOOK_TEST_INHERITED", "inherited")    // the process env is passed on
	dir := t.TempDir()
	r := &hooks.Runner{Dir: dir}
	c := call
	c.Attempt = 2
	h := commandHook(`echo "$VOICEDR_RUN_ID $VOICEDR_FLOW $VOICEDR_COHORT $VOICEDR_HOOK_WHEN $VOICEDR_FROM_REGION $VOICEDR_TO_REGION $VOICEDR_ATTEMPT $HOOK_TEST_INHERITED"; echo to-stderr >&2; pwd -P`)

	res, err := r.Run(t.Context(), h, c)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	res.Elapsed = 0
	want := hooks.Result{
		Hook: "crm-flag", When: "before_flip", OK: true,
		Output: "run-1 support test-numbers before_flip us1 ie1 2 inherited\nto-stderr\n" + real + "\n",
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestCommandNonZeroExit(t *testing.T) {
	needShell(t)
	r := &hooks.Runner{}
	res, err := r.Run(t.Context(), commandHook(`echo "flag service said no"; exit 3`), call)
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || !strings.Contains(err.Error(), `"crm-flag" exited with status 3`) {
		t.Fatalf("Run: error %v, want an exit error naming the hook and status 3", err)
	}
	if res.OK || res.ExitCode != 3 || res.Output != "flag service said no\n" || res.Err != err.Error() {
		t.Errorf("result = %+v, want OK false, exit code 3, the output and the error text", res)
	}
}

func TestCommandNotFound(t *testing.T) {
	r := &hooks.Runner{}
	h := commandHook("")
	h.Command = []string{"/nonexistent/voicedr-crm-flag"}
	res, err := r.Run(t.Context(), h, call)
	if err == nil || !strings.Contains(err.Error(), "could not start /nonexistent/voicedr-crm-flag") || res.OK {
		t.Fatalf("Run: error %v, result %+v, want a start error naming the program", err, res)
	}
}

func TestCommandTimeoutKills(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep")
	}
	r := &hooks.Runner{}
	h := workbook.Hook{
		Name: "slow", Type: "command", When: "after_flip", Command: []string{"sleep", "10"},
		Timeout: workbook.Duration(200 * time.Millisecond), Idempotent: true,
	}
	res, err := r.Run(t.Context(), h, hooks.Call{RunID: "run-1", When: "after_flip"})
	if !errors.Is(err, hooks.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: error %v, want ErrTimeout", err)
	}
	if res.OK || res.ExitCode != -1 {
		t.Errorf("result = %+v, want OK false and exit code -1 (killed)", res)
	}
}

// A shell's background child is in the shell's process group: ending the
// run must kill it too, or the step keeps running after voicedr gave up.
// Cancelling the caller's context goes through the same kill as a timeout,
// and lets the test wait until the child exists before pulling the plug.
func TestCommandKillsProcessGroup(t *testing.T) {
	needShell(t)
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	h := commandHook(`sleep 30 & echo $! > "$1.tmp" && mv "$1.tmp" "$1"; wait`, pidFile)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := (&hooks.Runner{}).Run(ctx, h, call)
		done <- err
	}()

	pid := waitForPID(t, pidFile)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: error %v, want context.Canceled", err)
	}
	// SIGKILL is not instant: wait for the kernel to finish the child, with
	// a bound far beyond what that takes, so only a surviving child fails.
	for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("background child %d still runs after the hook was stopped", pid)
		}
	}
}

func waitForPID(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("pid file: %v", err)
		}
		return pid
	}
	t.Fatal("the hook never started its background child")
	return 0
}

// alive reports whether pid is a running process: a zombie (killed but not
// yet reaped by whoever adopted it) counts as dead.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestCommandOutputBounded(t *testing.T) {
	needShell(t)
	// 100 KB of output would fill a pipe if it were not drained.
	res, err := (&hooks.Runner{}).Run(t.Context(), commandHook(`i=0; while [ $i -lt 2000 ]; do echo "line $i of chatter padding padding padding"; i=$((i+1)); done`), call)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Output) != 2048 || !strings.HasPrefix(res.Output, "line 0 of") {
		t.Errorf("output is %d bytes starting %q, want the first 2048", len(res.Output), res.Output[:min(20, len(res.Output))])
	}
}
