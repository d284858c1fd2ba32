package twilio_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"
	routesv2 "github.com/twilio/twilio-go/rest/routes/v2"
	trunkingv1 "github.com/twilio/twilio-go/rest/trunking/v1"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// Test429Storm sends creates into a server that throttles the first K of
// each: every create must land exactly once after its K 429s, and a create
// that then meets a 503 must not be sent again.
func Test429Storm(t *testing.T) {
	const n, k = 40, 3
	srv := newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		switch {
		case hit <= k:
			writeTwilioError(w, 429, 20429, "Too Many Requests")
		case strings.HasSuffix(r.PostForm.Get("PhoneNumber"), "0"):
			writeTwilioError(w, 503, 20503, "Service Unavailable")
		default:
			return false
		}
		return true
	})
	srv.key = func(r *http.Request) string { return r.PostForm.Get("PhoneNumber") }
	p, _, reg := testPool(t, srv, twilio.Options{Limits: twilio.Limits{MaxInFlight: 8}})
	c := testClient(t, p, keyProfile(region.IE1))

	var mu sync.Mutex
	gotKinds := map[string]twilio.Kind{}
	var wg sync.WaitGroup
	for i := range n {
		number := fmt.Sprintf("+1555010%04d", i)
		wg.Go(func() {
			_, err := c.API(t.Context()).CreateIncomingPhoneNumber((&apiv2010.CreateIncomingPhoneNumberParams{}).SetPhoneNumber(number))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				gotKinds[number] = twilio.KindOf(c.Classify("CreateIncomingPhoneNumber", err))
			}
		})
	}
	wg.Wait()

	wantHits, wantKinds := map[string]int{}, map[string]twilio.Kind{}
	for i := range n {
		number := fmt.Sprintf("+1555010%04d", i)
		wantHits[number] = k + 1
		if i%10 == 0 {
			wantKinds[number] = twilio.KindUnavailable
		}
	}
	if diff := cmp.Diff(wantHits, srv.Hits()); diff != "" {
		t.Errorf("server hits per number (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantKinds, gotKinds); diff != "" {
		t.Errorf("failed creates (-want +got):\n%s", diff)
	}
	retries := metricValue(t, reg, "voicedr_twilio_retries_total", "product", "api", "region", "ie1", "reason", "rate_limited")
	if retries != n*k {
		t.Errorf("rate_limited retries = %v, want %d", retries, n*k)
	}
}

// callCase is one SDK call and whether a failure after sending is retried.
type callCase struct {
	name       string
	call       func(c *twilio.Client, t *testing.T) error
	repeatable bool
}

func callCases() []callCase {
	return []callCase{
		{"fetch number", func(c *twilio.Client, t *testing.T) error {
			_, err := c.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil)
			return err
		}, true},
		{"list numbers", func(c *twilio.Client, t *testing.T) error {
			_, err := c.API(t.Context()).ListIncomingPhoneNumber((&apiv2010.ListIncomingPhoneNumberParams{}).SetLimit(1))
			return err
		}, true},
		{"update number", func(c *twilio.Client, t *testing.T) error {
			_, err := c.API(t.Context()).UpdateIncomingPhoneNumber(testNumber, (&apiv2010.UpdateIncomingPhoneNumberParams{}).SetVoiceUrl("https://example.com/voice"))
			return err
		}, true},
		{"update routing", func(c *twilio.Client, t *testing.T) error {
			_, err := c.Routes(t.Context()).UpdatePhoneNumber("+15550100001", (&routesv2.UpdatePhoneNumberParams{}).SetVoiceRegion("ie1"))
			return err
		}, true},
		{"update trunk routing", func(c *twilio.Client, t *testing.T) error {
			_, err := c.Routes(t.Context()).UpdateTrunks("acme.pstn.twilio.com", (&routesv2.UpdateTrunksParams{}).SetVoiceRegion("ie1"))
			return err
		}, true},
		{"update trunk", func(c *twilio.Client, t *testing.T) error {
			_, err := c.Trunking(t.Context()).UpdateTrunk(testTrunk, (&trunkingv1.UpdateTrunkParams{}).SetFriendlyName("x"))
			return err
		}, true},
		{"create number", func(c *twilio.Client, t *testing.T) error {
			_, err := c.API(t.Context()).CreateIncomingPhoneNumber((&apiv2010.CreateIncomingPhoneNumberParams{}).SetPhoneNumber("+15550100001"))
			return err
		}, false},
		{"create trunk", func(c *twilio.Client, t *testing.T) error {
			_, err := c.Trunking(t.Context()).CreateTrunk((&trunkingv1.CreateTrunkParams{}).SetFriendlyName("x"))
			return err
		}, false},
		{"create origination url", func(c *twilio.Client, t *testing.T) error {
			_, err := c.Trunking(t.Context()).CreateOriginationUrl(testTrunk, (&trunkingv1.CreateOriginationUrlParams{}).SetSipUrl("sip:a@example.com"))
			return err
		}, false},
		{"delete number", func(c *twilio.Client, t *testing.T) error {
			return c.API(t.Context()).DeleteIncomingPhoneNumber(testNumber, nil)
		}, false},
	}
}

