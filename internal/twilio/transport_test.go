package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"
	monitorv1 "github.com/twilio/twilio-go/rest/monitor/v1"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

func TestEndpointOverrideKeepsHost(t *testing.T) {
	// twilio-go would read these; the client must not.
	t.Setenv("TWILIO_REGION", "au1")
	t.Setenv("TWILIO_EDGE", "sydney")
	t.Setenv("TWILIO_AUTH_TOKEN", "envTokenMustNotBeUsed")
	srv := newFakeTwilio(t, nil)
	p, _, _ := testPool(t, srv, twilio.Options{})
	ie1 := testClient(t, p, keyProfile(region.IE1))
	us1 := region.Resolved{
		Profile:   region.Profile{Region: region.US1, Edge: "umatilla", AccountSID: testAccount},
		AuthToken: region.NewSecret(testToken),
	}
	umatilla := testClient(t, p, us1)
	ctx := t.Context()

	calls := []func() error{
		func() error { _, err := ie1.API(ctx).FetchIncomingPhoneNumber(testNumber, nil); return err },
		func() error { _, err := ie1.Routes(ctx).FetchPhoneNumber("+15550100001"); return err },
		func() error { _, err := ie1.Trunking(ctx).FetchTrunk(testTrunk); return err },
		func() error {
			_, err := ie1.Insights(ctx).FetchSummary("CA0123456789abcdef0123456789abcdef", nil)
			return err
		},
		func() error {
			_, err := ie1.Monitor(ctx).ListAlert((&monitorv1.ListAlertParams{}).SetLimit(1))
			return err
		},
		func() error { _, err := umatilla.API(ctx).FetchIncomingPhoneNumber(testNumber, nil); return err },
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	want := []seen{
		{Host: "api.dublin.ie1.twilio.com", Method: "GET", Path: incomingPath("/" + testNumber + ".json"), User: testKey, Pass: testSecret},
		{Host: "routes.dublin.ie1.twilio.com", Method: "GET", Path: "/v2/PhoneNumbers/+15550100001", User: testKey, Pass: testSecret},
		{Host: "trunking.dublin.ie1.twilio.com", Method: "GET", Path: "/v1/Trunks/" + testTrunk, User: testKey, Pass: testSecret},
		{Host: "insights.dublin.ie1.twilio.com", Method: "GET", Path: "/v1/Voice/CA0123456789abcdef0123456789abcdef/Summary", User: testKey, Pass: testSecret},
		{Host: "monitor.dublin.ie1.twilio.com", Method: "GET", Path: "/v1/Alerts", User: testKey, Pass: testSecret, Query: "PageSize=1"},
		{Host: "api.umatilla.us1.twilio.com", Method: "GET", Path: incomingPath("/" + testNumber + ".json"), User: testAccount, Pass: testToken},
	}
	if diff := cmp.Diff(want, srv.Requests()); diff != "" {
		t.Errorf("requests seen by the server (-want +got):\n%s", diff)
	}
}

func TestNewPoolRejectsBadEndpoint(t *testing.T) {
	for _, ep := range []string{"127.0.0.1:8080", "ftp://x", "http://", "http://127.0.0.1:1/prefix", "http://u:p@127.0.0.1:1"} {
		if _, err := twilio.NewPool(twilio.Options{Endpoint: ep}); err == nil {
			t.Errorf("NewPool(Endpoint: %q) succeeded, want an error", ep)
		}
	}
}

// TestRateLimit proves the limiter on the virtual clock: at 10/s with a
// burst of 1, 50 requests need 49 intervals of 100ms.
func TestRateLimit(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		name := map[bool]string{false: "sequential", true: "concurrent"}[concurrent]
		t.Run(name, func(t *testing.T) {
			srv := newFakeTwilio(t, nil)
			p, clock, _ := testPool(t, srv, twilio.Options{Limits: twilio.Limits{Rate: 10, Burst: 1}})
			c := testClient(t, p, keyProfile(region.IE1))
			start := clock.Now()
			fetch := func() {
				if _, err := c.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil); err != nil {
					t.Error(err)
				}
			}
			var wg sync.WaitGroup
			for range 50 {
				if concurrent {
					wg.Go(fetch)
				} else {
					fetch()
				}
			}
			wg.Wait()
			elapsed := clock.Now().Sub(start)
			if elapsed < 4900*time.Millisecond-time.Millisecond {
				t.Errorf("50 requests at 10/s took %v of virtual time, want >= 4.9s", elapsed)
			}
			if !concurrent && elapsed > 4900*time.Millisecond+time.Millisecond {
				t.Errorf("50 sequential requests at 10/s took %v of virtual time, want 4.9s", elapsed)
			}
			if got := srv.Hits()["GET "+incomingPath("/"+testNumber+".json")]; got != 50 {
				t.Errorf("server saw %d requests, want 50", got)
			}
		})
	}
}

