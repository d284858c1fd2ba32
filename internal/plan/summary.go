package plan

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteSummary writes the plan for review, as terraform plan does: what
// moves where, in which cohorts, judged by which gates, and what blocks it.
func (p *Plan) WriteSummary(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of flow %s: %s → %s (%s)\n", title(p.Kind), p.Flow, p.From, p.To, p.Mode)
	fmt.Fprintf(&b, "  plan digest      %s\n", p.Digest)
	fmt.Fprintf(&b, "  observed         %s, %s snapshot, %s old\n", p.Observed.TakenAt.Format(time.RFC3339), p.SnapshotSource, time.Duration(p.SnapshotAge))
	fmt.Fprintf(&b, "  routing writes   via %s (in this order), at most %g/s\n", strings.Join(p.RoutesWrite, ", "), p.Execution.RoutingRate)
	fmt.Fprintf(&b, "  proof            %d number(s) per cohort, wait up to %s, test calls from %s\n",
		p.Execution.ProofSample, time.Duration(p.Execution.ProofWait), cmp.Or(p.Execution.CallerID, "(none: live traffic only)"))
	fmt.Fprintf(&b, "  approval policy  %s\n", p.Approval)
	if p.Already > 0 {
		fmt.Fprintf(&b, "  already in %s   %d (nothing to do)\n", p.To, p.Already)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tcohort\tkind\tmoves\tgate\ton no-go\tsample")
	total := 0
	for i, c := range p.Cohorts {
		gate := "(none: go once proven)"
		if c.Gate != nil {
			gate = c.Gate.Name
		}
		total += len(c.Actions)
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%d\t%s\t%s\t%s\n", i+1, c.Name, c.Kind, len(c.Actions), gate, c.NoGo, strings.Join(c.Sample, " "))
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n  ~ %d routing write(s): voice_region %s → %s\n", total, p.From, p.To)
	for _, h := range p.Hooks {
		fmt.Fprintf(&b, "  hook %s (%s, %s, timeout %s)\n", h.Name, h.Type, h.When, h.Timeout)
	}
	if len(p.Gaps) > 0 {
		fmt.Fprintf(&b, "\n  %d readiness gap(s) in %s:\n", len(p.Gaps), p.To)
		for i, g := range p.Gaps {
			if i == 10 {
				fmt.Fprintf(&b, "    ... and %d more (see the plan's gaps)\n", len(p.Gaps)-10)
				break
			}
			fmt.Fprintf(&b, "    %s %s: %s\n", g.Kind, g.Resource, g.Detail)
		}
		if len(p.Accepted) > 0 {
			fmt.Fprintf(&b, "  accepted: %s\n", strings.Join(p.Accepted, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
