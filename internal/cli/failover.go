package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/workbook"
)

func newPlanCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan failover|failback --flow NAME -o PLAN",
		Short: "Compute a reviewed plan that moves a flow to its standby (failover) or back (failback)",
		Long: `plan computes the routing writes that move a flow's numbers, trunks and SIP domains, in the
workbook's cohorts, each with its gate and the sample of numbers whose calls prove the flip. The plan
holds the account state it was computed against (what rollback restores, and what apply checks for
drift) and a sha256 digest that approvals and evidence bind to. Nothing is changed.

--mode ungraceful is for a primary that is down: it plans from the last snapshot stored in --db
(and says how old it is) instead of reading the account.

Exit 0 planned, 2 bad input, 3 the target region is not ready (gaps; accept them with --accept-gap).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newPlanKindCmd(g, plan.Failover), newPlanKindCmd(g, plan.Failback))
	return cmd
}

func newPlanKindCmd(g *globals, kind string) *cobra.Command {
	var (
		tf                      twilioFlags
		flow, wbPath, out, mode string
		snapPath, dbPath        string
		accept                  []string
		asJSON                  bool
	)
	cmd := &cobra.Command{
		Use:   kind + " --flow NAME [--mode graceful|ungraceful] -o PLAN",
		Short: "Plan a " + kind + " of a flow",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if flow == "" {
				return usageError("plan %s needs --flow NAME", kind)
			}
			wb, digest, err := loadWorkbook(wbPath)
			if err != nil {
				return err
			}
			s, source, err := planSnapshot(cmd.Context(), g, &tf, mode, snapPath, dbPath)
			if err != nil {
				return err
			}
			p, err := plan.Make(plan.Input{Snapshot: s, Workbook: wb, WorkbookDigest: digest, Flow: flow, Kind: kind,
				Mode: mode, Source: source, Now: time.Now(), Accept: accept})
			if err != nil && !errors.Is(err, plan.ErrNotReady) {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if asJSON {
				if werr := p.Write(g.stdout); werr != nil {
					return werr
				}
			} else if werr := p.WriteSummary(g.stdout); werr != nil {
				return werr
			}
			if err != nil {
				return &ExitError{Code: ExitNotReady, Err: err}
			}
			if out != "" {
				if err := writeFile(out, p.Write); err != nil {
					return err
				}
				if !asJSON {
					fmt.Fprintf(g.stdout, "\nSaved the plan to %s (digest %s). Review it, then apply exactly it with:\n  voicedr apply %s\n", out, p.Digest[:12], out)
				}
			}
			return nil
		},
	}
	tf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&flow, "flow", "", "workbook flow to move")
	f.StringVar(&wbPath, "workbook", "voicedr.yaml", "workbook (voicedr.yaml)")
	f.StringVarP(&out, "out", "o", "", "write the plan (canonical JSON) here for review and apply")
	f.StringVar(&mode, "mode", plan.Graceful, "graceful (read every region) or ungraceful (the primary is down: plan from the stored snapshot)")
	f.StringVar(&snapPath, "snapshot", "", "plan against this snapshot file instead of reading the account")
	f.StringVar(&dbPath, "db", "voicedr.db", dbFlagHelp)
	f.StringSliceVar(&accept, "accept-gap", nil, "accept a readiness gap of the target by kind or resource (repeatable)")
	f.BoolVar(&asJSON, "json", false, "write the plan as JSON instead of the summary")
	return cmd
}

// loadWorkbook loads and digests the workbook: plans bind to its exact bytes.
func loadWorkbook(path string) (*workbook.Workbook, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", usageError("--workbook: %v", err)
	}
	wb, err := workbook.Parse(path, b)
	if err != nil {
		return nil, "", &ExitError{Code: ExitUsage, Err: err}
	}
	sum := sha256.Sum256(b)
	return wb, hex.EncodeToString(sum[:]), nil
}

// planSnapshot is the state a plan is computed from: a file, the last stored
// snapshot (ungraceful), or a fresh read that is stored.
func planSnapshot(ctx context.Context, g *globals, tf *twilioFlags, mode, snapPath, dbPath string) (*snapshot.Snapshot, string, error) {
	switch {
	case snapPath != "":
		s, err := loadSnapshot(snapPath)
		return s, "file", err
	case mode == plan.Ungraceful:
		if dbPath == "" {
			return nil, "", usageError("--mode ungraceful plans from the last stored snapshot: give --db")
		}
		db, err := sqlite.Open(ctx, dbPath)
		if err != nil {
			return nil, "", fmt.Errorf("open --db %s: %w", dbPath, err)
		}
		defer db.Close()
		acct, err := tf.accountSID(g.getenv)
		if err != nil {
			return nil, "", err
		}
		metas, err := db.ListSnapshots(ctx, acct, 1)
		if err != nil || len(metas) == 0 {
			return nil, "", &ExitError{Code: ExitNotReady, Err: fmt.Errorf("no snapshot stored in %s: an ungraceful plan needs one taken before the outage (voicedr posture or readiness store one)", dbPath)}
		}
		s, meta, err := db.GetSnapshot(ctx, metas[0].ID)
		if err != nil {
			return nil, "", err
		}
		g.logger.Warn("planning from the stored snapshot", "taken_at", meta.TakenAt, "age", time.Since(meta.TakenAt).Round(time.Second))
		return s, "stored", nil
	case mode != plan.Graceful:
		return nil, "", usageError("--mode %q: write graceful or ungraceful", mode)
	}
	set, pool, err := tf.clients(g, g.getenv, nil)
	if err != nil {
		return nil, "", err
	}
	defer pool.Close()
	s, err := readAccount(ctx, g, set, dbPath)
	return s, "live", err
}

// reachable reads the account through the regions that answer, with routing
// read through the first of them: what apply can see of an account whose
// primary is down.
func reachable(ctx context.Context, set *twilio.Set, prefer []string) (*snapshot.Snapshot, []string, error) {
	var names []string
	for _, h := range twilio.ProbeAll(ctx, set, twilio.ProbeOptions{Samples: 1}) {
		if h.Status != twilio.StatusDown {
			names = append(names, string(h.Region))
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no region answers: nothing can be read or changed")
	}
	sub, err := set.Subset(regionsOf(names)...)
	if err != nil {
		return nil, nil, err
	}
	routes := region.Region(names[0])
	for _, p := range prefer {
		if slices.Contains(names, p) {
			routes = region.Region(p)
			break
		}
	}
	s, err := inventory.Read(ctx, sub, inventory.Options{RoutesRegion: routes})
	return s, names, err
}

func regionsOf(names []string) []region.Region {
	out := make([]region.Region, len(names))
	for i, n := range names {
		out[i] = region.Region(n)
	}
	return out
}

func writeFile(path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return usageError("-o: %v", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
