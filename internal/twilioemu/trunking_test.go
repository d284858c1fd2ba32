package twilioemu_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	trunking "github.com/twilio/twilio-go/rest/trunking/v1"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// Seeded list SIDs: one IP ACL and one credential list in us1, an IP ACL in ie1.
var (
	tkACLUS = "AL" + strings.Repeat("1", 32)
	tkCLUS  = "CL" + strings.Repeat("2", 32)
	tkACLIE = "AL" + strings.Repeat("3", 32)
)

// newTrunkingHarness seeds per-region SIP lists and two numbers.
func newTrunkingHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, twilioemu.Options{RandSeed: 7})
	err := h.emu.Seed(&snapshot.Snapshot{
		Format: snapshot.Format, Regions: []string{"us1", "ie1", "au1"},
		Resources: map[string]*snapshot.RegionResources{
			"us1": {IPAccessControlLists: []snapshot.NamedList{{SID: tkACLUS, FriendlyName: "office"}},
				CredentialLists: []snapshot.NamedList{{SID: tkCLUS, FriendlyName: "pbx users"}}},
			"ie1": {IPAccessControlLists: []snapshot.NamedList{{SID: tkACLIE, FriendlyName: "dublin office"}}},
		},
		Numbers: []snapshot.Number{{PhoneNumber: "+14155550100"}, {PhoneNumber: "+14155550101"}},
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return h
}

func tkStr(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// tkView is what the tests compare of a trunk.
type tkView struct {
	Domain, Friendly, DRURL, DRMethod, TransferMode, CallerID, AuthType string
	Secure, Cnam, SymmetricRTP                                          bool
	AuthSet                                                             []string
	Recording                                                           any
	Links                                                               map[string]any
}

func tkViewOf(tr *trunking.TrunkingV1Trunk) tkView {
	v := tkView{
		Domain: tkStr(tr.DomainName), Friendly: tkStr(tr.FriendlyName), DRURL: tkStr(tr.DisasterRecoveryUrl),
		DRMethod: tkStr(tr.DisasterRecoveryMethod), TransferMode: tkStr(tr.TransferMode), CallerID: tkStr(tr.TransferCallerId),
		AuthType: tkStr(tr.AuthType), Secure: *tr.Secure, Cnam: *tr.CnamLookupEnabled, SymmetricRTP: *tr.SymmetricRtpEnabled,
		AuthSet: *tr.AuthTypeSet, Links: *tr.Links,
	}
	if tr.Recording != nil {
		v.Recording = *tr.Recording
	}
	return v
}

func TestTrunkCreateFetchUpdateDelete(t *testing.T) {
	h := newTrunkingHarness(t)
	us := h.client(region.US1).TrunkingV1
	created, err := us.CreateTrunk(new(trunking.CreateTrunkParams).SetFriendlyName("support").
		SetDomainName("Acme-Support.pstn.twilio.com").SetDisasterRecoveryUrl("https://dr.example.com/voice").
		SetDisasterRecoveryMethod("GET").SetTransferMode("sip-only").SetTransferCallerId("from-transferor").
		SetSecure(true).SetCnamLookupEnabled(true))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	base := "https://trunking.ashburn.us1.twilio.com/v1/Trunks/" + *created.Sid
	want := tkView{
		Domain: "acme-support.pstn.twilio.com", Friendly: "support", DRURL: "https://dr.example.com/voice", DRMethod: "GET",
		TransferMode: "sip-only", CallerID: "from-transferor", AuthType: "", Secure: true, Cnam: true, AuthSet: []string{},
		Recording: map[string]any{"mode": "do-not-record", "trim": "do-not-trim"},
		Links: map[string]any{"origination_urls": base + "/OriginationUrls", "credential_lists": base + "/CredentialLists",
			"ip_access_control_lists": base + "/IpAccessControlLists", "phone_numbers": base + "/PhoneNumbers"},
	}
	if diff := cmp.Diff(want, tkViewOf(created)); diff != "" {
		t.Errorf("created trunk (-want +got):\n%s", diff)
	}
	if got := tkStr(created.Url); got != base {
		t.Errorf("url = %s, want %s", got, base)
	}
	// A refused update changes nothing.
	_, err = us.UpdateTrunk(*created.Sid, new(trunking.UpdateTrunkParams).SetFriendlyName("renamed").SetTransferMode("all"))
	if te := restError(t, err); te.Status != 400 || te.Code != 20001 {
		t.Errorf("bad TransferMode: got %d/%d, want 400/20001", te.Status, te.Code)
	}
	updated, err := us.UpdateTrunk(*created.Sid, new(trunking.UpdateTrunkParams).SetDisasterRecoveryUrl("").SetSecure(false))
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	want.DRURL, want.Secure = "<nil>", false
	if diff := cmp.Diff(want, tkViewOf(updated)); diff != "" {
		t.Errorf("updated trunk (-want +got):\n%s", diff)
	}
	rec, err := us.UpdateRecording(*created.Sid, new(trunking.UpdateRecordingParams).SetMode("record-from-answer-dual").SetTrim("trim-silence"))
	if err != nil {
		t.Fatalf("update recording: %v", err)
	}
	if diff := cmp.Diff([2]string{"record-from-answer-dual", "trim-silence"}, [2]string{tkStr(rec.Mode), tkStr(rec.Trim)}); diff != "" {
		t.Errorf("recording (-want +got):\n%s", diff)
	}
	if _, err := us.UpdateRecording(*created.Sid, new(trunking.UpdateRecordingParams).SetMode("always")); restError(t, err).Code != 20001 {
		t.Errorf("Mode=always accepted")
	}
	got, err := us.FetchTrunk(*created.Sid)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	want.Recording = map[string]any{"mode": "record-from-answer-dual", "trim": "trim-silence"}
	if diff := cmp.Diff(want, tkViewOf(got)); diff != "" {
		t.Errorf("fetched trunk (-want +got):\n%s", diff)
	}
	if r, err := us.FetchRecording(*created.Sid); err != nil || tkStr(r.Mode) != "record-from-answer-dual" {
		t.Errorf("fetch recording = %v, %v", r, err)
	}
	if err := us.DeleteTrunk(*created.Sid); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for name, err := range map[string]error{
		"fetch":  func() error { _, err := us.FetchTrunk(*created.Sid); return err }(),
		"delete": us.DeleteTrunk(*created.Sid),
	} {
		if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
			t.Errorf("%s after delete: got %d/%d, want 404/20404", name, te.Status, te.Code)
		}
	}
	for _, op := range []string{"CreateTrunk", "UpdateTrunk", "FetchTrunk", "DeleteTrunk", "UpdateRecording", "FetchRecording"} {
		if h.judgedOps()[op] == 0 {
			t.Errorf("no %s response was judged", op)
		}
	}
}

func TestTrunkDomainIsUniquePerRegionOnly(t *testing.T) {
	h := newTrunkingHarness(t)
	us, ie := h.client(region.US1).TrunkingV1, h.client(region.IE1).TrunkingV1
	const domain = "acme.pstn.twilio.com"
	usTrunk, err := us.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName(domain))
	if err != nil {
		t.Fatalf("create us1: %v", err)
	}
	_, err = us.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName("ACME.pstn.twilio.com"))
	if te := restError(t, err); te.Status != 400 || te.Code != 21248 {
		t.Errorf("second us1 trunk with the domain: got %d/%d, want 400/21248", te.Status, te.Code)
	}
	// The standby region holds its own trunk with the same domain.
	ieTrunk, err := ie.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName(domain).SetFriendlyName("standby"))
	if err != nil {
		t.Fatalf("create ie1 with the us1 domain: %v", err)
	}
	for _, bad := range []string{"acme.example.com", "acme_x.pstn.twilio.com", "pstn.twilio.com"} {
		_, err := ie.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName(bad))
		if te := restError(t, err); te.Status != 400 || te.Code != 21245 {
			t.Errorf("domain %q: got %d/%d, want 400/21245", bad, te.Status, te.Code)
		}
	}
	other, err := us.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName("other.pstn.twilio.com"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := us.UpdateTrunk(*other.Sid, new(trunking.UpdateTrunkParams).SetDomainName(domain)); restError(t, err).Code != 21248 {
		t.Errorf("renaming onto a taken domain was accepted")
	}
	// Re-stating a trunk's own domain is not a conflict.
	if _, err := us.UpdateTrunk(*usTrunk.Sid, new(trunking.UpdateTrunkParams).SetDomainName(domain)); err != nil {
		t.Errorf("update with its own domain: %v", err)
	}
	list := func(c *trunking.ApiService) map[string]string {
		ts, err := c.ListTrunk(nil)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		out := map[string]string{}
		for _, tr := range ts {
			out[*tr.Sid] = tkStr(tr.DomainName)
		}
		return out
	}
	if diff := cmp.Diff(map[string]string{*usTrunk.Sid: domain, *other.Sid: "other.pstn.twilio.com"}, list(us)); diff != "" {
		t.Errorf("us1 trunks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{*ieTrunk.Sid: domain}, list(ie)); diff != "" {
		t.Errorf("ie1 trunks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{}, list(h.client(region.AU1).TrunkingV1)); diff != "" {
		t.Errorf("au1 trunks (-want +got):\n%s", diff)
	}
	if _, err := us.FetchTrunk(*ieTrunk.Sid); restError(t, err).Status != 404 {
		t.Errorf("the ie1 trunk was found through us1")
	}
}

func TestTrunkListPagesAcrossPages(t *testing.T) {
	h := newTrunkingHarness(t)
	au := h.client(region.AU1).TrunkingV1
	want := map[string]bool{}
	for i := 0; i < 7; i++ {
		d := "t" + string(rune('a'+i)) + ".pstn.twilio.com"
		if _, err := au.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName(d)); err != nil {
			t.Fatalf("create %s: %v", d, err)
		}
		want[d] = true
	}
	ts, err := au.ListTrunk(new(trunking.ListTrunkParams).SetPageSize(3))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	got := map[string]bool{}
	for _, tr := range ts {
		got[*tr.DomainName] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed trunks (-want +got):\n%s", diff)
	}
	if n := h.judgedOps()["ListTrunk"]; n != 3 {
		t.Errorf("judged %d ListTrunk pages, want 3 (7 trunks, 3 a page)", n)
	}
}

func TestOriginationURLs(t *testing.T) {
	h := newTrunkingHarness(t)
	us := h.client(region.US1).TrunkingV1
	tr, err := us.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName("orig.pstn.twilio.com"))
	if err != nil {
		t.Fatalf("create trunk: %v", err)
	}
	full := func() *trunking.CreateOriginationUrlParams {
		return new(trunking.CreateOriginationUrlParams).SetWeight(10).SetPriority(0).SetEnabled(true).
			SetFriendlyName("pbx").SetSipUrl("sip:pbx.example.com:5060")
	}
	refusals := map[string]*trunking.CreateOriginationUrlParams{
		"no Weight":       func() *trunking.CreateOriginationUrlParams { p := full(); p.Weight = nil; return p }(),
		"no Priority":     func() *trunking.CreateOriginationUrlParams { p := full(); p.Priority = nil; return p }(),
		"no Enabled":      func() *trunking.CreateOriginationUrlParams { p := full(); p.Enabled = nil; return p }(),
		"no FriendlyName": func() *trunking.CreateOriginationUrlParams { p := full(); p.FriendlyName = nil; return p }(),
		"no SipUrl":       func() *trunking.CreateOriginationUrlParams { p := full(); p.SipUrl = nil; return p }(),
		"Weight 0":        full().SetWeight(0),
		"Weight 65536":    full().SetWeight(65536),
		"Priority -1":     full().SetPriority(-1),
		"Priority 65536":  full().SetPriority(65536),
		"sips: URL":       full().SetSipUrl("sips:pbx.example.com"),
		"http URL":        full().SetSipUrl("https://pbx.example.com"),
	}
	for name, p := range refusals {
		_, err := us.CreateOriginationUrl(*tr.Sid, p)
		if te := restError(t, err); te.Status != 400 || te.Code != 20001 {
			t.Errorf("%s: got %d/%d, want 400/20001", name, te.Status, te.Code)
		}
	}
	var sids []string
	for i, u := range []string{"sip:a.example.com", "sip:b.example.com", "sip:c.example.com", "sip:d.example.com", "sip:e.example.com"} {
		o, err := us.CreateOriginationUrl(*tr.Sid, full().SetSipUrl(u).SetPriority(i).SetWeight(65535))
		if err != nil {
			t.Fatalf("create %s: %v", u, err)
		}
		sids = append(sids, *o.Sid)
	}
	// Update takes any subset and keeps the rest.
	o, err := us.UpdateOriginationUrl(*tr.Sid, sids[0], new(trunking.UpdateOriginationUrlParams).SetEnabled(false).SetWeight(1))
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	type ouView struct {
		Trunk, SipURL, Name string
		Weight, Priority    int
		Enabled             bool
	}
	wantOU := ouView{*tr.Sid, "sip:a.example.com", "pbx", 1, 0, false}
	if diff := cmp.Diff(wantOU, ouView{tkStr(o.TrunkSid), tkStr(o.SipUrl), tkStr(o.FriendlyName), o.Weight, o.Priority, *o.Enabled}); diff != "" {
		t.Errorf("updated origination URL (-want +got):\n%s", diff)
	}
	if _, err := us.UpdateOriginationUrl(*tr.Sid, sids[0], new(trunking.UpdateOriginationUrlParams).SetSipUrl("sips:x.example.com")); restError(t, err).Code != 20001 {
		t.Errorf("update to a sips: URL was accepted")
	}
	if o, err := us.FetchOriginationUrl(*tr.Sid, sids[0]); err != nil || tkStr(o.SipUrl) != "sip:a.example.com" {
		t.Errorf("fetch after refused update = %v, %v; want the URL unchanged", o, err)
	}
	all, err := us.ListOriginationUrl(*tr.Sid, new(trunking.ListOriginationUrlParams).SetPageSize(2))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var got []string
	for _, o := range all {
		got = append(got, *o.Sid)
	}
	if diff := cmp.Diff(sids, got); diff != "" {
		t.Errorf("listed origination URLs in creation order (-want +got):\n%s", diff)
	}
	if n := h.judgedOps()["ListOriginationUrl"]; n != 3 {
		t.Errorf("judged %d pages, want 3", n)
	}
	if err := us.DeleteOriginationUrl(*tr.Sid, sids[1]); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := us.FetchOriginationUrl(*tr.Sid, sids[1]); restError(t, err).Status != 404 {
		t.Errorf("deleted origination URL still fetched")
	}
	// A trunk of another region has no URLs here, and an unknown trunk is 404.
	if _, err := h.client(region.IE1).TrunkingV1.ListOriginationUrl(*tr.Sid, nil); restError(t, err).Status != 404 {
		t.Errorf("us1 trunk's URLs listed through ie1")
	}
}

