package twilio_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

func TestNewRegionClientErrors(t *testing.T) {
	p, _, _ := testPool(t, nil, twilio.Options{})
	noCreds := keyProfile(region.IE1)
	noCreds.APIKeySID, noCreds.APISecret, noCreds.AuthToken = "", region.Secret{}, region.Secret{}
	badEdge := keyProfile(region.IE1)
	badEdge.Profile.Edge = "sydney"
	noAccount := keyProfile(region.IE1)
	noAccount.Profile.AccountSID = ""
	badRegion := keyProfile(region.IE1)
	badRegion.Profile.Region = "eu9"
	tests := []struct {
		name string
		prof region.Resolved
		pool *twilio.Pool
		want string
	}{
		{"no credentials", noCreds, p, "no credentials"},
		{"edge of another region", badEdge, p, `edge "sydney" is not valid for ie1`},
		{"no account", noAccount, p, "no account SID"},
		{"unknown region", badRegion, p, "unknown region"},
		{"no pool", keyProfile(region.IE1), nil, "no pool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := twilio.NewRegionClient(tt.prof, tt.pool)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRegionClient = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestClientAccessors(t *testing.T) {
	p, _, _ := testPool(t, nil, twilio.Options{})
	c := testClient(t, p, keyProfile(region.AU1))
	got := []string{string(c.Region()), c.Edge(), c.AccountSID(), c.AuthToken().Reveal(), c.Host("routes")}
	want := []string{"au1", "sydney", testAccount, testToken, "routes.sydney.au1.twilio.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accessors (-want +got):\n%s", diff)
	}
	if c.Pool() != p {
		t.Error("Pool() is not the pool the client was built with")
	}
}

// TestAuthTokenClient: without a key the account SID and auth token
// authenticate, and an auth failure says which credential to fix.
func TestAuthTokenClient(t *testing.T) {
	srv := newFakeTwilio(t, func(w http.ResponseWriter, _ *http.Request, _ int) bool {
		writeTwilioError(w, 401, 20003, "Authenticate")
		return true
	})
	p, _, _ := testPool(t, srv, twilio.Options{})
	c := testClient(t, p, tokenProfile(region.AU1))
	_, err := c.API(t.Context()).FetchAccount(testAccount)
	err = c.Classify("FetchAccount", err)
	var te *twilio.Error
	if !errors.As(err, &te) || !te.AuthToken || te.Kind != twilio.KindAuth {
		t.Fatalf("err = %#v, want KindAuth with AuthToken set", err)
	}
	if want := "use the auth token of au1"; !strings.Contains(err.Error(), want) {
		t.Errorf("Error() = %q, want it to contain %q", err, want)
	}
	if strings.Contains(err.Error(), "Standard API keys") {
		t.Errorf("Error() = %q mentions Standard keys for an auth-token call", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].User != testAccount || reqs[0].Pass != testToken {
		t.Errorf("requests = %+v, want one with the account SID and auth token", reqs)
	}
}

func TestSet(t *testing.T) {
	p, _, _ := testPool(t, nil, twilio.Options{})
	s, err := twilio.NewSet(p, keyProfile(region.IE1), tokenProfile(region.US1))
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	if diff := cmp.Diff([]region.Region{region.IE1, region.US1}, s.Regions()); diff != "" {
		t.Errorf("Regions (-want +got):\n%s", diff)
	}
	c, err := s.Get(region.US1)
	if err != nil || c.Region() != region.US1 {
		t.Errorf("Get(us1) = %v, %v; want the us1 client", c, err)
	}
	if _, err := s.Get(region.AU1); err == nil || !strings.Contains(err.Error(), "no twilio profile for region au1") {
		t.Errorf("Get(au1) error = %v, want one naming the missing profile", err)
	}
	if got := len(s.Clients()); got != 2 {
		t.Errorf("len(Clients()) = %d, want 2", got)
	}
	if _, err := twilio.NewSet(p, keyProfile(region.IE1), tokenProfile(region.IE1)); err == nil || !strings.Contains(err.Error(), "two profiles for region ie1") {
		t.Errorf("NewSet with a duplicate region = %v, want an error", err)
	}
}

// TestMetrics checks the series one retried GET leaves behind.
func TestMetrics(t *testing.T) {
	srv := newFakeTwilio(t, func(w http.ResponseWriter, _ *http.Request, n int) bool {
		if n == 1 {
			writeTwilioError(w, 503, 20503, "Service Unavailable")
			return true
		}
		return false
	})
	p, _, reg := testPool(t, srv, twilio.Options{})
	c := testClient(t, p, keyProfile(region.IE1))
	if _, err := c.Routes(t.Context()).FetchPhoneNumber("+15550100001"); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{
		"requests 503": metricValue(t, reg, "voicedr_twilio_requests_total", "product", "routes", "region", "ie1", "method", "GET", "status", "503"),
		"requests 200": metricValue(t, reg, "voicedr_twilio_requests_total", "product", "routes", "region", "ie1", "method", "GET", "status", "200"),
		"retries":      metricValue(t, reg, "voicedr_twilio_retries_total", "product", "routes", "region", "ie1", "reason", "server_error"),
		"durations":    metricValue(t, reg, "voicedr_twilio_request_duration_seconds", "product", "routes", "region", "ie1"),
	}
	want := map[string]float64{"requests 503": 1, "requests 200": 1, "retries": 1, "durations": 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	// A second pool on the same registry shares the collectors.
	if _, err := twilio.NewPool(twilio.Options{Registerer: reg}); err != nil {
		t.Errorf("second NewPool on one registry: %v", err)
	}
}

func TestRepeatable(t *testing.T) {
	tests := []struct {
		method, product, path string
		want                  bool
	}{
		{"GET", "api", "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/IncomingPhoneNumbers.json", true},
		{"POST", "api", "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/IncomingPhoneNumbers/PN0123456789abcdef0123456789abcdef.json", true},
		{"POST", "api", "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/IncomingPhoneNumbers.json", false},
		{"POST", "api", "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json", false},
		{"POST", "trunking", "/v1/Trunks/TK0123456789abcdef0123456789abcdef", true},
		{"POST", "trunking", "/v1/Trunks", false},
		{"POST", "trunking", "/v1/Trunks/TK0123456789abcdef0123456789abcdef/OriginationUrls", false},
		{"POST", "routes", "/v2/PhoneNumbers/+15550100001", true},
		{"POST", "routes", "/v2/Trunks/acme.pstn.twilio.com", true},
		{"POST", "routes", "/v2/SipDomains/acme.sip.twilio.com", true},
		{"POST", "routes", "/v2/PhoneNumbers", false},
		{"POST", "api", "/v2/PhoneNumbers/+15550100001", false},
		{"DELETE", "api", "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/IncomingPhoneNumbers/PN0123456789abcdef0123456789abcdef.json", false},
		{"PUT", "routes", "/v2/PhoneNumbers/+15550100001", false},
	}
	for _, tt := range tests {
		if got := twilio.Repeatable(tt.method, tt.product, tt.path); got != tt.want {
			t.Errorf("repeatable(%s %s %s) = %v, want %v", tt.method, tt.product, tt.path, got, tt.want)
		}
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 12 ", 12 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := twilio.RetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
