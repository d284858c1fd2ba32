package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// emulatorConfig is everything `voicedr emulator` (and the demo) can set.
type emulatorConfig struct {
	listen                         string
	tlsCert, tlsKey                string
	latency, jitter                time.Duration
	concurrencyLimit               int
	propagationDelay               time.Duration
	faultsFile                     string
	down                           []string
	routesWritesNeedUS1            bool
	seedFile                       string
	numbers                        int
	randSeed                       uint64
	regions                        []string
	primary, standby               string
	gapsOut, envOut, snapshotOut   string
	sharedNumberSIDs, lenientEdges bool
	trafficFile                    string
	trafficCPS                     float64
	trafficFor                     time.Duration
	calls                          callFlags
	sampleApps                     bool
	standbyShare                   float64
	// beforeSeed, when set, may change the seed once the emulator (and so
	// its credentials) exists: the demo points webhooks at sample apps.
	beforeSeed func(*twilioemu.Emulator, *snapshot.Snapshot) error
}

func (c *emulatorConfig) flags(cmd *cobra.Command, defaultNumbers int) {
	f := cmd.Flags()
	f.StringVar(&c.listen, "listen", "127.0.0.1:4010", "address to listen on (loopback by default)")
	f.StringVar(&c.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM), for SDKs pointed at it through a hosts entry")
	f.StringVar(&c.tlsKey, "tls-key", "", "private key (PEM) for --tls-cert")
	f.DurationVar(&c.latency, "latency", 0, "latency added to every Twilio request")
	f.DurationVar(&c.jitter, "jitter", 0, "jitter around --latency (uniform ±jitter)")
	f.IntVar(&c.concurrencyLimit, "concurrency-limit", twilioemu.DefaultConcurrencyLimit, "requests in flight above which the account gets 429 / 20429 (0: unlimited)")
	f.DurationVar(&c.propagationDelay, "propagation-delay", 0, "delay before a routing change affects calls (Twilio: up to 5m)")
	f.StringVar(&c.faultsFile, "faults", "", "faults document (JSON, version 1) to start with; see docs/emulator.md")
	f.StringArrayVar(&c.down, "down", nil, "take a region down: REGION[:PRODUCT][=reset|blackhole|503] (repeatable)")
	f.BoolVar(&c.routesWritesNeedUS1, "routes-writes-need-us1", false, "refuse routing writes through non-us1 hosts while us1 routes is down")
	f.StringVar(&c.seedFile, "seed", "", "seed the account from a snapshot file (the format voicedr's inventory writes)")
	f.IntVar(&c.numbers, "numbers", defaultNumbers, "generate an account with this many numbers (ignored with --seed)")
	f.Uint64Var(&c.randSeed, "rand-seed", 1, "random seed: the same seed gives the same account and credentials")
	f.StringSliceVar(&c.regions, "regions", []string{"us1", "ie1", "au1"}, "regions to serve")
	f.StringVar(&c.primary, "primary", "us1", "primary region of the generated account")
	f.StringVar(&c.standby, "standby", "ie1", "standby region of the generated account (partly configured on purpose)")
	f.BoolVar(&c.sampleApps, "sample-apps", false, "run one sample customer app per region in process and point every webhook of the account at them (their URLs go to --env-out as VOICEDR_SAMPLE_APP_<REGION>)")
	f.Float64Var(&c.standbyShare, "standby-share", 0, "share (0..1) of generated numbers whose standby record is configured (0: the generator's default, which leaves gaps on purpose)")
	f.StringVar(&c.gapsOut, "gaps-out", "", "write the gaps the generator planted (JSON) to this file")
	f.StringVar(&c.envOut, "env-out", "", "write the credentials as shell variables to this file")
	f.StringVar(&c.snapshotOut, "snapshot-out", "", "write the seeded account as a snapshot file")
	f.BoolVar(&c.sharedNumberSIDs, "shared-number-sids", false, "give a number the same SID in every region")
	f.BoolVar(&c.lenientEdges, "lenient-edges", false, "accept any edge with ie1/au1 (Twilio documents only the home city)")
	c.calls.register(f)
	f.StringVar(&c.trafficFile, "traffic", "", "traffic document (JSON, version 1) to start once seeded; see docs/emulator.md")
	f.Float64Var(&c.trafficCPS, "traffic-cps", 0, "place inbound calls to every number at this rate once seeded (needs --traffic-for)")
	f.DurationVar(&c.trafficFor, "traffic-for", 0, "how long --traffic-cps runs (traffic is always bounded)")
}

