package twilioemu_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func TestNumbersAreOwnedGloballyWithOneRecordPerRegion(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 1})
	us := h.client(region.US1).Api
	ie := h.client(region.IE1).Api

	created, err := us.CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).
		SetPhoneNumber("+14155550100").SetVoiceUrl("https://app.example.com/voice").SetFriendlyName("support main"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	// The ie1 record of the same number exists, with its own SID and no handler.
	list, err := ie.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPhoneNumber("+14155550100"))
	if err != nil {
		t.Fatalf("list ie1: %v", err)
	}
	if len(list) != 1 {
		t.Fatalf("ie1 lists %d records of the number, want 1", len(list))
	}
	if *list[0].Sid == *created.Sid {
		t.Errorf("ie1 record has the us1 SID %s; regions keep their own SIDs by default", *created.Sid)
	}
	if list[0].VoiceUrl != nil {
		t.Errorf("ie1 voice_url = %q, want null (the us1 update must not reach ie1)", *list[0].VoiceUrl)
	}
	// Updating ie1 leaves us1 alone.
	if _, err := ie.UpdateIncomingPhoneNumber(*list[0].Sid, new(api.UpdateIncomingPhoneNumberParams).
		SetVoiceUrl("https://ie.example.com/voice").SetVoiceFallbackUrl("https://fb.example.com/voice")); err != nil {
		t.Fatalf("update ie1: %v", err)
	}
	got, err := us.FetchIncomingPhoneNumber(*created.Sid, nil)
	if err != nil {
		t.Fatalf("fetch us1: %v", err)
	}
	if diff := cmp.Diff("https://app.example.com/voice", *got.VoiceUrl); diff != "" {
		t.Errorf("us1 voice_url changed (-want +got):\n%s", diff)
	}
	// A fallback without a voice URL is refused (21405) and changes nothing.
	_, err = us.UpdateIncomingPhoneNumber(*created.Sid, new(api.UpdateIncomingPhoneNumberParams).SetVoiceUrl("").SetVoiceFallbackUrl("https://fb.example.com/x"))
	if te := restError(t, err); te.Code != 21405 {
		t.Errorf("code = %d, want 21405", te.Code)
	}
	// Release is global.
	if err := ie.DeleteIncomingPhoneNumber(*list[0].Sid, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := us.FetchIncomingPhoneNumber(*created.Sid, nil); restError(t, err).Status != 404 {
		t.Errorf("us1 record survived a release")
	}
}

func TestListingPagesThroughEveryNumber(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 2})
	us := h.client(region.US1).Api
	want := map[string]bool{}
	for i := 0; i < 23; i++ {
		n := "+1415555" + string(rune('1'+i/10)) + string(rune('0'+i%10)) + "00"
		if _, err := us.CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).SetPhoneNumber(n)); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
		want[n] = true
	}
	all, err := h.client(region.AU1).Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPageSize(5))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	got := map[string]bool{}
	for _, n := range all {
		got[*n.PhoneNumber] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed numbers (-want +got):\n%s", diff)
	}
	if n := h.judgedOps()["ListIncomingPhoneNumber"]; n != 5 {
		t.Errorf("judged %d list pages, want 5 (23 numbers, 5 a page)", n)
	}
}
