package readiness_test

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
)

// TestProbeStandbyWebhooks probes a real sample app standing in for the
// standby: a signed probe passes; a wrong token (the app rejects the
// signature) and an app answering non-TwiML fail; no probe is sent where the
// workbook does not allow it.
func TestProbeStandbyWebhooks(t *testing.T) {
	app, err := sampleapp.New(sampleapp.Options{Region: region.IE1, AuthToken: region.NewSecret("ie1-token")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	cases := []struct {
		name      string
		token     string
		mode      sampleapp.Behavior
		unhealthy bool
		allowed   bool
		want      []bool // pass per probe
	}{
		// Probes in URL order (the two fallbacks, then the two voice URLs),
		// then the health URL.
		{name: "signed and answered", token: "ie1-token", mode: sampleapp.OK, allowed: true, want: []bool{true, true, true, true, true}},
		{name: "wrong token", token: "us1-token", mode: sampleapp.OK, allowed: true, want: []bool{false, false, false, false, true}},
		{name: "not TwiML", token: "ie1-token", mode: sampleapp.BadTwiML, allowed: true, want: []bool{true, true, false, false, true}},
		{name: "unhealthy", token: "ie1-token", mode: sampleapp.OK, unhealthy: true, allowed: true, want: []bool{true, true, true, true, false}},
		{name: "probing not allowed", token: "ie1-token", mode: sampleapp.OK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleapp.DefaultMode()
			m.Voice, m.Healthy = tc.mode, !tc.unhealthy
			if err := app.SetMode(m); err != nil {
				t.Fatal(err)
			}
			s, wb := readySnapshot(), caseWorkbook()
			wb.Regions[1].App.ProbeAllowed = tc.allowed
			// The app's and the URL number's standby voice URLs both reach the sample app.
			s.Resources["ie1"].Applications[0].VoiceURL = srv.URL + "/voice"
			number(s, urlNum).Records["ie1"].VoiceURL = srv.URL + "/voice?n=3"
			number(s, urlNum).Records["ie1"].VoiceFallbackURL = srv.URL + "/fallback"
			s.Resources["ie1"].Applications[0].VoiceFallbackURL = srv.URL + "/fallback?app=1"
			wb.Regions[1].App.HealthURL = srv.URL + "/health"
			rep, err := readiness.Check(s, wb, "f", opts())
			if err != nil {
				t.Fatal(err)
			}
			err = rep.Probe(t.Context(), wb, readiness.ProbeOptions{HTTP: srv.Client(),
				AuthToken: func(r string) (string, error) { return tc.token, nil }})
			if err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, p := range rep.Probes {
				got = append(got, p.Pass)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("probe passes (-want +got):\n%s\n%+v", diff, rep.Probes)
			}
			failed, healthFailed := 0, 0
			for i, w := range tc.want {
				switch {
				case w:
				case i == len(tc.want)-1:
					healthFailed++
				default:
					failed++
				}
			}
			if got := rep.GapCounts()[readiness.GapWebhookProbe]; got != failed {
				t.Errorf("%s gaps = %d, want %d", readiness.GapWebhookProbe, got, failed)
			}
			if got := rep.GapCounts()[readiness.GapHealth]; got != healthFailed {
				t.Errorf("%s gaps = %d, want %d", readiness.GapHealth, got, healthFailed)
			}
			failed += healthFailed
			if rep.Ready != (failed == 0) {
				t.Errorf("ready = %v with %d failed probes", rep.Ready, failed)
			}
			if tc.allowed {
				dir := t.TempDir()
				if err := rep.WritePackage(dir); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Join(dir, "evidence", "probes.json")); err != nil {
					t.Error(err)
				}
				if err := readiness.VerifyPackage(dir); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestRecordCredentials(t *testing.T) {
	rep, err := readiness.Check(readySnapshot(), caseWorkbook(), "f", opts())
	if err != nil || !rep.Ready {
		t.Fatalf("ready snapshot: %v %v", rep, err)
	}
	rep.RecordCredentials("ie1", nil)
	if !rep.Ready || rep.Checklist[len(rep.Checklist)-1].ID != "credentials/ie1" {
		t.Errorf("accepted credentials: ready %v, checklist %+v", rep.Ready, rep.Checklist)
	}
	rep.RecordCredentials("ie1", errors.New("twilio rejected the ie1 credentials (20003)"))
	if rep.Ready || rep.GapCounts()[readiness.GapCredentials] != 1 {
		t.Errorf("rejected credentials: ready %v, gaps %v", rep.Ready, rep.GapCounts())
	}
}
