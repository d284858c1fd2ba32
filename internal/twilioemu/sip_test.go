package twilioemu_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func TestSIPDomainsLifecycleIsPerRegion(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	h := newHarness(t, twilioemu.Options{RandSeed: 41, Clock: clock})
	ie, us := h.client(region.IE1).Api, h.client(region.US1).Api
	sid := h.emu.AccountSID()
	if _, err := us.CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).SetPhoneNumber("+353015550100")); err != nil {
		t.Fatalf("buy number: %v", err)
	}
	ieNum, err := ie.ListIncomingPhoneNumber(nil)
	if err != nil || len(ieNum) != 1 {
		t.Fatalf("ie1 number: %v %v", ieNum, err)
	}
	byoc := "BY" + strings.Repeat("ab", 16)

	d, err := ie.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName("support.sip.twilio.com").SetFriendlyName("Support").
		SetVoiceUrl("https://ie.example.com/sip").SetSipRegistration(true).SetSecure(true).
		SetByocTrunkSid(byoc).SetEmergencyCallerSid(*ieNum[0].Sid))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	uri := "/2010-04-01/Accounts/" + sid + "/SIP/Domains/" + *d.Sid
	wantSubs := map[string]any{
		"credential_list_mappings":        uri + "/CredentialListMappings.json",
		"ip_access_control_list_mappings": uri + "/IpAccessControlListMappings.json",
	}
	if diff := cmp.Diff(wantSubs, *d.SubresourceUris); diff != "" {
		t.Errorf("subresource_uris (-want +got):\n%s", diff)
	}
	d.SubresourceUris = nil
	now := v2010Date(clock.Now())
	want := api.ApiV2010SipDomain{
		AccountSid: &sid, ApiVersion: v2010Ptr("2010-04-01"), AuthType: v2010Ptr(""), DateCreated: now, DateUpdated: now,
		DomainName: v2010Ptr("support.sip.twilio.com"), FriendlyName: v2010Ptr("Support"), Sid: d.Sid, Uri: v2010Ptr(uri + ".json"),
		VoiceFallbackMethod: v2010Ptr("POST"), VoiceMethod: v2010Ptr("POST"), VoiceStatusCallbackMethod: v2010Ptr("POST"),
		VoiceUrl: v2010Ptr("https://ie.example.com/sip"), SipRegistration: v2010Ptr(true), EmergencyCallingEnabled: v2010Ptr(false),
		Secure: v2010Ptr(true), ByocTrunkSid: &byoc, EmergencyCallerSid: ieNum[0].Sid,
	}
	if diff := cmp.Diff(want, *d); diff != "" {
		t.Errorf("created domain (-want +got):\n%s", diff)
	}

	// The same name may exist in another region (a standby copy), not twice in one.
	usD, err := us.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName("support.sip.twilio.com"))
	if err != nil {
		t.Fatalf("same name in us1: %v", err)
	}
	other, err := ie.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName("other.sip.twilio.com"))
	if err != nil {
		t.Fatalf("second ie1 domain: %v", err)
	}
	for _, tc := range []struct {
		name   string
		params *api.CreateSipDomainParams
		code   int
	}{
		{"duplicate", new(api.CreateSipDomainParams).SetDomainName("Support.sip.twilio.com"), 21232},
		{"wrong suffix", new(api.CreateSipDomainParams).SetDomainName("support.example.com"), 21232},
		{"bad characters", new(api.CreateSipDomainParams).SetDomainName("sup_port.sip.twilio.com"), 21232},
		{"no DomainName", new(api.CreateSipDomainParams).SetFriendlyName("nameless"), 21201},
		{"bad url", new(api.CreateSipDomainParams).SetDomainName("x.sip.twilio.com").SetVoiceUrl("nope"), 21502},
	} {
		_, err := ie.CreateSipDomain(tc.params)
		if te := restError(t, err); te.Status != 400 || te.Code != tc.code {
			t.Errorf("create %s: %d/%d, want 400/%d", tc.name, te.Status, te.Code, tc.code)
		}
	}
	list, err := ie.ListSipDomain(nil)
	if err != nil {
		t.Fatalf("list ie1: %v", err)
	}
	var got []string
	for _, x := range list {
		got = append(got, *x.Sid)
	}
	if diff := cmp.Diff([]string{*d.Sid, *other.Sid}, got); diff != "" {
		t.Errorf("ie1 domains (-want +got):\n%s", diff)
	}
	if _, err := ie.FetchSipDomain(*usD.Sid, nil); restError(t, err).Status != 404 {
		t.Errorf("ie1 fetched the us1 domain")
	}

	// Update lands; failed updates change nothing.
	clock.Advance(time.Minute)
	upd, err := ie.UpdateSipDomain(*d.Sid, new(api.UpdateSipDomainParams).SetVoiceFallbackUrl("https://fb.example.com/sip").
		SetDomainName("support.sip.twilio.com").SetEmergencyCallingEnabled(true))
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	want.VoiceFallbackUrl, want.EmergencyCallingEnabled, want.DateUpdated = v2010Ptr("https://fb.example.com/sip"), v2010Ptr(true), v2010Date(clock.Now())
	upd.SubresourceUris = nil
	if diff := cmp.Diff(want, *upd); diff != "" {
		t.Errorf("updated domain (-want +got):\n%s", diff)
	}
	clock.Advance(time.Minute)
	usNum, err := us.ListIncomingPhoneNumber(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, params := range map[string]*api.UpdateSipDomainParams{
		"taken name":         new(api.UpdateSipDomainParams).SetFriendlyName("renamed").SetDomainName("other.sip.twilio.com"),
		"bad method":         new(api.UpdateSipDomainParams).SetVoiceUrl("https://new.example.com").SetVoiceMethod("PATCH"),
		"us1 emergency sid":  new(api.UpdateSipDomainParams).SetSecure(false).SetEmergencyCallerSid(*usNum[0].Sid),
		"malformed byoc sid": new(api.UpdateSipDomainParams).SetSecure(false).SetByocTrunkSid("BY123"),
	} {
		if _, err := ie.UpdateSipDomain(*d.Sid, params); restError(t, err).Status != 400 {
			t.Errorf("update %s: want 400", name)
		}
	}
	path := "/2010-04-01/Accounts/" + sid + "/SIP/Domains/" + *d.Sid + ".json"
	std := h.creds[region.IE1].Standard
	if st, body := v2010Raw(t, h, region.IE1, std.SID, std.Secret, "POST", path,
		url.Values{"SipRegistration": {"sometimes"}, "FriendlyName": {"renamed"}}); st != 400 {
		t.Errorf("bad boolean: %d %s, want 400", st, body)
	}
	after, err := ie.FetchSipDomain(*d.Sid, nil)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	after.SubresourceUris = nil
	if diff := cmp.Diff(want, *after); diff != "" {
		t.Errorf("failed updates changed the domain (-want +got):\n%s", diff)
	}

	if err := ie.DeleteSipDomain(*d.Sid, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := ie.FetchSipDomain(*d.Sid, nil); restError(t, err).Code != 20404 {
		t.Errorf("fetch after delete: want 20404")
	}
	if err := ie.DeleteSipDomain(*d.Sid, nil); restError(t, err).Status != 404 {
		t.Errorf("second delete: want 404")
	}
	// The us1 copy is untouched by the ie1 delete.
	if _, err := us.FetchSipDomain(*usD.Sid, nil); err != nil {
		t.Errorf("us1 domain after the ie1 delete: %v", err)
	}
}

func TestSIPDomainsPage(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 42})
	au := h.client(region.AU1).Api
	var want []string
	for i := 0; i < 5; i++ {
		d, err := au.CreateSipDomain(new(api.CreateSipDomainParams).SetDomainName(fmt.Sprintf("d%d.sip.twilio.com", i)))
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		want = append(want, *d.DomainName)
	}
	before := h.judgedOps()["ListSipDomain"]
	list, err := au.ListSipDomain(new(api.ListSipDomainParams).SetPageSize(2))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var got []string
	for _, d := range list {
		got = append(got, *d.DomainName)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("domains (-want +got):\n%s", diff)
	}
	if n := h.judgedOps()["ListSipDomain"] - before; n != 3 {
		t.Errorf("judged %d pages, want 3", n)
	}
}

