// Package cli is voicedr's command line: cobra commands that parse flags,
// build the components they need and report. Exit codes are the same for
// every command (design.md): 0 done, 1 failed, 2 bad input or usage, 3 not
// ready, 4 a human is needed, 5 no-go, 6 refused.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK           = 0
	ExitFailed       = 1
	ExitUsage        = 2
	ExitNotReady     = 3
	ExitNeedsHuman   = 4
	ExitNoGo         = 5
	ExitRefused      = 6
	exitInterrupted  = 130
	defaultLogFormat = "text"
)

// ExitError carries an exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func usageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// globals are the persistent flags every command shares.
type globals struct {
	logFormat, logLevel string
	stdout, stderr      io.Writer
	logger              *slog.Logger
	getenv              func(string) string
}

// Run executes voicedr with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	g := &globals{stdout: stdout, stderr: stderr, getenv: getenv}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "voicedr:", err)
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		return ee.Code
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case strings.HasPrefix(err.Error(), "unknown command"), strings.HasPrefix(err.Error(), "unknown flag"),
		strings.Contains(err.Error(), "flag needs an argument"), strings.HasPrefix(err.Error(), "invalid argument"):
		return ExitUsage
	}
	return ExitFailed
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "voicedr",
		Short: "Cross-region disaster recovery for Twilio Voice",
		Long: `voicedr proves a standby Twilio region is ready for a critical voice flow, moves the
flow's numbers and trunks there in cohorts with go/no-go gates, verifies, rolls back
or fails back, and records every decision. It ships a multi-region Twilio emulator
to rehearse against.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			l, err := newLogger(g.stderr, g.logFormat, g.logLevel)
			if err != nil {
				return err
			}
			g.logger = l
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.logFormat, "log-format", defaultLogFormat, "log format: text or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(newVersionCmd(g), newEmulatorCmd(g), newDemoCmd(g), newProbeCmd(g), newSampleAppCmd(g), newPostureCmd(g), newValidateCmd(g), newSchemaCmd(g), newReadinessCmd(g), newInitCmd(g), newStandbyCmd(g),
		newPlanCmd(g), newApplyCmd(g), newRunCmd(g), newApproveCmd(g), newTokenCmd(g),
		newAuditCmd(g), newEvidenceCmd(g), newServeCmd(g), newDrillCmd(g))
	return root
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError("--log-format %q: use text or json", format)
}
