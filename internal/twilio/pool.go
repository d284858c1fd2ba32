// Package twilio is the one way voicedr talks to Twilio: a client per region
// built on the official twilio-go SDK, over one process-wide Pool that owns
// the rate limiter, the concurrency limit, the HTTP connection pool, retries
// and metrics.
//
// Every region client in a process shares one Pool, because Twilio's limits
// (concurrency per account, "< 300 requests per second across all service
// requests" for bulk routing changes) apply to the account, not to a region
// client, a run or a probe.
//
// twilio-go services take no context.Context and build every request with
// context.Background(). Client therefore hands out per-call services (API,
// Routes, Trunking, Insights, Monitor) built over an http.Client whose
// transport applies the caller's context, so that cancelling it stops the
// request in flight and any wait for a limit or a retry.
//
// With Options.Endpoint set (VOICEDR_TWILIO_ENDPOINT, e.g. the emulator at
// http://127.0.0.1:8080), every request to *.twilio.com is sent there with
// its Host header kept, so the server can tell product, edge and region.
// Nothing else in voicedr knows whether it talks to Twilio or an emulator.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"github.com/voicedr/voicedr/internal/promreg"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// EndpointEnv is the environment variable the wiring reads Options.Endpoint
// from.
const EndpointEnv = "VOICEDR_TWILIO_ENDPOINT"

// Clock is the time source of everything time-driven here: rate limiting,
// backoff and probe latency. Tests inject a virtual clock so that limits and
// delays are proved by arithmetic, not by wall-clock timing.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done and then returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits on a timer or the context, whichever ends first.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Limits bound what the whole process sends to Twilio.
type Limits struct {
	// Rate is the sustained request rate per second (default 250, under
	// Twilio's "< 300 requests per second" guidance for bulk changes).
	Rate float64
	// Burst is how many requests may go at once above the rate (default 10,
	// so no one-second window exceeds Rate+Burst = 260).
	Burst int
	// MaxInFlight is the number of requests awaiting Twilio at once
	// (default 64: Twilio's concurrency limit is undocumented, third parties
	// report 100 per account, and the emulator enforces 100 by default).
	MaxInFlight int
}

// RetryPolicy says how often and how patiently a request is retried.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt (default 5).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the full-jitter backoff: the n-th retry
	// waits rand × min(MaxDelay, BaseDelay × 2^(n-1)) (defaults 100ms, 5s;
	// twilio-node uses 100ms and 3s).
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter caps a server's Retry-After (default 60s), so that a
	// misbehaving header cannot park a failover for an hour.
	MaxRetryAfter time.Duration
}

// Options configure a Pool. The zero value of every field means its default.
type Options struct {
	// Endpoint, when set, receives every request to *.twilio.com (scheme and
	// host:port only, e.g. http://127.0.0.1:8080); the Host header keeps the
	// Twilio host name.
	Endpoint string
	Limits   Limits
	Retry    RetryPolicy
	// AttemptTimeout bounds one attempt, headers and body (default 30s), so
	// that a black-holed connection is abandoned and, when safe, retried
	// even if the caller's context has no deadline.
	AttemptTimeout time.Duration
	// MaxResponseBytes bounds a buffered response body (default 64 MiB).
	MaxResponseBytes int64
	Clock            Clock
	// Registerer receives the voicedr_twilio_* metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger receives one debug line per attempt; nil discards.
	Logger *slog.Logger
	// Jitter returns a number in [0, 1) for backoff; default math/rand/v2.
	Jitter func() float64
	// DialContext, when set, opens every connection (a tabletop drill's
	// guard allows loopback only); default a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o *Options) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Limits.Rate <= 0 {
		o.Limits.Rate = 250
	}
	def(&o.Limits.Burst, 10)
	def(&o.Limits.MaxInFlight, 64)
	def(&o.Retry.MaxAttempts, 5)
	defDur(&o.Retry.BaseDelay, 100*time.Millisecond)
	defDur(&o.Retry.MaxDelay, 5*time.Second)
	defDur(&o.Retry.MaxRetryAfter, time.Minute)
	defDur(&o.AttemptTimeout, 30*time.Second)
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 64 << 20
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
}

// Pool is the process-wide share every region client sends through: limits,
// connections, retries, metrics. Build one per process with NewPool.
type Pool struct {
	opts     Options
	endpoint *url.URL // nil: send to Twilio
	limiter  *rate.Limiter
	sem      *semaphore.Weighted
	base     *http.Transport
	metrics  *metrics
	inFlight atomic.Int64
	waiting  atomic.Int64
}

