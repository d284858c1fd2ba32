package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/standby"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/workbook"
)

func newStandbyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "standby",
		Short: "Provision a flow's standby region to match the primary (plan, then apply; never routing)",
		Long: `standby makes a flow's standby region match its primary: TwiML Apps (by friendly name), SIP
domains, trunks (by domain_name) with their origination URLs, disaster-recovery URL and list
associations, and each number's standby record. "plan" shows the changes for review; "apply"
makes them. Routing is never changed, and secrets are never copied: a credential or IP list the
standby lacks is listed as manual work.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newStandbyPlanCmd(g), newStandbyApplyCmd(g))
	return cmd
}

// standbyInputs are the flags plan and apply share.
type standbyInputs struct {
	tf                 twilioFlags
	flow, workbookPath string
	fromFile, dbPath   string
	asJSON             bool
}

func (in *standbyInputs) register(cmd *cobra.Command) {
	in.tf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&in.flow, "flow", "", "workbook flow whose standby to provision")
	f.StringVar(&in.workbookPath, "workbook", "voicedr.yaml", "workbook (voicedr.yaml) naming the flow and its regions")
	f.BoolVar(&in.asJSON, "json", false, "machine-readable output")
	f.StringVar(&in.dbPath, "db", "voicedr.db", dbFlagHelp)
}

func (in *standbyInputs) workbook() (*workbook.Workbook, error) {
	if in.flow == "" || in.workbookPath == "" {
		return nil, usageError("standby needs --flow NAME and --workbook FILE")
	}
	wb, err := workbook.Load(in.workbookPath)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return wb, nil
}

// plan computes the plan from --snapshot or, with set, a fresh read.
func (in *standbyInputs) plan(cmd *cobra.Command, g *globals, wb *workbook.Workbook, set *twilio.Set) (*standby.Plan, error) {
	var s *snapshot.Snapshot
	var err error
	if in.fromFile != "" {
		s, err = loadSnapshot(in.fromFile)
	} else {
		s, err = readAccount(cmd.Context(), g, set, in.dbPath)
	}
	if err != nil {
		return nil, err
	}
	p, err := standby.MakePlan(s, wb, in.flow)
	if err != nil {
		// A flow or region the workbook or snapshot lacks is the caller's input.
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return p, nil
}

func newStandbyPlanCmd(g *globals) *cobra.Command {
	var (
		in  standbyInputs
		out string
	)
	cmd := &cobra.Command{
		Use:   "plan --flow NAME --workbook FILE [--snapshot FILE] [-o PLAN.json]",
		Short: "Show the changes that make a flow's standby match its primary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			wb, err := in.workbook()
			if err != nil {
				return err
			}
			var set *twilio.Set
			if in.fromFile == "" {
				var pool *twilio.Pool
				if set, pool, err = in.tf.clients(g, g.getenv, nil); err != nil {
					return err
				}
				defer pool.Close()
			}
			p, err := in.plan(cmd, g, wb, set)
			if err != nil {
				return err
			}
			if out != "" {
				if err := writePlanFile(out, p); err != nil {
					return err
				}
			}
			if in.asJSON {
				return p.Write(g.stdout)
			}
			if err := p.WriteSummary(g.stdout); err != nil {
				return err
			}
			if out != "" && !p.Empty() {
				fmt.Fprintf(g.stdout, "Saved the plan to %s. Apply exactly it with:\n  voicedr standby apply --flow %s --workbook %s --plan %s\n",
					out, in.flow, in.workbookPath, out)
			}
			return nil
		},
	}
	in.register(cmd)
	cmd.Flags().StringVar(&in.fromFile, "snapshot", "", "plan against this snapshot file instead of reading the account")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the plan (JSON) to this file for review and apply --plan")
	return cmd
}

func writePlanFile(path string, p *standby.Plan) error {
	f, err := os.Create(path)
	if err != nil {
		return usageError("-o: %v", err)
	}
	if err := p.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newStandbyApplyCmd(g *globals) *cobra.Command {
	var (
		in          standbyInputs
		planPath    string
		concurrency int
	)
	cmd := &cobra.Command{
		Use:   "apply --flow NAME --workbook FILE [--plan PLAN.json]",
		Short: "Make the changes of a standby plan (reviewed with --plan, or computed now)",
		Long: `apply carries out a standby plan: the file "standby plan -o" wrote (--plan), or one computed now
from a fresh read of the account. It lists the standby's resources before creating any, so running
it again after a failure finishes the work without duplicates. It never changes routing. Exit 0
when everything applied, 1 on the first failure (what was done is printed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			wb, err := in.workbook()
			if err != nil {
				return err
			}
			set, pool, err := in.tf.clients(g, g.getenv, nil)
			if err != nil {
				return err
			}
			defer pool.Close()
			var p *standby.Plan
			if planPath != "" {
				f, err := os.Open(planPath)
				if err != nil {
					return usageError("--plan: %v", err)
				}
				p, err = standby.ReadPlan(f)
				f.Close()
				if err != nil {
					return usageError("--plan %s: %v", planPath, err)
				}
				if p.Flow != in.flow {
					return usageError("--plan %s is for flow %s, not %s", planPath, p.Flow, in.flow)
				}
			} else if p, err = in.plan(cmd, g, wb, set); err != nil {
				return err
			}
			res, applyErr := standby.Apply(cmd.Context(), set, p, standby.ApplyOptions{Concurrency: concurrency})
			if in.asJSON {
				if err := json.NewEncoder(g.stdout).Encode(struct {
					Plan   *standby.Plan  `json:"plan"`
					Result standby.Result `json:"result"`
					Error  string         `json:"error,omitempty"`
				}{p, res, errString(applyErr)}); err != nil {
					return err
				}
			} else {
				printStandbyResult(g.stdout, p, res)
			}
			if applyErr != nil {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%w; %d of %d actions done: run apply again to finish (it skips what exists)",
					applyErr, len(res.Done), len(p.Actions))}
			}
			return nil
		},
	}
	in.register(cmd)
	cmd.Flags().StringVar(&planPath, "plan", "", "apply this reviewed plan file (from standby plan -o) instead of planning now")
	cmd.Flags().IntVar(&concurrency, "concurrency", 16, "number record updates in flight")
	return cmd
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func printStandbyResult(w io.Writer, p *standby.Plan, res standby.Result) {
	counts := map[string]int{}
	for _, d := range res.Done {
		counts[d.Outcome]++
		if d.Outcome != standby.Updated || len(res.Done) <= 50 {
			fmt.Fprintf(w, "  %-16s %s %s\n", d.Outcome, d.Key, d.SID)
		}
	}
	fmt.Fprintf(w, "\nApply of flow %s: %d created, %d updated, %d already present (%d of %d actions). Routing unchanged.\n",
		p.Flow, counts[standby.Created], counts[standby.Updated], counts[standby.Present], len(res.Done), len(p.Actions))
	for _, m := range p.Manual {
		fmt.Fprintf(w, "  ! needs manual action: %s %s: %s\n", m.Region, m.Resource, m.Action)
	}
}
