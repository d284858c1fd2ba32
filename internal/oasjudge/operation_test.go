package oasjudge_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/oasjudge"
)

func TestOperation(t *testing.T) {
	j, _ := judge(t)
	ipn := "/2010-04-01/Accounts/" + acct + "/IncomingPhoneNumbers"
	type req struct{ product, method, path string }
	cases := []struct {
		req  req
		want string
	}{
		{req{"api", "GET", ipn + ".json"}, "ListIncomingPhoneNumber"},
		{req{"api", "POST", ipn + ".json"}, "CreateIncomingPhoneNumber"},
		{req{"api", "GET", ipn + "/PN0123456789abcdef0123456789abcdef.json"}, "FetchIncomingPhoneNumber"},
		{req{"api", "DELETE", ipn + "/PN0123456789abcdef0123456789abcdef.json"}, "DeleteIncomingPhoneNumber"},
		// A literal segment wins over {Sid}.json, which matches it too.
		{req{"api", "GET", ipn + "/Local.json"}, "ListIncomingPhoneNumberLocal"},
		{req{"api", "POST", ipn + "/TollFree.json"}, "CreateIncomingPhoneNumberTollFree"},
		{req{"api", "get", ipn + ".json?PageSize=50&Page=0"}, "ListIncomingPhoneNumber"},
		{req{"routes", "GET", "/v2/PhoneNumbers/+14155550100"}, "FetchPhoneNumber"},
		{req{"routes", "POST", "/v2/PhoneNumbers/%2B14155550100"}, "UpdatePhoneNumber"},
		{req{"routes", "GET", "/v2/PhoneNumbers/%2b14155550100"}, "FetchPhoneNumber"},
		{req{"routes", "GET", "/v2/Trunks/voicedr.pstn.twilio.com"}, "FetchTrunks"},
		{req{"trunking", "GET", "/v1/Trunks"}, "ListTrunk"},
		{req{"trunking", "GET", trunk}, "FetchTrunk"},
		{req{"trunking", "POST", trunk}, "UpdateTrunk"},
		{req{"trunking", "GET", trunk + "/PhoneNumbers/PN0123456789abcdef0123456789abcdef"}, "FetchPhoneNumber"},
		{req{"voice", "POST", "/v1/Settings"}, "UpdateDialingPermissionsSettings"},
	}
	var got, want []string
	for _, c := range cases {
		id, err := j.Operation(c.req.product, c.req.method, c.req.path)
		if err != nil {
			id = "error: " + err.Error()
		}
		got = append(got, fmt.Sprintf("%v -> %s", c.req, id))
		want = append(want, fmt.Sprintf("%v -> %s", c.req, c.want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Operation (-want +got):\n%s", diff)
	}
}

func TestOperationErrors(t *testing.T) {
	j, _ := judge(t)
	for _, tc := range []struct{ product, method, path, want string }{
		{"fax", "GET", "/v1/Faxes", `unknown product "fax"`},
		{"trunking", "GET", "/v1/Nope", "no path"},
		{"trunking", "GET", "/v1/Trunks/", "no path"}, // a parameter is never empty
		{"trunking", "PUT", trunk, "documents only DELETE, GET, POST"},
		{"trunking", "GET", "v1/Trunks", "does not start with /"},
		{"routes", "GET", "/v2/PhoneNumbers/%zz", "invalid URL escape"},
	} {
		if _, err := j.Operation(tc.product, tc.method, tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Operation(%s, %s, %s) = %v, want an error containing %q", tc.product, tc.method, tc.path, err, tc.want)
		}
	}
}

func TestSpecDir(t *testing.T) {
	dir, err := oasjudge.SpecDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "twilio_api_v2010.json")); err != nil {
		t.Errorf("SpecDir() = %s without the 2010 spec: %v", dir, err)
	}

	t.Setenv("VOICEDR_OPENAPI_DIR", dir)
	if got, err := oasjudge.SpecDir(); err != nil || got != dir {
		t.Errorf("with $VOICEDR_OPENAPI_DIR: SpecDir() = %q, %v; want %q", got, err, dir)
	}
	t.Setenv("VOICEDR_OPENAPI_DIR", filepath.Join(t.TempDir(), "absent"))
	if _, err := oasjudge.SpecDir(); err == nil || !strings.Contains(err.Error(), "VOICEDR_OPENAPI_DIR") {
		t.Errorf("with a missing $VOICEDR_OPENAPI_DIR: err = %v", err)
	}

	t.Setenv("VOICEDR_OPENAPI_DIR", "")
	t.Chdir(t.TempDir())
	if _, err := oasjudge.SpecDir(); err == nil || !strings.Contains(err.Error(), "shared/twilio-openapi") {
		t.Errorf("outside the checkout: err = %v, want one naming shared/twilio-openapi", err)
	}
}

func TestLoad(t *testing.T) {
	j, dir := judge(t)
	if again, err := oasjudge.Load(dir); err != nil || again != j {
		t.Errorf("second Load = %p, %v; want the cached %p", again, err, j)
	}
	if _, err := oasjudge.Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "twilio_api_v2010.json is missing") {
		t.Errorf("Load of an empty folder: err = %v", err)
	}
}

// TestConcurrentUse makes the first uses of two products from many
// goroutines at once, which is how parallel tests in other packages will meet
// the judge (run with -race). Load caches a Judge per folder, so the specs are
// linked into a fresh folder to get a Judge that has parsed nothing yet.
func TestConcurrentUse(t *testing.T) {
	_, dir := judge(t)
	fresh := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(fresh, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	j, err := oasjudge.Load(fresh)
	if err != nil {
		t.Fatal(err)
	}
	bodies := validBodies(t, dir)
	paths := map[string]string{"routes": routePN, "trunking": trunk}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		product := []string{"routes", "trunking"}[i%2]
		wg.Go(func() {
			errs <- j.Check(product, "GET", paths[product], 200, bodies[product])
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
