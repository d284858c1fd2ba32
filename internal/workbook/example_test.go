package workbook_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/voicedr/voicedr/internal/workbook"
)

const example = "../../examples/voicedr.yaml"

func TestExampleValidates(t *testing.T) {
	w, err := workbook.Load(example)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", example, err)
	}
	var flows []string
	for _, f := range w.Flows {
		flows = append(flows, f.Name)
	}
	want := []string{"support", "sales", "contact-center", "dispatch", "billing", "marketing"}
	if diff := cmp.Diff(want, flows); diff != "" {
		t.Errorf("flows (-want +got):\n%s", diff)
	}
	// The example documents every section, so each top-level field is set.
	v := reflect.ValueOf(*w)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("example leaves section %s empty; it must use every section", v.Type().Field(i).Name)
		}
	}
	if got := w.Regions[1].App.TwiMLApp; got != "support-ivr" {
		t.Errorf("ie1 twiml_app = %q, want support-ivr", got)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(workbook.Schema()))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(workbook.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(workbook.SchemaID)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return s
}

// yamlToJSON converts YAML to the JSON value an editor's language server
// would check against the schema.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestSchemaAcceptsExample(t *testing.T) {
	s := compileSchema(t)
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(yamlToJSON(t, data)); err != nil {
		t.Errorf("schema rejects %s: %v", example, err)
	}
}

func TestSchemaRejects(t *testing.T) {
	s := compileSchema(t)
	for name, file := range map[string]string{
		"unknown key":  "testdata/bad/unknown_key.yaml",
		"inline token": "testdata/bad/inline_secret.yaml",
		"bad enum":     "testdata/bad/missing_standby.yaml",
		"bad duration": "testdata/bad/bad_duration.yaml",
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(yamlToJSON(t, data)); err == nil {
			t.Errorf("%s: schema accepts %s, want a rejection", name, file)
		}
	}
}

func TestSchemaShape(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(workbook.Schema(), &s); err != nil {
		t.Fatal(err)
	}
	if got := s["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", got)
	}
	if got := s["additionalProperties"]; got != false {
		t.Errorf("additionalProperties = %v, want false", got)
	}
	props := s["properties"].(map[string]any)
	regions := props["regions"].(map[string]any)["items"].(map[string]any)["properties"].(map[string]any)
	for _, k := range []string{"region", "edge", "account_sid", "api_key", "api_secret", "auth_token", "role", "app"} {
		p, ok := regions[k].(map[string]any)
		if !ok {
			t.Errorf("regions item has no property %s", k)
			continue
		}
		if d, _ := p["description"].(string); strings.TrimSpace(d) == "" {
			t.Errorf("regions item property %s has no description", k)
		}
	}
}

// TestParseAcceptsPlainForms checks forms people write by hand: unquoted
// E.164 numbers and country codes (YAML would read them as integers) and
// empty optional sections.
func TestParseAcceptsPlainForms(t *testing.T) {
	src := `version: 1
program: p
regions:
  - {region: us1, role: primary}
  - {region: IE1, role: standby, edge: dublin}
flows:
  - name: support
    criticality: critical
    numbers: [+14155550100, +442071838750]
    selectors: {countries: [+44]}
    rto: 1h30m
    cohorts:
      - {name: all, share: 1, countries: [+1]}
number_tags:
  +14155550100: [vip]
governance:
hooks: []
`
	w, err := workbook.Parse("plain.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	if diff := cmp.Diff([]string{"+14155550100", "+442071838750"}, w.Flows[0].Numbers); diff != "" {
		t.Errorf("numbers (-want +got):\n%s", diff)
	}
	if got, want := w.Flows[0].RTO.String(), "1h30m0s"; got != want {
		t.Errorf("rto = %s, want %s", got, want)
	}
	if got := w.NumberTags["+14155550100"]; len(got) != 1 || got[0] != "vip" {
		t.Errorf("number_tags = %v, want [vip]", w.NumberTags)
	}
}
