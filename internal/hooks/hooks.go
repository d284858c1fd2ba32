// Package hooks runs a workbook's hooks: the steps outside Twilio (the
// customer app switching its region context, a token service, a CRM flag)
// that a run places around a routing flip.
//
// A hook is an HTTPS POST or a local command. Every run is bounded by the
// hook's own timeout, because a hung step must not hold a failover hostage,
// and carries a key that stays the same when the executor retries it after a
// crash, because the workbook promises hooks are idempotent and the receiving
// end needs something to deduplicate on. A hook URL that came from a
// credential reference (env:NAME, file:PATH) carries a token, so it never
// appears in an error, a log line or a Result: the hook's name stands in.
//
// The package runs one hook at a time and records nothing: journalling the
// Result and deciding whether to retry is the executor's job.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/voicedr/voicedr/internal/workbook"
)

// Hook types, as the workbook spells them.
const (
	TypeHTTP    = "http"
	TypeCommand = "command"
)

// outputLimit bounds Result.Output: enough to show an error message from the
// endpoint or script, small enough to journal on every attempt.
const outputLimit = 2 << 10

// ErrTimeout is wrapped by the error of a hook that ran past its timeout, so
// the executor can tell "the step is slow" from "the step said no". The same
// error also wraps context.DeadlineExceeded.
var ErrTimeout = errors.New("hook timed out")

// Runner runs hooks. The zero value is ready to use.
type Runner struct {
	// HTTP sends http hooks; nil means a client with no global timeout,
	// because each run is bounded by its hook's Timeout instead.
	HTTP *http.Client
	// Getenv and ReadFile resolve env:NAME and file:PATH URL references;
	// nil means os.Getenv and os.ReadFile.
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	// Logger receives one line per run; nil discards.
	Logger *slog.Logger
	// Dir is the working directory of command hooks; "" is the current one.
	Dir string
}

// Call carries the context a hook is told about: the HTTP body, the
// command's environment and the idempotency key are built from it.
type Call struct {
	RunID  string
	Flow   string
	Cohort string
	// When is the point of the run the hook is called at; empty means the
	// hook's own When.
	When string
	// From and To are the regions traffic moves from and to.
	From, To string
	// Attempt counts tries of this hook in this run, from 1. It is told to
	// the hook but kept out of the idempotency key.
	Attempt int
}

