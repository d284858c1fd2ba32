package sampleapp_test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// twiml is the shape of the app's answer.
type twiml struct {
	XMLName xml.Name `xml:"Response"`
	Say     string   `xml:"Say"`
}

func parseTwiML(t *testing.T, body string) twiml {
	t.Helper()
	var tw twiml
	if err := xml.Unmarshal([]byte(body), &tw); err != nil {
		t.Fatalf("answer is not TwiML: %v\n%s", err, body)
	}
	return tw
}

func TestSignatureAlgorithmsAgree(t *testing.T) {
	// The cross-check only means something if both implementations agree
	// on what a valid signature is, and disagree across tokens.
	u := "http://127.0.0.1:8080/voice?tenant=a%20b"
	p := voiceParams()
	if got, want := twilioemu.Signature(tokens[region.IE1], u, p), independentSignature(tokens[region.IE1], u, p); got != want {
		t.Errorf("twilioemu.Signature = %q, independent = %q", got, want)
	}
	if twilioemu.Signature(tokens[region.IE1], u, p) == twilioemu.Signature(tokens[region.US1], u, p) {
		t.Errorf("ie1 and us1 tokens give the same signature")
	}
}

func TestVoiceAcceptsOnlyItsOwnRegionsSignature(t *testing.T) {
	h := newHarness(t, region.IE1, sampleapp.Options{})
	u := h.srv.URL + "/voice"
	p := voiceParams()
	tampered := voiceParams()
	tampered.Set("From", "+15005550006")
	for _, tc := range []struct {
		name string
		sig  string
		form url.Values
		want int
	}{
		{"ie1 token, emulator signer", twilioemu.Signature(tokens[region.IE1], u, p), p, http.StatusOK},
		{"ie1 token, independent signer", independentSignature(tokens[region.IE1], u, p), p, http.StatusOK},
		{"us1 token", twilioemu.Signature(tokens[region.US1], u, p), p, http.StatusForbidden},
		{"au1 token, independent signer", independentSignature(tokens[region.AU1], u, p), p, http.StatusForbidden},
		{"no signature", "", p, http.StatusForbidden},
		{"parameter changed after signing", twilioemu.Signature(tokens[region.IE1], u, p), tampered, http.StatusForbidden},
		{"signed for another path", twilioemu.Signature(tokens[region.IE1], h.srv.URL+"/fallback", p), p, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{}
			if tc.sig != "" {
				headers[sampleapp.SignatureHeader] = tc.sig
			}
			resp, err := do(t, t.Context(), http.MethodPost, u, tc.form, headers)
			if err != nil {
				t.Fatal(err)
			}
			if resp.status != tc.want {
				t.Fatalf("status = %d, want %d (body %q)", resp.status, tc.want, resp.body)
			}
			if tc.want != http.StatusOK {
				return
			}
			if !strings.HasPrefix(resp.contentType, "text/xml") {
				t.Errorf("Content-Type = %q, want text/xml", resp.contentType)
			}
			if !strings.HasPrefix(resp.body, `<?xml version="1.0" encoding="UTF-8"?><Response>`) {
				t.Errorf("body %q does not start with the XML declaration and <Response>", resp.body)
			}
			if tw := parseTwiML(t, resp.body); !strings.Contains(tw.Say, "ie1") {
				t.Errorf("<Say>%s</Say> does not name the region ie1", tw.Say)
			}
		})
	}
	got := h.app.Counters()
	want := map[string]map[string]int64{"voice": {"ok": 2, "forbidden": 5}}
	if diff := cmp.Diff(want, got.Requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if got.SignatureFailures != 5 {
		t.Errorf("signature failures = %d, want 5", got.SignatureFailures)
	}
	if v := metric(t, h.reg, "voicedr_sampleapp_signature_failures_total", map[string]string{"region": "ie1"}); v != 5 {
		t.Errorf("voicedr_sampleapp_signature_failures_total{region=ie1} = %v, want 5", v)
	}
}

