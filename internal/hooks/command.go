package hooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/voicedr/voicedr/internal/workbook"
)

// waitDelay bounds how long Run waits, once a command has exited or been
// killed, for its output pipes to close: a grandchild that escaped the
// process group must not keep a failover waiting.
const waitDelay = 2 * time.Second

func (r *Runner) runCommand(ctx context.Context, h workbook.Hook, c Call, when string) outcome {
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.Dir = r.Dir
	// The process environment comes first so that the VOICEDR_ values win
	// over any inherited ones (exec keeps the last of duplicate keys).
	cmd.Env = append(os.Environ(),
		"VOICEDR_RUN_ID="+c.RunID,
		"VOICEDR_FLOW="+c.Flow,
		"VOICEDR_COHORT="+c.Cohort,
		"VOICEDR_HOOK_WHEN="+when,
		"VOICEDR_FROM_REGION="+c.From,
		"VOICEDR_TO_REGION="+c.To,
		"VOICEDR_ATTEMPT="+strconv.Itoa(c.Attempt),
	)
	// One buffer for both streams keeps their interleaving; exec calls
	// Write from one goroutine at a time when both are the same writer.
	out := &limitedBuffer{limit: outputLimit}
	cmd.Stdout, cmd.Stderr = out, out
	killGroupOnCancel(cmd)
	cmd.WaitDelay = waitDelay

	err := cmd.Run()
	o := outcome{output: redactor{}.output(out.Bytes())}
	if cmd.ProcessState != nil {
		o.exitCode = cmd.ProcessState.ExitCode()
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success():
		// The command succeeded but left a background process holding its
		// output open; the step is done, only its late output is lost.
	case errors.As(err, &exitErr):
		o.err = fmt.Errorf("hook %q exited with status %d: the step did not complete; fix the command (its output is in the result), then resume the run: %w",
			h.Name, o.exitCode, err)
	case cmd.ProcessState == nil:
		o.err = fmt.Errorf("hook %q could not start %s: check it is installed, executable and on PATH: %w", h.Name, h.Command[0], err)
	default:
		o.err = fmt.Errorf("hook %q: %w", h.Name, err)
	}
	return o
}
