package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/drill"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/scenario"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/workbook"
)

// defaultDrillsDir is where drills write their reports and state when the
// command (or serve's scheduler) is given no --dir.
const defaultDrillsDir = "voicedr-drills"

type drillFlags struct {
	tf                                     twilioFlags
	flow, kind, scenario, name, as         string
	wbPath, dbPath, dir, snapPath, keyPath string
	approvalWait, attended                 time.Duration
	asJSON                                 bool
}

func newDrillCmd(g *globals) *cobra.Command {
	var f drillFlags
	cmd := &cobra.Command{
		Use:   "drill --flow NAME [--kind tabletop|live] [--scenario NAME|FILE]",
		Short: "Rehearse a flow's failover: tabletop against an emulated copy of the account, or live with its drill cohort",
		Long: `A tabletop drill copies the account snapshot stored in --db (or --snapshot FILE) into an in-process
emulator, rewrites every webhook, fallback and callback URL to in-process sample apps, injects the
scenario's faults and traffic, and runs the real path: a trigger opens a decision, a plan is made,
approvals are given (by named stand-ins, recorded as such; with --attended by people, through voicedr
approve or the dashboard on the drill's own state.db), the plan is applied cohort by cohort
with proof and gates, and the flow is validated. Nothing leaves loopback: its Twilio client reaches
only that emulator. Scenarios: voicedr drill scenarios (copy one with --write DIR and edit it).

A live drill moves only the workbook's drill cohort (drills[].cohort, numbers the team owns) in the
real account, proves it with test calls, evaluates the gates, fails it back and checks every touched
resource against the snapshot taken before. Its plans need the workbook's approvals: give --as and
have approvers run voicedr approve within --approval-wait.

Each drill writes report.html (self-contained), report.md and report.json under --dir/<drill id>,
and is kept in --db for history, voicedr drill list and evidence bundles. Exit: a tabletop scenario
that states its expected outcome exits 0 when the drill ended so and 1 when not; otherwise the
usual codes (0 completed, 4 paused, 5 rolled back, 6 refused, 1 failed or not restored).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDrill(cmd.Context(), g, &f)
		},
	}
	fl := cmd.Flags()
	f.tf.register(cmd)
	fl.StringVar(&f.flow, "flow", "", "the flow rehearsed")
	fl.StringVar(&f.kind, "kind", "tabletop", "tabletop or live")
	fl.StringVar(&f.scenario, "scenario", "primary-voice-down", "tabletop: a library scenario's name or a scenario file")
	fl.StringVar(&f.name, "name", "", "the workbook's drills[] entry this run counts for (default: the flow's entry of this kind)")
	fl.StringVar(&f.wbPath, "workbook", "voicedr.yaml", "the workbook")
	fl.StringVar(&f.dbPath, "db", "voicedr.db", "state database: the stored snapshot, drill history and action items")
	fl.StringVar(&f.dir, "dir", defaultDrillsDir, "where each drill writes its report and state (<dir>/<drill id>)")
	fl.StringVar(&f.snapPath, "snapshot", "", "tabletop: copy this snapshot file instead of the one stored in --db")
	fl.StringVar(&f.keyPath, "signing-key", signing.PrivateFile, signingKeyHelp)
	fl.StringVar(&f.as, "as", "", "the person (from the workbook) asking to execute the drill's plans; they may not approve them")
	fl.DurationVar(&f.attended, "attended", 0, "tabletop: wait this long for people to approve the plan (voicedr approve --db <drill dir>/state.db, or its dashboard) instead of named stand-ins")
	fl.DurationVar(&f.approvalWait, "approval-wait", 15*time.Minute, "live: how long to wait for each plan's approvals")
	fl.BoolVar(&f.asJSON, "json", false, "print the report as JSON (progress goes to stderr)")
	cmd.AddCommand(newDrillScenariosCmd(g), newDrillListCmd(g), newDrillActionsCmd(g), newDrillScheduleCmd(g))
	return cmd
}

func runDrill(ctx context.Context, g *globals, f *drillFlags) error {
	if f.flow == "" {
		return usageError("drill needs --flow NAME")
	}
	wb, _, err := loadWorkbook(f.wbPath)
	if err != nil {
		return err
	}
	if f.name == "" {
		for _, d := range wb.Drills {
			if d.Flow == f.flow && d.Kind == f.kind && f.name == "" {
				f.name = d.Name
			}
		}
	}
	db, err := sqlite.Open(ctx, f.dbPath)
	if err != nil {
		return fmt.Errorf("open --db %s: %w", f.dbPath, err)
	}
	defer db.Close()
	log, err := openAudit(db, f.keyPath)
	if err != nil {
		return err
	}
	progressTo := g.stdout
	if f.asJSON {
		progressTo = g.stderr
	}
	progress := progressPrinter(progressTo)
	var out *drill.Outcome
	switch f.kind {
	case "tabletop":
		sc, text, err := scenario.Load(f.scenario)
		if err != nil {
			return usageError("--scenario: %v", err)
		}
		snap, err := drillSnapshot(ctx, g, &f.tf, db, f.snapPath)
		if err != nil {
			return err
		}
		fmt.Fprintf(progressTo, "voicedr drill: tabletop of flow %s, scenario %s, on a copy of account %s (snapshot of %s)\n",
			f.flow, sc.Name, snap.AccountSID, snap.TakenAt.UTC().Format(time.RFC3339))
		t := &drill.Tabletop{Workbook: wb, WorkbookPath: f.wbPath, Flow: f.flow, Scenario: sc, ScenarioText: text, Snapshot: snap,
			Store: db, Dir: f.dir, Name: f.name, Key: log.Key, Progress: progress, Logger: g.logger,
			Attended: f.attended, As: f.as}
		if out, err = t.Run(ctx); err != nil {
			return err
		}
	case "live":
		out, err = runLiveDrill(ctx, g, f, wb, db, log, progress)
		if err != nil {
			return err
		}
	default:
		return usageError("--kind %q: use tabletop or live", f.kind)
	}
	return drillResult(g, f.asJSON, out)
}

// runLiveDrill builds the live drill on the real account's clients.
func runLiveDrill(ctx context.Context, g *globals, f *drillFlags, wb *workbook.Workbook, db store.Store, log *audit.Log, progress func(report.Event)) (*drill.Outcome, error) {
	cohort := ""
	for _, d := range wb.Drills {
		if d.Kind == "live" && d.Flow == f.flow && (f.name == "" || d.Name == f.name) && cohort == "" {
			cohort = d.Cohort
		}
	}
	if cohort == "" {
		return nil, usageError("flow %s has no live drill in the workbook: add drills: [{name, flow: %s, kind: live, cadence, cohort: DRILL-COHORT}]", f.flow, f.flow)
	}
	set, pool, err := f.tf.clients(g, g.getenv, nil)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	pol, err := governance.NewPolicy(wb)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	if pol.Kind != governance.PolicyNone && f.as == "" {
		return nil, usageError("the approval policy needs to know who asks: give --as NAME (a person of the workbook)")
	}
	apps := &governance.Approvals{Store: db, Policy: pol, Audit: log}
	l := &drill.Live{Workbook: wb, WorkbookPath: f.wbPath, Flow: f.flow, Cohort: cohort, Name: f.name, Set: set, Store: db,
		Dir: f.dir, Approver: requestingApprover{apps: apps, as: f.as}, ApprovalWait: f.approvalWait, Audit: log,
		Actor: cmp.Or(f.as, "voicedr"), Hooks: &hooks.Runner{Logger: g.logger, Getenv: g.getenv}, Progress: progress, Logger: g.logger}
	fmt.Fprintf(g.stderr, "voicedr drill: live drill of flow %s, cohort %s (only these numbers move, then come back)\n", f.flow, cohort)
	return l.Run(ctx)
}

// requestingApprover records the live drill's requester against each plan
// (so nobody approves their own request) before asking the policy.
type requestingApprover struct {
	apps *governance.Approvals
	as   string
}

func (r requestingApprover) Approve(ctx context.Context, p *plan.Plan) error {
	if r.as != "" {
		if err := r.apps.Request(ctx, p.Digest, "", r.as); err != nil {
			return err
		}
	}
	return governance.Approver{Approvals: r.apps}.Approve(ctx, p)
}

// drillSnapshot is the account copy a tabletop drill starts from.
func drillSnapshot(ctx context.Context, g *globals, tf *twilioFlags, db store.Store, path string) (*snapshot.Snapshot, error) {
	if path != "" {
		return loadSnapshot(path)
	}
	acct, err := tf.accountSID(g.getenv)
	if err != nil || acct == "" {
		return nil, usageError("no account to copy: give --snapshot FILE, or TWILIO_ACCOUNT_SID naming an account whose snapshot --db stores (voicedr readiness --db stores one)")
	}
	s, meta, err := db.LatestSnapshot(ctx, acct)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &ExitError{Code: ExitNotReady, Err: fmt.Errorf("no snapshot of account %s is stored: take one with voicedr readiness --flow F --db DB", acct)}
	}
	if err != nil {
		return nil, err
	}
	g.logger.Info("tabletop copies the stored snapshot", "taken_at", meta.TakenAt, "numbers", meta.Numbers, "sha256", meta.SHA256)
	return s, nil
}

// progressPrinter prints each timeline event as it happens.
func progressPrinter(w io.Writer) func(report.Event) {
	return func(ev report.Event) {
		who := ""
		if ev.Actor != "" && ev.Actor != "voicedr" {
			who = " [" + ev.Actor + "]"
		}
		fmt.Fprintf(w, "  %s %-18s %-8s %s%s\n", ev.At.Local().Format("15:04:05.0"), ev.Kind, ev.Cohort, ev.Text, who)
	}
}

// drillResult prints the summary (or the JSON report) and maps the
// outcome to the exit code.
func drillResult(g *globals, asJSON bool, out *drill.Outcome) error {
	rep := out.Report
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Report  *report.Drill     `json:"report"`
			Files   map[string]string `json:"files"`
			Network *drill.Network    `json:"network,omitempty"`
		}{rep, out.Files, networkOf(out)}); err != nil {
			return err
		}
	} else {
		w := g.stdout
		fmt.Fprintf(w, "\nDrill %s: %s", rep.ID, rep.Outcome)
		if rep.Expected != "" {
			fmt.Fprintf(w, " (expected %s: %s)", rep.Expected, map[bool]string{true: "as expected", false: "NOT as expected"}[rep.AsExpected])
		}
		fmt.Fprintln(w)
		if rep.RTO.OverallSeconds > 0 {
			fmt.Fprintf(w, "  RTO %.1fs against an objective of %.0fs: %s\n", rep.RTO.OverallSeconds, rep.RTO.ObjectiveSeconds, map[bool]string{true: "met", false: "missed"}[rep.RTO.Met])
		}
		fmt.Fprintf(w, "  calls (%s): %d placed, %d lost, %d answered by a fallback\n", rep.Calls.Source, rep.Calls.Placed, rep.Calls.Lost, rep.Calls.Fallback)
		errs := 0
		for _, gp := range rep.Gaps {
			if gp.Severity == "error" {
				errs++
			}
		}
		fmt.Fprintf(w, "  gaps: %d (%d errors); action items: %d\n", len(rep.Gaps), errs, len(rep.Actions))
		for _, a := range rep.Actions {
			fmt.Fprintf(w, "    %s  %s  %s\n", a.ID, a.Owner, a.Title)
		}
		fmt.Fprintf(w, "  report: %s\n", out.Files["report.html"])
	}
	code := drillExit(rep)
	if code == ExitOK {
		return nil
	}
	return &ExitError{Code: code, Err: drillExitReason(rep)}
}

func drillExitReason(rep *report.Drill) error {
	if rep.Expected != "" {
		return fmt.Errorf("drill %s ended %s; scenario %s expected %s", rep.ID, rep.Outcome, rep.Scenario.Name, rep.Expected)
	}
	return fmt.Errorf("drill %s ended %s: %s", rep.ID, rep.Outcome, cmp.Or(rep.Reason, "see its report"))
}

func networkOf(out *drill.Outcome) *drill.Network {
	if out.Report.Kind != "tabletop" {
		return nil
	}
	return &out.Network
}

// drillExit: a scenario's expectation decides when it states one.
func drillExit(rep *report.Drill) int {
	if rep.Expected != "" {
		if rep.AsExpected {
			return ExitOK
		}
		return ExitFailed
	}
	switch rep.Outcome {
	case drill.OutcomeCompleted:
		return ExitOK
	case drill.OutcomePaused:
		return ExitNeedsHuman
	case drill.OutcomeRolledBack:
		return ExitNoGo
	case drill.OutcomeRefused:
		return ExitRefused
	}
	return ExitFailed
}

func newDrillScenariosCmd(g *globals) *cobra.Command {
	var write string
	cmd := &cobra.Command{
		Use:   "scenarios [--write DIR]",
		Short: "List the scenario library, or write its files to DIR to copy and edit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			if write == "" {
				fmt.Fprintln(tw, "SCENARIO\tEXPECT\tDESCRIPTION")
			}
			for _, name := range scenario.Library() {
				b, err := scenario.LibraryFile(name)
				if err != nil {
					return err
				}
				if write != "" {
					if err := os.MkdirAll(write, 0o755); err != nil {
						return err
					}
					p := filepath.Join(write, name+".yaml")
					if err := os.WriteFile(p, b, 0o644); err != nil {
						return err
					}
					fmt.Fprintln(g.stdout, p)
					continue
				}
				sc, err := scenario.Parse(name+".yaml", b)
				if err != nil {
					return err
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", sc.Name, sc.Expect.Outcome, sc.Description)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&write, "write", "", "write every library scenario file into this directory")
	return cmd
}

func newDrillListCmd(g *globals) *cobra.Command {
	var (
		dbPath, flow string
		asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "list [--flow NAME]",
		Short: "List drills, newest first, with their outcome, RTO and report",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := sqlite.Open(cmd.Context(), dbPath)
			if err != nil {
				return fmt.Errorf("open --db %s: %w", dbPath, err)
			}
			defer db.Close()
			ds, err := db.ListDrills(cmd.Context(), flow, 0)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(ds)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "DRILL\tFLOW\tKIND\tSCENARIO\tSTARTED\tOUTCOME\tRTO\tREPORT")
			for _, d := range ds {
				var rep report.Drill
				rto := "-"
				if json.Unmarshal(d.Report, &rep) == nil && rep.RTO.OverallSeconds > 0 {
					rto = fmt.Sprintf("%.1fs", rep.RTO.OverallSeconds)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Flow, d.Kind, d.Scenario, d.StartedAt.Local().Format("2006-01-02 15:04"),
					d.Outcome, rto, filepath.Join(d.Dir, "report.html"))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "voicedr.db", "state database holding the drill history")
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow's drills")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func init() {
	runScheduledTabletop = scheduledTabletop
}

// scheduledTabletop runs a due tabletop drill for voicedr serve: the
// primary-voice-down scenario on the account's latest stored snapshot.
func scheduledTabletop(ctx context.Context, g *globals, wb *workbook.Workbook, st store.Store, d workbook.Drill) error {
	var tf twilioFlags
	tf.regions = []string{"us1", "ie1", "au1"}
	snap, err := drillSnapshot(ctx, g, &tf, st, "")
	if err != nil {
		return err
	}
	sc, text, err := scenario.Load("primary-voice-down")
	if err != nil {
		return err
	}
	t := &drill.Tabletop{Workbook: wb, Flow: d.Flow, Scenario: sc, ScenarioText: text, Snapshot: snap, Store: st,
		Dir: defaultDrillsDir, Name: d.Name, Logger: g.logger}
	out, err := t.Run(ctx)
	if err != nil {
		return err
	}
	g.logger.Info("scheduled tabletop drill ended", "drill", out.Report.ID, "flow", d.Flow, "outcome", out.Report.Outcome,
		"report", out.Files["report.html"])
	return nil
}
