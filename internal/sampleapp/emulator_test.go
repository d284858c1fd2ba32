package sampleapp_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// TestEmulatorCallsReachTheSampleApp runs the real emulator's inbound call
// processing against sample apps on loopback: the emulator signs with the
// processing region's token, the app checks it, and what the app does
// (answer, fail, answer garbage, refuse a foreign signature) shows up as the
// alerts Twilio would write.
func TestEmulatorCallsReachTheSampleApp(t *testing.T) {
	emu := twilioemu.New(twilioemu.Options{RandSeed: 41})
	t.Cleanup(emu.Close)
	creds := emu.Credentials()
	newApp := func(r region.Region) *harness {
		return newHarness(t, r, sampleapp.Options{AuthToken: region.NewSecret(creds[r].AuthToken)})
	}
	us, ie := newApp(region.US1), newApp(region.IE1)

	const main, misrouted = "+14155550100", "+14155550101"
	err := emu.Seed(&snapshot.Snapshot{
		Format: snapshot.Format, Regions: []string{"us1", "ie1", "au1"},
		Numbers: []snapshot.Number{
			{PhoneNumber: main, Routing: snapshot.Route{VoiceRegion: "us1", Explicit: true}, Records: map[string]*snapshot.NumberRecord{
				"us1": {VoiceURL: us.srv.URL + "/voice", VoiceMethod: "POST", VoiceFallbackURL: us.srv.URL + "/fallback", VoiceFallbackMethod: "POST"},
			}},
			// Processed in us1 but pointed at the ie1 app: the ie1 app holds
			// only the ie1 token, so it must refuse a us1 signature.
			{PhoneNumber: misrouted, Routing: snapshot.Route{VoiceRegion: "us1", Explicit: true}, Records: map[string]*snapshot.NumberRecord{
				"us1": {VoiceURL: ie.srv.URL + "/voice", VoiceMethod: "GET"},
			}},
		},
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	if c := emu.Credentials(); c[region.US1].AuthToken != creds[region.US1].AuthToken {
		t.Fatalf("seeding changed the us1 auth token; the apps hold the old one")
	}
	call := func(to string) twilioemu.CallOutcome {
		t.Helper()
		out, err := emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: to, From: "+447700900123"})
		if err != nil {
			t.Fatalf("call %s: %v", to, err)
		}
		if out.Region != "us1" || out.Handler != "url" {
			t.Fatalf("call %s processed as %+v, want us1 by voice URL", to, out)
		}
		return out
	}

	// A healthy app: one valid voice request, no alert, no fallback.
	if out := call(main); len(out.Alerts) != 0 {
		t.Errorf("healthy app: alerts %v, want none", out.Alerts)
	}
	if diff := cmp.Diff(map[string]map[string]int64{"voice": {"ok": 1}}, us.app.Counters().Requests); diff != "" {
		t.Errorf("us1 app requests after a good call (-want +got):\n%s", diff)
	}

	// Told to fail: Twilio writes 11200 and the fallback answers.
	if resp := us.putMode(t, `{"voice":"fail"}`); resp.status != http.StatusOK {
		t.Fatalf("set fail: %d %s", resp.status, resp.body)
	}
	if out := call(main); !cmp.Equal(out.Alerts, []string{"11200"}) {
		t.Errorf("failing app: alerts %v, want [11200] (the fallback answered)", out.Alerts)
	}
	// Answering non-TwiML: 12100, and the fallback is told so.
	us.putMode(t, `{"voice":"bad-twiml"}`)
	if out := call(main); !cmp.Equal(out.Alerts, []string{"12100"}) {
		t.Errorf("bad-twiml app: alerts %v, want [12100]", out.Alerts)
	}
	got := us.app.Counters()
	if diff := cmp.Diff(map[string]int64{"11200": 1, "12100": 1}, got.FallbackHits); diff != "" {
		t.Errorf("fallback hits by ErrorCode (-want +got):\n%s", diff)
	}
	wantReq := map[string]map[string]int64{"voice": {"ok": 1, "fail": 1, "bad_twiml": 1}, "fallback": {"ok": 2}}
	if diff := cmp.Diff(wantReq, got.Requests); diff != "" {
		t.Errorf("us1 app requests (-want +got):\n%s", diff)
	}
	if v := metric(t, us.reg, "voicedr_sampleapp_fallback_hits_total", map[string]string{"region": "us1", "error_code": "11200"}); v != 1 {
		t.Errorf("fallback_hits_total{us1,11200} = %v, want 1", v)
	}

	// The ie1 app refuses the us1-signed GET: Twilio sees an HTTP failure.
	if out := call(misrouted); !cmp.Equal(out.Alerts, []string{"11200"}) {
		t.Errorf("foreign signature: alerts %v, want [11200]", out.Alerts)
	}
	if got := ie.app.Counters(); got.SignatureFailures != 1 || got.Requests["voice"]["forbidden"] != 1 {
		t.Errorf("ie1 app counters after a us1-signed request: %+v, want one forbidden voice request", got)
	}
}
