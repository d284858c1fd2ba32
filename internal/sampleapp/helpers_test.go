package sampleapp_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// Auth tokens of a made-up account: one per region, as Twilio issues them.
var tokens = map[region.Region]string{
	region.US1: "0123456789abcdef0123456789abcdef",
	region.IE1: "fedcba9876543210fedcba9876543210",
	region.AU1: "00112233445566778899aabbccddeeff",
}

// harness is one app on a real loopback server with its own registry.
type harness struct {
	app *sampleapp.App
	srv *httptest.Server
	reg *prometheus.Registry
}

// newHarness serves an app for r with opts (Region, AuthToken and
// Registerer filled in when empty).
func newHarness(t *testing.T, r region.Region, opts sampleapp.Options) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	if opts.Region == "" {
		opts.Region = r
	}
	if opts.AuthToken.IsZero() {
		opts.AuthToken = region.NewSecret(tokens[r])
	}
	if opts.Registerer == nil {
		opts.Registerer = reg
	}
	app, err := sampleapp.New(opts)
	if err != nil {
		t.Fatalf("new app: %v", err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return &harness{app: app, srv: srv, reg: reg}
}

// voiceParams are the parameters the emulator (and Twilio) send for an
// inbound call.
func voiceParams() url.Values {
	return url.Values{
		"CallSid": {"CA0123456789abcdef0123456789abcdef"}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"},
		"From": {"+447700900123"}, "To": {"+14155550100"}, "Called": {"+14155550100"}, "Caller": {"+447700900123"},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"},
	}
}

// independentSignature computes X-Twilio-Signature from Twilio's documented
// algorithm, written apart from twilioemu.Signature so that a shared bug in
// the emulator and the app cannot make the tests agree with each other.
func independentSignature(token, fullURL string, post url.Values) string {
	data := fullURL
	for _, k := range slices.Sorted(maps.Keys(post)) {
		data += k + post.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(token))
	io.WriteString(mac, data)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// response is what a test reads back.
type response struct {
	status      int
	contentType string
	body        string
}

// do sends a request with optional signature and headers.
func do(t *testing.T, ctx context.Context, method, u string, form url.Values, headers map[string]string) (response, error) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b)}, nil
}

// postSigned POSTs form to the app's path, signed with token as Twilio signs
// (twilioemu.Signature), plus extra headers.
func (h *harness) postSigned(t *testing.T, path, token string, form url.Values, extra map[string]string) response {
	t.Helper()
	u := h.srv.URL + path
	headers := map[string]string{sampleapp.SignatureHeader: twilioemu.Signature(token, u, form)}
	maps.Copy(headers, extra)
	resp, err := do(t, t.Context(), http.MethodPost, u, form, headers)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return resp
}

// get sends an unsigned GET (health, control).
func (h *harness) get(t *testing.T, path string, extra map[string]string) response {
	t.Helper()
	resp, err := do(t, t.Context(), http.MethodGet, h.srv.URL+path, nil, extra)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

// putMode sends a mode patch to the control endpoint.
func (h *harness) putMode(t *testing.T, patch string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, h.srv.URL+"/__sampleapp/mode", strings.NewReader(patch))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT mode: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b)}
}

// state reads GET /__sampleapp/mode.
func (h *harness) state(t *testing.T) sampleapp.State {
	t.Helper()
	resp := h.get(t, "/__sampleapp/mode", nil)
	var s sampleapp.State
	if err := json.Unmarshal([]byte(resp.body), &s); resp.status != http.StatusOK || err != nil {
		t.Fatalf("GET mode: %d %q (%v)", resp.status, resp.body, err)
	}
	return s
}

// metric returns the value of the series of name with exactly labels (a
// counter's value, a histogram's sample count), 0 when there is none.
func metric(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !sameLabels(m.GetLabel(), labels) {
				continue
			}
			if m.Histogram != nil {
				return float64(m.GetHistogram().GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
			return false
		}
	}
	return true
}

// fixedClock makes request durations zero, so histogram buckets are exact.
func fixedClock() time.Time { return time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC) }
