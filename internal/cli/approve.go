package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
)

// newApproveCmd records one person's decision on a plan and prints where
// its approval stands. Locally the person is asserted by --as; the server
// authenticates them by token instead.
func newApproveCmd(g *globals) *cobra.Command {
	var (
		as, breakGlass, reason, wbPath, dbPath, keyPath string
		reject, asJSON                                  bool
	)
	cmd := &cobra.Command{
		Use:   "approve PLAN_OR_DIGEST_OR_RUN --as PERSON [--reject] [--break-glass REASON] [--reason TEXT]",
		Short: "Approve, reject or break glass on a plan, and show its approval status",
		Long: `approve records a decision on one plan, bound to its digest: the plan file, its full digest (a plan
already in --db) or a run ID. The person is one of the workbook's governance.people, and their role
is the workbook's. The person who requested the plan's execution may not approve it. --reject vetoes
the plan. --break-glass REASON lets the plan run without quorum; it is flagged for review wherever
the run shows. Approvals expire after an hour.

Exit 0 recorded (the status says whether the plan may now run), 2 bad input or unknown person,
6 refused (a role the policy does not list, or the requester approving their own request).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r := remoteFor(cmd, g); r != nil {
				return r.approve(cmd, args[0], as, reject, breakGlass, reason, asJSON)
			}
			ctx := cmd.Context()
			if as == "" {
				return usageError("--as PERSON is required: the workbook person deciding")
			}
			decision := governance.DecisionApprove
			switch {
			case reject && cmd.Flags().Changed("break-glass"):
				return usageError("--reject and --break-glass exclude each other")
			case reject:
				decision = governance.DecisionReject
			case cmd.Flags().Changed("break-glass"):
				decision, reason = governance.DecisionBreakGlass, strings.TrimSpace(breakGlass+" "+reason)
				if strings.TrimSpace(breakGlass) == "" {
					return usageError("--break-glass needs a named reason, e.g. --break-glass \"us1 down, business owner unreachable\"")
				}
			}
			pol, db, err := openGovernance(ctx, wbPath, dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			p, runID, err := resolvePlan(ctx, db, args[0])
			if err != nil {
				return err
			}
			log, err := openAudit(db, keyPath)
			if err != nil {
				return err
			}
			a := &governance.Approvals{Store: db, Policy: pol, Audit: log}
			rec, err := a.Record(ctx, p.Digest, runID, as, decision, reason)
			if err != nil {
				return governanceExit(err)
			}
			st, err := a.Check(ctx, p)
			if err != nil {
				return governanceExit(err)
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(map[string]any{"recorded": rec, "status": st})
			}
			fmt.Fprintf(g.stdout, "Recorded %s by %s (%s) on plan %.12s (%s %s %s→%s), counts until %s\n",
				rec.Decision, rec.Person, rec.Role, p.Digest, p.Kind, p.Flow, p.From, p.To, rec.Expires.Format(time.RFC3339))
			printApprovalStatus(g.stdout, st)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&as, "as", "", "the person deciding (a name from the workbook's governance.people)")
	f.StringVar(&keyPath, "signing-key", signing.PrivateFile, signingKeyHelp)
	f.BoolVar(&reject, "reject", false, "reject (veto) the plan")
	f.StringVar(&breakGlass, "break-glass", "", "execute without quorum, for this named reason (flagged for review)")
	f.StringVar(&reason, "reason", "", "a note kept with the decision")
	f.StringVar(&wbPath, "workbook", "voicedr.yaml", "the workbook naming people, roles and the approval policy")
	f.StringVar(&dbPath, "db", "voicedr.db", "state database (SQLite) where approvals are kept")
	f.BoolVar(&asJSON, "json", false, "machine-readable output")
	addRemoteFlags(cmd)
	return cmd
}

// newTokenCmd manages per-person API tokens for the server.
func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token create|revoke",
		Short: "Create or revoke a person's API token (stored hashed)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newTokenCreateCmd(g), newTokenRevokeCmd(g))
	return cmd
}

func newTokenCreateCmd(g *globals) *cobra.Command {
	var (
		person, wbPath, dbPath string
		asJSON                 bool
	)
	cmd := &cobra.Command{
		Use:   "create --person NAME",
		Short: "Create an API token for a workbook person; it is printed once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if person == "" {
				return usageError("--person NAME is required: a name from the workbook's governance.people")
			}
			pol, db, err := openGovernance(cmd.Context(), wbPath, dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			role, ok := pol.RoleOf(person)
			if !ok {
				return usageError("--person %q is not in the workbook's governance.people; add them there first", person)
			}
			tok, err := governance.IssueToken(cmd.Context(), db, person, rand.Reader)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(map[string]string{"person": person, "role": role, "standing": pol.Standing(person), "token": tok})
			}
			fmt.Fprintf(g.stderr, "Token for %s (%s, %s). It is shown once and stored only as a hash: keep it now.\n", person, role, pol.Standing(person))
			fmt.Fprintln(g.stdout, tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&person, "person", "", "the person the token authenticates")
	cmd.Flags().StringVar(&wbPath, "workbook", "voicedr.yaml", "the workbook naming people and roles")
	cmd.Flags().StringVar(&dbPath, "db", "voicedr.db", "state database (SQLite) where token hashes are kept")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

func newTokenRevokeCmd(g *globals) *cobra.Command {
	var dbPath string
	cmd := &cobra.Command{
		Use:   "revoke < TOKEN",
		Short: "Revoke a token read from standard input (never from the command line, where it would leak)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
			if err != nil {
				return err
			}
			tok := strings.TrimSpace(string(b))
			if tok == "" {
				return usageError("give the token on standard input")
			}
			db, err := sqlite.Open(cmd.Context(), dbPath)
			if err != nil {
				return fmt.Errorf("open --db %s: %w", dbPath, err)
			}
			defer db.Close()
			if err := governance.RevokeToken(cmd.Context(), db, tok); err != nil {
				return governanceExit(err)
			}
			fmt.Fprintln(g.stdout, "token revoked")
			return nil
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "voicedr.db", "state database (SQLite) where token hashes are kept")
	return cmd
}

// openGovernance loads the workbook's policy and opens the store.
func openGovernance(ctx context.Context, wbPath, dbPath string) (*governance.Policy, *sqlite.Store, error) {
	if dbPath == "" {
		return nil, nil, usageError("--db is required: approvals and tokens live there")
	}
	wb, _, err := loadWorkbook(wbPath)
	if err != nil {
		return nil, nil, err
	}
	pol, err := governance.NewPolicy(wb)
	if err != nil {
		return nil, nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", wbPath, err)}
	}
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return nil, nil, fmt.Errorf("open --db %s: %w", dbPath, err)
	}
	return pol, db, nil
}

// resolvePlan finds the plan an approval is about: a plan file (stored in
// the database so later approvals can name its digest), a full digest of a
// stored plan, or a run ID.
func resolvePlan(ctx context.Context, db store.Store, arg string) (*plan.Plan, string, error) {
	if _, err := os.Stat(arg); err == nil {
		p, err := readPlanFile(arg)
		if err != nil {
			return nil, "", err
		}
		var buf bytes.Buffer
		if err := p.Write(&buf); err != nil {
			return nil, "", err
		}
		if err := db.PutPlan(ctx, p.Digest, buf.Bytes()); err != nil {
			return nil, "", fmt.Errorf("store plan %.12s: %w", p.Digest, err)
		}
		return p, "", nil
	}
	digest, runID := arg, ""
	if _, err := hex.DecodeString(arg); err != nil || len(arg) != 64 {
		run, err := db.GetRun(ctx, arg)
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", usageError("%q is not a plan file, a full plan digest or a run ID", arg)
		}
		if err != nil {
			return nil, "", err
		}
		digest, runID = run.PlanDigest, run.ID
	}
	body, err := db.GetPlan(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", usageError("plan %.12s is not in the database: approve the plan file instead", digest)
	}
	if err != nil {
		return nil, "", err
	}
	p, err := plan.Read(bytes.NewReader(body))
	if err != nil {
		return nil, "", fmt.Errorf("stored plan %.12s: %w", digest, err)
	}
	return p, runID, nil
}

// governanceExit maps governance errors to exit codes: unknown people and
// malformed input are usage (2), refusals are 6.
func governanceExit(err error) error {
	switch {
	case errors.Is(err, governance.ErrUnknownPerson), errors.Is(err, governance.ErrInvalid):
		return &ExitError{Code: ExitUsage, Err: err}
	case errors.Is(err, governance.ErrForbidden), errors.Is(err, governance.ErrNotApproved), errors.Is(err, governance.ErrUnauthenticated):
		return &ExitError{Code: ExitRefused, Err: err}
	}
	return err
}

func printApprovalStatus(w io.Writer, st governance.Status) {
	switch {
	case st.BreakGlass:
		fmt.Fprintf(w, "Policy %s: SATISFIED BY BREAK-GLASS: %s\n", st.Policy, st.Reason)
	case st.Satisfied:
		fmt.Fprintf(w, "Policy %s: satisfied: %s\n", st.Policy, st.Reason)
	case st.Vetoed:
		fmt.Fprintf(w, "Policy %s: VETOED: %s\n", st.Policy, st.Reason)
	default:
		fmt.Fprintf(w, "Policy %s: not yet: %s\n", st.Policy, st.Reason)
	}
	if len(st.Approvals) == 0 {
		return
	}
	counted := map[string]bool{}
	for _, c := range st.Counted {
		counted[c.ID] = true
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PERSON\tROLE\tDECISION\tAT\tCOUNTS\tREASON")
	for _, a := range st.Approvals {
		c := "no"
		if counted[a.ID] {
			c = "yes"
		}
		if a.Decision == governance.DecisionRequest {
			c = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", a.Person, a.Role, a.Decision, a.At.Format(time.RFC3339), c, a.Reason)
	}
	_ = tw.Flush()
}
