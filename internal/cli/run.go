package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/store/sqlite"
)

func newRunCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run list|status|pause|resume|abort|rollback",
		Short: "Look at and steer runs: list, status, pause, resume, abort, rollback",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRunListCmd(g), newRunStatusCmd(g), newRunStateCmd(g, "pause"), newRunStateCmd(g, "abort"),
		newRunResumeCmd(g), newRunRollbackCmd(g))
	addRemoteFlags(cmd)
	return cmd
}

func newRunListCmd(g *globals) *cobra.Command {
	var (
		dbPath string
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if r := remoteFor(cmd, g); r != nil {
				return r.list(cmd.Context(), asJSON, limit)
			}
			db, err := sqlite.Open(cmd.Context(), dbPath)
			if err != nil {
				return fmt.Errorf("open --db %s: %w", dbPath, err)
			}
			defer db.Close()
			runs, err := db.ListRuns(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(runs)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tFLOW\tKIND\tSTATE\tCREATED\tPLAN")
			for _, r := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.12s\n", r.ID, r.Flow, r.Kind, r.State, r.CreatedAt.Format(time.RFC3339), r.PlanDigest)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "voicedr.db", "state database")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	cmd.Flags().IntVar(&limit, "limit", 50, "most runs to list")
	return cmd
}

func newRunStatusCmd(g *globals) *cobra.Command {
	var (
		dbPath string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status RUN",
		Short: "Show a run's cohorts and its actions by ledger step",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r := remoteFor(cmd, g); r != nil {
				return r.status(cmd.Context(), args[0], asJSON)
			}
			db, err := sqlite.Open(cmd.Context(), dbPath)
			if err != nil {
				return fmt.Errorf("open --db %s: %w", dbPath, err)
			}
			defer db.Close()
			st, err := (&execute.Engine{Store: db}).Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(st)
			}
			fmt.Fprintf(g.stdout, "Run %s (%s of %s): %s, %d ledger records\n", st.Run.ID, st.Run.Kind, st.Run.Flow, st.Run.State, st.Records)
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  COHORT\tKIND\tACTIONS\tSTEP\tACTIONS BY STEP\tREASON")
			for _, c := range st.Cohorts {
				fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%v\t%s\n", c.Name, c.Kind, c.Actions, cmp.Or(string(c.Step), "pending"), c.Steps, c.Reason)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "voicedr.db", "state database")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

// newRunStateCmd is pause or abort: a state change the executing process
// (if any) notices at its next safe point.
func newRunStateCmd(g *globals, verb string) *cobra.Command {
	var dbPath string
	short := map[string]string{
		"pause": "Ask a running run to stop at its next safe point (resume continues it)",
		"abort": "Stop a run for good, leaving routing as the ledger shows it (rollback restores it)",
	}[verb]
	cmd := &cobra.Command{
		Use:   verb + " RUN",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r := remoteFor(cmd, g); r != nil {
				return r.control(cmd.Context(), args[0], verb, nil)
			}
			db, err := sqlite.Open(cmd.Context(), dbPath)
			if err != nil {
				return fmt.Errorf("open --db %s: %w", dbPath, err)
			}
			defer db.Close()
			e := &execute.Engine{Store: db}
			if verb == "pause" {
				err = e.Pause(cmd.Context(), args[0])
			} else {
				err = e.Abort(cmd.Context(), args[0])
			}
			if err != nil {
				return &ExitError{Code: ExitRefused, Err: err}
			}
			fmt.Fprintf(g.stdout, "run %s: %s asked\n", args[0], verb)
			return nil
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "voicedr.db", "state database")
	return cmd
}

func newRunResumeCmd(g *globals) *cobra.Command {
	var (
		ef     engineFlags
		wbPath string
		force  bool
	)
	cmd := &cobra.Command{
		Use:   "resume RUN",
		Short: "Continue a paused or interrupted run from its ledger",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r := remoteFor(cmd, g); r != nil {
				return r.resume(cmd.Context(), args[0], force, ef.asJSON)
			}
			e, set, closeAll, err := ef.engine(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer closeAll()
			p, _, err := e.LoadPlan(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			e.Router = &execute.TwilioRoutes{Set: set, Order: p.RoutesWrite}
			if err := approver(cmd.Context(), g, e, p, wbPath, "", false); err != nil {
				return err
			}
			opts := execute.ApplyOptions{RunID: args[0], Force: force}
			if err := freshState(cmd.Context(), g, set, p, wbPath, &opts); err != nil {
				return err
			}
			res, err := e.Apply(cmd.Context(), p, opts)
			return ef.report(g, res, err)
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&wbPath, "workbook", "voicedr.yaml", "the workbook the plan was made from")
	cmd.Flags().BoolVar(&force, "force", false, "resume over drift outside the run (journalled)")
	return cmd
}

func newRunRollbackCmd(g *globals) *cobra.Command {
	var (
		ef     engineFlags
		cohort string
	)
	cmd := &cobra.Command{
		Use:   "rollback RUN [--cohort NAME]",
		Short: "Restore the observed routing of a run (or one cohort of it)",
		Long: `rollback writes every action of the run (or of --cohort) back to the region the plan observed,
newest cohort first, journalled like the flips. A route that was never set (404, so us1) is
written back as us1: Twilio cannot unset it. A run still executing elsewhere is refused: pause it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r := remoteFor(cmd, g); r != nil {
				return r.rollback(cmd.Context(), args[0], cohort)
			}
			e, set, closeAll, err := ef.engine(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer closeAll()
			p, _, err := e.LoadPlan(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			e.Router = &execute.TwilioRoutes{Set: set, Order: p.RoutesWrite}
			res, err := e.Rollback(cmd.Context(), args[0], cohort)
			if err != nil {
				return ef.report(g, res, err)
			}
			if ef.asJSON {
				return json.NewEncoder(g.stdout).Encode(res)
			}
			printResult(g.stdout, res)
			return nil
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&cohort, "cohort", "", "roll back only this cohort")
	return cmd
}
