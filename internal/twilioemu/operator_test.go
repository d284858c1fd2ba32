package twilioemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func op(t *testing.T, h *harness, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+"/__emulator/v1/"+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOperatorAPI(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 20})
	if st, _ := op(t, h, "GET", "health", ""); st != 200 {
		t.Errorf("health: %d", st)
	}
	// Faults: a bad document is refused with the field named; a good one applies.
	if st, body := op(t, h, "PUT", "faults", `{"version":1,"regions":[{"region":"ie1","product":"nope"}]}`); st != 400 || !strings.Contains(body, "regions[0].product") {
		t.Errorf("bad faults: %d %s", st, body)
	}
	if st, _ := op(t, h, "PUT", "faults", `{"version":1,"regions":[{"region":"ie1","product":"api","down":"503"}]}`); st != 200 {
		t.Errorf("put faults: %d", st)
	}
	if _, err := h.client(region.IE1).Api.ListIncomingPhoneNumber(nil); restError(t, err).Status != 503 {
		t.Errorf("fault set through the operator API not applied")
	}
	if st, _ := op(t, h, "DELETE", "faults", ""); st != 204 {
		t.Errorf("delete faults: %d", st)
	}
	if _, err := h.client(region.IE1).Api.ListIncomingPhoneNumber(nil); err != nil {
		t.Errorf("after clearing faults: %v", err)
	}
	// Seed through the API, then the counters and the request log see traffic.
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 30, RandSeed: 20})
	var b strings.Builder
	_ = s.Write(&b)
	if st, body := op(t, h, "PUT", "snapshot", b.String()); st != 200 || !strings.Contains(body, `"numbers":30`) {
		t.Errorf("seed: %d %s", st, body)
	}
	if st, body := op(t, h, "PUT", "snapshot", `{"format":"x"}`); st != 400 {
		t.Errorf("bad seed: %d %s", st, body)
	}
	_, body := op(t, h, "GET", "stats", "")
	var stats twilioemu.Stats
	// Operations count requests their handler served: the two refused by
	// the 503 fault never reached it.
	if err := json.Unmarshal([]byte(body), &stats); err != nil || stats.RequestsByOperation["api.ListIncomingPhoneNumber"] != 1 {
		t.Errorf("stats %s: want 1 list request served", body)
	}
	_, body = op(t, h, "GET", "requests?limit=2", "")
	if !strings.Contains(body, "api.dublin.ie1.twilio.com") {
		t.Errorf("request log lacks the ie1 host: %s", body)
	}
	// env holds every region's credentials as shell variables.
	_, env := op(t, h, "GET", "env", "")
	for _, v := range []string{"TWILIO_ACCOUNT_SID=", "VOICEDR_TWILIO_ENDPOINT=", "TWILIO_IE1_API_KEY=SK", "TWILIO_AU1_API_SECRET=", "TWILIO_US1_AUTH_TOKEN="} {
		if !strings.Contains(env, v) {
			t.Errorf("env lacks %s:\n%s", v, env)
		}
	}
	if st, _ := op(t, h, "POST", "reset", ""); st != 204 {
		t.Errorf("reset: %d", st)
	}
	if st, _ := op(t, h, "GET", "nowhere", ""); st != 404 {
		t.Errorf("unknown endpoint: %d", st)
	}
}

func TestInboundCallHitsTheWebhookSignedWithTheRegionToken(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 21})
	var gotSig, gotURL string
	var gotForm map[string]string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		gotSig, gotURL = r.Header.Get("X-Twilio-Signature"), "http://"+r.Host+r.URL.Path
		gotForm = map[string]string{}
		for k := range r.PostForm {
			gotForm[k] = r.PostForm.Get(k)
		}
		if r.URL.Path == "/broken" {
			http.Error(w, "boom", 500)
			return
		}
		w.Write([]byte("<Response/>"))
	}))
	defer app.Close()
	buyNumber(t, h, region.US1, "+14155550100", app.URL+"/voice")
	out, err := h.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "+14155550100", From: "+14155550199"})
	if err != nil || out.Region != "us1" || out.Handler != "url" || len(out.Alerts) != 0 {
		t.Fatalf("call: %+v, %v", out, err)
	}
	v := client.NewRequestValidator(h.creds[region.US1].AuthToken)
	if !v.Validate(gotURL, gotForm, gotSig) {
		t.Errorf("X-Twilio-Signature does not validate with the us1 auth token")
	}
	if gotForm["CallSid"] != out.CallSID || gotForm["Direction"] != "inbound" || gotForm["To"] != "+14155550100" {
		t.Errorf("webhook params %v", gotForm)
	}
	// A number with no handler in its routed region dies at the edge: no record anywhere.
	buyNumber(t, h, region.US1, "+14155550101", "")
	out, _ = h.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "+14155550101", From: "+1415"})
	if out.Rejected != "no_handler" || out.CallSID != "" {
		t.Errorf("unconfigured number: %+v", out)
	}
	// A failing webhook with no fallback leaves an 11200 alert; the call reads completed.
	buyNumber(t, h, region.US1, "+14155550102", app.URL+"/broken")
	out, _ = h.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "+14155550102", From: "+1415"})
	if out.Status != "completed" || len(out.Alerts) != 1 || out.Alerts[0] != "11200" {
		t.Errorf("broken webhook: %+v", out)
	}
	// A region whose voice is down: the call dies at the edge.
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "voice", Down: "503"}}})
	out, _ = h.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "+14155550100", From: "+1415"})
	if out.Rejected != "region_down" {
		t.Errorf("voice down: %+v", out)
	}
	// A degraded region drops its error rate's share of calls at the edge
	// (all of them at rate 1) and lets the rest through (none at rate 0).
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "voice", ErrorRate: 1}}})
	out, _ = h.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "+14155550100", From: "+1415"})
	if out.Rejected != "region_degraded" || out.CallSID != "" {
		t.Errorf("voice degraded at rate 1: %+v", out)
	}
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "voice", Latency: twilioemu.Duration(time.Millisecond)}}})
	out, _ = h.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: "+14155550100", From: "+1415"})
	if out.Rejected != "" || out.Region != "us1" {
		t.Errorf("voice slow but up: %+v", out)
	}
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "voice", Down: "503"}}})
	calls, _ := h.client(region.US1).Api.ListCall(nil)
	if len(calls) != 3 {
		t.Errorf("us1 has %d call records, want 2 (edge rejections leave none)", len(calls))
	}
}
