// Package twilioemu is a multi-region emulator of Twilio's REST API for Voice:
// the 2010-04-01 API (numbers, apps, calls, SIP), routes v2, trunking v1,
// insights v1 and monitor v1, with Twilio's paths, form parameters, JSON
// fields, dates, paging and error bodies, so the official twilio-go SDK cannot
// tell it from Twilio.
//
// One http.Handler serves every product and region: it reads product, edge
// and region from the Host header exactly as Twilio names its hosts. Regional
// semantics follow Twilio: numbers are owned globally with one record per
// region, apps/trunks/domains/lists/keys are per region, one global routing
// table decides where inbound calls are processed, and call logs, insights and
// alerts live only in the processing region. Faults (regions down, degraded,
// keys revoked, an account concurrency limit) are set at start or at run time
// through the operator API under /__emulator/.
package twilioemu

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// Clock tells the time. Routing propagation and record dates use it, so tests
// can move time instead of waiting.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// DefaultConcurrencyLimit is the account-wide number of requests in flight
// above which the emulator answers 429 / 20429. Twilio does not document its
// number; third parties report 100.
const DefaultConcurrencyLimit = 100

// Options configure an Emulator. The zero value is usable.
type Options struct {
	Clock  Clock
	Logger *slog.Logger
	// Regions served; default us1, ie1, au1.
	Regions []region.Region
	// AccountSID of the account; generated when empty.
	AccountSID string
	// RandSeed makes generated SIDs and secrets repeatable.
	RandSeed uint64
	// SharedNumberSIDs gives a number the same SID in every region (Twilio
	// does not document whether it does; by default SIDs differ).
	SharedNumberSIDs bool
	// RequestLogSize bounds the operator request log (default 1000).
	RequestLogSize int
	// LenientEdges accepts any edge with ie1/au1 (Twilio documents only the
	// home city; by default other combinations are refused).
	LenientEdges bool
	// Faults applied from the start; see Faults.
	Faults *Faults
	// WebhookConnectTimeout and WebhookTimeout are Twilio's webhook timers
	// (10 s to connect, 15 s in all); WebhookClient, when set, sends webhooks.
	WebhookConnectTimeout, WebhookTimeout time.Duration
	WebhookClient                         *http.Client
	// AppErrorCallStatus is the Call status when webhook and fallback both
	// fail (default "completed": Twilio's records can read so).
	AppErrorCallStatus string
	// CallsPerSecond is the account's Calls API rate (Twilio's default 1);
	// calls beyond it stay queued. Negative: nothing is ever dispatched.
	CallsPerSecond float64
	// InsightsPartialLag and InsightsCompleteLag delay call summaries
	// (Twilio: partial within minutes, complete up to ~30 min; zero here by
	// default).
	InsightsPartialLag, InsightsCompleteLag time.Duration
}

// Emulator is the http.Handler serving every emulated Twilio host.
type Emulator struct {
	opts   Options
	clock  Clock
	log    *slog.Logger
	router *router

	mu   sync.RWMutex
	acct *account

	faults  atomic.Pointer[Faults]
	stats   stats
	traffic trafficState // traffic.go
	ledger  ledger
	queue   callQueue

	webhooks       *http.Client
	webhookTimeout time.Duration
	appErrorStatus string
	reqlog         requestLog
	routeWrites    routeWrites
	// done releases blackholed requests when the emulator closes.
	done     chan struct{}
	doneOnce sync.Once
}

// New builds an emulator with an empty account (no numbers), credentials for
// every region, and the given options.
func New(opts Options) *Emulator {
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.Regions) == 0 {
		opts.Regions = append([]region.Region(nil), region.All...)
	}
	if opts.RequestLogSize <= 0 {
		opts.RequestLogSize = 1000
	}
	e := &Emulator{opts: opts, clock: opts.Clock, log: opts.Logger, router: newRouter(), done: make(chan struct{})}
	e.reqlog.size = opts.RequestLogSize
	f := opts.Faults
	if f == nil {
		f = &Faults{Version: FaultsVersion}
	}
	e.faults.Store(f)
	e.acct = e.freshAccount()
	e.registerRoutes()
	e.webhooks = opts.WebhookClient
	if e.webhooks == nil {
		connect := opts.WebhookConnectTimeout
		if connect <= 0 {
			connect = defaultWebhookConnectTimeout
		}
		e.webhooks = newWebhookClient(connect)
	}
	e.webhookTimeout = opts.WebhookTimeout
	if e.webhookTimeout <= 0 {
		e.webhookTimeout = defaultWebhookTimeout
	}
	e.appErrorStatus = opts.AppErrorCallStatus
	if e.appErrorStatus == "" {
		e.appErrorStatus = "completed"
	}
	e.startCallQueue()
	return e
}

// freshAccount is an empty account with a main auth token and one Standard
// and one Main API key per region.
func (e *Emulator) freshAccount() *account {
	now := e.clock.Now().UTC().Truncate(time.Second)
	a := newAccount(e.opts.AccountSID, e.opts.RandSeed, now, e.opts.Regions)
	a.sharedSIDs = e.opts.SharedNumberSIDs
	for _, id := range e.opts.Regions {
		rs := a.regions[id]
		rs.authToken = a.newSecret()
		for _, kind := range []string{"standard", "main"} {
			k := &apiKey{sid: a.newSID("SK"), secret: a.newSecret(), friendlyName: string(id) + " " + kind, kind: kind, created: now, updated: now}
			rs.keys.put(k.sid, k)
		}
	}
	return a
}

