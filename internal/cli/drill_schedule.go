package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/notify"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/schedule"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/workbook"
)

// runScheduledTabletop runs one due tabletop drill for `voicedr serve`'s
// scheduler and returns when it ended, having saved its store.Drill (with
// the workbook drill's Name) in st. It is set by the drill command's file,
// which owns the tabletop runner; nil means this build has none, and serve
// then reminds people of due tabletop drills instead of running them.
var runScheduledTabletop func(ctx context.Context, g *globals, wb *workbook.Workbook, st store.Store, d workbook.Drill) error

// newDrillScheduleCmd is `voicedr drill schedule`: the program's rhythm at
// a glance.
func newDrillScheduleCmd(g *globals) *cobra.Command {
	var (
		wbPath, dbPath, flow string
		asJSON               bool
	)
	cmd := &cobra.Command{
		Use:   "schedule [--flow NAME] [--json]",
		Short: "Show every workbook drill with its last run, when it is next due and whether it is overdue",
		Long: `schedule judges each drill of the workbook (drills: name, flow, kind, cadence) against the
drill history in the state database. A drill's last run is the newest ended drill with its name
(or, for a drill run ad hoc without one, of its flow and kind); it is next due one cadence later
(weekly: 7 days; monthly, quarterly, semiannual, annual: 1, 3, 6, 12 calendar months, a month
after Jan 31 being the end of February) and overdue from then on. A drill never run is overdue.
Overdue drills are warning gaps in voicedr readiness; voicedr serve runs due tabletop drills
and reminds the notification targets of live ones. Exit 0 (overdue drills are warnings).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			wb, _, err := loadWorkbook(wbPath)
			if err != nil {
				return err
			}
			drills := wb.Drills
			if flow != "" {
				if !slices.ContainsFunc(wb.Flows, func(f workbook.Flow) bool { return f.Name == flow }) {
					return usageError("--flow %s: the workbook has no such flow", flow)
				}
				drills = drillsOf(wb, flow)
			}
			db, err := openExisting(cmd, dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			history, err := db.ListDrills(cmd.Context(), flow, 0)
			if err != nil {
				return err
			}
			now := time.Now()
			ds := schedule.Status(drills, history, now)
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(ds)
			}
			return printSchedule(g.stdout, ds, now)
		},
	}
	f := cmd.Flags()
	f.StringVar(&wbPath, "workbook", "voicedr.yaml", "the workbook whose drills: set the cadence")
	f.StringVar(&dbPath, "db", "voicedr.db", "state database (SQLite) holding the drill history")
	f.StringVar(&flow, "flow", "", "only this flow's drills")
	f.BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

func printSchedule(w io.Writer, ds []schedule.Due, now time.Time) error {
	if len(ds) == 0 {
		fmt.Fprintln(w, "The workbook sets no drills: add drills: (name, flow, kind, cadence) to rehearse on a cadence.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DRILL\tFLOW\tKIND\tCADENCE\tLAST RUN\tNEXT DUE\tSTATUS")
	for _, d := range ds {
		last, next := "never", "now"
		if !d.Never {
			last, next = d.Last.Local().Format(time.DateOnly), d.Next.Local().Format(time.DateOnly)
		}
		status := "ok, due in " + days(d.Next.Sub(now))
		switch {
		case d.Never:
			status = "OVERDUE: never run"
		case d.Overdue:
			status = "OVERDUE by " + days(now.Sub(d.Next))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Drill.Name, d.Drill.Flow, d.Drill.Kind, d.Drill.Cadence, last, next, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(schedule.Overdue(ds)); n > 0 {
		fmt.Fprintf(w, "\n%d overdue: run one with voicedr drill --flow FLOW --kind KIND --scenario primary-voice-down\n", n)
	}
	return nil
}

// days renders a duration in whole days, the cadence's grain.
func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func drillsOf(wb *workbook.Workbook, flow string) []workbook.Drill {
	var out []workbook.Drill
	for _, d := range wb.Drills {
		if d.Flow == flow {
			out = append(out, d)
		}
	}
	return out
}

// drillReadiness judges flow's workbook drills against the drill history in
// the state database at dbPath, for readiness.Options. checked is false when
// there is no database to read (no --db, or the file does not exist: a
// check from a snapshot file must not create one), so readiness says
// nothing about drills rather than calling them all overdue.
func drillReadiness(ctx context.Context, dbPath string, wb *workbook.Workbook, flow string, now time.Time) (overdue []readiness.OverdueDrill, checked bool, err error) {
	if dbPath == "" {
		return nil, false, nil
	}
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return nil, false, fmt.Errorf("open --db %s: %w", dbPath, err)
	}
	defer db.Close()
	history, err := db.ListDrills(ctx, flow, 0)
	if err != nil {
		return nil, false, err
	}
	for _, d := range schedule.Overdue(schedule.Status(drillsOf(wb, flow), history, now)) {
		overdue = append(overdue, readiness.OverdueDrill{Name: d.Drill.Name, Flow: d.Drill.Flow, Kind: d.Drill.Kind,
			Cadence: d.Drill.Cadence, Last: d.Last, Due: d.Next})
	}
	return overdue, true, nil
}

// newDrillScheduler is serve's drill scheduler: due tabletop drills run
// through runScheduledTabletop when this build has it, and every other due
// drill is announced as a "drill.due" notification.
func newDrillScheduler(ctx context.Context, g *globals, wb *workbook.Workbook, st store.Store, n *notify.Notifier, log *audit.Log, every time.Duration) *schedule.Scheduler {
	s := &schedule.Scheduler{Workbook: wb, Store: st, Interval: every, Logger: g.logger,
		Remind: func(_ context.Context, d schedule.Due) error {
			n.Notify(drillDueMessage(d, auditHead(ctx, log)))
			g.logger.Info("drill due: reminder sent", "drill", d.Drill.Name, "flow", d.Drill.Flow, "kind", d.Drill.Kind, "never", d.Never)
			return nil
		}}
	if runScheduledTabletop == nil {
		g.logger.Info("scheduled tabletop drills are not available in this build: due tabletop drills are reminded of, not run")
	} else {
		s.RunTabletop = func(ctx context.Context, d workbook.Drill) error {
			return runScheduledTabletop(ctx, g, wb, st, d)
		}
	}
	return s
}

// drillDueMessage is the reminder of a due drill. Its dedup key is the
// drill's, so PagerDuty keeps one incident per drill however often the
// reminder repeats.
func drillDueMessage(d schedule.Due, head *notify.AuditHead) notify.Message {
	last, when := "never", "has never been run"
	if !d.Never {
		last = d.Last.UTC().Format(time.DateOnly)
		when = "was due " + d.Next.UTC().Format(time.DateOnly) + " (last run " + last + ")"
	}
	command := fmt.Sprintf("voicedr drill --flow %s --kind %s --scenario primary-voice-down", d.Drill.Flow, d.Drill.Kind)
	fields := map[string]string{"drill": d.Drill.Name, "kind": d.Drill.Kind, "cadence": d.Drill.Cadence, "last_run": last,
		"due": d.Next.UTC().Format(time.DateOnly), "command": command}
	if d.Drill.Cohort != "" {
		fields["cohort"] = d.Drill.Cohort
	}
	return notify.Message{
		Event: "drill.due", Severity: notify.SeverityWarning, Flow: d.Drill.Flow, DedupKey: "drill:" + d.Drill.Name,
		Summary:   fmt.Sprintf("voicedr: %s drill %s of flow %s (%s) %s; run it: %s", d.Drill.Kind, d.Drill.Name, d.Drill.Flow, d.Drill.Cadence, when, command),
		Fields:    fields,
		AuditHead: head,
	}
}
