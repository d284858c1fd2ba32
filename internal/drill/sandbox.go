package drill

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
	"github.com/voicedr/voicedr/internal/scenario"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// sandbox is a tabletop drill's world: an in-process emulator seeded with
// a copy of the stored snapshot, one sample app per region, and a Twilio
// client pointed only at that emulator. Every HTTP connection the sandbox
// opens (webhooks, Prometheus) goes through guard, which refuses anything
// but loopback: a drill cannot reach a customer endpoint or Twilio by
// construction, and guard's count proves it did not try.
type sandbox struct {
	emu     *twilioemu.Emulator
	url     string
	servers []*http.Server
	apps    map[region.Region]*sampleapp.App
	base    map[region.Region]string // region → http://127.0.0.1:port of its app
	guard   *guard
	pool    *twilio.Pool
	set     *twilio.Set
	keys    map[string]string // region → API key SID the drill's client uses
	// rewritten are the snapshot's and workbook's webhook URLs replaced.
	rewritten map[string]bool
}

// guard dials loopback addresses only and remembers every attempt.
type guard struct {
	mu      sync.Mutex
	dialed  map[string]int
	refused []string
}

func (g *guard) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	g.mu.Lock()
	if err != nil || ip == nil || !ip.IsLoopback() {
		g.refused = append(g.refused, addr)
		g.mu.Unlock()
		return nil, fmt.Errorf("tabletop drill: connection to %s refused: a drill reaches loopback only", addr)
	}
	g.dialed[addr]++
	g.mu.Unlock()
	return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
}

// Network is what a tabletop drill's guard saw: every address dialed and
// every connection refused (which must be none).
type Network struct {
	Dialed  map[string]int `json:"dialed"`
	Refused []string       `json:"refused"`
}

func (g *guard) network() Network {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := Network{Dialed: map[string]int{}, Refused: slices.Clone(g.refused)}
	for k, v := range g.dialed {
		n.Dialed[k] = v
	}
	return n
}

func (g *guard) client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{DialContext: g.dial, Proxy: nil, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second},
		// Twilio does not follow redirects of webhooks; neither does a drill.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newSandbox starts the world and seeds it with snap, whose webhooks (and
// the workbook's app endpoints, so readiness compares like with like) are
// rewritten in place to the sample apps. snap and wb must be the drill's
// own copies.
func newSandbox(snap *snapshot.Snapshot, wb *workbook.Workbook, seed uint64) (_ *sandbox, err error) {
	sb := &sandbox{guard: &guard{dialed: map[string]int{}}, apps: map[region.Region]*sampleapp.App{},
		base: map[region.Region]string{}, keys: map[string]string{}, rewritten: map[string]bool{}}
	defer func() {
		if err != nil {
			sb.close()
		}
	}()
	cps := wb.Execution.CallsPerSecond
	if cps <= 0 {
		cps = 1
	}
	sb.emu = twilioemu.New(twilioemu.Options{
		RandSeed: seed, WebhookClient: sb.guard.client(), CallsPerSecond: cps,
		// A drill's webhooks are in-process; Twilio's 15 s timer would make
		// a slow-app scenario take minutes for the same lesson. (The connect
		// timer is the guard's dialer's, as the guard sends the webhooks.)
		WebhookTimeout: 5 * time.Second,
	})
	if sb.url, err = sb.serve(sb.emu); err != nil {
		return nil, err
	}
	for r, c := range sb.emu.Credentials() {
		app, err := sampleapp.New(sampleapp.Options{Region: r, AuthToken: region.NewSecret(c.AuthToken)})
		if err != nil {
			return nil, err
		}
		sb.apps[r] = app
		if sb.base[r], err = sb.serve(app); err != nil {
			return nil, err
		}
		sb.keys[string(r)] = c.Standard.SID
	}
	sb.rewrite(snap, wb)
	snap.Credentials = nil
	if err := sb.emu.Seed(snap); err != nil {
		return nil, fmt.Errorf("seed the drill's emulator with the stored snapshot: %w", err)
	}
	return sb, sb.clients(wb)
}

func (sb *sandbox) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	sb.servers = append(sb.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// rewrite points every webhook at the region's sample app endpoint of its
// kind: fallback URLs at /fallback, status callbacks at /status, voice URLs
// (and trunks' disaster-recovery URLs) at /voice.
func (sb *sandbox) rewrite(snap *snapshot.Snapshot, wb *workbook.Workbook) {
	to := func(r string, k snapshot.WebhookKind, u string) string {
		if u == "" {
			return ""
		}
		sb.rewritten[u] = true
		path := "/voice"
		switch k {
		case snapshot.WebhookFallback:
			path = "/fallback"
		case snapshot.WebhookStatus:
			path = "/status"
		}
		base := sb.base[region.Region(r)]
		if base == "" { // a region the emulator does not serve: nothing answers
			base = "http://127.0.0.1:9"
		}
		return base + path
	}
	snap.RewriteWebhooks(to)
	for i := range wb.Regions {
		rp := &wb.Regions[i]
		r := string(rp.Region)
		rp.App.VoiceURL = to(r, snapshot.WebhookVoice, rp.App.VoiceURL)
		rp.App.FallbackURL = to(r, snapshot.WebhookFallback, rp.App.FallbackURL)
		rp.App.StatusCallback = to(r, snapshot.WebhookStatus, rp.App.StatusCallback)
		// The health endpoint is probed only when the team opted in; in a
		// tabletop it is the sample app's, which may always be probed.
		if rp.App.HealthURL != "" {
			sb.rewritten[rp.App.HealthURL] = true
			rp.App.HealthURL = sb.base[rp.Region] + "/health"
		}
	}
}

// clients builds the drill's Twilio client: one pool whose every request
// goes to the sandbox's emulator (dialled through the guard), with the
// emulator's credentials for the workbook's regions. The workbook's
// credential references name the real account's secrets: never read here.
func (sb *sandbox) clients(wb *workbook.Workbook) error {
	pool, err := twilio.NewPool(twilio.Options{Endpoint: sb.url, Limits: twilio.Limits{Rate: 250, MaxInFlight: 64}, DialContext: sb.guard.dial})
	if err != nil {
		return err
	}
	sb.pool = pool
	var profiles []region.Resolved
	for _, rp := range wb.Regions {
		profiles = append(profiles, sb.emu.Profile(rp.Region))
	}
	sb.set, err = twilio.NewSet(pool, profiles...)
	return err
}

// setApps applies scenario app modes (keys are roles or regions).
func (sb *sandbox) setApps(modes map[string]scenario.AppMode, roles map[string]string) error {
	for key, m := range modes {
		r, err := scenario.RegionOf(roles, key)
		if err != nil {
			return fmt.Errorf("scenario apps.%s: %w", key, err)
		}
		app := sb.apps[r]
		if app == nil {
			return fmt.Errorf("scenario apps.%s: region %s is not served by the drill", key, r)
		}
		if err := app.SetMode(m.Mode()); err != nil {
			return err
		}
	}
	return nil
}

func (sb *sandbox) close() {
	if sb.emu != nil {
		sb.emu.StopTraffic()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range sb.servers {
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			_ = s.Close()
		}
		_ = s.Close()
	}
	if sb.pool != nil {
		sb.pool.Close()
	}
	if sb.emu != nil {
		sb.emu.Close()
	}
}
