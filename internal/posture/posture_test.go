package posture_test

import (
	"html"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// TestFindingsEqualThePlantedGaps assesses the generated account and
// compares, kind by kind, with the gaps the generator planted.
func TestFindingsEqualThePlantedGaps(t *testing.T) {
	s, gaps := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 500, RandSeed: 11})
	rep := posture.Assess(s, nil)
	pairs := map[string]string{
		twilioemu.GapNoFallback:     posture.NoFallback,
		twilioemu.GapRegionMismatch: posture.RegionMismatch,
		twilioemu.GapTrunkNoDRURL:   posture.TrunkNoDRURL,
		"(none planted)":            posture.NoHandler,
		"(none planted either)":     posture.TrunkOnePriority,
		"(nor this)":                posture.FallbackSameHost,
	}
	for gapKind, findingKind := range pairs {
		want, got := []string{}, []string{}
		for _, g := range gaps.Gaps {
			if g.Kind == gapKind {
				want = append(want, g.Region+" "+g.Resource)
			}
		}
		for _, f := range rep.Findings {
			if f.Kind == findingKind {
				got = append(got, f.Region+" "+f.Resource)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s vs planted %s (-planted +found):\n%s", findingKind, gapKind, diff)
		}
	}
	if rep.ByRegion["us1"] != 500 || rep.Stages[1].Flagged == 0 || rep.Stages[2].Flagged == 0 {
		t.Errorf("aggregates: %+v %+v", rep.ByRegion, rep.Stages)
	}
}

// One hand-written case per finding kind, judged on the effective handler.
func TestEachFindingKind(t *testing.T) {
	res := &snapshot.RegionResources{
		Applications: []snapshot.Application{{SID: "AP1", FriendlyName: "ivr", VoiceURL: "https://a.example/voice",
			VoiceFallbackURL: "https://fallback.example/f", StatusCallback: "https://a.example/status"}},
		Trunks: []snapshot.Trunk{{SID: "TK1", DomainName: "t.pstn.twilio.com", OriginationURLs: []snapshot.OriginationURL{
			{SIPURL: "sip:a", Priority: 10, Enabled: true}, {SIPURL: "sip:b", Priority: 10, Enabled: true}}}},
	}
	num := func(e164 string, rec snapshot.NumberRecord) snapshot.Number {
		return snapshot.Number{PhoneNumber: e164, Routing: snapshot.Route{VoiceRegion: "us1"}, Records: map[string]*snapshot.NumberRecord{"us1": &rec}}
	}
	s := &snapshot.Snapshot{Regions: []string{"us1"}, Resources: map[string]*snapshot.RegionResources{"us1": res}, Numbers: []snapshot.Number{
		num("+14155550001", snapshot.NumberRecord{VoiceURL: "https://b.example/v", StatusCallback: "https://b.example/s"}),
		num("+14155550002", snapshot.NumberRecord{VoiceURL: "https://b.example/v", VoiceFallbackURL: "https://B.example/f"}),
		num("+14155550003", snapshot.NumberRecord{VoiceApplicationSID: "AP1", VoiceURL: "https://ignored.example/v"}),
		num("+14155550004", snapshot.NumberRecord{}),
		num("+442071838750", snapshot.NumberRecord{TrunkSID: "TK1"}),
	}}
	rep := posture.Assess(s, func(n snapshot.Number) (string, bool) { return "support", n.PhoneNumber == "+14155550003" })
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Kind+" "+f.Resource)
	}
	want := []string{
		"fallback_same_host +14155550002", "ignored_voice_urls +14155550003", "no_fallback +14155550001",
		"no_handler +14155550004", "no_status_callback +14155550002",
		"trunk_no_disaster_recovery_url t.pstn.twilio.com", "trunk_single_priority t.pstn.twilio.com",
		"region_mismatch +442071838750",
		"unprotected +14155550001", "unprotected +14155550002", "unprotected +14155550004", "unprotected +442071838750",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if rep.Handlers["app"] != 1 || rep.Handlers["trunk"] != 1 || rep.Handlers["url"] != 2 || rep.Handlers["none"] != 1 {
		t.Errorf("effective handlers %v", rep.Handlers)
	}
}

func TestHTMLReport(t *testing.T) {
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 50, RandSeed: 11})
	rep := posture.Assess(s, nil)
	b, err := rep.HTML(s.AccountSID, s.TakenAt)
	if err != nil {
		t.Fatal(err)
	}
	page := html.UnescapeString(string(b))
	for _, f := range rep.Findings {
		if !strings.Contains(page, f.Resource) {
			t.Errorf("page lacks finding %s %s", f.Kind, f.Resource)
		}
	}
	if !strings.Contains(page, "Blast radius") || !strings.Contains(page, s.AccountSID) {
		t.Errorf("page lacks its sections")
	}
}
