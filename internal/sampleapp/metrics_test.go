package sampleapp_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
)

var probe = map[string]string{sampleapp.ProbeHeader: "1"}

func TestProbesAreAnsweredButNotCounted(t *testing.T) {
	h := newHarness(t, region.IE1, sampleapp.Options{})
	fallback := voiceParams()
	fallback.Set("ErrorCode", "11200")
	final := voiceParams()
	final.Set("CallStatus", "completed")
	// Probes see what Twilio would see, signature check included.
	for _, tc := range []struct {
		name, path, token string
		form              url.Values
		want              int
	}{
		{"voice", "/voice", tokens[region.IE1], voiceParams(), http.StatusOK},
		{"fallback", "/fallback", tokens[region.IE1], fallback, http.StatusOK},
		{"status", "/status", tokens[region.IE1], final, http.StatusNoContent},
		{"wrong region's token", "/voice", tokens[region.US1], voiceParams(), http.StatusForbidden},
	} {
		if resp := h.postSigned(t, tc.path, tc.token, tc.form, probe); resp.status != tc.want {
			t.Errorf("probe %s: status %d, want %d", tc.name, resp.status, tc.want)
		}
	}
	if resp := h.get(t, "/health", probe); resp.status != http.StatusOK {
		t.Errorf("probe health: %d", resp.status)
	}
	for _, name := range []string{
		"voicedr_sampleapp_requests_total", "voicedr_sampleapp_fallback_hits_total",
		"voicedr_sampleapp_status_callbacks_total", "voicedr_sampleapp_request_duration_seconds",
	} {
		if n, err := testutil.GatherAndCount(h.reg, name); err != nil || n != 0 {
			t.Errorf("%s has %d series after probes only (err %v), want 0", name, n, err)
		}
	}
	if v := metric(t, h.reg, "voicedr_sampleapp_signature_failures_total", map[string]string{"region": "ie1"}); v != 0 {
		t.Errorf("a probe's bad signature counted as a signature failure (%v)", v)
	}
	got := h.app.Counters()
	if diff := cmp.Diff(map[string]int64{"voice": 2, "fallback": 1, "status": 1, "health": 1}, got.Probes); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
	if len(got.Requests)+len(got.FallbackHits)+len(got.FinalStatuses) != 0 || got.SignatureFailures != 0 {
		t.Errorf("probes were counted as traffic: %+v", got)
	}
	// Only the documented value marks a probe; the same request without it
	// is traffic.
	if resp := h.postSigned(t, "/voice", tokens[region.IE1], voiceParams(), map[string]string{sampleapp.ProbeHeader: "0"}); resp.status != http.StatusOK {
		t.Fatalf("voice: %d", resp.status)
	}
	if v := metric(t, h.reg, "voicedr_sampleapp_requests_total", map[string]string{"region": "ie1", "endpoint": "voice", "outcome": "ok"}); v != 1 {
		t.Errorf("requests_total{voice,ok} = %v after one unmarked request, want 1", v)
	}
}

func TestMetricsOfTwoRegionsShareARegistry(t *testing.T) {
	// The demo runs one app per region in one process and one registry.
	reg := prometheus.NewRegistry()
	apps := map[region.Region]*httptest.Server{}
	for _, r := range []region.Region{region.US1, region.IE1} {
		app, err := sampleapp.New(sampleapp.Options{Region: r, AuthToken: region.NewSecret(tokens[r]), Registerer: reg, Now: fixedClock})
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		apps[r] = httptest.NewServer(app)
		defer apps[r].Close()
	}
	us := &harness{srv: apps[region.US1], reg: reg}
	ie := &harness{srv: apps[region.IE1], reg: reg}
	us.postSigned(t, "/voice", tokens[region.US1], voiceParams(), nil)
	us.postSigned(t, "/voice", tokens[region.IE1], voiceParams(), nil) // wrong region: 403
	fp := voiceParams()
	fp.Set("ErrorCode", "11205")
	ie.postSigned(t, "/fallback", tokens[region.IE1], fp, nil)
	ie.get(t, "/health", nil)

	want := `
# HELP voicedr_sampleapp_requests_total Requests the sample app answered, by region, endpoint and outcome; probes excluded.
# TYPE voicedr_sampleapp_requests_total counter
voicedr_sampleapp_requests_total{endpoint="fallback",outcome="ok",region="ie1"} 1
voicedr_sampleapp_requests_total{endpoint="health",outcome="ok",region="ie1"} 1
voicedr_sampleapp_requests_total{endpoint="voice",outcome="forbidden",region="us1"} 1
voicedr_sampleapp_requests_total{endpoint="voice",outcome="ok",region="us1"} 1
# HELP voicedr_sampleapp_fallback_hits_total Validly signed requests to the fallback URL, by region and the ErrorCode Twilio sent; probes excluded.
# TYPE voicedr_sampleapp_fallback_hits_total counter
voicedr_sampleapp_fallback_hits_total{error_code="11205",region="ie1"} 1
# HELP voicedr_sampleapp_signature_failures_total Requests refused for a missing or invalid X-Twilio-Signature, by region; probes excluded.
# TYPE voicedr_sampleapp_signature_failures_total counter
voicedr_sampleapp_signature_failures_total{region="ie1"} 0
voicedr_sampleapp_signature_failures_total{region="us1"} 1
# HELP voicedr_sampleapp_request_duration_seconds Time the sample app took to answer, by region and endpoint; probes excluded.
# TYPE voicedr_sampleapp_request_duration_seconds histogram
` + histogram("fallback", "ie1", 1) + histogram("health", "ie1", 1) + histogram("voice", "us1", 2)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"voicedr_sampleapp_requests_total", "voicedr_sampleapp_fallback_hits_total",
		"voicedr_sampleapp_signature_failures_total", "voicedr_sampleapp_request_duration_seconds"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
}

// histogram is the exposition of n zero-length observations (the clock is
// fixed) for one endpoint.
func histogram(endpoint, reg string, n int) string {
	var b strings.Builder
	labels := `endpoint="` + endpoint + `",region="` + reg + `"`
	for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "15", "30", "+Inf"} {
		b.WriteString("voicedr_sampleapp_request_duration_seconds_bucket{" + labels + `,le="` + le + `"} ` + strconv.Itoa(n) + "\n")
	}
	b.WriteString("voicedr_sampleapp_request_duration_seconds_sum{" + labels + "} 0\n")
	b.WriteString("voicedr_sampleapp_request_duration_seconds_count{" + labels + "} " + strconv.Itoa(n) + "\n")
	return b.String()
}