func TestGETWebhookIsSignedOverTheFullURL(t *testing.T) {
	h := newHarness(t, region.AU1, sampleapp.Options{})
	// A voice URL that carries its own query, as customers' often do; Twilio
	// appends its parameters after it.
	full := h.srv.URL + "/voice?tenant=acme&" + voiceParams().Encode()
	for _, tc := range []struct {
		name string
		sig  string
		want int
	}{
		{"URL with query, no params", twilioemu.Signature(tokens[region.AU1], full, nil), http.StatusOK},
		{"independent signer", independentSignature(tokens[region.AU1], full, nil), http.StatusOK},
		{"ie1 token", twilioemu.Signature(tokens[region.IE1], full, nil), http.StatusForbidden},
		{"query left out of the signature", twilioemu.Signature(tokens[region.AU1], h.srv.URL+"/voice", voiceParams()), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := do(t, t.Context(), http.MethodGet, full, nil, map[string]string{sampleapp.SignatureHeader: tc.sig})
			if err != nil {
				t.Fatal(err)
			}
			if resp.status != tc.want {
				t.Errorf("status = %d, want %d", resp.status, tc.want)
			}
			if tc.want == http.StatusOK {
				parseTwiML(t, resp.body)
			}
		})
	}
}

func TestPublicURLIsWhatSignaturesCover(t *testing.T) {
	// Behind a proxy Twilio signs the public URL; the app must use it and
	// not the address it happens to be reached at.
	const public = "https://voice-ie1.example.com"
	h := newHarness(t, region.IE1, sampleapp.Options{PublicURL: public + "/"})
	p := voiceParams()
	for _, tc := range []struct {
		name, signedURL string
		want            int
	}{
		{"public URL", public + "/voice", http.StatusOK},
		{"loopback URL", h.srv.URL + "/voice", http.StatusForbidden},
	} {
		resp, err := do(t, t.Context(), http.MethodPost, h.srv.URL+"/voice", p,
			map[string]string{sampleapp.SignatureHeader: twilioemu.Signature(tokens[region.IE1], tc.signedURL, p)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.status != tc.want {
			t.Errorf("%s: status = %d, want %d", tc.name, resp.status, tc.want)
		}
	}
}

func TestStatusCallbackCountsFinalStatuses(t *testing.T) {
	h := newHarness(t, region.US1, sampleapp.Options{})
	for _, st := range []string{"ringing", "in-progress", "completed", "completed", "busy", "no-answer"} {
		p := voiceParams()
		p.Set("CallStatus", st)
		if resp := h.postSigned(t, "/status", tokens[region.US1], p, nil); resp.status != http.StatusNoContent {
			t.Errorf("%s: status = %d, want 204", st, resp.status)
		}
	}
	if resp := h.postSigned(t, "/status", tokens[region.IE1], voiceParams(), nil); resp.status != http.StatusForbidden {
		t.Errorf("status callback signed with the ie1 token: %d, want 403", resp.status)
	}
	got := h.app.Counters()
	if diff := cmp.Diff(map[string]int64{"completed": 2, "busy": 1, "no-answer": 1}, got.FinalStatuses); diff != "" {
		t.Errorf("final statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]map[string]int64{"status": {"ok": 6, "forbidden": 1}}, got.Requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if v := metric(t, h.reg, "voicedr_sampleapp_status_callbacks_total", map[string]string{"region": "us1", "call_status": "completed"}); v != 2 {
		t.Errorf("status_callbacks_total{completed} = %v, want 2", v)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	token := region.NewSecret(tokens[region.IE1])
	for _, tc := range []struct {
		name string
		opts sampleapp.Options
		want string
	}{
		{"unknown region", sampleapp.Options{Region: "eu2", AuthToken: token}, "region"},
		{"no token", sampleapp.Options{Region: region.IE1}, "auth token"},
		{"relative public URL", sampleapp.Options{Region: region.IE1, AuthToken: token, PublicURL: "/voice"}, "public URL"},
		{"public URL with a query", sampleapp.Options{Region: region.IE1, AuthToken: token, PublicURL: "https://a.example.com/?x=1"}, "public URL"},
		{"bad behaviour", sampleapp.Options{Region: region.IE1, AuthToken: token, Mode: &sampleapp.Mode{Voice: "explode", Fallback: sampleapp.OK}}, "voice"},
		{"slow without a duration", sampleapp.Options{Region: region.IE1, AuthToken: token, Mode: &sampleapp.Mode{Voice: sampleapp.Slow, Fallback: sampleapp.OK}}, "slow"},
	} {
		_, err := sampleapp.New(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), tokens[region.IE1]) {
			t.Errorf("%s: the error shows the auth token", tc.name)
		}
	}
}
