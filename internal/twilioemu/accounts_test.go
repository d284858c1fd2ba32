package twilioemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// v2010Raw sends one 2010-API request the way twilio-go would (form body or
// query, Basic auth, the region's own host) through the harness's judging
// transport, for what the SDK cannot send: malformed values, documented
// date forms, foreign account SIDs. It returns the status and the body.
func v2010Raw(t *testing.T, h *harness, r region.Region, user, pass, method, path string, form url.Values) (int, []byte) {
	t.Helper()
	u := "https://" + region.Host("api", r, "") + path
	var body io.Reader
	if method == http.MethodGet {
		if len(form) > 0 {
			u += "?" + form.Encode()
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Transport: &judgingTransport{h: h}}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// v2010Code reads the Twilio error code of a raw error body.
func v2010Code(t *testing.T, body []byte) int {
	t.Helper()
	var e struct{ Code int }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Code
}

// authTokenClient authenticates with the account SID and the region's auth
// token, which can do everything a Main key can.
func authTokenClient(h *harness, r region.Region) *api.ApiService {
	return h.clientAs(r, h.emu.AccountSID(), h.creds[r].AuthToken).Api
}

func TestAccountFetchNeedsMainKeyOrAuthTokenOfTheRegion(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 11})
	sid := h.emu.AccountSID()
	base := "/2010-04-01/Accounts/" + sid

	// A Standard key cannot touch /Accounts (401 / 20003).
	_, err := h.client(region.US1).Api.FetchAccount(sid)
	if te := restError(t, err); te.Status != 401 || te.Code != 20003 {
		t.Errorf("Standard key: got %d/%d, want 401/20003", te.Status, te.Code)
	}
	// An ie1 Main key is refused in us1: keys are regional.
	ie := h.creds[region.IE1]
	_, err = h.clientAs(region.US1, ie.Main.SID, ie.Main.Secret).Api.FetchAccount(sid)
	if te := restError(t, err); te.Status != 401 || te.Code != 20003 {
		t.Errorf("ie1 key in us1: got %d/%d, want 401/20003", te.Status, te.Code)
	}

	for _, r := range []region.Region{region.US1, region.IE1} {
		for name, svc := range map[string]*api.ApiService{"main key": h.mainClient(r).Api, "auth token": authTokenClient(h, r)} {
			acct, err := svc.FetchAccount(sid)
			if err != nil {
				t.Fatalf("%s %s: %v", r, name, err)
			}
			subs := *acct.SubresourceUris
			if got, want := subs["calls"], base+"/Calls.json"; got != want {
				t.Errorf("%s %s: subresource_uris.calls = %v, want %s", r, name, got, want)
			}
			if len(subs) != 20 {
				t.Errorf("%s %s: %d subresource_uris, want the spec example's 20", r, name, len(subs))
			}
			acct.SubresourceUris, acct.DateCreated, acct.DateUpdated = nil, nil, nil
			want := api.ApiV2010Account{
				AuthToken: v2010Ptr(h.creds[r].AuthToken), FriendlyName: acct.FriendlyName, OwnerAccountSid: &sid, Sid: &sid,
				Status: v2010Ptr("active"), Type: v2010Ptr("Full"), Uri: v2010Ptr(base + ".json"),
			}
			if diff := cmp.Diff(want, *acct); diff != "" {
				t.Errorf("%s %s: account (-want +got):\n%s", r, name, diff)
			}
		}
	}
	if h.creds[region.US1].AuthToken == h.creds[region.IE1].AuthToken {
		t.Fatalf("us1 and ie1 share an auth token; the test above could not tell them apart")
	}

	// The path names the account itself: another SID is refused.
	other := "AC" + strings.Repeat("0", 32)
	st, body := v2010Raw(t, h, region.US1, sid, h.creds[region.US1].AuthToken, "GET", "/2010-04-01/Accounts/"+other+".json", nil)
	if st != 401 || v2010Code(t, body) != 20003 {
		t.Errorf("fetch another account: got %d %s, want 401/20003", st, body)
	}
	// An ie1 auth token does not open us1.
	st, _ = v2010Raw(t, h, region.US1, sid, h.creds[region.IE1].AuthToken, "GET", base+".json", nil)
	if st != 401 {
		t.Errorf("ie1 auth token in us1: status %d, want 401", st)
	}
}

