package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/drill"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
)

// newDrillActionsCmd is `voicedr drill actions [close]`: the follow-ups
// drills found, tracked until someone closes them with a note of what was
// done, so a gap a drill exposed cannot quietly be forgotten.
func newDrillActionsCmd(g *globals) *cobra.Command {
	var (
		dbPath      string
		all, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "actions [--all] [--json]",
		Short: "List the open action items drills found (--all: closed ones too); close one with actions close",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openExisting(cmd, dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			items, err := db.ActionItems(cmd.Context(), !all)
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []store.ActionItem{} // a list, even when empty
				}
				return json.NewEncoder(g.stdout).Encode(items)
			}
			return printActionItems(g.stdout, items, all)
		},
	}
	f := cmd.PersistentFlags()
	f.StringVar(&dbPath, "db", "voicedr.db", "state database (SQLite) where drills record their action items")
	cmd.Flags().BoolVar(&all, "all", false, "closed items too")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	cmd.AddCommand(newDrillActionCloseCmd(g, &dbPath))
	return cmd
}

func newDrillActionCloseCmd(g *globals, dbPath *string) *cobra.Command {
	var (
		note, as, keyPath string
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use:   "close ID --note TEXT [--as PERSON]",
		Short: "Close an action item, with a note of what was done",
		Long: `close marks an action item done, recording who closed it, when and the note, and appends
the closing to the audit log. Exit 0 closed, 2 unknown ID or no --note, 6 already closed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, id := cmd.Context(), args[0]
			if strings.TrimSpace(note) == "" {
				return usageError("--note TEXT is required: say what was done, e.g. --note \"standby app created, readiness green\"")
			}
			if as == "" {
				as = g.getenv("USER")
			}
			if as == "" {
				return usageError("--as PERSON is required: the person closing the item")
			}
			db, err := openExisting(cmd, *dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			log, err := openAudit(db, keyPath)
			if err != nil {
				return err
			}
			item, err := drill.CloseAction(ctx, db, log, id, as, note, time.Now())
			switch {
			case errors.Is(err, drill.ErrNoAction):
				return usageError("action item %s not found: list open items with voicedr drill actions (--all for closed ones)", id)
			case errors.Is(err, drill.ErrActionClosed):
				return &ExitError{Code: ExitRefused, Err: fmt.Errorf("%v: nothing to do", err)}
			case err != nil:
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(item)
			}
			fmt.Fprintf(g.stdout, "Closed action item %s (%s, flow %s, drill %s) as %s: %s\n", item.ID, item.Title, item.Flow, item.DrillID, as, note)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&note, "note", "", "what was done (required)")
	f.StringVar(&as, "as", "", "the person closing it (default $USER)")
	f.StringVar(&keyPath, "signing-key", signing.PrivateFile, signingKeyHelp)
	f.BoolVar(&asJSON, "json", false, "machine-readable output (the closed item)")
	return cmd
}

func printActionItems(w io.Writer, items []store.ActionItem, all bool) error {
	if len(items) == 0 {
		if all {
			fmt.Fprintln(w, "No action items: drills have found nothing to follow up yet.")
		} else {
			fmt.Fprintln(w, "No open action items.")
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "ID\tFLOW\tOWNER\tTITLE\tDRILL"
	if all {
		header += "\tCLOSED"
	}
	fmt.Fprintln(tw, header)
	open := 0
	for _, a := range items {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", a.ID, a.Flow, a.Owner, a.Title, a.DrillID)
		if all {
			closed := "open"
			if !a.ClosedAt.IsZero() {
				closed = a.ClosedAt.Local().Format(time.DateOnly) + " by " + a.ClosedBy
			}
			line += "\t" + closed
		}
		if a.ClosedAt.IsZero() {
			open++
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if open > 0 {
		fmt.Fprintf(w, "\n%d open: close one with voicedr drill actions close ID --note TEXT\n", open)
	}
	return nil
}
