package twilio_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// probeServer answers the n-th probe request with latency[n-1] of virtual
// time and status[n-1] (0 = success).
func probeServer(t *testing.T, clock **fakeClock, latency []time.Duration, status []int) *fakeTwilio {
	return newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n <= len(latency) {
			(*clock).Advance(latency[n-1])
		}
		if n <= len(status) && status[n-1] != 0 {
			code := map[int]int{401: 20003, 429: 20429, 500: 20500, 503: 20503}[status[n-1]]
			writeTwilioError(w, status[n-1], code, http.StatusText(status[n-1]))
			return true
		}
		return false
	})
}

func TestProbe(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		latency []time.Duration
		status  []int
		opts    twilio.ProbeOptions
		want    twilio.Health
		wantErr twilio.Kind // KindUnknown: no error
	}{{
		name:    "up",
		latency: []time.Duration{120 * ms, 80 * ms, 100 * ms},
		want: twilio.Health{Status: twilio.StatusUp, Samples: 3,
			Latencies: []time.Duration{120 * ms, 80 * ms, 100 * ms}, Median: 100 * ms, Max: 120 * ms},
	}, {
		name:    "degraded by latency",
		latency: []time.Duration{2500 * ms, 3 * time.Second, 100 * ms},
		want: twilio.Health{Status: twilio.StatusDegraded, Samples: 3,
			Latencies: []time.Duration{2500 * ms, 3 * time.Second, 100 * ms}, Median: 2500 * ms, Max: 3 * time.Second},
	}, {
		name:    "one slow sample is not degraded",
		latency: []time.Duration{100 * ms, 9 * time.Second, 100 * ms},
		want: twilio.Health{Status: twilio.StatusUp, Samples: 3,
			Latencies: []time.Duration{100 * ms, 9 * time.Second, 100 * ms}, Median: 100 * ms, Max: 9 * time.Second},
	}, {
		name:    "degraded by a failure, not retried",
		latency: []time.Duration{100 * ms, 100 * ms, 100 * ms},
		status:  []int{0, 503, 0},
		want: twilio.Health{Status: twilio.StatusDegraded, Samples: 3, Failures: 1,
			Latencies: []time.Duration{100 * ms, 100 * ms, 100 * ms}, Median: 100 * ms, Max: 100 * ms},
		wantErr: twilio.KindUnavailable,
	}, {
		name:   "down: every sample failed",
		status: []int{503, 500, 429},
		want: twilio.Health{Status: twilio.StatusDown, Samples: 3, Failures: 3,
			Latencies: []time.Duration{0, 0, 0}},
		wantErr: twilio.KindRateLimited,
	}, {
		name:    "down: credentials rejected, stops at once",
		latency: []time.Duration{50 * ms},
		status:  []int{401},
		opts:    twilio.ProbeOptions{Samples: 5},
		want: twilio.Health{Status: twilio.StatusDown, Samples: 1, Failures: 1,
			Latencies: []time.Duration{50 * ms}, Median: 50 * ms, Max: 50 * ms},
		wantErr: twilio.KindAuth,
	}, {
		name:    "custom threshold and sample count",
		latency: []time.Duration{300 * ms, 300 * ms, 300 * ms, 300 * ms, 300 * ms},
		opts:    twilio.ProbeOptions{Samples: 5, DegradedLatency: 250 * ms},
		want: twilio.Health{Status: twilio.StatusDegraded, Samples: 5,
			Latencies: []time.Duration{300 * ms, 300 * ms, 300 * ms, 300 * ms, 300 * ms}, Median: 300 * ms, Max: 300 * ms},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var clock *fakeClock
			srv := probeServer(t, &clock, tt.latency, tt.status)
			p, clk, _ := testPool(t, srv, twilio.Options{})
			clock = clk
			c := testClient(t, p, keyProfile(region.IE1))
			start := clock.Now()
			got := twilio.Probe(t.Context(), c, tt.opts)

			tt.want.Region, tt.want.At = region.IE1, start
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(twilio.Health{}, "Err")); diff != "" {
				t.Errorf("Probe (-want +got):\n%s", diff)
			}
			if gotKind := twilio.KindOf(got.Err); gotKind != tt.wantErr || (tt.wantErr == twilio.KindUnknown) != (got.Err == nil) {
				t.Errorf("Err = %v, want kind %v", got.Err, tt.wantErr)
			}
			for _, r := range srv.Requests() {
				if r.Query != "PageSize=1" || r.Path != incomingPath(".json") {
					t.Errorf("probe sent %s ?%s, want %s ?PageSize=1", r.Path, r.Query, incomingPath(".json"))
				}
			}
		})
	}
}

func TestProbeCanceled(t *testing.T) {
	srv := newFakeTwilio(t, nil)
	p, _, _ := testPool(t, srv, twilio.Options{})
	c := testClient(t, p, keyProfile(region.AU1))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got := twilio.Probe(ctx, c, twilio.ProbeOptions{})
	if got.Status != twilio.StatusDown || twilio.KindOf(got.Err) != twilio.KindCanceled || got.Samples != 1 {
		t.Errorf("Probe on a cancelled context = %+v, want down after 1 sample with KindCanceled", got)
	}
}

func TestProbeAll(t *testing.T) {
	srv := newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.Host == "api.sydney.au1.twilio.com" {
			writeTwilioError(w, 503, 20503, "Service Unavailable")
			return true
		}
		return false
	})
	p, _, _ := testPool(t, srv, twilio.Options{})
	set, err := twilio.NewSet(p, keyProfile(region.US1), keyProfile(region.AU1), keyProfile(region.IE1))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range twilio.ProbeAll(t.Context(), set, twilio.ProbeOptions{}) {
		got = append(got, string(h.Region)+" "+string(h.Status))
	}
	if diff := cmp.Diff([]string{"us1 up", "au1 down", "ie1 up"}, got); diff != "" {
		t.Errorf("ProbeAll (-want +got):\n%s", diff)
	}
}