// Close releases requests held by blackhole faults, stops the call queue
// and ends any traffic run (after done is closed, so calls in flight are cut
// short instead of waiting out webhook timeouts).
func (e *Emulator) Close() {
	e.doneOnce.Do(func() { close(e.done) })
	e.StopTraffic()
}

// call is one request being served.
type call struct {
	e      *Emulator
	r      *http.Request
	host   region.HostInfo
	region *regionState
	acct   *account
	params map[string]string
	form   url.Values
	key    *apiKey // nil when authenticated with the auth token
	now    time.Time
}

// baseURL is the scheme and Twilio host the request used: v1/v2 resources
// carry absolute URLs on it, so paging stays in the region.
func (c *call) baseURL() string { return "https://" + hostOnly(c.r.Host) }

func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, operatorPrefix) {
		e.serveOperator(w, r)
		return
	}
	start := time.Now()
	status, op, reg := e.serveTwilio(w, r)
	e.reqlog.add(requestEntry{
		Time: e.clock.Now().UTC(), Method: r.Method, Host: r.Host, Path: r.URL.Path,
		Operation: op, Region: string(reg), Status: status, DurationMS: float64(time.Since(start).Microseconds()) / 1000,
	})
}

// serveTwilio runs the request through host parsing, the concurrency limit,
// faults, routing and authentication, then the operation's handler.
func (e *Emulator) serveTwilio(w http.ResponseWriter, r *http.Request) (status int, op string, reg region.Region) {
	host, err := region.ParseHost(r.Host)
	if err != nil {
		writeError(w, newAPIError(http.StatusNotFound, 20404, "unknown host %q: the emulator serves {product}.{edge}.{region}.twilio.com", r.Host))
		return http.StatusNotFound, "", ""
	}
	reg = host.Region
	if host.Retired {
		e.stats.retiredHost.Add(1)
	}
	if !host.Legacy && !host.Retired && !e.opts.LenientEdges && !reg.ValidEdge(host.Edge) {
		writeError(w, newAPIError(http.StatusNotFound, 20404, "edge %q does not serve region %s: use %s", host.Edge, reg, region.Host(host.Product, reg, "")))
		return http.StatusNotFound, "", reg
	}
	f := e.faults.Load()
	n := e.stats.enter()
	defer e.stats.leave()
	if limit := f.concurrencyLimit(); limit > 0 && n > int64(limit) {
		e.stats.tooMany.Add(1)
		writeError(w, errTooMany())
		return http.StatusTooManyRequests, "", reg
	}
	if st, handled := e.applyFaults(w, r, f, host); handled {
		return st, "", reg
	}
	rt, params, pathFound := e.router.match(host.Product, r.Method, r.URL.Path)
	if rt == nil {
		if pathFound {
			writeError(w, methodNotAllowed())
			return http.StatusMethodNotAllowed, "", reg
		}
		writeError(w, errNotFound(r.URL.Path))
		return http.StatusNotFound, "", reg
	}
	e.stats.count(rt.op)
	if err := r.ParseForm(); err != nil {
		writeError(w, newAPIError(http.StatusBadRequest, 20001, "malformed request body: %v", err))
		return http.StatusBadRequest, rt.op, reg
	}
	// Reads share the state; anything else changes it.
	if r.Method == http.MethodGet {
		e.mu.RLock()
		defer e.mu.RUnlock()
	} else {
		e.mu.Lock()
		defer e.mu.Unlock()
	}
	c := &call{e: e, r: r, host: host, acct: e.acct, params: params, form: r.Form, now: e.clock.Now().UTC()}
	c.region = e.acct.regions[reg]
	if c.region == nil {
		writeError(w, newAPIError(http.StatusNotFound, 20404, "region %s is not served by this emulator", reg))
		return http.StatusNotFound, rt.op, reg
	}
	if ae := e.authenticate(c, rt, f); ae != nil {
		writeError(w, ae)
		return ae.Status, rt.op, reg
	}
	st, body, ae := rt.handler(c)
	if ae != nil {
		writeError(w, ae)
		return ae.Status, rt.op, reg
	}
	if st == http.StatusNoContent {
		w.WriteHeader(st)
		return st, rt.op, reg
	}
	writeJSON(w, st, body)
	return st, rt.op, reg
}

// registerRoutes wires every emulated operation; each product's file
// declares its own.
func (e *Emulator) registerRoutes() {
	e.registerAccounts()     // api: Account fetch, Keys list
	e.registerNumbers()      // api: IncomingPhoneNumbers
	e.registerApplications() // api: Applications
	e.registerCalls()        // api: Calls
	e.registerSIP()          // api: SIP Domains, CredentialLists, IpAccessControlLists
	e.registerRouting()      // routes v2
	e.registerTrunking()     // trunking v1
	e.registerInsights()     // insights v1
	e.registerMonitor()      // monitor v1
}
