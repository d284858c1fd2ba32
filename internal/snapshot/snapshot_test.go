package snapshot_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/snapshot"
)

func sample() *snapshot.Snapshot {
	return &snapshot.Snapshot{
		Format: snapshot.Format, TakenAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), AccountSID: "AC0123",
		Regions: []string{"us1", "ie1"},
		Numbers: []snapshot.Number{{
			PhoneNumber: "+14155550100", Routing: snapshot.Route{VoiceRegion: "us1", Explicit: true},
			Records: map[string]*snapshot.NumberRecord{"us1": {VoiceURL: "https://a.example/voice"}, "ie1": {}},
		}},
		Resources: map[string]*snapshot.RegionResources{"us1": {Trunks: []snapshot.Trunk{{SID: "TK1", DomainName: "a.pstn.twilio.com"}}}},
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := snapshot.Read(&buf)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if diff := cmp.Diff(sample(), got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestReadRejects(t *testing.T) {
	for name, tt := range map[string]struct{ doc, want string }{
		"unknown field": {`{"format":"voicedr.snapshot/v1","regions":["us1"],"bogus":1}`, `unknown field "bogus"`},
		"wrong format":  {`{"format":"other/v9","regions":["us1"]}`, `want "voicedr.snapshot/v1"`},
		"no regions":    {`{"format":"voicedr.snapshot/v1"}`, "regions is empty"},
		"duplicate":     {`{"format":"voicedr.snapshot/v1","regions":["us1"],"numbers":[{"phone_number":"+1","routing":{"voice_region":"us1","explicit":false},"records":{}},{"phone_number":"+1","routing":{"voice_region":"us1","explicit":false},"records":{}}]}`, "appears twice"},
		"not json":      {`numbers: []`, "decode snapshot"},
	} {
		_, err := snapshot.Read(strings.NewReader(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, tt.want)
		}
	}
}

func FuzzSnapshotRead(f *testing.F) {
	var buf bytes.Buffer
	_ = sample().Write(&buf)
	f.Add(buf.String())
	f.Add(`{"format":"voicedr.snapshot/v1","regions":[]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := snapshot.Read(strings.NewReader(doc))
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Read accepted a snapshot Validate rejects: %v", err)
		}
	})
}

func TestRewriteWebhooks(t *testing.T) {
	s := sample()
	s.Numbers[0].Records["ie1"].VoiceFallbackURL = "https://b.example/fb"
	s.Resources["us1"].Applications = []snapshot.Application{{SID: "AP1", VoiceURL: "https://a.example/app"}}
	s.Resources["us1"].Trunks[0].DisasterRecoveryURL = "https://a.example/dr"
	var seen []string
	s.RewriteWebhooks(func(r string, k snapshot.WebhookKind, u string) string {
		seen = append(seen, r+" "+string(k)+" "+u)
		return "http://127.0.0.1/" + r
	})
	if got := s.Numbers[0].Records["us1"].VoiceURL; got != "http://127.0.0.1/us1" {
		t.Errorf("record voice_url = %q", got)
	}
	if got := s.Numbers[0].Records["ie1"].VoiceURL; got != "" {
		t.Errorf("an empty URL became %q", got)
	}
	if got := s.Resources["us1"].Trunks[0].DisasterRecoveryURL; got != "http://127.0.0.1/us1" {
		t.Errorf("trunk DR URL = %q", got)
	}
	if len(seen) != 4 {
		t.Errorf("rewrote %d URLs, want 4: %v", len(seen), seen)
	}
	for _, want := range []string{"ie1 fallback https://b.example/fb", "us1 voice https://a.example/app", "us1 trunk_dr https://a.example/dr"} {
		if !slices.Contains(seen, want) {
			t.Errorf("rewrites %v lack %q: each URL is passed with its kind", seen, want)
		}
	}
}

func TestLookupsByName(t *testing.T) {
	var none *snapshot.RegionResources
	if none.App("x") != nil || none.Trunk("x") != nil || none.SIPDomain("x") != nil {
		t.Errorf("a region never read holds nothing")
	}
	res := &snapshot.RegionResources{
		Applications: []snapshot.Application{{SID: "AP1", FriendlyName: "ivr"}},
		Trunks:       []snapshot.Trunk{{SID: "TK1", DomainName: "a.pstn.twilio.com"}},
		SIPDomains:   []snapshot.SIPDomain{{SID: "SD1", DomainName: "a.sip.twilio.com"}},
	}
	if a := res.App("ivr"); a == nil || a.SID != "AP1" || res.App("other") != nil {
		t.Errorf("App by friendly name: %+v", a)
	}
	if tr := res.Trunk("a.pstn.twilio.com"); tr == nil || tr.SID != "TK1" {
		t.Errorf("Trunk by domain: %+v", tr)
	}
	if d := res.SIPDomain("a.sip.twilio.com"); d == nil || d.SID != "SD1" {
		t.Errorf("SIPDomain by name: %+v", d)
	}
	ls := []snapshot.NamedList{{SID: "AL1", FriendlyName: "sbc"}}
	if snapshot.ListName(ls, "AL1") != "sbc" || snapshot.ListName(ls, "AL9") != "AL9" || snapshot.ListByName(ls, "sbc").SID != "AL1" || snapshot.ListByName(ls, "x") != nil {
		t.Errorf("list lookups")
	}
}
