package sampleapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
)

func TestFallbackCountsHitsByErrorCode(t *testing.T) {
	h := newHarness(t, region.IE1, sampleapp.Options{})
	for _, code := range []string{"11200", "11200", "11205", "12100", "", "not-a-code"} {
		p := voiceParams()
		if code != "" {
			p.Set("ErrorCode", code)
			p.Set("ErrorUrl", "https://voice-ie1.example.com/voice")
		}
		resp := h.postSigned(t, "/fallback", tokens[region.IE1], p, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("fallback with ErrorCode %q: status %d", code, resp.status)
		}
		if tw := parseTwiML(t, resp.body); !strings.Contains(tw.Say, "ie1 fallback") {
			t.Errorf("fallback says %q, want the ie1 fallback message", tw.Say)
		}
	}
	// A forged fallback request is not a hit.
	forged := voiceParams()
	forged.Set("ErrorCode", "11200")
	if resp := h.postSigned(t, "/fallback", tokens[region.US1], forged, nil); resp.status != http.StatusForbidden {
		t.Errorf("fallback signed with the us1 token: %d, want 403", resp.status)
	}
	want := map[string]int64{"11200": 2, "11205": 1, "12100": 1, "none": 1, "other": 1}
	if diff := cmp.Diff(want, h.app.Counters().FallbackHits); diff != "" {
		t.Errorf("fallback hits (-want +got):\n%s", diff)
	}
	for code, n := range want {
		if v := metric(t, h.reg, "voicedr_sampleapp_fallback_hits_total", map[string]string{"region": "ie1", "error_code": code}); v != float64(n) {
			t.Errorf("fallback_hits_total{error_code=%q} = %v, want %d", code, v, n)
		}
	}
}

func TestModesChangeWhatTheWebhooksAnswer(t *testing.T) {
	h := newHarness(t, region.US1, sampleapp.Options{})
	for _, tc := range []struct {
		name, patch, path string
		wantStatus        int
		wantTwiML         bool
		outcome           string
	}{
		{"voice fail", `{"voice":"fail"}`, "/voice", http.StatusInternalServerError, false, "fail"},
		{"voice bad-twiml", `{"voice":"bad-twiml"}`, "/voice", http.StatusOK, false, "bad_twiml"},
		{"voice back to ok", `{"voice":"ok"}`, "/voice", http.StatusOK, true, "ok"},
		{"fallback fail", `{"fallback":"fail"}`, "/fallback", http.StatusInternalServerError, false, "fail"},
		{"voice unaffected by fallback mode", `{}`, "/voice", http.StatusOK, true, "ok"},
	} {
		if resp := h.putMode(t, tc.patch); resp.status != http.StatusOK {
			t.Fatalf("%s: PUT mode %s: %d %s", tc.name, tc.patch, resp.status, resp.body)
		}
		before := h.app.Counters().Requests[strings.TrimPrefix(tc.path, "/")][tc.outcome]
		resp := h.postSigned(t, tc.path, tokens[region.US1], voiceParams(), nil)
		if resp.status != tc.wantStatus {
			t.Errorf("%s: status = %d, want %d", tc.name, resp.status, tc.wantStatus)
		}
		if got := strings.Contains(resp.body, "<Response>"); got != tc.wantTwiML {
			t.Errorf("%s: body %q has <Response> = %v, want %v", tc.name, resp.body, got, tc.wantTwiML)
		}
		if after := h.app.Counters().Requests[strings.TrimPrefix(tc.path, "/")][tc.outcome]; after != before+1 {
			t.Errorf("%s: outcome %q counted %d → %d, want one more", tc.name, tc.outcome, before, after)
		}
	}
}

func TestHealthFollowsTheHealthyFlag(t *testing.T) {
	h := newHarness(t, region.IE1, sampleapp.Options{})
	check := func(wantStatus int, wantBody map[string]string) {
		t.Helper()
		resp := h.get(t, "/health", nil)
		var got map[string]string
		if err := json.Unmarshal([]byte(resp.body), &got); err != nil {
			t.Fatalf("health body %q: %v", resp.body, err)
		}
		if resp.status != wantStatus {
			t.Errorf("health status = %d, want %d", resp.status, wantStatus)
		}
		if diff := cmp.Diff(wantBody, got); diff != "" {
			t.Errorf("health body (-want +got):\n%s", diff)
		}
	}
	check(http.StatusOK, map[string]string{"status": "ok", "region": "ie1"})
	h.putMode(t, `{"healthy":false}`)
	check(http.StatusServiceUnavailable, map[string]string{"status": "unhealthy", "region": "ie1"})
	// Health and webhooks are separate knobs.
	if resp := h.postSigned(t, "/voice", tokens[region.IE1], voiceParams(), nil); resp.status != http.StatusOK {
		t.Errorf("voice while unhealthy: %d, want 200", resp.status)
	}
	h.putMode(t, `{"healthy":true}`)
	check(http.StatusOK, map[string]string{"status": "ok", "region": "ie1"})
}

