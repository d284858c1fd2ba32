package snapshot_test

import (
	"bytes"
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