// NewPool validates opts, applies defaults and registers the metrics.
func NewPool(opts Options) (*Pool, error) {
	opts.setDefaults()
	p := &Pool{
		opts:    opts,
		limiter: rate.NewLimiter(rate.Limit(opts.Limits.Rate), opts.Limits.Burst),
		sem:     semaphore.NewWeighted(int64(opts.Limits.MaxInFlight)),
	}
	if opts.Endpoint != "" {
		u, err := parseEndpoint(opts.Endpoint)
		if err != nil {
			return nil, err
		}
		p.endpoint = u
	}
	n := opts.Limits.MaxInFlight
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	// One connection per request in flight: more would sit idle, fewer would
	// queue requests the semaphore already admitted. HTTP/2 is not forced so
	// that MaxConnsPerHost keeps meaning connections.
	p.base = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		MaxConnsPerHost:       n,
		MaxIdleConnsPerHost:   n,
		MaxIdleConns:          4 * n, // api, routes, trunking, insights hosts
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if opts.DialContext != nil {
		p.base.DialContext = opts.DialContext
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	p.metrics = m
	return p, nil
}

func parseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("twilio endpoint %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("twilio endpoint %q: want http://HOST:PORT or https://HOST:PORT", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("twilio endpoint %q: want scheme and host only, without path, query or user", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// Close releases idle connections. In-flight requests are unaffected.
func (p *Pool) Close() { p.base.CloseIdleConnections() }

// Stats is a snapshot of the pool's load.
type Stats struct {
	// InFlight is the number of attempts holding a concurrency slot.
	InFlight int
	// Waiting is the number of attempts waiting for a slot.
	Waiting int
}

// Stats returns the current load.
func (p *Pool) Stats() Stats {
	return Stats{InFlight: int(p.inFlight.Load()), Waiting: int(p.waiting.Load())}
}

// acquire waits for a concurrency slot, then for the rate limiter. The slot
// comes first so that a request leaves as soon as its token is granted: the
// other order lets tokens pile up behind a full semaphore and then go out in
// one burst above the rate.
func (p *Pool) acquire(ctx context.Context) (release func(), err error) {
	p.waiting.Add(1)
	err = p.sem.Acquire(ctx, 1)
	p.waiting.Add(-1)
	if err != nil {
		return nil, err
	}
	release = func() {
		p.inFlight.Add(-1)
		p.metrics.inFlight.Dec()
		p.sem.Release(1)
	}
	p.inFlight.Add(1)
	p.metrics.inFlight.Inc()
	now := p.opts.Clock.Now()
	r := p.limiter.ReserveN(now, 1)
	if !r.OK() {
		release()
		return nil, errors.New("twilio rate limiter: burst is below one request")
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := p.opts.Clock.Sleep(ctx, d); err != nil {
			// Give the token back so a cancelled caller does not slow
			// the others.
			r.CancelAt(p.opts.Clock.Now())
			release()
			return nil, err
		}
	}
	return release, nil
}

// metrics are the voicedr_twilio_* collectors.
type metrics struct {
	requests *prometheus.CounterVec
	retries  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voicedr_twilio_requests_total",
			Help: "HTTP attempts sent to Twilio, by product, region, method and status (HTTP code or \"error\").",
		}, []string{"product", "region", "method", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voicedr_twilio_retries_total",
			Help: "Retries of Twilio requests, by product, region and reason.",
		}, []string{"product", "region", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "voicedr_twilio_request_duration_seconds",
			Help:    "Duration of one HTTP attempt to Twilio, response body included.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2, 5, 10, 30},
		}, []string{"product", "region"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "voicedr_twilio_requests_in_flight",
			Help: "Attempts holding one of the process's concurrency slots.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	// Several pools may share a registry (tests, a daemon re-reading its
	// config): reuse the collectors already registered.
	var err error
	m.requests, err = promreg.Register(reg, m.requests)
	if err == nil {
		m.retries, err = promreg.Register(reg, m.retries)
	}
	if err == nil {
		m.duration, err = promreg.Register(reg, m.duration)
	}
	if err == nil {
		m.inFlight, err = promreg.Register(reg, m.inFlight)
	}
	if err != nil {
		return nil, fmt.Errorf("register twilio metrics: %w", err)
	}
	return m, nil
}
