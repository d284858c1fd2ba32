package twilioemu_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// v2010Date is how the 2010 API writes a time.
func v2010Date(t time.Time) *string { s := t.UTC().Format(time.RFC1123Z); return &s }

func TestApplicationsLifecycleStaysInItsRegion(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	h := newHarness(t, twilioemu.Options{RandSeed: 21, Clock: clock})
	ie, us := h.client(region.IE1).Api, h.client(region.US1).Api
	sid := h.emu.AccountSID()
	created0 := clock.Now()

	app, err := ie.CreateApplication(new(api.CreateApplicationParams).SetFriendlyName("support").
		SetVoiceUrl("https://ie.example.com/voice").SetVoiceMethod("GET").SetStatusCallback("https://ie.example.com/status").
		SetVoiceCallerIdLookup(true))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	want := api.ApiV2010Application{
		AccountSid: &sid, ApiVersion: v2010Ptr("2010-04-01"), DateCreated: v2010Date(created0), DateUpdated: v2010Date(created0),
		FriendlyName: v2010Ptr("support"), Sid: app.Sid, SmsFallbackMethod: v2010Ptr("POST"), SmsMethod: v2010Ptr("POST"),
		StatusCallback: v2010Ptr("https://ie.example.com/status"), StatusCallbackMethod: v2010Ptr("POST"),
		Uri:                 v2010Ptr("/2010-04-01/Accounts/" + sid + "/Applications/" + *app.Sid + ".json"),
		VoiceCallerIdLookup: v2010Ptr(true), VoiceFallbackMethod: v2010Ptr("POST"), VoiceMethod: v2010Ptr("GET"),
		VoiceUrl: v2010Ptr("https://ie.example.com/voice"), PublicApplicationConnectEnabled: v2010Ptr(false),
	}
	if diff := cmp.Diff(want, *app); diff != "" {
		t.Errorf("created app (-want +got):\n%s", diff)
	}

	// Apps are regional: us1 neither lists nor fetches the ie1 app.
	if got, err := us.ListApplication(nil); err != nil || len(got) != 0 {
		t.Errorf("us1 lists %d apps (err %v), want 0", len(got), err)
	}
	if _, err := us.FetchApplication(*app.Sid, nil); restError(t, err).Status != 404 {
		t.Errorf("us1 fetched the ie1 app")
	}
	// And an ie1 key does not open us1 at all.
	ieStd := h.creds[region.IE1].Standard
	_, err = h.clientAs(region.US1, ieStd.SID, ieStd.Secret).Api.ListApplication(nil)
	if te := restError(t, err); te.Status != 401 || te.Code != 20003 {
		t.Errorf("ie1 key in us1: %d/%d, want 401/20003", te.Status, te.Code)
	}

	// Update: the change lands and date_updated moves.
	clock.Advance(time.Hour)
	got, err := ie.UpdateApplication(*app.Sid, new(api.UpdateApplicationParams).SetVoiceFallbackUrl("https://fb.example.com/voice").
		SetVoiceFallbackMethod("get").SetFriendlyName("support main"))
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	want.VoiceFallbackUrl, want.VoiceFallbackMethod = v2010Ptr("https://fb.example.com/voice"), v2010Ptr("GET")
	want.FriendlyName, want.DateUpdated = v2010Ptr("support main"), v2010Date(clock.Now())
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("updated app (-want +got):\n%s", diff)
	}

	// Updates that fail change nothing, not even the valid parameters sent
	// with the bad one.
	clock.Advance(time.Hour)
	bad := map[string]*api.UpdateApplicationParams{
		"bad url":    new(api.UpdateApplicationParams).SetVoiceUrl("https://new.example.com/voice").SetStatusCallback("not a url"),
		"bad method": new(api.UpdateApplicationParams).SetFriendlyName("renamed").SetVoiceMethod("PUT"),
		"long name":  new(api.UpdateApplicationParams).SetVoiceUrl("https://new.example.com/voice").SetFriendlyName(fmt.Sprintf("%065d", 0)),
	}
	for name, params := range bad {
		_, err := ie.UpdateApplication(*app.Sid, params)
		if te := restError(t, err); te.Status != 400 {
			t.Errorf("%s: status %d, want 400", name, te.Status)
		}
	}
	if te := restError(t, v2010Err(ie.UpdateApplication(*app.Sid, bad["bad url"]))); te.Code != 21502 {
		t.Errorf("bad url: code %d, want 21502", te.Code)
	}
	path := "/2010-04-01/Accounts/" + sid + "/Applications/" + *app.Sid + ".json"
	st, body := v2010Raw(t, h, region.IE1, h.creds[region.IE1].Standard.SID, h.creds[region.IE1].Standard.Secret, "POST", path,
		url.Values{"VoiceCallerIdLookup": {"maybe"}, "VoiceUrl": {"https://new.example.com/voice"}})
	if st != 400 {
		t.Errorf("bad boolean: %d %s, want 400", st, body)
	}
	after, err := ie.FetchApplication(*app.Sid, nil)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if diff := cmp.Diff(want, *after); diff != "" {
		t.Errorf("failed updates changed the app (-want +got):\n%s", diff)
	}

	// A create that fails creates nothing.
	_, err = ie.CreateApplication(new(api.CreateApplicationParams).SetFriendlyName("broken").SetVoiceUrl("ftp://example.com/voice"))
	if te := restError(t, err); te.Status != 400 || te.Code != 21502 {
		t.Errorf("create with ftp URL: %d/%d, want 400/21502", te.Status, te.Code)
	}
	if list, err := ie.ListApplication(nil); err != nil || len(list) != 1 {
		t.Errorf("ie1 lists %d apps after a failed create (err %v), want 1", len(list), err)
	}

	// Delete, then it is gone everywhere; a second delete is 404.
	if err := ie.DeleteApplication(*app.Sid, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := ie.FetchApplication(*app.Sid, nil); restError(t, err).Code != 20404 {
		t.Errorf("fetch after delete: want 20404")
	}
	if err := ie.DeleteApplication(*app.Sid, nil); restError(t, err).Status != 404 {
		t.Errorf("second delete: want 404")
	}
	if _, err := ie.UpdateApplication(*app.Sid, new(api.UpdateApplicationParams).SetFriendlyName("x")); restError(t, err).Status != 404 {
		t.Errorf("update after delete: want 404")
	}
}