// traffic builds the traffic document to start with, if any: --traffic FILE,
// or --traffic-cps with --traffic-for for every number. It is checked before
// seeding so a bad flag fails fast.
func (c *emulatorConfig) traffic() (*twilioemu.Traffic, error) {
	switch {
	case c.trafficFile != "" && (c.trafficCPS != 0 || c.trafficFor != 0):
		return nil, usageError("--traffic FILE and --traffic-cps/--traffic-for are alternatives: choose one")
	case c.trafficFile != "":
		b, err := os.ReadFile(c.trafficFile)
		if err != nil {
			return nil, usageError("--traffic: %v", err)
		}
		t, err := twilioemu.ParseTraffic(b)
		if err != nil {
			return nil, usageError("--traffic %s: %v", c.trafficFile, err)
		}
		return t, nil
	case c.trafficCPS == 0 && c.trafficFor == 0:
		return nil, nil
	case c.trafficCPS == 0 || c.trafficFor == 0:
		return nil, usageError("--traffic-cps and --traffic-for go together (traffic always stops by itself)")
	}
	t := &twilioemu.Traffic{Version: twilioemu.TrafficVersion, CallsPerSecond: c.trafficCPS,
		Numbers: twilioemu.TrafficNumbers{All: true}, For: twilioemu.Duration(c.trafficFor)}
	if err := t.Validate(); err != nil {
		return nil, usageError("--traffic-cps/--traffic-for: %v", err)
	}
	return t, nil
}

// faults builds the starting faults document from the flags.
func (c *emulatorConfig) faults() (*twilioemu.Faults, error) {
	f := &twilioemu.Faults{Version: twilioemu.FaultsVersion}
	if c.faultsFile != "" {
		b, err := os.ReadFile(c.faultsFile)
		if err != nil {
			return nil, usageError("--faults: %v", err)
		}
		if f, err = twilioemu.ParseFaults(b); err != nil {
			return nil, usageError("--faults %s: %v", c.faultsFile, err)
		}
	}
	for _, d := range c.down {
		rf, err := parseDown(d)
		if err != nil {
			return nil, usageError("--down %q: %v", d, err)
		}
		f.Regions = append(f.Regions, rf)
	}
	if c.latency > 0 {
		f.Regions = append(f.Regions, twilioemu.RegionFault{Region: "*", Product: "*", Latency: twilioemu.Duration(c.latency), Jitter: twilioemu.Duration(c.jitter)})
	}
	switch {
	case c.concurrencyLimit <= 0:
		f.ConcurrencyLimit = -1 // unlimited
	case c.concurrencyLimit != twilioemu.DefaultConcurrencyLimit:
		f.ConcurrencyLimit = c.concurrencyLimit
	}
	if c.propagationDelay > 0 {
		f.PropagationDelay = twilioemu.Duration(c.propagationDelay)
	}
	f.RoutesWritesNeedUS1 = f.RoutesWritesNeedUS1 || c.routesWritesNeedUS1
	if err := f.Validate(); err != nil {
		return nil, usageError("%v", err)
	}
	return f, nil
}

// parseDown reads REGION[:PRODUCT][=MODE].
func parseDown(s string) (twilioemu.RegionFault, error) {
	rf := twilioemu.RegionFault{Product: "*", Down: "503"}
	spec, mode, hasMode := strings.Cut(s, "=")
	if hasMode {
		rf.Down = mode
	}
	reg, product, hasProduct := strings.Cut(spec, ":")
	rf.Region = reg
	if hasProduct {
		rf.Product = product
	}
	f := twilioemu.Faults{Version: twilioemu.FaultsVersion, Regions: []twilioemu.RegionFault{rf}}
	return rf, f.Validate()
}

// runningEmulator is an emulator serving on a listener.
type runningEmulator struct {
	emu  *twilioemu.Emulator
	srv  *http.Server
	url  string
	gaps *twilioemu.GapList
	apps *localApps
	errc chan error
}

