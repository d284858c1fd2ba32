package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/workbook"
)

func newReadinessCmd(g *globals) *cobra.Command {
	var (
		tf                 twilioFlags
		asJSON, probe      bool
		probeTimeout       time.Duration
		flow, workbookPath string
		fromFile, outDir   string
		dbPath             string
	)
	cmd := &cobra.Command{
		Use:   "readiness --flow NAME --workbook FILE",
		Short: "Prove whether a flow's standby region could carry it today",
		Long: `Readiness follows one workbook flow through its standby region: each number's standby record and
effective handler against the primary's, the TwiML Apps (by friendly name), trunks (by domain_name,
with enabled origination URLs, a disaster-recovery URL and the numbers joined), fallback URLs and
SIP domains the flow relies on, the workbook's attestations, and (when --db holds the drill
history) the flow's drills against their cadence. Every gap comes with the exact
API change that closes it. --out writes the readiness package (checklist, gaps, resource map,
the snapshot as evidence, a sha256 manifest). Exit 0 ready, 3 not ready (gaps of severity error).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if flow == "" || workbookPath == "" {
				return usageError("readiness needs --flow NAME and --workbook FILE")
			}
			wb, err := workbook.Load(workbookPath)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			// Clients are needed to read the account and, for probes, for the
			// standby's auth token, which signs them as Twilio would.
			var set *twilio.Set
			if fromFile == "" || probe {
				var pool *twilio.Pool
				if set, pool, err = tf.clients(g, g.getenv, nil); err != nil {
					return err
				}
				defer pool.Close()
			}
			var s *snapshot.Snapshot
			if fromFile != "" {
				s, err = loadSnapshot(fromFile)
			} else {
				s, err = readAccount(cmd.Context(), g, set, dbPath)
			}
			if err != nil {
				return err
			}
			// Drills past their cadence are gaps too, when the state
			// database holds a drill history to judge.
			opts := readiness.Options{}
			opts.OverdueDrills, opts.DrillsChecked, err = drillReadiness(cmd.Context(), dbPath, wb, flow, time.Now())
			if err != nil {
				return err
			}
			rep, err := readiness.Check(s, wb, flow, opts)
			if err != nil {
				// A flow or region the workbook lacks is the caller's input.
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if set != nil {
				checkStandbyCredentials(cmd.Context(), set, wb, rep)
			}
			if probe {
				err := rep.Probe(cmd.Context(), wb, readiness.ProbeOptions{Timeout: probeTimeout, AuthToken: func(r string) (string, error) {
					reg, err := region.Parse(r)
					if err != nil {
						return "", err
					}
					c, err := set.Get(reg)
					if err != nil {
						return "", fmt.Errorf("%w (add %s to --regions)", err, r)
					}
					if c.AuthToken().IsZero() {
						return "", fmt.Errorf("no auth token for %s: set %sAUTH_TOKEN", r, reg.EnvPrefix())
					}
					return c.AuthToken().Reveal(), nil
				}})
				if err != nil {
					return err
				}
			}
			if outDir != "" {
				if err := rep.WritePackage(outDir); err != nil {
					return err
				}
				g.logger.Info("readiness package written", "dir", outDir)
			}
			if asJSON {
				err = json.NewEncoder(g.stdout).Encode(rep)
			} else {
				printReadiness(g.stdout, rep, outDir)
			}
			if err != nil {
				return err
			}
			if !rep.Ready {
				return &ExitError{Code: ExitNotReady, Err: fmt.Errorf("flow %s is not ready: %d gaps of severity error", flow, rep.Errors())}
			}
			return nil
		},
	}
	tf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&dbPath, "db", "voicedr.db", dbFlagHelp)
	f.StringVar(&flow, "flow", "", "workbook flow to check")
	f.StringVar(&workbookPath, "workbook", "voicedr.yaml", "workbook (voicedr.yaml) naming the flow, its regions and attestations")
	f.StringVar(&fromFile, "snapshot", "", "check this snapshot file instead of reading the account")
	f.StringVar(&outDir, "out", "", "write the readiness package into this directory")
	f.BoolVar(&probe, "probe", false, "also send a signed probe (header X-Voicedr-Probe: 1) to each standby voice webhook where the workbook sets probe_allowed")
	f.DurationVar(&probeTimeout, "probe-timeout", 15*time.Second, "time a probed webhook has to answer with TwiML (Twilio allows 15s)")
	f.BoolVar(&asJSON, "json", false, "machine-readable output (the whole report)")
	return cmd
}

func printReadiness(w io.Writer, rep *readiness.Report, outDir string) {
	verdict := "READY"
	if !rep.Ready {
		verdict = "NOT READY"
	}
	fmt.Fprintf(w, "Flow %s: %s (primary %s, standby %v, %d numbers; snapshot taken %s, %s ago)\n\n", rep.Flow, verdict,
		rep.Primary, rep.Standbys, rep.Numbers, rep.SnapshotAt.Format(time.RFC3339), time.Since(rep.SnapshotAt).Round(time.Second))
	for _, it := range rep.Checklist {
		mark := "PASS"
		if !it.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %-4s %-100s %4d/%d failed\n", mark, it.Title, it.Failed, it.Checked)
	}
	counts := rep.GapCounts()
	if len(counts) > 0 {
		fmt.Fprintf(w, "\nGaps (%d errors):\n", rep.Errors())
		for _, k := range sortedMapKeys(counts) {
			fmt.Fprintf(w, "  %-36s %6d\n", k, counts[k])
		}
		fmt.Fprintln(w, "\nFirst gaps (--json or --out for all, with remediation):")
		for i, gp := range rep.Gaps {
			if i == 10 {
				break
			}
			fmt.Fprintf(w, "  %-7s %-5s %-32s %s\n", gp.Severity, gp.Region, gp.Resource, gp.Detail)
		}
	}
	if outDir != "" {
		fmt.Fprintf(w, "\nReadiness package: %s\n", outDir)
	}
}

// checkStandbyCredentials proves voicedr's credentials in each standby region
// with one request there (the region health probe's): a key from another
// region or a revoked one shows here, before a failover needs it.
func checkStandbyCredentials(ctx context.Context, set *twilio.Set, wb *workbook.Workbook, rep *readiness.Report) {
	for _, rp := range wb.Regions {
		if rp.Role != workbook.RoleStandby {
			continue
		}
		c, err := set.Get(rp.Region)
		if err != nil {
			rep.RecordCredentials(string(rp.Region), err)
			continue
		}
		h := twilio.Probe(ctx, c, twilio.ProbeOptions{Samples: 1})
		var authErr error
		if twilio.KindOf(h.Err) == twilio.KindAuth {
			authErr = h.Err
		}
		rep.RecordCredentials(string(rp.Region), authErr)
	}
}
