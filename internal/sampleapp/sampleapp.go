// Package sampleapp is a small region-aware voice application of the kind a
// Twilio customer runs in each region, and voicedr's documented example of
// one. A process serves ONE region: it validates X-Twilio-Signature with
// that region's auth token only, because auth tokens are per region and a
// webhook for a call processed in ie1 is signed with the ie1 token. A
// request signed with another region's token is refused with 403, which is
// exactly what a real app does when its numbers are moved to a region whose
// token it was never given.
//
// Endpoints (all relative to the public base URL):
//
//	GET|POST /voice       voice webhook: valid TwiML naming the region
//	GET|POST /fallback    voice fallback URL: TwiML; hits counted by ErrorCode
//	GET|POST /status      status callback: final CallStatus counted; 204
//	GET      /health      200 {"status":"ok","region":"ie1"} or 503 when unhealthy
//	GET|PUT  /__sampleapp/mode   control: behaviour and counters (JSON)
//
// The control endpoint can make /voice fail (HTTP 500), answer slowly
// (context-aware sleep, so a caller that gives up frees the handler) or
// answer 200 with a body that is not TwiML; /fallback can fail or slow down
// too; /health can report unhealthy. These are the customer-side failures
// voicedr's gates and triggers must notice, made on the customer's side so
// the emulator sees them exactly as Twilio would. The control endpoint has
// no authentication: keep the listener on loopback or a private network.
//
// Probe requests: voicedr marks every request it sends to a customer webhook
// on its own behalf (readiness probes, synthetic checks) with the header
// "X-Voicedr-Probe: 1" (ProbeHeader). The app answers them exactly as it
// answers Twilio, signature check and injected failures included, so a
// probe sees whether the app really works; but a probe is not business
// traffic, so it never moves the request, fallback, status or signature
// metrics a gate reads, and it has no side effects (nothing is stored, no
// call is counted). Probes are tallied only in their own counter so an
// operator can see that they arrive. Any customer backend can honour the same
// header the same way.
//
// Metrics (injected prometheus.Registerer; collectors are shared when several
// apps register with one registry, told apart by the region label):
//
//	voicedr_sampleapp_requests_total{region,endpoint,outcome}
//	voicedr_sampleapp_fallback_hits_total{region,error_code}
//	voicedr_sampleapp_signature_failures_total{region}
//	voicedr_sampleapp_status_callbacks_total{region,call_status}
//	voicedr_sampleapp_request_duration_seconds{region,endpoint}
//	voicedr_sampleapp_probe_requests_total{region,endpoint}
package sampleapp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twilio/twilio-go/client"

	"github.com/voicedr/voicedr/internal/region"
)

// ProbeHeader marks a request voicedr sends on its own behalf; its value is
// "1". See the package comment for what the app does with it.
const ProbeHeader = "X-Voicedr-Probe"

// SignatureHeader is the header Twilio signs webhook requests in.
const SignatureHeader = "X-Twilio-Signature"

// maxBody bounds a webhook body: Twilio's voice parameters are a few hundred
// bytes, and an unbounded read is a memory hazard on a public endpoint.
const maxBody = 64 << 10

// Options configure an App.
type Options struct {
	// Region is the region this app serves (us1, ie1, au1).
	Region region.Region
	// AuthToken is that region's auth token, used only to check signatures.
	AuthToken region.Secret
	// PublicURL is the scheme and host (plus any path prefix a proxy strips)
	// Twilio calls this app at, e.g. https://voice-ie1.example.com. Twilio
	// signs the full URL it requested, so behind a proxy or TLS terminator
	// the app cannot see that URL itself. Empty: derived from each request
	// (http or https by the connection, and the Host header).
	PublicURL string
	// Mode is the starting behaviour; nil means DefaultMode().
	Mode *Mode
	// Registerer receives the metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now measures request durations (default time.Now).
	Now func() time.Time
	// Sleep waits in slow mode; it must return early with an error when ctx
	// is done. Injected so tests assert the requested delay, not the clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// App is the sample application for one region; it is an http.Handler.
type App struct {
	region    region.Region
	validator client.RequestValidator
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	metrics   *metrics
	mux       *http.ServeMux

	mu     sync.Mutex
	mode   Mode
	counts Counters
}

// New builds an App. Errors name the option at fault.
func New(opts Options) (*App, error) {
	r, err := region.Parse(string(opts.Region))
	if err != nil {
		return nil, fmt.Errorf("region: %w", err)
	}
	if opts.AuthToken.IsZero() {
		return nil, fmt.Errorf("auth token for %s is empty: give the app the auth token of the region it serves", r)
	}
	base, err := parsePublicURL(opts.PublicURL)
	if err != nil {
		return nil, err
	}
	mode := DefaultMode()
	if opts.Mode != nil {
		mode = *opts.Mode
	}
	if err := mode.Validate(); err != nil {
		return nil, fmt.Errorf("mode: %w", err)
	}
	m, err := newMetrics(opts.Registerer, r)
	if err != nil {
		return nil, err
	}
	a := &App{
		region: r, validator: client.NewRequestValidator(opts.AuthToken.Reveal()), publicURL: base,
		log: opts.Logger, now: opts.Now, sleep: opts.Sleep, metrics: m, mode: mode, counts: newCounters(),
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.sleep == nil {
		a.sleep = sleepContext
	}
	a.routes()
	return a, nil
}

func parsePublicURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("public URL %q: want http(s)://host[:port][/prefix] with no query or fragment", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

func (a *App) routes() {
	mux := http.NewServeMux()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		mux.HandleFunc(method+" /voice", a.webhook(endpointVoice, a.serveVoice))
		mux.HandleFunc(method+" /fallback", a.webhook(endpointFallback, a.serveFallback))
		mux.HandleFunc(method+" /status", a.webhook(endpointStatus, a.serveStatus))
	}
	mux.HandleFunc("GET /health", a.serveHealth)
	mux.HandleFunc("GET /__sampleapp/mode", a.serveGetMode)
	mux.HandleFunc("PUT /__sampleapp/mode", a.servePutMode)
	a.mux = mux
}

// ServeHTTP implements http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Region is the region the app serves.
func (a *App) Region() region.Region { return a.region }

// isProbe reports whether voicedr sent the request on its own behalf.
func isProbe(r *http.Request) bool { return r.Header.Get(ProbeHeader) == "1" }

// requestURL is the URL Twilio signed: the public base plus the request
// target exactly as it arrived (r.RequestURI keeps the caller's escaping,
// which re-encoding r.URL could change and so break the signature).
func (a *App) requestURL(r *http.Request) string {
	base := a.publicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	return base + target
}

// verify checks X-Twilio-Signature with twilio-go's validator: for POST the
// form body parameters are signed after the URL; for GET the parameters are
// in the URL's query and nothing follows it.
func (a *App) verify(r *http.Request) bool {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return false
	}
	params := map[string]string{}
	if r.Method == http.MethodPost {
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				params[k] = vs[0]
			}
		}
	}
	return a.validator.Validate(a.requestURL(r), params, sig)
}

// sleepContext waits d or until ctx is done, whichever is first.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