func v2010Err[T any](_ T, err error) error { return err }

func TestApplicationsListPagesAndFiltersByFriendlyName(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 22})
	au := h.client(region.AU1).Api
	var all, dups []string
	for i := 0; i < 7; i++ {
		name := fmt.Sprintf("app %d", i)
		if i%2 == 0 {
			name = "dup"
		}
		app, err := au.CreateApplication(new(api.CreateApplicationParams).SetFriendlyName(name))
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		all = append(all, *app.Sid)
		if name == "dup" {
			dups = append(dups, *app.Sid)
		}
	}
	sids := func(apps []api.ApiV2010Application) []string {
		var out []string
		for _, a := range apps {
			out = append(out, *a.Sid)
		}
		return out
	}

	before := h.judgedOps()["ListApplication"]
	list, err := au.ListApplication(new(api.ListApplicationParams).SetPageSize(3))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if diff := cmp.Diff(all, sids(list)); diff != "" {
		t.Errorf("listed apps in creation order (-want +got):\n%s", diff)
	}
	if n := h.judgedOps()["ListApplication"] - before; n != 3 {
		t.Errorf("judged %d pages, want 3 (7 apps, 3 a page)", n)
	}

	before = h.judgedOps()["ListApplication"]
	list, err = au.ListApplication(new(api.ListApplicationParams).SetFriendlyName("dup").SetPageSize(3))
	if err != nil {
		t.Fatalf("filtered list: %v", err)
	}
	if diff := cmp.Diff(dups, sids(list)); diff != "" {
		t.Errorf("FriendlyName=dup (-want +got):\n%s", diff)
	}
	if n := h.judgedOps()["ListApplication"] - before; n != 2 {
		t.Errorf("judged %d filtered pages, want 2 (4 matches, 3 a page)", n)
	}
	// The filter is an exact match, not a prefix.
	if list, err := au.ListApplication(new(api.ListApplicationParams).SetFriendlyName("app")); err != nil || len(list) != 0 {
		t.Errorf("FriendlyName=app lists %d (err %v), want 0", len(list), err)
	}
}
