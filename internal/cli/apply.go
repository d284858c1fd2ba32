package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilio"
)

// engineFlags are the flags of commands that execute runs.
type engineFlags struct {
	tf       twilioFlags
	dbPath   string
	keyPath  string
	asJSON   bool
	leaseTTL time.Duration
	workers  int
}

func (ef *engineFlags) register(cmd *cobra.Command) {
	ef.tf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&ef.dbPath, "db", "voicedr.db", "state database (SQLite): runs, their ledger, leases and snapshots")
	f.BoolVar(&ef.asJSON, "json", false, "stream events as JSON lines and end with the result")
	f.DurationVar(&ef.leaseTTL, "lease-ttl", 30*time.Second, "how long a killed process keeps its leases")
	f.IntVar(&ef.workers, "workers", 64, "routing writes in flight (the shared --rate and --max-in-flight still apply)")
	f.StringVar(&ef.keyPath, "signing-key", signing.PrivateFile, signingKeyHelp)
}

// engine opens the store and builds an engine for p. close releases both.
func (ef *engineFlags) engine(ctx context.Context, g *globals, p *plan.Plan) (*execute.Engine, *twilio.Set, func(), error) {
	if ef.dbPath == "" {
		return nil, nil, nil, usageError("--db is required: the run's ledger lives there")
	}
	set, pool, err := ef.tf.clients(g, g.getenv, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := sqlite.Open(ctx, ef.dbPath)
	if err != nil {
		pool.Close()
		return nil, nil, nil, fmt.Errorf("open --db %s: %w", ef.dbPath, err)
	}
	log, err := openAudit(db, ef.keyPath)
	if err != nil {
		db.Close()
		pool.Close()
		return nil, nil, nil, err
	}
	e := &execute.Engine{
		Audit:     log,
		Store:     db,
		Signals:   execute.TwilioSignals{Env: signals.Env{Set: set, Logger: g.logger}},
		Hooks:     &hooks.Runner{Logger: g.logger, Getenv: g.getenv},
		Logger:    g.logger,
		OnEvent:   ef.printer(g),
		Failpoint: failpoint(g.getenv("VOICEDR_FAILPOINT")),
		Workers:   ef.workers,
		LeaseTTL:  ef.leaseTTL,
	}
	if p != nil {
		e.Router = &execute.TwilioRoutes{Set: set, Order: p.RoutesWrite}
	}
	return e, set, func() { db.Close(); pool.Close() }, nil
}

// printer shows events: JSON lines with --json, a line per step for people,
// and a progress line that redraws itself on a terminal.
func (ef *engineFlags) printer(g *globals) func(execute.Event) {
	var mu sync.Mutex
	tty := false
	if f, ok := g.stderr.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	if ef.asJSON {
		enc := json.NewEncoder(g.stdout)
		return func(ev execute.Event) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(ev)
		}
	}
	return func(ev execute.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Type {
		case "flip_progress", "proof_progress":
			if tty && ev.Type == "flip_progress" {
				fmt.Fprintf(g.stderr, "\r  %-20s %s", ev.Cohort, bar(ev.Done, ev.Total))
			}
			return
		}
		if tty {
			fmt.Fprint(g.stderr, "\r\033[K")
		}
		line := fmt.Sprintf("%s %-18s", ev.Time.Format("15:04:05"), ev.Type)
		if ev.Cohort != "" {
			line += " " + ev.Cohort
		}
		if ev.Total > 0 {
			line += fmt.Sprintf(" %d/%d", ev.Done, ev.Total)
		}
		if ev.Msg != "" {
			line += "  " + ev.Msg
		}
		fmt.Fprintln(g.stderr, line)
	}
}

func bar(done, total int) string {
	const w = 30
	n := 0
	if total > 0 {
		n = done * w / total
	}
	return fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("#", n), strings.Repeat(".", w-n), done, total)
}

// failpoint returns the crash hook VOICEDR_FAILPOINT=STEP:N asks for: the
// process kills itself with SIGKILL right after the N-th durable ledger
// record of that step. Crash tests use it; it is inert when unset.
func failpoint(spec string) func(string) {
	step, nStr, ok := strings.Cut(spec, ":")
	n, err := strconv.Atoi(nStr)
	if !ok || err != nil || n <= 0 {
		return nil
	}
	var seen atomic.Int64
	return func(s string) {
		if s == step && seen.Add(1) == int64(n) {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // never returns: nothing may happen after the kill
		}
	}
}