func TestTrunkListAssociationsStayInTheirRegion(t *testing.T) {
	h := newTrunkingHarness(t)
	us := h.client(region.US1).TrunkingV1
	tr, err := us.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName("auth.pstn.twilio.com"))
	if err != nil {
		t.Fatalf("create trunk: %v", err)
	}
	// Empty lists are well-formed too.
	if acls, err := us.ListIpAccessControlList(*tr.Sid, nil); err != nil || len(acls) != 0 {
		t.Errorf("empty ACL list = %v, %v", acls, err)
	}
	if cls, err := us.ListCredentialList(*tr.Sid, nil); err != nil || len(cls) != 0 {
		t.Errorf("empty credential list = %v, %v", cls, err)
	}
	_, err = us.CreateIpAccessControlList(*tr.Sid, new(trunking.CreateIpAccessControlListParams).SetIpAccessControlListSid(tkACLIE))
	if te := restError(t, err); te.Status != 400 || te.Code != 20001 {
		t.Errorf("ie1 ACL on a us1 trunk: got %d/%d, want 400/20001", te.Status, te.Code)
	}
	_, err = us.CreateIpAccessControlList(*tr.Sid, new(trunking.CreateIpAccessControlListParams))
	if te := restError(t, err); te.Code != 20001 {
		t.Errorf("missing IpAccessControlListSid: code %d, want 20001", te.Code)
	}
	acl, err := us.CreateIpAccessControlList(*tr.Sid, new(trunking.CreateIpAccessControlListParams).SetIpAccessControlListSid(tkACLUS))
	if err != nil {
		t.Fatalf("associate ACL: %v", err)
	}
	if diff := cmp.Diff([]string{tkACLUS, "office", *tr.Sid}, []string{tkStr(acl.Sid), tkStr(acl.FriendlyName), tkStr(acl.TrunkSid)}); diff != "" {
		t.Errorf("ACL association (-want +got):\n%s", diff)
	}
	if _, err := us.CreateIpAccessControlList(*tr.Sid, new(trunking.CreateIpAccessControlListParams).SetIpAccessControlListSid(tkACLUS)); restError(t, err).Status != 400 {
		t.Errorf("associating the same ACL twice was accepted")
	}
	cl, err := us.CreateCredentialList(*tr.Sid, new(trunking.CreateCredentialListParams).SetCredentialListSid(tkCLUS))
	if err != nil {
		t.Fatalf("associate credential list: %v", err)
	}
	got, err := us.FetchTrunk(*tr.Sid)
	if err != nil {
		t.Fatalf("fetch trunk: %v", err)
	}
	if diff := cmp.Diff([]any{"IP_ACL,CREDENTIAL_LIST", []string{"IP_ACL", "CREDENTIAL_LIST"}}, []any{tkStr(got.AuthType), *got.AuthTypeSet}); diff != "" {
		t.Errorf("auth_type (-want +got):\n%s", diff)
	}
	if f, err := us.FetchCredentialList(*tr.Sid, *cl.Sid); err != nil || tkStr(f.FriendlyName) != "pbx users" {
		t.Errorf("fetch credential list = %v, %v", f, err)
	}
	if f, err := us.FetchIpAccessControlList(*tr.Sid, tkACLUS); err != nil || tkStr(f.Sid) != tkACLUS {
		t.Errorf("fetch ACL = %v, %v", f, err)
	}
	if acls, err := us.ListIpAccessControlList(*tr.Sid, nil); err != nil || len(acls) != 1 {
		t.Errorf("ACL list = %v, %v; want one", acls, err)
	}
	if cls, err := us.ListCredentialList(*tr.Sid, nil); err != nil || len(cls) != 1 {
		t.Errorf("credential list = %v, %v; want one", cls, err)
	}
	if err := us.DeleteCredentialList(*tr.Sid, *cl.Sid); err != nil {
		t.Fatalf("delete credential list: %v", err)
	}
	if err := us.DeleteIpAccessControlList(*tr.Sid, tkACLUS); err != nil {
		t.Fatalf("delete ACL: %v", err)
	}
	if _, err := us.FetchIpAccessControlList(*tr.Sid, tkACLUS); restError(t, err).Status != 404 {
		t.Errorf("deleted ACL association still fetched")
	}
	got, err = us.FetchTrunk(*tr.Sid)
	if err != nil {
		t.Fatalf("fetch trunk: %v", err)
	}
	if diff := cmp.Diff([]any{"", []string{}}, []any{tkStr(got.AuthType), *got.AuthTypeSet}); diff != "" {
		t.Errorf("auth_type after removing every list (-want +got):\n%s", diff)
	}
	for _, op := range []string{"ListIpAccessControlList", "CreateIpAccessControlList", "FetchIpAccessControlList", "DeleteIpAccessControlList",
		"ListCredentialList", "CreateCredentialList", "FetchCredentialList", "DeleteCredentialList"} {
		if h.judgedOps()[op] == 0 {
			t.Errorf("no %s response was judged", op)
		}
	}
}