// TestServerErrorsRetriedOnlyWhenRepeatable: two 503s, then success.
func TestServerErrorsRetriedOnlyWhenRepeatable(t *testing.T) {
	for _, tc := range callCases() {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeTwilio(t, func(w http.ResponseWriter, _ *http.Request, hit int) bool {
				if hit <= 2 {
					writeTwilioError(w, 503, 20503, "Service Unavailable")
					return true
				}
				return false
			})
			p, _, _ := testPool(t, srv, twilio.Options{})
			c := testClient(t, p, keyProfile(region.IE1))
			err := c.Classify(tc.name, tc.call(c, t))
			wantHits, wantKind := 1, twilio.KindUnavailable
			if tc.repeatable {
				wantHits, wantKind = 3, twilio.KindUnknown
			}
			if got := len(srv.Requests()); got != wantHits {
				t.Errorf("server saw %d requests, want %d", got, wantHits)
			}
			if (err == nil) != tc.repeatable || (err != nil && twilio.KindOf(err) != wantKind) {
				t.Errorf("err = %v, want kind %v (nil when repeatable)", err, wantKind)
			}
		})
	}
}

// TestResetRetriedOnlyWhenRepeatable: the server reads the request, then
// drops the connection without answering.
func TestResetRetriedOnlyWhenRepeatable(t *testing.T) {
	for _, tc := range callCases() {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeTwilio(t, func(w http.ResponseWriter, _ *http.Request, hit int) bool {
				if hit == 1 {
					conn, _, err := http.NewResponseController(w).Hijack()
					if err != nil {
						panic(err)
					}
					conn.Close()
					return true
				}
				return false
			})
			// Fresh connections only: otherwise net/http itself may replay
			// a GET whose reused connection died, hiding what we test.
			srv.Config.SetKeepAlivesEnabled(false)
			p, _, _ := testPool(t, srv, twilio.Options{})
			c := testClient(t, p, keyProfile(region.IE1))
			err := c.Classify(tc.name, tc.call(c, t))
			wantHits := map[bool]int{true: 2, false: 1}[tc.repeatable]
			if got := len(srv.Requests()); got != wantHits {
				t.Errorf("server saw %d requests, want %d", got, wantHits)
			}
			if tc.repeatable && err != nil {
				t.Errorf("err = %v, want nil after a retry", err)
			}
			if !tc.repeatable && !errors.Is(err, twilio.KindUnavailable) {
				t.Errorf("err = %v, want KindUnavailable", err)
			}
		})
	}
}

// TestConnectFailureRetried: nothing listens at first, so even a create is
// retried; the server comes up during the first backoff.
func TestConnectFailureRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	srv := newFakeTwilio(t, nil)
	srv.Close() // replaced by a server on addr once the client backs off
	p, clock, reg := testPool(t, nil, twilio.Options{Endpoint: "http://" + addr})
	var once sync.Once
	clock.onSleep = func(time.Duration) {
		once.Do(func() {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Errorf("listen again on %s: %v", addr, err)
				return
			}
			s := httptest.NewUnstartedServer(srv.Config.Handler)
			s.Listener.Close()
			s.Listener = l
			s.Start()
			t.Cleanup(s.Close)
		})
	}
	c := testClient(t, p, keyProfile(region.AU1))
	_, err = c.API(t.Context()).CreateIncomingPhoneNumber((&apiv2010.CreateIncomingPhoneNumberParams{}).SetPhoneNumber("+15550100001"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"POST " + incomingPath(".json"): 1}, srv.Hits()); diff != "" {
		t.Errorf("server hits (-want +got):\n%s", diff)
	}
	if got := metricValue(t, reg, "voicedr_twilio_retries_total", "product", "api", "region", "au1", "reason", "connect"); got < 1 {
		t.Errorf("connect retries = %v, want >= 1", got)
	}
}

