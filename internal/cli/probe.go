package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/twilio"
)

func newProbeCmd(g *globals) *cobra.Command {
	var (
		tf      twilioFlags
		asJSON  bool
		samples int
		slow    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Check each region's Twilio API with its own credentials: up, degraded or down",
		Long: `Probe lists one incoming phone number in each region (it works with every API key type),
a few times, and reports up / degraded / down. Exit 0 when every region is up or
degraded, 1 when any is down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set, pool, err := tf.clients(g, g.getenv, nil)
			if err != nil {
				return err
			}
			defer pool.Close()
			hs := twilio.ProbeAll(cmd.Context(), set, twilio.ProbeOptions{Samples: samples, DegradedLatency: slow})
			if asJSON {
				err = json.NewEncoder(g.stdout).Encode(probeJSON(hs))
			} else {
				printHealth(g.stdout, hs)
			}
			if err != nil {
				return err
			}
			for _, h := range hs {
				if h.Status == twilio.StatusDown {
					return &ExitError{Code: ExitFailed, Err: fmt.Errorf("region %s is down", h.Region)}
				}
			}
			return nil
		},
	}
	tf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	cmd.Flags().IntVar(&samples, "samples", 3, "requests per region")
	cmd.Flags().DurationVar(&slow, "degraded-latency", 2*time.Second, "median latency above which a region is degraded")
	return cmd
}

type healthJSON struct {
	Region   string  `json:"region"`
	Status   string  `json:"status"`
	Samples  int     `json:"samples"`
	Failures int     `json:"failures"`
	MedianMS float64 `json:"median_ms"`
	MaxMS    float64 `json:"max_ms"`
	Error    string  `json:"error,omitempty"`
}

func probeJSON(hs []twilio.Health) []healthJSON {
	out := make([]healthJSON, 0, len(hs))
	for _, h := range hs {
		j := healthJSON{Region: string(h.Region), Status: string(h.Status), Samples: h.Samples, Failures: h.Failures,
			MedianMS: ms(h.Median), MaxMS: ms(h.Max)}
		if h.Err != nil {
			j.Error = h.Err.Error()
		}
		out = append(out, j)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printHealth(w io.Writer, hs []twilio.Health) {
	fmt.Fprintf(w, "%-6s %-9s %8s %10s  %s\n", "REGION", "STATUS", "FAILED", "MEDIAN", "DETAIL")
	for _, h := range hs {
		detail := ""
		if h.Err != nil {
			detail = h.Err.Error()
		}
		fmt.Fprintf(w, "%-6s %-9s %4d/%-3d %10s  %s\n", h.Region, h.Status, h.Failures, h.Samples, h.Median.Round(time.Microsecond), detail)
	}
}
