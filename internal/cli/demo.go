package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/twilio"
)

// The demo runs voicedr's main job on embedded defaults: a generated
// multi-region account in the emulator, read back through voicedr's own
// Twilio client exactly as it would read a real account, then the support
// flow's standby made ready and the flow failed over, in cohorts with gates,
// while us1 voice is down under live traffic.
func newDemoCmd(g *globals) *cobra.Command {
	var (
		c     emulatorConfig
		serve bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Fail a flow over from us1 to ie1 on an emulated account under live traffic, end to end",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if c.envOut == "" {
				c.envOut = filepath.Join(os.TempDir(), "voicedr-demo.env")
			}
			var apps localApps
			c.beforeSeed = apps.beforeSeed
			re, err := startEmulator(&c, g)
			if err != nil {
				return err
			}
			defer apps.close()
			defer re.shutdown()
			fmt.Fprintf(g.stdout, "voicedr demo: Twilio emulator on %s, account %s, %d numbers (rand seed %d)\n\n",
				re.url, re.emu.AccountSID(), c.numbers, c.randSeed)
			var env strings.Builder
			if err := re.emu.WriteEnv(&env, re.url); err != nil {
				return err
			}
			tf := twilioFlags{regions: c.regions, endpoint: re.url, rate: 250, inFlight: 64}
			set, pool, err := tf.clients(g, envFile(env.String(), func(string) string { return "" }), prometheus.NewRegistry())
			if err != nil {
				return err
			}
			defer pool.Close()
			if err := demoReport(ctx, g.stdout, set); err != nil {
				return err
			}
			if re.gaps != nil {
				fmt.Fprintf(g.stdout, "\nThe generator planted %d standby gaps (%s → %s) for readiness to find.\n",
					len(re.gaps.Gaps), re.gaps.Primary, re.gaps.Standby)
			}
			if err := demoDrill(ctx, g.stdout, filepath.Dir(c.envOut), set, &apps); err != nil {
				return err
			}
			if !serve {
				return nil
			}
			fmt.Fprintf(g.stdout, "\nReach it from any shell or twilio-go program:\n  . %s\n  voicedr probe\n  curl -s %s/__emulator/v1/stats\n", c.envOut, re.url)
			fmt.Fprintln(g.stdout, "\nServing until Ctrl-C.")
			select {
			case <-ctx.Done():
				return nil
			case err := <-re.errc:
				return err
			}
		},
	}
	c.flags(cmd, 200)
	cmd.Flags().Lookup("listen").DefValue = "127.0.0.1:0"
	_ = cmd.Flags().Set("listen", "127.0.0.1:0")
	cmd.Flags().BoolVar(&serve, "serve", false, "keep the emulator and sample apps running after the report, for a look")
	var once bool
	cmd.Flags().BoolVar(&once, "once", true, "exit after the report (the default; kept for scripts)")
	_ = cmd.Flags().MarkHidden("once")
	return cmd
}

// demoReport probes each region and reads the whole account through the
// inventory (every region's records, then every number's routing), as
// posture and readiness do.
func demoReport(ctx context.Context, w io.Writer, set *twilio.Set) error {
	healths := twilio.ProbeAll(ctx, set, twilio.ProbeOptions{})
	s, err := inventory.Read(ctx, set, inventory.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-6s %-8s %8s %11s  %s\n", "REGION", "HEALTH", "NUMBERS", "CONFIGURED", "HANDLERS (trunk > app > url)")
	for i, c := range set.Clients() {
		reg := string(c.Region())
		numbers, by := 0, map[string]int{}
		for _, n := range s.Numbers {
			if rec, ok := n.Records[reg]; ok {
				numbers++
				by[posture.Effective(rec, s.Resources[reg]).Kind]++
			}
		}
		fmt.Fprintf(w, "%-6s %-8s %8d %11d  trunk %d, app %d, url %d\n", reg, healths[i].Status, numbers,
			by["trunk"]+by["app"]+by["url"], by["trunk"], by["app"], by["url"])
	}
	routing := map[string]int{}
	for _, n := range s.Numbers {
		key := n.Routing.VoiceRegion + " (explicit)"
		if !n.Routing.Explicit {
			key = "us1 (never set: 404)"
		}
		routing[key]++
	}
	fmt.Fprintf(w, "\nInbound routing of the %d numbers (routes API, one global table):\n", len(s.Numbers))
	for _, k := range sortedMapKeys(routing) {
		fmt.Fprintf(w, "  %-28s %d\n", k, routing[k])
	}
	rep := posture.Assess(s, nil)
	fmt.Fprintf(w, "\nPosture (voicedr posture): stage 1 in-region resilience flags %d numbers, stage 2 isolation %d:\n",
		rep.Stages[1].Flagged, rep.Stages[2].Flagged)
	for _, k := range sortedMapKeys(rep.ByKind) {
		fmt.Fprintf(w, "  %-32s %d\n", k, rep.ByKind[k])
	}
	return nil
}
