package signals_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	routes "github.com/twilio/twilio-go/rest/routes/v2"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// callerID is an account number test and synthetic calls come from: Twilio
// only places calls from a number the account owns.
const callerID = "+14155550199"

// app is a region's sample customer app on loopback, with its metrics at
// /metrics as the sample-app command serves them.
type app struct {
	app *sampleapp.App
	srv *httptest.Server
}

func (a *app) url(path string) string { return a.srv.URL + path }

// world is an emulated account whose flow numbers are answered by a sample
// app per region (us1 primary, ie1 standby) and routed to us1.
type world struct {
	emu     *twilioemu.Emulator
	set     *twilio.Set
	apps    map[region.Region]*app
	numbers []string
}

// newWorld starts the emulator on loopback with opts and n flow numbers.
// emutest.Start cannot take emulator options (call rate, webhook timers,
// app error status), so this builds the same thing with them: the real
// emulator over HTTP, reached through voicedr's region profiles and pool.
func newWorld(t *testing.T, n int, opts twilioemu.Options) *world {
	t.Helper()
	if opts.RandSeed == 0 {
		opts.RandSeed = 7
	}
	if opts.CallsPerSecond == 0 {
		opts.CallsPerSecond = 200
	}
	emu := twilioemu.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	creds := emu.Credentials()

	w := &world{emu: emu, apps: map[region.Region]*app{}}
	for _, r := range []region.Region{region.US1, region.IE1} {
		reg := prometheus.NewRegistry()
		a, err := sampleapp.New(sampleapp.Options{Region: r, AuthToken: region.NewSecret(creds[r].AuthToken), Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.Handle("/", a)
		s := httptest.NewServer(mux)
		t.Cleanup(s.Close)
		w.apps[r] = &app{app: a, srv: s}
	}
	records := func() map[string]*snapshot.NumberRecord {
		m := map[string]*snapshot.NumberRecord{}
		for r, a := range w.apps {
			m[string(r)] = &snapshot.NumberRecord{VoiceURL: a.url("/voice"), VoiceMethod: "POST",
				VoiceFallbackURL: a.url("/fallback"), VoiceFallbackMethod: "POST"}
		}
		return m
	}
	// Voice Insights Advanced Features are on in the standby only, so a
	// test can read summaries in ie1 and find them refused in us1.
	on, off := true, false
	seed := &snapshot.Snapshot{Format: snapshot.Format, Regions: []string{"us1", "ie1", "au1"},
		Resources: map[string]*snapshot.RegionResources{"ie1": {AdvancedInsights: &on}, "us1": {AdvancedInsights: &off}}}
	for i := range n {
		num := fmt.Sprintf("+1415555%04d", 100+i)
		w.numbers = append(w.numbers, num)
		seed.Numbers = append(seed.Numbers, snapshot.Number{PhoneNumber: num,
			Routing: snapshot.Route{VoiceRegion: "us1", Explicit: true}, Records: records()})
	}
	seed.Numbers = append(seed.Numbers, snapshot.Number{PhoneNumber: callerID,
		Routing: snapshot.Route{VoiceRegion: "us1", Explicit: true}, Records: records()})
	if err := emu.Seed(seed); err != nil {
		t.Fatal(err)
	}

	// One attempt per request: a region the test takes down answers 503 at
	// once instead of being retried with backoff.
	pool, err := twilio.NewPool(twilio.Options{Endpoint: srv.URL, Retry: twilio.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var profiles []region.Resolved
	for _, r := range region.All {
		profiles = append(profiles, emu.Profile(r))
	}
	if w.set, err = twilio.NewSet(pool, profiles...); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) env() signals.Env { return signals.Env{Set: w.set} }

// flip routes numbers to r through the routes API, as a failover does, and
// returns when the write was answered.
func (w *world) flip(t *testing.T, r region.Region, numbers ...string) time.Time {
	t.Helper()
	c, err := w.set.Get(region.US1)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range numbers {
		if _, err := c.Routes(t.Context()).UpdatePhoneNumber(n, new(routes.UpdatePhoneNumberParams).SetVoiceRegion(string(r))); err != nil {
			t.Fatalf("route %s to %s: %v", n, r, err)
		}
	}
	return time.Now()
}

// call places one live inbound call from the PSTN and returns its outcome.
func (w *world) call(t *testing.T, to string) twilioemu.CallOutcome {
	t.Helper()
	out, err := w.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: to, From: "+447700900123"})
	if err != nil {
		t.Fatalf("call %s: %v", to, err)
	}
	return out
}

// setMode changes what the region's app does.
func (w *world) setMode(t *testing.T, r region.Region, m sampleapp.Mode) {
	t.Helper()
	if err := w.apps[r].app.SetMode(m); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
