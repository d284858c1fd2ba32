package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/workbook"
)

// defaultWorkbook is the file validate reads when none is named.
const defaultWorkbook = "voicedr.yaml"

func newValidateCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a workbook offline: every error at once, with file:line:col",
		Long: `Validate parses the workbook (default voicedr.yaml) strictly and checks it without
contacting Twilio: unknown or duplicate keys, invalid E.164 numbers, unknown regions,
a number, trunk or SIP domain in two flows, overlapping cohorts, thresholds out of
range, a missing primary or standby, inline secrets and bad durations. Every problem
is reported at once as FILE:LINE:COL: FIELD: what is wrong; write X instead.

Checks that need the account (selectors that match no number, cohorts that leave
numbers uncovered, apps or trunks missing in a region) run at plan time.

Exit 0 when the workbook is valid, 2 when it is not.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := defaultWorkbook
			if len(args) == 1 {
				path = args[0]
			}
			w, err := workbook.Load(path)
			var es workbook.Errors
			if err != nil && !errors.As(err, &es) {
				return usageError("%w", err) // unreadable file
			}
			res := validateResult{OK: err == nil, File: path, Errors: es}
			if w != nil {
				res.Flows, res.Numbers = len(w.Flows), countNumbers(w)
			}
			if asJSON {
				if res.Errors == nil {
					res.Errors = workbook.Errors{}
				}
				if err := json.NewEncoder(g.stdout).Encode(res); err != nil {
					return err
				}
			} else if res.OK {
				fmt.Fprintf(g.stdout, "ok: %d flows, %d numbers declared\n", res.Flows, res.Numbers)
			} else {
				fmt.Fprintln(g.stdout, es.Error())
			}
			if !res.OK {
				return usageError("%s: %d problem(s)", path, len(es))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

type validateResult struct {
	OK      bool            `json:"ok"`
	File    string          `json:"file"`
	Flows   int             `json:"flows"`
	Numbers int             `json:"numbers"`
	Errors  workbook.Errors `json:"errors"`
}

// countNumbers counts distinct numbers written explicitly in flows; numbers
// found by selectors are known only at plan time.
func countNumbers(w *workbook.Workbook) int {
	seen := map[string]bool{}
	for _, f := range w.Flows {
		for _, n := range f.Numbers {
			seen[n] = true
		}
	}
	return len(seen)
}

func newSchemaCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the workbook's JSON Schema (draft 2020-12) for editors",
		Long: `Schema prints the JSON Schema of voicedr.yaml, generated from voicedr's own types, for
editor completion and inline checks (for example the YAML language server:
# yaml-language-server: $schema=./voicedr.schema.json). Rules across fields, such
as one flow per number, are checked by voicedr validate.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := g.stdout.Write(workbook.Schema())
			return err
		},
	}
}
