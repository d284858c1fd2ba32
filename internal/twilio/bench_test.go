package twilio_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// rewriteOnly is the least a transport must do to reach a local server: the
// baseline the Pool's overhead is measured against.
type rewriteOnly struct {
	base http.RoundTripper
	to   *url.URL
}

func (r rewriteOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return r.base.RoundTrip(req)
}

// BenchmarkTransport fetches one number through the SDK over a plain
// rewriting transport ("baseline") and over a Pool ("pool": limits,
// retries bookkeeping, buffering, metrics, debug-disabled logging), and
// reports the Pool's overhead per request as overhead-ns/op (noisy on a
// loopback round trip of ~100µs; compare with -count and benchstat). The rate limit is lifted so that
// the benchmark measures cost, not pacing.
func BenchmarkTransport(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"sid":"PN0123456789abcdef0123456789abcdef","phone_number":"+15550100001"}`)
	}))
	defer srv.Close()
	to, _ := url.Parse(srv.URL)
	perOp := map[string]time.Duration{}

	b.Run("baseline", func(b *testing.B) {
		base := &http.Transport{MaxIdleConnsPerHost: 64}
		defer base.CloseIdleConnections()
		bc := &client.Client{
			Credentials: client.NewCredentials(testKey, testSecret),
			HTTPClient:  &http.Client{Transport: rewriteOnly{base: base, to: to}},
		}
		bc.SetAccountSid(testAccount)
		h := client.NewRequestHandler(bc)
		h.Region, h.Edge = "ie1", "dublin"
		svc := apiv2010.NewApiService(h)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.FetchIncomingPhoneNumber(testNumber, nil); err != nil {
				b.Fatal(err)
			}
		}
		perOp["baseline"] = b.Elapsed() / time.Duration(b.N)
	})

	b.Run("pool", func(b *testing.B) {
		p, err := twilio.NewPool(twilio.Options{
			Endpoint: srv.URL,
			Limits:   twilio.Limits{Rate: 1e9, Burst: 1e6},
			Logger:   slog.New(slog.DiscardHandler),
		})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		c, err := twilio.NewRegionClient(keyProfile(region.IE1), p)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			// A service per call, as callers use it.
			if _, err := c.API(ctx).FetchIncomingPhoneNumber(testNumber, nil); err != nil {
				b.Fatal(err)
			}
		}
		pool := b.Elapsed() / time.Duration(b.N)
		if base := perOp["baseline"]; base > 0 {
			// Printed on the result line: overhead-ns/op beside ns/op.
			b.ReportMetric(float64(pool-base), "overhead-ns/op")
		}
	})
}