// TestConcurrencyLimit holds every request at the server until the pool
// reports the rest queued, then checks the server's own peak.
func TestConcurrencyLimit(t *testing.T) {
	const limit, n = 4, 24
	release := make(chan struct{})
	srv := newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request, _ int) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	})
	p, _, _ := testPool(t, srv, twilio.Options{Limits: twilio.Limits{MaxInFlight: limit}})
	c := testClient(t, p, keyProfile(region.AU1))
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := c.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, "4 requests at the server and 20 queued", func() bool {
		inFlight, _ := srv.Load()
		return inFlight == limit && p.Stats() == twilio.Stats{InFlight: limit, Waiting: n - limit}
	})
	close(release)
	wg.Wait()
	if _, peak := srv.Load(); peak != limit {
		t.Errorf("server peak in flight = %d, want %d", peak, limit)
	}
	if got := p.Stats(); got != (twilio.Stats{}) {
		t.Errorf("Stats() after the run = %+v, want zero", got)
	}
}

func TestCancelStopsBlackholedRequest(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request, _ int) bool {
		arrived <- struct{}{}
		<-r.Context().Done() // never answer
		return true
	})
	p, _, _ := testPool(t, srv, twilio.Options{})
	c := testClient(t, p, keyProfile(region.IE1))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := c.API(ctx).FetchIncomingPhoneNumber(testNumber, nil)
		done <- c.Classify("FetchIncomingPhoneNumber", err)
	}()
	<-arrived
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, twilio.KindCanceled) {
		t.Errorf("err = %v, want context.Canceled classified as KindCanceled", err)
	}
	if got := len(srv.Requests()); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
}

// TestCancelStopsWaits cancels a call parked in a backoff, a rate-limit
// wait and a concurrency wait; each must return at once with Canceled.
func TestCancelStopsWaits(t *testing.T) {
	tests := []struct {
		name    string
		opts    twilio.Options
		respond func(http.ResponseWriter, *http.Request, int) bool
		// prime sends one request first, to use up the burst.
		prime   bool
		wantHit int
	}{{
		name: "backoff",
		respond: func(w http.ResponseWriter, _ *http.Request, _ int) bool {
			writeTwilioError(w, 503, 20503, "Service Unavailable")
			return true
		},
		wantHit: 1,
	}, {
		name:    "rate limit",
		opts:    twilio.Options{Limits: twilio.Limits{Rate: 1, Burst: 1}},
		prime:   true,
		wantHit: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeTwilio(t, tt.respond)
			p, clock, _ := testPool(t, srv, tt.opts)
			c := testClient(t, p, keyProfile(region.IE1))
			if tt.prime {
				if _, err := c.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil); err != nil {
					t.Fatal(err)
				}
			}
			clock.mu.Lock()
			clock.block = true
			clock.mu.Unlock()
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() {
				_, err := c.API(ctx).FetchIncomingPhoneNumber(testNumber, nil)
				done <- err
			}()
			<-clock.sleeping
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if got := len(srv.Requests()); got != tt.wantHit {
				t.Errorf("server saw %d requests, want %d", got, tt.wantHit)
			}
		})
	}

	t.Run("concurrency slot", func(t *testing.T) {
		release := make(chan struct{})
		srv := newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request, _ int) bool {
			<-release
			return false
		})
		p, _, _ := testPool(t, srv, twilio.Options{Limits: twilio.Limits{MaxInFlight: 1}})
		c := testClient(t, p, keyProfile(region.IE1))
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = c.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil) })
		waitFor(t, "the first request to hold the slot", func() bool { return p.Stats().InFlight == 1 })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := c.API(ctx).ListIncomingPhoneNumber(&apiv2010.ListIncomingPhoneNumberParams{})
			done <- err
		}()
		waitFor(t, "the second request to queue", func() bool { return p.Stats().Waiting == 1 })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		close(release)
		wg.Wait()
		if got := len(srv.Requests()); got != 1 {
			t.Errorf("server saw %d requests, want 1", got)
		}
	})
}