func TestConnectFailureExhausted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p, _, reg := testPool(t, nil, twilio.Options{Endpoint: "http://" + addr, Retry: twilio.RetryPolicy{MaxAttempts: 4}})
	c := testClient(t, p, keyProfile(region.AU1))
	_, err = c.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil)
	err = c.Classify("FetchIncomingPhoneNumber", err)
	if !errors.Is(err, twilio.KindUnavailable) || !strings.Contains(err.Error(), "giving up after 4 attempts") {
		t.Errorf("err = %v, want KindUnavailable after 4 attempts", err)
	}
	if got := metricValue(t, reg, "voicedr_twilio_requests_total", "product", "api", "region", "au1", "method", "GET", "status", "error"); got != 4 {
		t.Errorf("requests_total{status=error} = %v, want 4", got)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name   string
		header func(now time.Time) string
		want   time.Duration
	}{
		{"seconds", func(time.Time) string { return "7" }, 7 * time.Second},
		{"http date", func(now time.Time) string { return now.Add(5 * time.Second).Format(http.TimeFormat) }, 5 * time.Second},
		{"capped", func(time.Time) string { return "3600" }, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var clock *fakeClock
			srv := newFakeTwilio(t, func(w http.ResponseWriter, _ *http.Request, hit int) bool {
				if hit == 1 {
					w.Header().Set("Retry-After", tt.header(clock.Now()))
					writeTwilioError(w, 429, 20429, "Too Many Requests")
					return true
				}
				return false
			})
			p, clk, _ := testPool(t, srv, twilio.Options{Retry: twilio.RetryPolicy{MaxRetryAfter: 30 * time.Second}})
			clock = clk
			c := testClient(t, p, keyProfile(region.US1))
			// A create: a 429 is retried whatever the method.
			if _, err := c.API(t.Context()).CreateIncomingPhoneNumber((&apiv2010.CreateIncomingPhoneNumberParams{}).SetPhoneNumber("+15550100001")); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]time.Duration{tt.want}, clock.Sleeps()); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBackoffFullJitter fixes the jitter at 0.5: the n-th retry waits half
// of min(MaxDelay, BaseDelay × 2^(n-1)).
func TestBackoffFullJitter(t *testing.T) {
	srv := newFakeTwilio(t, func(w http.ResponseWriter, _ *http.Request, _ int) bool {
		writeTwilioError(w, 500, 20500, "Internal Server Error")
		return true
	})
	p, clock, _ := testPool(t, srv, twilio.Options{
		Retry:  twilio.RetryPolicy{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond},
		Jitter: func() float64 { return 0.5 },
	})
	c := testClient(t, p, keyProfile(region.US1))
	_, err := c.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil)
	var te *twilio.Error
	if !errors.As(c.Classify("FetchIncomingPhoneNumber", err), &te) || te.Status != 500 || te.Code != 20500 {
		t.Errorf("err = %v, want the last 500 (20500)", err)
	}
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 150 * time.Millisecond}
	if diff := cmp.Diff(want, clock.Sleeps()); diff != "" {
		t.Errorf("backoff sleeps (-want +got):\n%s", diff)
	}
	if got := len(srv.Requests()); got != 5 {
		t.Errorf("server saw %d requests, want 5", got)
	}
}

// TestAttemptTimeout: a server that never answers the first attempt costs
// one AttemptTimeout (real time, 20ms); a read is then retried, a create
// is not. Only request counts are asserted.
func TestAttemptTimeout(t *testing.T) {
	for _, tc := range callCases() {
		if tc.name != "fetch number" && tc.name != "create number" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request, hit int) bool {
				if hit == 1 {
					<-r.Context().Done()
					return true
				}
				return false
			})
			p, _, reg := testPool(t, srv, twilio.Options{AttemptTimeout: 20 * time.Millisecond})
			c := testClient(t, p, keyProfile(region.IE1))
			err := c.Classify(tc.name, tc.call(c, t))
			wantHits := map[bool]int{true: 2, false: 1}[tc.repeatable]
			if got := len(srv.Requests()); got != wantHits {
				t.Errorf("server saw %d requests, want %d", got, wantHits)
			}
			if tc.repeatable {
				if err != nil {
					t.Errorf("err = %v, want nil after a retry", err)
				}
				if got := metricValue(t, reg, "voicedr_twilio_retries_total", "product", "api", "region", "ie1", "reason", "timeout"); got != 1 {
					t.Errorf("timeout retries = %v, want 1", got)
				}
				return
			}
			if !errors.Is(err, twilio.KindUnavailable) || !strings.Contains(err.Error(), "no complete response within 20ms") {
				t.Errorf("err = %v, want KindUnavailable naming the attempt timeout", err)
			}
		})
	}
}
