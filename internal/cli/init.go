package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/initwb"
	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

func newInitCmd(g *globals) *cobra.Command {
	var (
		tf               twilioFlags
		out, fromFile    string
		primary, standby string
		force            bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Read the account and write a starter workbook (voicedr.yaml)",
		Long: `Init reads the account (or a saved --snapshot) and writes a commented starter workbook: the
primary and standby regions with credential references at their defaults, and one flow per group
of numbers sharing an effective handler in the primary (TwiML App, trunk or voice URL host) and a
friendly-name prefix ("support-001" → support), matched by selectors rather than listed, each
with a canary cohort. Review its TODOs, then run voicedr validate. An existing file is kept
unless --force; -o - writes to standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := region.Parse(primary)
			if err != nil {
				return usageError("--primary: %v", err)
			}
			sb, err := region.Parse(standby)
			if err != nil {
				return usageError("--standby: %v", err)
			}
			if p == sb {
				return usageError("--primary and --standby are both %s; the standby must be another region", p)
			}
			if out == "" {
				return usageError("-o: write a file name, or - for standard output")
			}
			// Refuse before reading a whole account, not after.
			if out != "-" && !force {
				if _, err := os.Stat(out); err == nil {
					return usageError("%s exists; pass --force to overwrite it, or -o to write another file", out)
				}
			}
			var s *snapshot.Snapshot
			if fromFile != "" {
				f, err := os.Open(fromFile)
				if err != nil {
					return usageError("--snapshot: %v", err)
				}
				defer f.Close()
				if s, err = snapshot.Read(f); err != nil {
					return usageError("--snapshot %s: %v", fromFile, err)
				}
			} else {
				if !cmd.Flags().Changed("regions") {
					tf.regions = []string{string(p), string(sb)}
				}
				set, pool, err := tf.clients(g, g.getenv, nil)
				if err != nil {
					return err
				}
				defer pool.Close()
				if s, err = inventory.Read(cmd.Context(), set, inventory.Options{RoutesRegion: p}); err != nil {
					return err
				}
			}
			if !initCovers(s, p) {
				return usageError("the snapshot does not cover --primary %s (it read %v); read that region too", p, s.Regions)
			}
			data, err := initwb.Draft(s, p, sb)
			if err != nil {
				return err
			}
			// The draft must be a workbook this build accepts; a failure here is a bug.
			wb, err := workbook.Parse(out, data)
			if err != nil {
				return fmt.Errorf("the drafted workbook does not validate (please report this): %w", err)
			}
			if out == "-" {
				_, err := g.stdout.Write(data)
				return err
			}
			if err := writeInitFile(out, data, force); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Wrote %s: %d flows covering the %d numbers of account %s (snapshot taken %s).\n"+
				"Review its TODOs (criticality, rto, canary numbers, standby endpoints, approval), then run voicedr validate.\n",
				out, len(wb.Flows), len(s.Numbers), s.AccountSID, s.TakenAt.UTC().Format("2006-01-02 15:04:05Z"))
			return nil
		},
	}
	tf.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "voicedr.yaml", "workbook file to write; - for standard output")
	f.StringVar(&primary, "primary", string(region.US1), "region that carries traffic today")
	f.StringVar(&standby, "standby", string(region.IE1), "region flows move to")
	f.StringVar(&fromFile, "snapshot", "", "draft from this snapshot file instead of reading the account")
	f.BoolVar(&force, "force", false, "overwrite an existing workbook file")
	return cmd
}

func initCovers(s *snapshot.Snapshot, r region.Region) bool {
	for _, x := range s.Regions {
		if x == string(r) {
			return true
		}
	}
	return false
}

// writeInitFile writes data to path, creating it exclusively unless force, so a
// workbook written meanwhile is not clobbered either.
func writeInitFile(path string, data []byte, force bool) error {
	flags := os.O_CREATE | os.O_WRONLY | os.O_EXCL
	if force {
		flags = os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return usageError("%s exists; pass --force to overwrite it, or -o to write another file", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
