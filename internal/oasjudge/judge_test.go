package oasjudge_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/oasjudge"
)

const (
	acct     = "AC0123456789abcdef0123456789abcdef"
	listPath = "/2010-04-01/Accounts/" + acct + "/IncomingPhoneNumbers.json"
	routePN  = "/v2/PhoneNumbers/+18001234567"
	trunk    = "/v1/Trunks/TKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
)

func judge(t *testing.T) (*oasjudge.Judge, string) {
	t.Helper()
	dir, err := oasjudge.SpecDir()
	if err != nil {
		t.Fatal(err)
	}
	j, err := oasjudge.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return j, dir
}

// specExample returns the example the spec itself gives for a response, so
// the valid bodies of the tests are Twilio's own wherever Twilio's are complete.
func specExample(t *testing.T, dir, file, tmpl, method, status, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct { // a path item also holds "servers" and such, hence RawMessage
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var op struct {
		Responses map[string]struct {
			Content map[string]struct {
				Examples map[string]struct{ Value json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(doc.Paths[tmpl][method], &op); err != nil {
		t.Fatalf("%s %s %s: %v", file, method, tmpl, err)
	}
	v := op.Responses[status].Content["application/json"].Examples[name].Value
	if len(v) == 0 {
		t.Fatalf("%s has no example %s for %s %s %s", file, name, method, tmpl, status)
	}
	return v
}

// validBodies are complete, correct responses: the spec's examples for the
// v1/v2 resources, and for the 2010 list a hand-built one, because Twilio's
// example there sends "" for SIDs whose pattern forbids it.
func validBodies(t *testing.T, dir string) map[string][]byte {
	list, err := os.ReadFile("testdata/list_incoming_phone_number.json")
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"api":      list,
		"routes":   specExample(t, dir, "twilio_routes_v2.json", "/v2/PhoneNumbers/{PhoneNumber}", "get", "200", "fetch"),
		"trunking": specExample(t, dir, "twilio_trunking_v1.json", "/v1/Trunks/{Sid}", "get", "200", "fetch"),
	}
}

// mutate edits a JSON body through a JSON pointer-like path of keys and
// indices; set deletes the member when value is the sentinel del.
type del struct{}

func mutate(t *testing.T, body []byte, path []any, value any) []byte {
	t.Helper()
	var root any
	if err := json.Unmarshal(body, &root); err != nil {
		t.Fatal(err)
	}
	cur := root
	for _, k := range path[:len(path)-1] {
		switch k := k.(type) {
		case string:
			cur = cur.(map[string]any)[k]
		case int:
			cur = cur.([]any)[k]
		}
	}
	m := cur.(map[string]any)
	last := path[len(path)-1].(string)
	if _, ok := value.(del); ok {
		delete(m, last)
	} else {
		m[last] = value
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pointers extracts the JSON pointers a Check error names, one per problem line.
func pointers(err error) []string {
	if err == nil {
		return nil
	}
	var ps []string
	for _, line := range strings.Split(err.Error(), "\n")[1:] {
		ptr, _, _ := strings.Cut(strings.TrimSpace(line), ": ")
		ps = append(ps, ptr)
	}
	sort.Strings(ps)
	return ps
}

func TestValidBodiesPass(t *testing.T) {
	j, dir := judge(t)
	bodies := validBodies(t, dir)
	for _, tc := range []struct{ product, method, path string }{
		{"api", "GET", listPath},
		{"routes", "GET", routePN},
		{"trunking", "GET", trunk},
	} {
		if err := j.Check(tc.product, tc.method, tc.path, 200, bodies[tc.product]); err != nil {
			t.Errorf("Check(%s %s %s) of a valid body: %v", tc.product, tc.method, tc.path, err)
		}
	}
	// A documented 204 with an empty body, and nulls wherever nullable.
	if err := j.Check("trunking", "DELETE", trunk, 204, nil); err != nil {
		t.Errorf("empty 204: %v", err)
	}
	nulls := mutate(t, bodies["trunking"], []any{"recording"}, nil)
	nulls = mutate(t, nulls, []any{"links"}, nil)
	nulls = mutate(t, nulls, []any{"transfer_mode"}, "enable-all")
	if err := j.Check("trunking", "GET", trunk, 200, nulls); err != nil {
		t.Errorf("nullable members set to null: %v", err)
	}
}

func TestCheckFindsProblems(t *testing.T) {
	j, dir := judge(t)
	bodies := validBodies(t, dir)
	ipn := []any{"incoming_phone_numbers", 0}
	at := func(keys ...any) []any { return append(append([]any{}, ipn...), keys...) }
	for _, tc := range []struct {
		name    string
		product string
		path    []any
		value   any
		want    string // the pointer the error must name
		reason  string // and a word of its reason
	}{
		{"missing property", "trunking", []any{"friendly_name"}, del{}, "/friendly_name", "missing"},
		{"missing nested property", "api", at("capabilities", "fax"), del{}, "/incoming_phone_numbers/0/capabilities/fax", "missing"},
		{"missing list wrapper property", "api", []any{"page_size"}, del{}, "/page_size", "missing"},
		{"extra property", "routes", []any{"region"}, "us1", "/region", "not in the spec"},
		{"extra nested property", "api", at("capabilities", "rcs"), true, "/incoming_phone_numbers/0/capabilities/rcs", "not in the spec"},
		{"string where integer", "api", []any{"page"}, "0", "/page", "integer"},
		{"fraction where integer", "api", []any{"page_size"}, 50.5, "/page_size", "integer"},
		{"null where not nullable", "api", []any{"start"}, nil, "/start", "nullable"},
		{"v2010 date in RFC 3339", "api", at("date_created"), "2015-07-30T23:19:04Z", "/incoming_phone_numbers/0/date_created", "RFC 2822"},
		{"v2010 date with wrong weekday", "api", at("date_updated"), "Fri, 30 Jul 2015 23:19:04 +0000", "/incoming_phone_numbers/0/date_updated", "RFC 2822"},
		{"v1 date in RFC 2822", "trunking", []any{"date_created"}, "Thu, 30 Jul 2015 23:19:04 +0000", "/date_created", "RFC 3339"},
		{"v2 date in RFC 2822", "routes", []any{"date_updated"}, "Thu, 30 Jul 2015 23:19:04 +0000", "/date_updated", "RFC 3339"},
		{"bad enum", "trunking", []any{"transfer_mode"}, "sometimes", "/transfer_mode", "allowed values"},
		{"bad nested enum", "api", at("voice_method"), "PUT", "/incoming_phone_numbers/0/voice_method", "allowed values"},
		{"SID of the wrong kind", "routes", []any{"sid"}, "PN0123456789abcdef0123456789abcdef", "/sid", "regular expression"},
		{"empty SID", "api", at("trunk_sid"), "", "/incoming_phone_numbers/0/trunk_sid", "regular expression"},
		{"bad uri", "trunking", []any{"url"}, "http://a b", "/url", "URI"},
		{"object where string", "routes", []any{"voice_region"}, map[string]any{"name": "au1"}, "/voice_region", "string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := map[string]string{"api": listPath, "routes": routePN, "trunking": trunk}[tc.product]
			body := mutate(t, bodies[tc.product], tc.path, tc.value)
			err := j.Check(tc.product, "GET", path, 200, body)
			if err == nil {
				t.Fatalf("Check passed %s", body)
			}
			if !strings.Contains(err.Error(), tc.want+": ") || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error does not name %s (%s):\n%v", tc.want, tc.reason, err)
			}
		})
	}
}

func TestCheckListsAllProblems(t *testing.T) {
	j, dir := judge(t)
	body := validBodies(t, dir)["trunking"]
	body = mutate(t, body, []any{"secure"}, del{})
	body = mutate(t, body, []any{"sip_domain"}, "x.example")
	body = mutate(t, body, []any{"account_sid"}, 7)
	body = mutate(t, body, []any{"date_updated"}, "yesterday")
	err := j.Check("trunking", "GET", trunk, 200, body)
	want := []string{"/account_sid", "/date_updated", "/secure", "/sip_domain"}
	if diff := cmp.Diff(want, pointers(err)); diff != "" {
		t.Errorf("pointers named (-want +got):\n%s\nerror: %v", diff, err)
	}
}

func TestCheckStatusAndBodyShape(t *testing.T) {
	j, dir := judge(t)
	valid := validBodies(t, dir)["trunking"]
	for _, tc := range []struct {
		name   string
		method string
		status int
		body   string
		want   string
	}{
		{"non-empty 204", "DELETE", 204, "{}", "documents no body"},
		{"whitespace 204", "DELETE", 204, "\n", "documents no body"},
		{"undocumented status", "GET", 404, `{"code":20404,"message":"not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`, "does not document this status"},
		{"200 where the spec has 204", "DELETE", 200, "{}", "does not document this status"},
		{"empty 200", "GET", 200, "", "body is empty"},
		{"not JSON", "GET", 200, "<Response/>", "not JSON"},
		{"trailing data", "GET", 200, string(valid) + "{}", "after its JSON value"},
		{"array for an object", "GET", 200, "[]", "(root)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := j.Check("trunking", tc.method, trunk, tc.status, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
