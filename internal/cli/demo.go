package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"
	"golang.org/x/sync/errgroup"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// The demo runs voicedr's main job on embedded defaults. Today that is the
// foundation: a generated multi-region account in the emulator, read back
// through voicedr's own Twilio client exactly as it would read a real account.
func newDemoCmd(g *globals) *cobra.Command {
	var (
		c    emulatorConfig
		once bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start the emulator with a generated account and read it back through voicedr's Twilio client",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if c.envOut == "" {
				c.envOut = filepath.Join(os.TempDir(), "voicedr-demo.env")
			}
			var apps demoApps
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
			if err := demoCalls(ctx, g.stdout, re.emu); err != nil {
				return err
			}
			if re.gaps != nil {
				fmt.Fprintf(g.stdout, "\nThe generator planted %d standby gaps (%s → %s); later readiness checks must find them all.\n",
					len(re.gaps.Gaps), re.gaps.Primary, re.gaps.Standby)
			}
			fmt.Fprintf(g.stdout, "\nReach it from any shell or twilio-go program:\n  . %s\n  voicedr probe\n  curl -s %s/__emulator/v1/stats\n", c.envOut, re.url)
			if once {
				return nil
			}
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
	cmd.Flags().BoolVar(&once, "once", false, "exit after the report instead of serving")
	return cmd
}

// regionView is what the demo read of one region.
type regionView struct {
	health     twilio.Health
	numbers    int
	configured int
	byHandler  map[string]int
}

// demoReport probes each region, lists every number's record in each region
// and reads every number's routing, all through the Twilio client.
func demoReport(ctx context.Context, w io.Writer, set *twilio.Set) error {
	healths := twilio.ProbeAll(ctx, set, twilio.ProbeOptions{})
	views := map[region.Region]*regionView{}
	var e164s []string
	for i, c := range set.Clients() {
		v := &regionView{health: healths[i], byHandler: map[string]int{}}
		views[c.Region()] = v
		nums, err := c.API(ctx).ListIncomingPhoneNumber(new(apiv2010.ListIncomingPhoneNumberParams).SetPageSize(1000))
		if err != nil {
			return c.Classify("ListIncomingPhoneNumber", err)
		}
		v.numbers = len(nums)
		for _, n := range nums {
			h := handlerOf(n)
			if h != "" {
				v.configured++
				v.byHandler[h]++
			}
			if i == 0 {
				e164s = append(e164s, *n.PhoneNumber)
			}
		}
	}
	routing, err := readRouting(ctx, set.Clients()[0], e164s)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-6s %-8s %8s %11s  %s\n", "REGION", "HEALTH", "NUMBERS", "CONFIGURED", "HANDLERS (trunk > app > url)")
	for _, c := range set.Clients() {
		v := views[c.Region()]
		fmt.Fprintf(w, "%-6s %-8s %8d %11d  trunk %d, app %d, url %d\n", c.Region(), v.health.Status, v.numbers, v.configured,
			v.byHandler["trunk"], v.byHandler["app"], v.byHandler["url"])
	}
	keys := make([]string, 0, len(routing))
	for k := range routing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "\nInbound routing of the %d numbers (routes API, one global table):\n", len(e164s))
	for _, k := range keys {
		fmt.Fprintf(w, "  %-28s %d\n", k, routing[k])
	}
	return nil
}

func handlerOf(n apiv2010.ApiV2010IncomingPhoneNumber) string {
	switch {
	case n.TrunkSid != nil && *n.TrunkSid != "":
		return "trunk"
	case n.VoiceApplicationSid != nil && *n.VoiceApplicationSid != "":
		return "app"
	case n.VoiceUrl != nil && *n.VoiceUrl != "":
		return "url"
	}
	return ""
}

// readRouting fetches each number's routing, 16 at a time; a 404 means it
// was never set, so us1.
func readRouting(ctx context.Context, c *twilio.Client, e164s []string) (map[string]int, error) {
	var mu sync.Mutex
	out := map[string]int{}
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(16)
	for _, n := range e164s {
		eg.Go(func() error {
			r, err := c.Routes(ctx).FetchPhoneNumber(n)
			key := ""
			switch err := c.Classify("FetchPhoneNumber", err); {
			case err == nil && r.VoiceRegion != nil:
				key = *r.VoiceRegion + " (explicit)"
			case errors.Is(err, twilio.KindNotFound):
				key = "us1 (never set: 404)"
			default:
				return err
			}
			mu.Lock()
			out[key]++
			mu.Unlock()
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
