package report_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/voicedr/voicedr/internal/report"
)

// TestReadRoundTrip: a report re-rendered from its stored JSON is the same
// report. Sparse drills too: JSON writes nil lists as [], which reads back
// as empty, the same for every renderer.
func TestReadRoundTrip(t *testing.T) {
	for name, d := range map[string]*report.Drill{
		"fixture": fixture(),
		"hostile": hostile(),
		"sparse":  {Version: report.Version, ID: "d", Gates: []report.GateSeries{{Gate: "g"}}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := d.JSON()
			if err != nil {
				t.Fatal(err)
			}
			got, err := report.Read(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(d, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Read(JSON()) (-want +got):\n%s", diff)
			}
			again, err := got.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Error("JSON of the read report differs from the JSON it was read from")
			}
		})
	}
}

// TestJSONWritesEmptyLists: consumers take the length of the lists a
// report always has, so they are [] and never null.
func TestJSONWritesEmptyLists(t *testing.T) {
	d := &report.Drill{Version: report.Version, Gates: []report.GateSeries{{Gate: "g"}}}
	b, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("null")) {
		t.Errorf("JSON has a null list:\n%s", b)
	}
	if d.Timeline != nil || d.Gates[0].Points != nil {
		t.Error("JSON changed the caller's drill")
	}
}

// TestReadRejects checks each way a report is refused, and that the error
// says what is wrong: the unknown field by its path, the version by number.
func TestReadRejects(t *testing.T) {
	good, err := fixture().JSON()
	if err != nil {
		t.Fatal(err)
	}
	// set rewrites the fixture's JSON through a generic map, so each case
	// states only its change.
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		in   []byte
		want string // a regexp the error must match
	}{
		{"unknown top-level field", edit(func(m map[string]any) { m["colour"] = "red" }), `unknown field "colour"`},
		{"unknown nested field", edit(func(m map[string]any) {
			m["gates"].([]any)[1].(map[string]any)["points"].([]any)[2].(map[string]any)["colour"] = "red"
		}), `unknown field "gates\[1\]\.points\[2\]\.colour"`},
		{"unknown field in an object", edit(func(m map[string]any) { m["scenario"].(map[string]any)["author"] = "x" }), `unknown field "scenario\.author"`},
		{"newer version", edit(func(m map[string]any) { m["version"] = 2; m["new_thing"] = 1 }), `version 2 is not supported; this voicedr reads version 1`},
		{"no version", edit(func(m map[string]any) { delete(m, "version") }), `no version field`},
		{"wrong type", edit(func(m map[string]any) { m["calls"].(map[string]any)["placed"] = "many" }), `placed`},
		{"bad time", edit(func(m map[string]any) { m["started"] = "yesterday" }), `read report: .*yesterday`},
		{"trailing data", append(bytes.Clone(good), []byte(`{"version":1}`)...), `data after the report`},
		{"not json", []byte("<html>"), `read report: invalid character`},
		{"empty", nil, `read report: empty input`},
		{"array", []byte(`[]`), `read report: json: cannot unmarshal array`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := report.Read(c.in)
			if err == nil {
				t.Fatalf("Read accepted it: %+v", d)
			}
			if !regexp.MustCompile(c.want).MatchString(err.Error()) {
				t.Errorf("error %q; want it to match %q", err, c.want)
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error %q does not start in lower case", msg)
			}
		})
	}
}

// numeric finds a NaN or infinity in an SVG coordinate; see checkFinite.
var nonFinite = regexp.MustCompile(`\b(?:x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|viewBox)="[^"]*(?:NaN|Inf)`)

// FuzzRead feeds Read arbitrary bytes: it must never panic, and whatever it
// accepts must render in every format without a panic, without NaN in a
// chart, and survive a JSON round trip.
func FuzzRead(f *testing.F) {
	good, err := fixture().JSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"gates":[{"points":[{"value":1e308},{"value":-1e308,"at":"9999-12-31T23:59:59Z"}]}]}`))
	f.Add([]byte(`{"version":1,"rto":{"objective_seconds":1e308,"cohorts":[{"rto_seconds":-5}]},"history":[{},{}]}`))
	f.Add([]byte(`{"version":1,"nope":1}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := report.Read(b)
		if err != nil {
			return
		}
		_ = d.Markdown()
		page, err := d.HTML()
		if err != nil {
			t.Fatalf("HTML of an accepted report: %v", err)
		}
		if m := nonFinite.Find(page); m != nil {
			t.Fatalf("non-finite coordinate in the SVG: %s", m)
		}
		js, err := d.JSON()
		if err != nil {
			t.Fatalf("JSON of an accepted report: %v", err)
		}
		again, err := report.Read(js)
		if err != nil {
			t.Fatalf("Read of its own JSON: %v\n%s", err, js)
		}
		if diff := cmp.Diff(d, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
