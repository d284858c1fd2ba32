package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
)

// sampleAppConfig is everything `voicedr sample-app` can set.
type sampleAppConfig struct {
	region, listen, tokenRef, publicURL string
	voice, fallback                     string
	slow                                time.Duration
	unhealthy                           bool
}

func (c *sampleAppConfig) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.region, "region", "", "region this app serves: us1, ie1 or au1 (required)")
	f.StringVar(&c.listen, "listen", "127.0.0.1:0", "address to listen on (port 0: any free port, printed at start)")
	f.StringVar(&c.tokenRef, "auth-token-env", "", "environment variable holding the region's auth token, or env:NAME / file:PATH\n(default TWILIO_<REGION>_AUTH_TOKEN; the token itself is never accepted here)")
	f.StringVar(&c.publicURL, "public-url", "", "URL Twilio reaches this app at (signatures cover it); default: from each request's Host")
	f.StringVar(&c.voice, "voice", string(sampleapp.OK), "voice webhook behaviour: ok, fail, slow or bad-twiml")
	f.StringVar(&c.fallback, "fallback", string(sampleapp.OK), "fallback behaviour: ok, fail, slow or bad-twiml")
	f.DurationVar(&c.slow, "slow", sampleapp.DefaultSlow, "how long slow mode waits before answering")
	f.BoolVar(&c.unhealthy, "unhealthy", false, "start with /health answering 503")
}

// envName is what a bare --auth-token-env value must look like. Upper case
// only: a Twilio auth token is lower-case hex, so a token pasted here by
// mistake is refused instead of being looked up (and maybe logged) as a name.
var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// authTokenRef turns --auth-token-env into a credential reference.
func authTokenRef(flag string, r region.Region) (region.CredentialRef, error) {
	switch {
	case flag == "":
		return region.EnvRef(r.EnvPrefix() + "AUTH_TOKEN"), nil
	case envName.MatchString(flag):
		return region.EnvRef(flag), nil
	}
	ref := region.CredentialRef(flag)
	if err := ref.Validate(); err != nil {
		// The message never repeats the value: it may be the token itself.
		return "", usageError("--auth-token-env: give an environment variable NAME (upper case), env:NAME or file:PATH; the token itself is never accepted (%v)", err)
	}
	return ref, nil
}

// options validates the flags and builds the app's options.
func (c *sampleAppConfig) options(g *globals, reg prometheus.Registerer) (sampleapp.Options, error) {
	if c.region == "" {
		return sampleapp.Options{}, usageError("--region is required: the app serves one region (us1, ie1 or au1)")
	}
	r, err := region.Parse(c.region)
	if err != nil {
		return sampleapp.Options{}, usageError("--region: %v", err)
	}
	mode := sampleapp.Mode{Voice: sampleapp.Behavior(c.voice), Fallback: sampleapp.Behavior(c.fallback),
		Slow: sampleapp.Duration(c.slow), Healthy: !c.unhealthy}
	if err := mode.Validate(); err != nil {
		return sampleapp.Options{}, usageError("%v", err)
	}
	ref, err := authTokenRef(c.tokenRef, r)
	if err != nil {
		return sampleapp.Options{}, err
	}
	token, err := ref.Resolve(g.getenv, os.ReadFile)
	if err != nil {
		return sampleapp.Options{}, usageError("--auth-token-env: %v", err)
	}
	return sampleapp.Options{Region: r, AuthToken: token, PublicURL: c.publicURL, Mode: &mode,
		Registerer: reg, Logger: g.logger}, nil
}

func newSampleAppCmd(g *globals) *cobra.Command {
	var c sampleAppConfig
	cmd := &cobra.Command{
		Use:   "sample-app",
		Short: "Serve a region-aware sample voice application (webhook, fallback, status callback, health)",
		Long: `Serve the sample customer application for one region: /voice and /fallback answer
TwiML, /status receives status callbacks, /health reports health, /metrics serves
Prometheus metrics. Every webhook must carry a valid X-Twilio-Signature made with
the region's auth token (403 otherwise). Requests marked X-Voicedr-Probe: 1 are
answered but not counted. PUT /__sampleapp/mode (JSON) makes the webhooks fail,
slow down or answer non-TwiML, or /health go unhealthy; GET shows mode and counters.
Run one per region, e.g. after sourcing the emulator's --env-out file:

  voicedr sample-app --region ie1 --listen 127.0.0.1:8081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			opts, err := c.options(g, reg)
			if err != nil {
				return err
			}
			app, err := sampleapp.New(opts)
			if err != nil {
				return usageError("%v", err)
			}
			return serveSampleApp(cmd.Context(), g, &c, app, reg)
		},
	}
	c.flags(cmd)
	return cmd
}

// serveSampleApp serves app and /metrics on one listener until ctx is done.
func serveSampleApp(ctx context.Context, g *globals, c *sampleAppConfig, app *sampleapp.App, reg *prometheus.Registry) error {
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --listen)", c.listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", app)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests inherit ctx, so a handler sleeping in slow mode returns
		// as soon as the command is stopped instead of holding shutdown.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	local := "http://" + ln.Addr().String()
	public := local
	if c.publicURL != "" {
		public = strings.TrimSuffix(c.publicURL, "/")
	}
	g.logger.Info("sample app listening", "region", app.Region(), "url", local, "public_url", public)
	fmt.Fprintf(g.stdout, "sample app for %s listening on %s\n", app.Region(), local)
	fmt.Fprintf(g.stdout, "  voice URL:       %s/voice\n  fallback URL:    %s/fallback\n  status callback: %s/status\n",
		public, public, public)
	fmt.Fprintf(g.stdout, "  health:          %s/health\n  metrics:         %s/metrics\n  control:         %s/__sampleapp/mode\n",
		local, local, local)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serveErr := <-errc; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}