func TestTrunkPhoneNumbersSubresourceIsUS1Only(t *testing.T) {
	h := newTrunkingHarness(t)
	us, ie := h.client(region.US1), h.client(region.IE1)
	nums, err := us.Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPhoneNumber("+14155550100"))
	if err != nil || len(nums) != 1 {
		t.Fatalf("find the us1 record: %v, %v", nums, err)
	}
	pn := *nums[0].Sid
	tr, err := us.TrunkingV1.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName("pn.pstn.twilio.com"))
	if err != nil {
		t.Fatalf("create trunk: %v", err)
	}
	if l, err := us.TrunkingV1.ListPhoneNumber(*tr.Sid, nil); err != nil || len(l) != 0 {
		t.Errorf("empty phone number list = %v, %v", l, err)
	}
	if _, err := us.TrunkingV1.CreatePhoneNumber(*tr.Sid, new(trunking.CreatePhoneNumberParams).SetPhoneNumberSid("PN"+strings.Repeat("0", 32))); restError(t, err).Status != 400 {
		t.Errorf("an unknown PhoneNumberSid was accepted")
	}
	got, err := us.TrunkingV1.CreatePhoneNumber(*tr.Sid, new(trunking.CreatePhoneNumberParams).SetPhoneNumberSid(pn))
	if err != nil {
		t.Fatalf("associate: %v", err)
	}
	wantLink := "https://api.ashburn.us1.twilio.com/2010-04-01/Accounts/" + h.emu.AccountSID() + "/IncomingPhoneNumbers/" + pn
	if diff := cmp.Diff([]any{pn, "+14155550100", *tr.Sid, wantLink}, []any{tkStr(got.Sid), tkStr(got.PhoneNumber), tkStr(got.TrunkSid), (*got.Links)["phone_number"]}); diff != "" {
		t.Errorf("trunk phone number (-want +got):\n%s", diff)
	}
	rec, err := us.Api.FetchIncomingPhoneNumber(pn, nil)
	if err != nil || tkStr(rec.TrunkSid) != *tr.Sid {
		t.Errorf("IncomingPhoneNumber trunk_sid = %v (%v), want %s", rec, err, *tr.Sid)
	}
	if l, err := us.TrunkingV1.ListPhoneNumber(*tr.Sid, nil); err != nil || len(l) != 1 || *l[0].Sid != pn {
		t.Errorf("phone number list = %v, %v; want %s", l, err, pn)
	}
	if f, err := us.TrunkingV1.FetchPhoneNumber(*tr.Sid, pn); err != nil || tkStr(f.PhoneNumber) != "+14155550100" {
		t.Errorf("fetch = %v, %v", f, err)
	}
	// ie1: the subresource does not exist; numbers join through TrunkSid.
	ieTrunk, err := ie.TrunkingV1.CreateTrunk(new(trunking.CreateTrunkParams).SetDomainName("pn.pstn.twilio.com"))
	if err != nil {
		t.Fatalf("create ie1 trunk: %v", err)
	}
	ieNums, err := ie.Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPhoneNumber("+14155550100"))
	if err != nil || len(ieNums) != 1 {
		t.Fatalf("find the ie1 record: %v, %v", ieNums, err)
	}
	ops := map[string]error{
		"list": func() error { _, err := ie.TrunkingV1.ListPhoneNumber(*ieTrunk.Sid, nil); return err }(),
		"create": func() error {
			_, err := ie.TrunkingV1.CreatePhoneNumber(*ieTrunk.Sid, new(trunking.CreatePhoneNumberParams).SetPhoneNumberSid(*ieNums[0].Sid))
			return err
		}(),
		"fetch":  func() error { _, err := ie.TrunkingV1.FetchPhoneNumber(*ieTrunk.Sid, *ieNums[0].Sid); return err }(),
		"delete": ie.TrunkingV1.DeletePhoneNumber(*ieTrunk.Sid, *ieNums[0].Sid),
	}
	for name, err := range ops {
		if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
			t.Errorf("ie1 %s PhoneNumbers: got %d/%d, want 404/20404", name, te.Status, te.Code)
		}
	}
	if _, err := ie.Api.UpdateIncomingPhoneNumber(*ieNums[0].Sid, new(api.UpdateIncomingPhoneNumberParams).SetTrunkSid(*ieTrunk.Sid)); err != nil {
		t.Errorf("ie1 TrunkSid on the number: %v", err)
	}
	// Removing the association clears the us1 record only.
	if err := us.TrunkingV1.DeletePhoneNumber(*tr.Sid, pn); err != nil {
		t.Fatalf("delete association: %v", err)
	}
	if _, err := us.TrunkingV1.FetchPhoneNumber(*tr.Sid, pn); restError(t, err).Status != 404 {
		t.Errorf("removed number still fetched on the trunk")
	}
	if rec, err := us.Api.FetchIncomingPhoneNumber(pn, nil); err != nil || rec.TrunkSid != nil {
		t.Errorf("us1 trunk_sid after removal = %v (%v), want null", rec, err)
	}
	// Deleting a trunk detaches its numbers in its own region only.
	if _, err := us.TrunkingV1.CreatePhoneNumber(*tr.Sid, new(trunking.CreatePhoneNumberParams).SetPhoneNumberSid(pn)); err != nil {
		t.Fatalf("re-associate: %v", err)
	}
	if err := us.TrunkingV1.DeleteTrunk(*tr.Sid); err != nil {
		t.Fatalf("delete trunk: %v", err)
	}
	if rec, err := us.Api.FetchIncomingPhoneNumber(pn, nil); err != nil || rec.TrunkSid != nil {
		t.Errorf("us1 trunk_sid after trunk deletion = %v (%v), want null", rec, err)
	}
	if rec, err := ie.Api.FetchIncomingPhoneNumber(*ieNums[0].Sid, nil); err != nil || tkStr(rec.TrunkSid) != *ieTrunk.Sid {
		t.Errorf("ie1 trunk_sid = %v (%v), want %s", rec, err, *ieTrunk.Sid)
	}
	for _, op := range []string{"ListPhoneNumber", "CreatePhoneNumber", "FetchPhoneNumber", "DeletePhoneNumber"} {
		if h.judgedOps()[op] == 0 {
			t.Errorf("no %s response was judged", op)
		}
	}
}