// startEmulator builds, seeds and starts the emulator; it serves until
// shutdown is called.
func startEmulator(c *emulatorConfig, g *globals) (*runningEmulator, error) {
	var regions []region.Region
	for _, s := range c.regions {
		r, err := region.Parse(s)
		if err != nil {
			return nil, usageError("--regions: %v", err)
		}
		regions = append(regions, r)
	}
	faults, err := c.faults()
	if err != nil {
		return nil, err
	}
	traffic, err := c.traffic()
	if err != nil {
		return nil, err
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, usageError("--tls-cert and --tls-key go together")
	}
	opts := twilioemu.Options{Logger: g.logger, Regions: regions, RandSeed: c.randSeed,
		SharedNumberSIDs: c.sharedNumberSIDs, LenientEdges: c.lenientEdges, Faults: faults}
	c.calls.apply(&opts)
	emu := twilioemu.New(opts)
	re := &runningEmulator{emu: emu, errc: make(chan error, 1)}
	if c.sampleApps && c.beforeSeed == nil {
		re.apps = &localApps{}
		c.beforeSeed = re.apps.beforeSeed
	}
	if err := c.seed(re, regions); err != nil {
		re.closeApps()
		return nil, err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (choose another with --listen)", c.listen, err)
	}
	scheme := "http"
	if c.tlsCert != "" {
		scheme = "https"
	}
	re.url = scheme + "://" + ln.Addr().String()
	re.srv = &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	if err := c.writeOutputs(re); err != nil {
		ln.Close()
		return nil, err
	}
	// After seeding, as the numbers are selected when traffic starts.
	if traffic != nil {
		if err := emu.StartTraffic(traffic); err != nil {
			ln.Close()
			src := "--traffic " + c.trafficFile
			if c.trafficFile == "" {
				src = "--traffic-cps"
			}
			return nil, usageError("%s: %v", src, err)
		}
	}
	go func() {
		var err error
		if c.tlsCert != "" {
			err = re.srv.ServeTLS(ln, c.tlsCert, c.tlsKey)
		} else {
			err = re.srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		re.errc <- err
	}()
	return re, nil
}

func (c *emulatorConfig) seed(re *runningEmulator, regions []region.Region) error {
	var snap *snapshot.Snapshot
	switch {
	case c.seedFile != "":
		f, err := os.Open(c.seedFile)
		if err != nil {
			return usageError("--seed: %v", err)
		}
		defer f.Close()
		if snap, err = snapshot.Read(f); err != nil {
			return usageError("--seed %s: %v", c.seedFile, err)
		}
	case c.numbers > 0:
		p, err := region.Parse(c.primary)
		if err != nil {
			return usageError("--primary: %v", err)
		}
		s, err := region.Parse(c.standby)
		if err != nil {
			return usageError("--standby: %v", err)
		}
		if p == s {
			return usageError("--primary and --standby are both %s: choose two regions", p)
		}
		if c.standbyShare < 0 || c.standbyShare > 1 {
			return usageError("--standby-share %g: write a share from 0 to 1", c.standbyShare)
		}
		snap, re.gaps = twilioemu.Generate(twilioemu.GenerateOptions{Numbers: c.numbers, RandSeed: c.randSeed, Primary: p, Standby: s, Regions: regions,
			StandbyShare: c.standbyShare})
	default:
		return nil
	}
	if c.beforeSeed != nil {
		if err := c.beforeSeed(re.emu, snap); err != nil {
			return err
		}
	}
	if err := re.emu.Seed(snap); err != nil {
		return usageError("seed: %v", err)
	}
	return nil
}

func (c *emulatorConfig) writeOutputs(re *runningEmulator) error {
	write := func(path string, fn func(f *os.File) error) error {
		if path == "" {
			return nil
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return f.Close()
	}
	if err := write(c.envOut, func(f *os.File) error {
		if err := re.emu.WriteEnv(f, re.url); err != nil {
			return err
		}
		if re.apps != nil {
			return re.apps.writeEnv(f)
		}
		return nil
	}); err != nil {
		return err
	}
	if re.gaps != nil {
		if err := write(c.gapsOut, func(f *os.File) error { return re.gaps.Write(f) }); err != nil {
			return err
		}
	} else if c.gapsOut != "" {
		return usageError("--gaps-out needs a generated account (--numbers N, no --seed)")
	}
	return write(c.snapshotOut, func(f *os.File) error { return re.emu.Snapshot(false).Write(f) })
}

func (re *runningEmulator) closeApps() {
	if re.apps != nil {
		re.apps.close()
	}
}

func (re *runningEmulator) shutdown() error {
	defer re.closeApps()
	re.emu.Close()
	re.emu.StopTraffic() // after Close, so calls in flight are cut short
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := re.srv.Shutdown(ctx)
	if serveErr := <-re.errc; serveErr != nil {
		return serveErr
	}
	return err
}

func newEmulatorCmd(g *globals) *cobra.Command {
	var c emulatorConfig
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Serve a multi-region Twilio REST API emulator",
		Long: `Serve Twilio's REST API for Voice (api 2010-04-01, routes v2, trunking v1, insights v1,
monitor v1) for us1, ie1 and au1 on one listener, telling product, edge and region from
the Host header. Point voicedr (or any twilio-go client) at it with
VOICEDR_TWILIO_ENDPOINT; --env-out writes the credentials. The operator API is under
/__emulator/v1/ (docs/emulator.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			re, err := startEmulator(&c, g)
			if err != nil {
				return err
			}
			g.logger.Info("emulator listening", "url", re.url, "account_sid", re.emu.AccountSID(), "numbers", len(re.emu.Snapshot(false).Numbers))
			if c.envOut != "" {
				fmt.Fprintf(g.stdout, "credentials written to %s: . %s\n", c.envOut, c.envOut)
			}
			fmt.Fprintf(g.stdout, "emulator listening on %s (operator API: %s/__emulator/v1/health)\n", re.url, re.url)
			if st := re.emu.TrafficStatus(); st.Running {
				fmt.Fprintf(g.stdout, "traffic: %g calls/s to %d numbers (status: %s/__emulator/v1/traffic)\n", st.Document.CallsPerSecond, st.Numbers, re.url)
			}
			select {
			case <-cmd.Context().Done():
			case err := <-re.errc:
				return err
			}
			return re.shutdown()
		},
	}
	c.flags(cmd, 0)
	return cmd
}