func TestSIPCredentialListsAndIPACLsArePerRegion(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	h := newHarness(t, twilioemu.Options{RandSeed: 43, Clock: clock})
	ie, us := h.client(region.IE1).Api, h.client(region.US1).Api
	sid := h.emu.AccountSID()
	now := v2010Date(clock.Now())

	cl, err := ie.CreateSipCredentialList(new(api.CreateSipCredentialListParams).SetFriendlyName("agents"))
	if err != nil {
		t.Fatalf("create credential list: %v", err)
	}
	clURI := "/2010-04-01/Accounts/" + sid + "/SIP/CredentialLists/" + *cl.Sid
	wantCL := api.ApiV2010SipCredentialList{
		AccountSid: &sid, DateCreated: now, DateUpdated: now, FriendlyName: v2010Ptr("agents"), Sid: cl.Sid,
		SubresourceUris: &map[string]any{"credentials": clURI + "/Credentials.json"}, Uri: v2010Ptr(clURI + ".json"),
	}
	if diff := cmp.Diff(wantCL, *cl); diff != "" {
		t.Errorf("credential list (-want +got):\n%s", diff)
	}
	acl, err := ie.CreateSipIpAccessControlList(new(api.CreateSipIpAccessControlListParams).SetFriendlyName("carriers"))
	if err != nil {
		t.Fatalf("create IP ACL: %v", err)
	}
	alURI := "/2010-04-01/Accounts/" + sid + "/SIP/IpAccessControlLists/" + *acl.Sid
	wantAL := api.ApiV2010SipIpAccessControlList{
		AccountSid: &sid, DateCreated: now, DateUpdated: now, FriendlyName: v2010Ptr("carriers"), Sid: acl.Sid,
		SubresourceUris: &map[string]any{"ip_addresses": alURI + "/IpAddresses.json"}, Uri: v2010Ptr(alURI + ".json"),
	}
	if diff := cmp.Diff(wantAL, *acl); diff != "" {
		t.Errorf("IP ACL (-want +got):\n%s", diff)
	}

	// FriendlyName is required, up to 64 characters for credential lists
	// and 255 for IP ACLs.
	for name, err := range map[string]error{
		"credential list, no name":  v2010Err(ie.CreateSipCredentialList(new(api.CreateSipCredentialListParams))),
		"credential list, 65 chars": v2010Err(ie.CreateSipCredentialList(new(api.CreateSipCredentialListParams).SetFriendlyName(strings.Repeat("c", 65)))),
		"IP ACL, no name":           v2010Err(ie.CreateSipIpAccessControlList(new(api.CreateSipIpAccessControlListParams))),
		"IP ACL, 256 chars":         v2010Err(ie.CreateSipIpAccessControlList(new(api.CreateSipIpAccessControlListParams).SetFriendlyName(strings.Repeat("a", 256)))),
	} {
		if te := restError(t, err); te.Status != 400 {
			t.Errorf("%s: status %d, want 400", name, te.Status)
		}
	}
	long, err := ie.CreateSipIpAccessControlList(new(api.CreateSipIpAccessControlListParams).SetFriendlyName(strings.Repeat("a", 255)))
	if err != nil {
		t.Fatalf("IP ACL with a 255-character name: %v", err)
	}
	more, err := ie.CreateSipCredentialList(new(api.CreateSipCredentialListParams).SetFriendlyName("supervisors"))
	if err != nil {
		t.Fatal(err)
	}

	// Only ie1 has them; one a page is two pages each.
	before := h.judgedOps()
	cls, err := ie.ListSipCredentialList(new(api.ListSipCredentialListParams).SetPageSize(1))
	if err != nil {
		t.Fatalf("list credential lists: %v", err)
	}
	acls, err := ie.ListSipIpAccessControlList(new(api.ListSipIpAccessControlListParams).SetPageSize(1))
	if err != nil {
		t.Fatalf("list IP ACLs: %v", err)
	}
	var gotCL, gotAL []string
	for _, x := range cls {
		gotCL = append(gotCL, *x.Sid)
	}
	for _, x := range acls {
		gotAL = append(gotAL, *x.Sid)
	}
	if diff := cmp.Diff([][]string{{*cl.Sid, *more.Sid}, {*acl.Sid, *long.Sid}}, [][]string{gotCL, gotAL}); diff != "" {
		t.Errorf("ie1 lists (-want +got):\n%s", diff)
	}
	after := h.judgedOps()
	for _, op := range []string{"ListSipCredentialList", "ListSipIpAccessControlList"} {
		if n := after[op] - before[op]; n != 2 {
			t.Errorf("judged %d %s pages, want 2", n, op)
		}
	}
	if l, err := us.ListSipCredentialList(nil); err != nil || len(l) != 0 {
		t.Errorf("us1 credential lists: %d (err %v), want 0", len(l), err)
	}
	if l, err := us.ListSipIpAccessControlList(nil); err != nil || len(l) != 0 {
		t.Errorf("us1 IP ACLs: %d (err %v), want 0", len(l), err)
	}
}