func newApplyCmd(g *globals) *cobra.Command {
	var (
		ef     engineFlags
		force  bool
		wbPath string
		as     string
	)
	cmd := &cobra.Command{
		Use:   "apply PLAN",
		Short: "Execute a reviewed failover or failback plan, cohort by cohort, with gates",
		Long: `apply executes a plan file from "voicedr plan": it checks the account has not changed since the
plan was made (refusing a stale plan unless --force), leases the flow and everything the plan
touches, then moves each cohort: routing writes journalled before and after every call, proof that
calls land in the target region, and the cohort's gate. Applying the same plan again (or "voicedr
run resume") continues an interrupted run without repeating what is done.

Exit 0 completed, 4 paused or inconclusive (a human is needed), 5 no-go (rolled back), 6 refused
(stale plan, missing approval, lease held), 1 failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r := remoteFor(cmd, g); r != nil {
				return r.apply(cmd.Context(), args[0], as, force, ef.asJSON)
			}
			p, err := readPlanFile(args[0])
			if err != nil {
				return err
			}
			e, set, closeAll, err := ef.engine(cmd.Context(), g, p)
			if err != nil {
				return err
			}
			defer closeAll()
			if err := approver(cmd.Context(), g, e, p, wbPath, as, true); err != nil {
				return err
			}
			opts := execute.ApplyOptions{Force: force}
			if err := freshState(cmd.Context(), g, set, p, wbPath, &opts); err != nil {
				return err
			}
			res, err := e.Apply(cmd.Context(), p, opts)
			return ef.report(g, res, err)
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&as, "as", "", "the person (from the workbook) asking to execute the plan: recorded as its requester, who may not approve it")
	cmd.Flags().BoolVar(&force, "force", false, "apply a plan the account has drifted from (the drift is journalled)")
	cmd.Flags().StringVar(&wbPath, "workbook", "voicedr.yaml", "the workbook the plan was made from (numbers that joined the flow since are drift)")
	addRemoteFlags(cmd)
	return cmd
}

// approver plugs the workbook's approval policy into the engine. The
// requester is recorded against the plan's digest first, so the rule that
// nobody approves their own request can hold.
func approver(ctx context.Context, g *globals, e *execute.Engine, p *plan.Plan, wbPath, as string, needAs bool) error {
	if p.Approval == "" || p.Approval == governance.PolicyNone {
		if wbPath == "" {
			return nil
		}
	}
	wb, _, err := loadWorkbook(wbPath)
	if err != nil {
		if p.Approval == "" || p.Approval == governance.PolicyNone {
			return nil // nothing to approve, and the workbook is optional then
		}
		return err
	}
	pol, err := governance.NewPolicy(wb)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	apps := &governance.Approvals{Store: e.Store, Policy: pol, Audit: e.Audit}
	e.Approver = governance.Approver{Approvals: apps, Logger: g.logger}
	if as == "" {
		if !needAs {
			return nil // a resumed run's requester was recorded when it started
		}
		if pol.Kind != governance.PolicyNone || (p.Approval != "" && p.Approval != governance.PolicyNone) {
			return usageError("the approval policy needs to know who asks: give --as NAME (a person of the workbook)")
		}
		return nil
	}
	e.Actor = as
	if err := apps.Request(ctx, p.Digest, "", as); err != nil {
		code := ExitRefused
		if errors.Is(err, governance.ErrUnknownPerson) || errors.Is(err, governance.ErrInvalid) {
			code = ExitUsage
		}
		return &ExitError{Code: code, Err: err}
	}
	return nil
}

func readPlanFile(path string) (*plan.Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError("%v", err)
	}
	defer f.Close()
	p, err := plan.Read(f)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", path, err)}
	}
	return p, nil
}

// freshState reads the account for the drift check: every region for a
// graceful plan, the regions that answer for an ungraceful one.
func freshState(ctx context.Context, g *globals, set *twilio.Set, p *plan.Plan, wbPath string, opts *execute.ApplyOptions) error {
	var s *snapshot.Snapshot
	var err error
	if p.Mode == plan.Ungraceful {
		var up []string
		s, up, err = reachable(ctx, set, p.RoutesWrite)
		if err == nil {
			g.logger.Info("ungraceful: reading the regions that answer", "regions", up)
		}
	} else {
		s, err = inventory.Read(ctx, set, inventory.Options{})
		if err != nil {
			err = fmt.Errorf("%w (if the primary is down, make an ungraceful plan: voicedr plan %s --mode ungraceful)", err, p.Kind)
		}
	}
	if err != nil {
		return err
	}
	opts.Fresh = s
	if wbPath == "" {
		return nil
	}
	wb, digest, err := loadWorkbook(wbPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "no such file") {
			g.logger.Warn("workbook not found: numbers that joined the flow since the plan are not checked", "workbook", wbPath)
			return nil
		}
		return err
	}
	if digest != p.WorkbookDigest {
		g.logger.Warn("the workbook changed since the plan was made", "workbook", wbPath)
	}
	opts.InFlow = func(n snapshot.Number) bool { f, ok := wb.FlowOf(n); return ok && f == p.Flow }
	return nil
}

// report prints a run's result and maps its state to the exit code.
func (ef *engineFlags) report(g *globals, res *execute.Result, err error) error {
	if err != nil {
		var stale *execute.StaleError
		switch {
		case errors.As(err, &stale):
			if ef.asJSON && stale != nil {
				_ = json.NewEncoder(g.stdout).Encode(map[string]any{"refused": "stale plan", "drift": stale.Changes})
			}
			return &ExitError{Code: ExitRefused, Err: err}
		case errors.Is(err, execute.ErrRefused):
			return &ExitError{Code: ExitRefused, Err: err}
		}
		if res != nil {
			return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%w; run %s stopped and is resumable: voicedr run resume %s", err, res.RunID, res.RunID)}
		}
		return err
	}
	if ef.asJSON {
		_ = json.NewEncoder(g.stdout).Encode(res)
	} else {
		printResult(g.stdout, res)
	}
	switch res.State {
	case store.RunCompleted:
		return nil
	case store.RunRolledBack:
		return &ExitError{Code: ExitNoGo, Err: fmt.Errorf("run %s rolled back: %s", res.RunID, res.Reason)}
	case store.RunPaused, store.RunAborted:
		return &ExitError{Code: ExitNeedsHuman, Err: fmt.Errorf("run %s %s: %s; look at it (voicedr run status %s), then resume, roll back or abort it", res.RunID, res.State, res.Reason, res.RunID)}
	}
	return &ExitError{Code: ExitFailed, Err: fmt.Errorf("run %s ended %s", res.RunID, res.State)}
}

func printResult(w io.Writer, res *execute.Result) {
	fmt.Fprintf(w, "\nRun %s: %s", res.RunID, res.State)
	if res.Reason != "" {
		fmt.Fprintf(w, " (%s)", res.Reason)
	}
	fmt.Fprintf(w, ", %s\n", res.Ended.Sub(res.Started).Round(time.Millisecond))
	for _, c := range res.Cohorts {
		fmt.Fprintf(w, "  %-34s %-12s moved %d/%d", c.Name, c.Outcome, c.Flipped, c.Actions)
		if !c.Routed.IsZero() {
			fmt.Fprintf(w, "  routed +%s", c.Routed.Sub(c.Started).Round(time.Millisecond))
		}
		if !c.Proven.IsZero() {
			fmt.Fprintf(w, "  proven +%s", c.Proven.Sub(c.Started).Round(time.Millisecond))
		}
		if c.Rollback {
			fmt.Fprint(w, "  ROLLED BACK")
		}
		fmt.Fprintln(w)
		if c.Gate != nil {
			for _, m := range c.Gate.Measurements {
				mark := "ok"
				if !m.Pass {
					mark = "FAIL"
				}
				if m.Missing != "" {
					mark = "missing: " + m.Missing
				}
				fmt.Fprintf(w, "      %-24s %8.2f %-10s (%s %g, n=%d) %s\n", m.Signal, m.Value, m.Unit, m.Threshold.Op, m.Threshold.Value, m.Sample, mark)
			}
		}
	}
}