func TestKeysAreListedPerRegionWithoutSecrets(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 12})
	ie := h.creds[region.IE1]

	// Standard keys cannot list or fetch keys.
	_, err := h.client(region.IE1).Api.ListKey(nil)
	if te := restError(t, err); te.Status != 401 || te.Code != 20003 {
		t.Errorf("Standard ListKey: got %d/%d, want 401/20003", te.Status, te.Code)
	}
	_, err = h.client(region.IE1).Api.FetchKey(ie.Main.SID, nil)
	if te := restError(t, err); te.Status != 401 || te.Code != 20003 {
		t.Errorf("Standard FetchKey: got %d/%d, want 401/20003", te.Status, te.Code)
	}
	// A us1 key cannot list ie1's keys, even a Main one.
	us := h.creds[region.US1]
	_, err = h.clientAs(region.IE1, us.Main.SID, us.Main.Secret).Api.ListKey(nil)
	if te := restError(t, err); te.Status != 401 {
		t.Errorf("us1 Main key in ie1: status %d, want 401", te.Status)
	}

	// One key a page: two pages for ie1's two keys, and only ie1's.
	for name, svc := range map[string]*api.ApiService{"main key": h.mainClient(region.IE1).Api, "auth token": authTokenClient(h, region.IE1)} {
		before := h.judgedOps()["ListKey"]
		keys, err := svc.ListKey(new(api.ListKeyParams).SetPageSize(1))
		if err != nil {
			t.Fatalf("%s ListKey: %v", name, err)
		}
		got := map[string]string{}
		for _, k := range keys {
			got[*k.Sid] = *k.FriendlyName
			if k.DateCreated == nil || k.DateUpdated == nil {
				t.Errorf("key %s has no dates", *k.Sid)
			}
		}
		want := map[string]string{ie.Standard.SID: "ie1 standard", ie.Main.SID: "ie1 main"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: ie1 keys (-want +got):\n%s", name, diff)
		}
		if n := h.judgedOps()["ListKey"] - before; n != 2 {
			t.Errorf("%s: judged %d ListKey pages, want 2", name, n)
		}
	}

	k, err := h.mainClient(region.IE1).Api.FetchKey(ie.Standard.SID, nil)
	if err != nil {
		t.Fatalf("FetchKey: %v", err)
	}
	if diff := cmp.Diff(ie.Standard.SID, *k.Sid); diff != "" {
		t.Errorf("fetched key (-want +got):\n%s", diff)
	}
	// us1's key does not exist in ie1.
	_, err = h.mainClient(region.IE1).Api.FetchKey(us.Standard.SID, nil)
	if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
		t.Errorf("us1 key fetched in ie1: got %d/%d, want 404/20404", te.Status, te.Code)
	}

	// No secret on the wire: the judge forbids extra fields, and the raw
	// body must not carry it under any name.
	st, body := v2010Raw(t, h, region.IE1, ie.Main.SID, ie.Main.Secret, "GET", "/2010-04-01/Accounts/"+h.emu.AccountSID()+"/Keys.json", nil)
	if st != 200 {
		t.Fatalf("raw ListKey: %d %s", st, body)
	}
	for _, secret := range []string{ie.Main.Secret, ie.Standard.Secret} {
		if strings.Contains(string(body), secret) {
			t.Errorf("ListKey body carries a key secret: %s", body)
		}
	}

	// A revoked key is gone: neither listed nor fetched.
	h.emu.SetFaults(&twilioemu.Faults{Version: twilioemu.FaultsVersion, RevokedKeys: []string{ie.Standard.SID}})
	keys, err := h.mainClient(region.IE1).Api.ListKey(nil)
	if err != nil {
		t.Fatalf("ListKey after revocation: %v", err)
	}
	if len(keys) != 1 || *keys[0].Sid != ie.Main.SID {
		t.Errorf("after revoking the Standard key, ie1 lists %d keys, want only the Main key %s", len(keys), ie.Main.SID)
	}
	_, err = h.mainClient(region.IE1).Api.FetchKey(ie.Standard.SID, nil)
	if te := restError(t, err); te.Status != 404 {
		t.Errorf("fetch of a revoked key: status %d, want 404", te.Status)
	}
}

func v2010Ptr[T any](v T) *T { return &v }
