package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

func newPostureCmd(g *globals) *cobra.Command {
	var (
		tf                    twilioFlags
		asJSON                bool
		fromFile, snapshotOut string
		dbPath, workbookPath  string
		htmlOut               string
	)
	cmd := &cobra.Command{
		Use:   "posture",
		Short: "Assess every number of the account against the three stages of voice resilience",
		Long: `Posture reads the whole account in every region (numbers, routing, each region's records, apps,
trunks, SIP domains) and reports, per number on its effective handler (trunk > app > voice URL)
and in aggregate: stage 1 in-region resilience, stage 2 regional isolation (a number processed
far from its country; each region's blast radius). --snapshot assesses a saved snapshot offline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s *snapshot.Snapshot
			var err error
			if fromFile != "" {
				s, err = loadSnapshot(fromFile)
			} else {
				set, pool, cerr := tf.clients(g, g.getenv, nil)
				if cerr != nil {
					return cerr
				}
				defer pool.Close()
				s, err = readAccount(cmd.Context(), g, set, dbPath)
			}
			if err != nil {
				return err
			}
			if snapshotOut != "" {
				if err := writeSnapshot(snapshotOut, s); err != nil {
					return err
				}
			}
			var protector posture.Protector
			if workbookPath != "" {
				wb, err := workbook.Load(workbookPath)
				if err != nil {
					return &ExitError{Code: ExitUsage, Err: err}
				}
				protector = wb.FlowOf
			}
			rep := posture.Assess(s, protector)
			if htmlOut != "" {
				page, err := rep.HTML(s.AccountSID, s.TakenAt)
				if err != nil {
					return err
				}
				if err := os.WriteFile(htmlOut, page, 0o644); err != nil {
					return err
				}
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(map[string]any{"snapshot_taken_at": s.TakenAt, "report": rep})
			}
			printPosture(g.stdout, s, rep)
			return nil
		},
	}
	tf.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "machine-readable output")
	f.StringVar(&fromFile, "snapshot", "", "assess this snapshot file instead of reading the account")
	f.StringVar(&htmlOut, "html", "", "also write the report as an HTML page to this file")
	f.StringVar(&workbookPath, "workbook", "", "workbook (voicedr.yaml) whose flows stage 3 checks protection against")
	f.StringVar(&dbPath, "db", "voicedr.db", dbFlagHelp)
	f.StringVar(&snapshotOut, "snapshot-out", "", "also write the account snapshot to this file (it can seed the emulator)")
	return cmd
}

func writeSnapshot(path string, s *snapshot.Snapshot) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := s.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func printPosture(w io.Writer, s *snapshot.Snapshot, rep *posture.Report) {
	fmt.Fprintf(w, "Account %s, %d numbers, snapshot taken %s (%s ago)\n\n", s.AccountSID, rep.Numbers,
		s.TakenAt.Format(time.RFC3339), time.Since(s.TakenAt).Round(time.Second))
	fmt.Fprintf(w, "%-7s %8s %8s\n", "STAGE", "CLEAN", "FLAGGED")
	for _, st := range []int{1, 2, 3} {
		sum := rep.Stages[st]
		fmt.Fprintf(w, "%-7d %8d %8d\n", st, sum.Clean, sum.Flagged)
	}
	fmt.Fprintln(w, "\nBlast radius (numbers processed per region):")
	for _, r := range sortedMapKeys(rep.ByRegion) {
		fmt.Fprintf(w, "  %-5s %6d  %5.1f%%\n", r, rep.ByRegion[r], 100*float64(rep.ByRegion[r])/float64(max(rep.Numbers, 1)))
	}
	fmt.Fprintln(w, "\nFindings:")
	for _, k := range sortedMapKeys(rep.ByKind) {
		fmt.Fprintf(w, "  %-32s %6d\n", k, rep.ByKind[k])
	}
	shown := 0
	for _, f := range rep.Findings {
		if f.Severity == "info" || shown == 20 {
			continue
		}
		if shown == 0 {
			fmt.Fprintln(w, "\nFirst findings (--json for all):")
		}
		fmt.Fprintf(w, "  stage %d %-8s %-5s %-28s %s\n", f.Stage, f.Severity, f.Region, f.Resource, f.Detail)
		shown++
	}
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