// recordingSleeper records the delays asked for and returns at once.
type recordingSleeper struct {
	mu    sync.Mutex
	slept []time.Duration
}

func (s *recordingSleeper) Sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slept = append(s.slept, d)
	return nil
}

func TestSlowModeWaitsTheConfiguredTimeThenAnswers(t *testing.T) {
	s := &recordingSleeper{}
	h := newHarness(t, region.IE1, sampleapp.Options{Sleep: s.Sleep})
	if resp := h.postSigned(t, "/voice", tokens[region.IE1], voiceParams(), nil); resp.status != http.StatusOK {
		t.Fatalf("voice: %d", resp.status)
	}
	h.putMode(t, `{"voice":"slow","fallback":"slow","slow":"2s"}`)
	for _, path := range []string{"/voice", "/fallback"} {
		resp := h.postSigned(t, path, tokens[region.IE1], voiceParams(), nil)
		if resp.status != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.status)
		}
		parseTwiML(t, resp.body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if diff := cmp.Diff([]time.Duration{2 * time.Second, 2 * time.Second}, s.slept); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestSlowModeGivesUpWhenTheCallerDoes(t *testing.T) {
	// Real sleeper, 10 s long: the client's deadline, far shorter, must be
	// what ends the request, and the app must notice and count it as
	// canceled. (A sleep that ignored its context would end after 10 s and
	// count the request as answered, failing the test without hanging it.)
	slow := sampleapp.Mode{Voice: sampleapp.Slow, Fallback: sampleapp.OK, Slow: sampleapp.Duration(10 * time.Second), Healthy: true}
	app, err := sampleapp.New(sampleapp.Options{Region: region.IE1, AuthToken: region.NewSecret(tokens[region.IE1]), Mode: &slow})
	if err != nil {
		t.Fatal(err)
	}
	// No Cleanup Close here: if the sleep ignored its context, Close would
	// block the test binary for the full hour instead of failing.
	h := &harness{app: app, srv: httptest.NewServer(app)}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	u := h.srv.URL + "/voice"
	p := voiceParams()
	_, err = do(t, ctx, http.MethodPost, u, p, map[string]string{sampleapp.SignatureHeader: independentSignature(tokens[region.IE1], u, p)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("client error = %v, want its deadline to expire first", err)
	}
	// Close waits for the handler: it returns only once the sleep saw the
	// cancellation. The bound only turns a hang (a sleep that ignores its
	// context) into a failure; nothing passes or fails on how fast it is.
	closed := make(chan struct{})
	go func() { h.srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow handler did not return after the caller gave up: the sleep ignores its context")
	}
	if diff := cmp.Diff(map[string]map[string]int64{"voice": {"canceled": 1}}, h.app.Counters().Requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestControlEndpoint(t *testing.T) {
	h := newHarness(t, region.AU1, sampleapp.Options{})
	want := sampleapp.DefaultMode()
	if diff := cmp.Diff(want, h.state(t).Mode); diff != "" {
		t.Errorf("default mode (-want +got):\n%s", diff)
	}
	resp := h.putMode(t, `{"voice":"fail","slow":"3s"}`)
	var put sampleapp.State
	if err := json.Unmarshal([]byte(resp.body), &put); resp.status != http.StatusOK || err != nil {
		t.Fatalf("PUT: %d %s (%v)", resp.status, resp.body, err)
	}
	want.Voice, want.Slow = sampleapp.Fail, sampleapp.Duration(3*time.Second)
	if diff := cmp.Diff(want, put.Mode); diff != "" {
		t.Errorf("mode after PUT (-want +got):\n%s", diff)
	}
	if !strings.Contains(resp.body, `"slow":"3s"`) {
		t.Errorf("PUT answer %s does not write slow as a duration string", resp.body)
	}
	for _, tc := range []struct{ name, patch, want string }{
		{"unknown behaviour", `{"voice":"explode"}`, "voice"},
		{"bad duration", `{"slow":"soon"}`, "duration"},
		{"unknown field", `{"voise":"fail"}`, "voise"},
		{"slow with zero duration", `{"fallback":"slow","slow":"0s"}`, "slow"},
		{"not JSON", `voice=fail`, "mode"},
	} {
		resp := h.putMode(t, tc.patch)
		if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, tc.want) {
			t.Errorf("%s: %d %s, want 400 mentioning %q", tc.name, resp.status, resp.body, tc.want)
		}
	}
	if diff := cmp.Diff(want, h.app.Mode()); diff != "" {
		t.Errorf("refused PUTs changed the mode (-want +got):\n%s", diff)
	}
	resp, err := do(t, t.Context(), http.MethodPost, h.srv.URL+"/__sampleapp/mode", nil, nil)
	if err != nil || resp.status != http.StatusMethodNotAllowed {
		t.Errorf("POST mode: %d %v, want 405", resp.status, err)
	}
	if err := h.app.SetMode(sampleapp.Mode{Voice: "ok"}); err == nil {
		t.Errorf("SetMode accepted an empty fallback behaviour")
	}
}
