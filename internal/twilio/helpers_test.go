package twilio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// Test credentials. twilio-go accepts only letters and digits.
const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testKey     = "SK0123456789abcdef0123456789abcdef"
	testSecret  = "keySecretNeverLeaks4242"
	testToken   = "authTokenNeverLeaks1717"
	testNumber  = "PN0123456789abcdef0123456789abcdef"
	testTrunk   = "TK0123456789abcdef0123456789abcdef"
)

// fakeClock is a virtual clock. Sleep advances virtual time to the sleeper's
// wake-up instant (never backwards), so concurrent sleepers end at the
// latest wake-up, as they would in real time; every sleep is recorded.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	// block makes Sleep wait for its context instead, announcing itself on
	// sleeping: for tests that cancel a wait.
	block    bool
	sleeping chan time.Duration
	// onSleep, when set, runs at the start of every Sleep.
	onSleep func(time.Duration)
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), sleeping: make(chan time.Duration, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	block, hook, wake := c.block, c.onSleep, c.now.Add(d)
	c.mu.Unlock()
	if hook != nil {
		hook(d)
	}
	if block {
		c.sleeping <- d
		<-ctx.Done()
		return ctx.Err()
	}
	c.mu.Lock()
	if wake.After(c.now) {
		c.now = wake
	}
	c.mu.Unlock()
	return nil
}

// Advance moves virtual time forward, e.g. inside a handler to fake latency.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// fakeTwilio is a loopback server speaking Twilio's error JSON. Requests are
// counted per key (method and path by default); respond decides the answer
// to the n-th request of a key and returns false to fall back to success.
type fakeTwilio struct {
	*httptest.Server
	mu       sync.Mutex
	hits     map[string]int
	requests []seen
	inFlight int
	peak     int
	key      func(*http.Request) string
	respond  func(w http.ResponseWriter, r *http.Request, n int) bool
}

// seen is what the server learnt about one request.
type seen struct {
	Host, Method, Path, User, Pass string
	Query                          string
}

func newFakeTwilio(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int) bool) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{hits: map[string]int{}, respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	key := r.Method + " " + r.URL.Path
	if f.key != nil {
		key = f.key(r)
	}
	user, pass, _ := r.BasicAuth()
	f.mu.Lock()
	f.hits[key]++
	n := f.hits[key]
	f.requests = append(f.requests, seen{Host: r.Host, Method: r.Method, Path: r.URL.Path, User: user, Pass: pass, Query: r.URL.RawQuery})
	f.inFlight++
	f.peak = max(f.peak, f.inFlight)
	f.mu.Unlock()
	// Counted down before the response is flushed, so the client never
	// sees a response while the server still counts the request.
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.respond != nil && f.respond(w, r, n) {
		return
	}
	writeOK(w, r)
}

func (f *fakeTwilio) Hits() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.hits))
	for k, v := range f.hits {
		out[k] = v
	}
	return out
}

func (f *fakeTwilio) Requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.requests...)
}

func (f *fakeTwilio) Load() (inFlight, peak int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inFlight, f.peak
}

// writeOK answers like Twilio would for the resources the tests touch.
func writeOK(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/IncomingPhoneNumbers.json"):
		fmt.Fprintf(w, `{"incoming_phone_numbers":[{"sid":%q,"phone_number":"+15550100001"}],"next_page_uri":null,"page":0,"page_size":1}`, testNumber)
	default:
		io.WriteString(w, `{}`)
	}
}

// writeTwilioError writes Twilio's error body.
func writeTwilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

// testPool builds a pool aimed at srv (when not nil) on a fake clock, with
// fast defaults a test may override in opts.
func testPool(t *testing.T, srv *fakeTwilio, opts twilio.Options) (*twilio.Pool, *fakeClock, *prometheus.Registry) {
	t.Helper()
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	if srv != nil && opts.Endpoint == "" {
		opts.Endpoint = srv.URL
	}
	if opts.Clock == nil {
		opts.Clock = clock
	}
	if opts.Limits.Burst == 0 {
		opts.Limits.Burst = 1000
	}
	opts.Registerer = reg
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := twilio.NewPool(opts)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	t.Cleanup(p.Close)
	return p, clock, reg
}

// keyProfile is a resolved profile authenticating with an API key.
func keyProfile(r region.Region) region.Resolved {
	return region.Resolved{
		Profile:   region.Profile{Region: r, Edge: r.HomeEdge(), AccountSID: testAccount},
		APIKeySID: testKey, APISecret: region.NewSecret(testSecret), AuthToken: region.NewSecret(testToken),
	}
}

// tokenProfile is a resolved profile authenticating with the auth token.
func tokenProfile(r region.Region) region.Resolved {
	return region.Resolved{
		Profile:   region.Profile{Region: r, Edge: r.HomeEdge(), AccountSID: testAccount},
		AuthToken: region.NewSecret(testToken),
	}
}

func testClient(t *testing.T, p *twilio.Pool, prof region.Resolved) *twilio.Client {
	t.Helper()
	c, err := twilio.NewRegionClient(prof, p)
	if err != nil {
		t.Fatalf("NewRegionClient: %v", err)
	}
	return c
}

// waitFor polls cond until it holds. The bound only turns a hang into a
// failure; no assertion depends on how long anything took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// incomingPath is the v2010 path of the test number or collection.
func incomingPath(suffix string) string {
	return "/2010-04-01/Accounts/" + testAccount + "/IncomingPhoneNumbers" + suffix
}

// metricValue reads a counter's value, or a histogram's sample count, from
// reg for the series with exactly the given label pairs; 0 when absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labelPairs ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labelPairs); i += 2 {
		want[labelPairs[i]] = labelPairs[i+1]
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