// Result is what one run of a hook did, shaped for the run's journal.
type Result struct {
	Hook string `json:"hook"`
	When string `json:"when"`
	OK   bool   `json:"ok"`
	// Status is the HTTP status of an http hook.
	Status int `json:"status,omitempty"`
	// ExitCode is the exit status of a command hook (-1 when it was killed).
	ExitCode int `json:"exit_code,omitempty"`
	// Output is the first 2 KiB of the response body, or of the command's
	// stdout and stderr, with any secret URL redacted.
	Output  string        `json:"output,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Err     string        `json:"error,omitempty"`
}

// Select returns the hooks that run for flow at when, in workbook order: a
// hook with an empty Flow runs for every flow.
func Select(hs []workbook.Hook, flow, when string) []workbook.Hook {
	var out []workbook.Hook
	for _, h := range hs {
		if h.When == when && (h.Flow == "" || h.Flow == flow) {
			out = append(out, h)
		}
	}
	return out
}

// Run runs h once for c and waits for it, at most h.Timeout. The Result is
// filled in whether or not the hook succeeded; the error is non-nil exactly
// when Result.OK is false, and says what to do next.
func (r *Runner) Run(ctx context.Context, h workbook.Hook, c Call) (Result, error) {
	res := Result{Hook: h.Name, When: c.When}
	if res.When == "" {
		res.When = h.When
	}
	start := time.Now()
	var o outcome
	if err := check(h, c, res.When); err != nil {
		o.err = err
	} else {
		// The cause lets us tell our own deadline from the caller's
		// cancellation, which is not the hook's fault.
		hctx, cancel := context.WithTimeoutCause(ctx, time.Duration(h.Timeout), ErrTimeout)
		switch h.Type {
		case TypeHTTP:
			o = r.runHTTP(hctx, h, c, res.When)
		case TypeCommand:
			o = r.runCommand(hctx, h, c, res.When)
		}
		if o.err != nil {
			o.err = classify(hctx, ctx, h, o.err)
		}
		cancel()
	}
	res.Elapsed = time.Since(start)
	res.Status, res.ExitCode, res.Output = o.status, o.exitCode, o.output
	res.OK = o.err == nil
	if o.err != nil {
		res.Err = o.err.Error()
	}
	r.log(ctx, h, c, res, o.logURL)
	return res, o.err
}

// outcome is what a type-specific runner reports back to Run.
type outcome struct {
	status, exitCode int
	output           string
	// logURL is the URL safe to log: empty when it came from a reference.
	logURL string
	err    error
}

// check refuses input that cannot run, before anything is sent or started,
// so a bad hook costs nothing and never panics.
func check(h workbook.Hook, c Call, when string) error {
	name := h.Name
	if name == "" {
		return errors.New("hook has no name: give every hook a unique name in the workbook")
	}
	if h.When != "" && when != h.When {
		return fmt.Errorf("hook %q runs %s but was called %s: choose hooks with hooks.Select", name, h.When, when)
	}
	if c.RunID == "" {
		// The idempotency key starts with the run ID; without it, retries
		// of different runs would look like one.
		return fmt.Errorf("hook %q: the call has no run id: pass the run's id so retries can be deduplicated", name)
	}
	if h.Timeout <= 0 {
		return fmt.Errorf("hook %q has no timeout: write timeout: 30s (or another Go duration) in the workbook", name)
	}
	if !h.Idempotent {
		return fmt.Errorf("hook %q is not marked idempotent: hooks are retried after a crash, so make the step safe to repeat and write idempotent: true", name)
	}
	switch h.Type {
	case TypeHTTP:
		if h.URL == "" {
			return fmt.Errorf("hook %q has no url: write url: https://... (or env:NAME when it carries a token)", name)
		}
	case TypeCommand:
		if len(h.Command) == 0 || h.Command[0] == "" {
			return fmt.Errorf("hook %q has no command: write command: [program, arg...]", name)
		}
	default:
		return fmt.Errorf("hook %q has type %q: write type: http or type: command", name, h.Type)
	}
	return nil
}

// classify turns a failure caused by a deadline or cancellation into an
// error that says which one it was: the hook's own timeout (the step was too
// slow) or the caller giving up (the run was stopped).
func classify(hctx, parent context.Context, h workbook.Hook, err error) error {
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("hook %q stopped because the run was canceled: resume the run to try it again: %w", h.Name, context.Cause(parent))
	case errors.Is(context.Cause(hctx), ErrTimeout):
		return fmt.Errorf("hook %q did not finish within its timeout of %s: check the endpoint or script, or raise timeout in the workbook: %w: %w",
			h.Name, h.Timeout, ErrTimeout, context.DeadlineExceeded)
	}
	return err
}

func (r *Runner) log(ctx context.Context, h workbook.Hook, c Call, res Result, logURL string) {
	l := r.Logger
	if l == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("hook", h.Name), slog.String("type", h.Type), slog.String("when", res.When),
		slog.String("run_id", c.RunID), slog.String("flow", c.Flow), slog.String("cohort", c.Cohort),
		slog.Int("attempt", c.Attempt), slog.Duration("elapsed", res.Elapsed),
	}
	if logURL != "" {
		attrs = append(attrs, slog.String("url", logURL))
	}
	if res.Status != 0 {
		attrs = append(attrs, slog.Int("status", res.Status))
	}
	if h.Type == TypeCommand {
		attrs = append(attrs, slog.Int("exit_code", res.ExitCode))
	}
	if res.OK {
		l.LogAttrs(ctx, slog.LevelInfo, "hook ran", attrs...)
		return
	}
	l.LogAttrs(ctx, slog.LevelWarn, "hook failed", append(attrs, slog.String("error", res.Err))...)
}

func (r *Runner) getenv() func(string) string {
	if r.Getenv != nil {
		return r.Getenv
	}
	return os.Getenv
}

func (r *Runner) readFile() func(string) ([]byte, error) {
	if r.ReadFile != nil {
		return r.ReadFile
	}
	return os.ReadFile
}
