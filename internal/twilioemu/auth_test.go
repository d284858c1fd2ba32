package twilioemu_test

import (
	"net/http"
	"testing"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func TestCredentialsAreRegional(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 7})
	ie := h.creds[region.IE1]
	// An ie1 key against us1: 401 / 20003, as Twilio answers.
	_, err := h.clientAs(region.US1, ie.Standard.SID, ie.Standard.Secret).Api.ListIncomingPhoneNumber(nil)
	if te := restError(t, err); te.Status != 401 || te.Code != 20003 {
		t.Errorf("ie1 key in us1: %d/%d, want 401/20003", te.Status, te.Code)
	}
	// The same key in its own region works.
	if _, err := h.clientAs(region.IE1, ie.Standard.SID, ie.Standard.Secret).Api.ListIncomingPhoneNumber(nil); err != nil {
		t.Errorf("ie1 key in ie1: %v", err)
	}
	// Auth tokens are regional too.
	if _, err := h.clientAs(region.US1, ie.AccountSID, ie.AuthToken).Api.ListIncomingPhoneNumber(nil); err == nil {
		t.Errorf("ie1 auth token accepted in us1")
	}
	if _, err := h.clientAs(region.IE1, ie.AccountSID, ie.AuthToken).Api.ListIncomingPhoneNumber(nil); err != nil {
		t.Errorf("ie1 auth token in ie1: %v", err)
	}
	// A wrong secret.
	if _, err := h.clientAs(region.IE1, ie.Standard.SID, "wrongsecret0").Api.ListIncomingPhoneNumber(nil); restError(t, err).Status != 401 {
		t.Errorf("wrong secret accepted")
	}
}

func TestRevokedKeyIsRefused(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 8})
	us := h.creds[region.US1]
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, RevokedKeys: []string{us.Standard.SID}})
	_, err := h.client(region.US1).Api.ListIncomingPhoneNumber(nil)
	if te := restError(t, err); te.Code != 20003 {
		t.Errorf("revoked key: code %d, want 20003", te.Code)
	}
	if _, err := h.mainClient(region.US1).Api.ListIncomingPhoneNumber(nil); err != nil {
		t.Errorf("the other key was refused too: %v", err)
	}
}

func TestAccountInPathMustBeTheAuthenticatedAccount(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 9})
	_, err := h.client(region.US1).Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPathAccountSid("AC00000000000000000000000000000000"))
	if te := restError(t, err); te.Status != 401 {
		t.Errorf("other account in path: %d, want 401", te.Status)
	}
}

func rawGet(t *testing.T, h *harness, host, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	req.Host = host
	c := h.creds[region.US1]
	req.SetBasicAuth(c.Standard.SID, c.Standard.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestHostsAreReadAsTwilioNamesThem(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 10})
	path := "/2010-04-01/Accounts/" + h.emu.AccountSID() + "/IncomingPhoneNumbers.json"
	for _, tt := range []struct {
		host string
		want int
	}{
		{"api.twilio.com", 200},             // plain host: us1
		{"api.ashburn.us1.twilio.com", 200}, // us1 key in us1
		{"api.dublin.ie1.twilio.com", 401},  // us1 key in ie1
		{"api.ashburn.ie1.twilio.com", 404}, // ie1 only through dublin
		{"api.ie1.twilio.com", 200},         // retired edgeless form: processed in us1, never ie1
		{"example.com", 404},
	} {
		if got := rawGet(t, h, tt.host, path).StatusCode; got != tt.want {
			t.Errorf("Host %s: status %d, want %d", tt.host, got, tt.want)
		}
	}
	if got := h.emu.Stats().RetiredHostRequests; got != 1 {
		t.Errorf("retired host requests counted %d, want 1", got)
	}
}
