package twilioemu_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func TestGenerateIsRepeatable(t *testing.T) {
	a, ga := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 300, RandSeed: 42})
	b, gb := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 300, RandSeed: 42})
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different accounts (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(ga, gb); diff != "" {
		t.Errorf("same seed, different gaps:\n%s", diff)
	}
	c, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 300, RandSeed: 43})
	if cmp.Equal(a.Numbers, c.Numbers) {
		t.Errorf("different seeds gave the same numbers")
	}
}

// TestGeneratedAccountIsRealistic checks the mix the issue asks for, and
// that every planted gap is true of the account and every unconfigured
// standby record is a planted gap.
func TestGeneratedAccountIsRealistic(t *testing.T) {
	s, gaps := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 600, RandSeed: 7})
	countries := map[string]int{}
	handlers := map[string]int{}
	unconfigured := map[string]bool{}
	noFallback := 0
	for _, n := range s.Numbers {
		for _, cc := range []string{"+1", "+44", "+61", "+49", "+353", "+33"} {
			if strings.HasPrefix(n.PhoneNumber, cc) {
				countries[cc]++
				break
			}
		}
		p := n.Records["us1"]
		switch {
		case p.TrunkSID != "":
			handlers["trunk"]++
		case p.VoiceApplicationSID != "":
			handlers["app"]++
		default:
			handlers["url"]++
			if p.VoiceFallbackURL == "" {
				noFallback++
			}
		}
		if sb := n.Records["ie1"]; sb == nil || (sb.TrunkSID == "" && sb.VoiceApplicationSID == "" && sb.VoiceURL == "") {
			unconfigured[n.PhoneNumber] = true
		}
	}
	for _, cc := range []string{"+1", "+44", "+61"} {
		if countries[cc] == 0 {
			t.Errorf("no %s numbers in %v", cc, countries)
		}
	}
	if len(countries) < 4 || handlers["trunk"] == 0 || handlers["app"] == 0 || handlers["url"] == 0 || noFallback == 0 {
		t.Errorf("mix: countries %v, handlers %v, without fallback %d", countries, handlers, noFallback)
	}
	planted := map[string]bool{}
	kinds := map[string]int{}
	for _, g := range gaps.Gaps {
		kinds[g.Kind]++
		if g.Kind == twilioemu.GapStandbyUnconfigured {
			planted[g.Resource] = true
		}
	}
	if diff := cmp.Diff(unconfigured, planted); diff != "" {
		t.Errorf("unconfigured standby records vs planted gaps (-actual +planted):\n%s", diff)
	}
	for _, k := range []string{twilioemu.GapAppMissing, twilioemu.GapTrunkMissing, twilioemu.GapTrunkNoDRURL, twilioemu.GapSIPDomainMissing, twilioemu.GapNoFallback} {
		if kinds[k] == 0 {
			t.Errorf("no %s gap planted (%v)", k, kinds)
		}
	}
}

func TestSeedExportRoundTrip(t *testing.T) {
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 120, RandSeed: 9})
	h := newHarness(t, twilioemu.Options{RandSeed: 9})
	if err := h.emu.Seed(s); err != nil {
		t.Fatalf("seed: %v", err)
	}
	got := h.emu.Snapshot(false)
	got.TakenAt = s.TakenAt
	// The export names every region, with empty records where the seed had none.
	for i := range s.Numbers {
		for _, r := range []string{"us1", "ie1", "au1"} {
			if _, ok := s.Numbers[i].Records[r]; !ok {
				s.Numbers[i].Records[r] = &snapshot.NumberRecord{}
			}
			want, have := s.Numbers[i].Records[r], got.Numbers[i].Records[r]
			if want.SID == "" {
				want.SID = have.SID
			}
			for _, m := range []*string{&want.VoiceMethod, &want.VoiceFallbackMethod, &want.StatusCallbackMethod} {
				if *m == "" {
					*m = "POST"
				}
			}
			if want.VoiceReceiveMode == "" {
				want.VoiceReceiveMode = "voice"
			}
			if want.FriendlyName == "" {
				want.FriendlyName = s.Numbers[i].FriendlyName
			}
		}
	}
	if diff := cmp.Diff(s.Numbers, got.Numbers); diff != "" {
		t.Errorf("numbers after seed and export (-seed +export):\n%s", diff)
	}
	if diff := cmp.Diff(s.TrunkRouting, got.TrunkRouting); diff != "" {
		t.Errorf("trunk routing (-seed +export):\n%s", diff)
	}
	// And what twilio-go sees agrees with the seed.
	nums, err := h.client(region.IE1).Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPageSize(1000))
	if err != nil || len(nums) != 120 {
		t.Fatalf("ie1 lists %d numbers, %v", len(nums), err)
	}
}

func TestBadSeedChangesNothing(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 10})
	good, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 10, RandSeed: 10})
	if err := h.emu.Seed(good); err != nil {
		t.Fatal(err)
	}
	before := h.emu.Snapshot(true)
	bad, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 10, RandSeed: 11})
	bad.Numbers[5].Records["ie1"] = &snapshot.NumberRecord{TrunkSID: "TK00000000000000000000000000000000"}
	err := h.emu.Seed(bad)
	if err == nil || !strings.Contains(err.Error(), "numbers[5]") || !strings.Contains(err.Error(), "trunk_sid") {
		t.Fatalf("seed with a dangling trunk: %v, want an error naming numbers[5] and trunk_sid", err)
	}
	after := h.emu.Snapshot(true)
	after.TakenAt = before.TakenAt
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("a refused seed changed the account (-before +after):\n%s", diff)
	}
}
