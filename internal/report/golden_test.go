package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name, or rewrites it under -update.
// The diff is line by line so a drift in one table cell is easy to spot.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s drifted (-want +got):\n%s", name, cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")))
	}
}

// TestGolden pins all three renderings of the fixture. Each is rendered
// twice: the output must be stable, or the goldens (and the digests in an
// evidence bundle) would flap.
func TestGolden(t *testing.T) {
	d := fixture()
	t.Run("json", func(t *testing.T) {
		got, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := d.JSON()
		if !bytes.Equal(got, again) {
			t.Error("JSON is not stable across two renderings")
		}
		golden(t, "report.json.golden", got)
	})
	t.Run("markdown", func(t *testing.T) {
		got := d.Markdown()
		if again := d.Markdown(); got != again {
			t.Error("Markdown is not stable across two renderings")
		}
		golden(t, "report.md.golden", []byte(got))
	})
	t.Run("html", func(t *testing.T) {
		got, err := d.HTML()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := d.HTML()
		if !bytes.Equal(got, again) {
			t.Error("HTML is not stable across two renderings")
		}
		golden(t, "report.html.golden", got)
	})
}

// TestGoldenLive pins the Markdown of a live drill: its touched resources
// (one not restored) and the Calls and Alerts source with its caveat.
func TestGoldenLive(t *testing.T) {
	d := fixture()
	d.Kind = "live"
	d.Calls.Source = "Calls and Alerts API"
	d.StandIns = nil
	d.Touched = []report.Touched{
		{Resource: "number:+15005550006", Before: "us1 https://us1.app.acme.example/voice", After: "us1 https://us1.app.acme.example/voice", Restored: true},
		{Resource: "trunk:TK0042", Before: "us1 origination", After: "ie1 origination", Restored: false},
	}
	golden(t, "live.md.golden", []byte(d.Markdown()))
}

// TestWriteFiles checks the three files land in a directory that did not
// exist yet, each holding what its renderer returns.
func TestWriteFiles(t *testing.T) {
	d := fixture()
	dir := filepath.Join(t.TempDir(), "reports", d.ID)
	got, err := d.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"report.json": filepath.Join(dir, "report.json"),
		"report.md":   filepath.Join(dir, "report.md"),
		"report.html": filepath.Join(dir, "report.html"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("WriteFiles paths (-want +got):\n%s", diff)
	}
	js, _ := d.JSON()
	page, _ := d.HTML()
	bodies := map[string][]byte{"report.json": js, "report.md": []byte(d.Markdown()), "report.html": page}
	for name, path := range got {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, bodies[name]) {
			t.Errorf("%s on disk differs from its renderer's output", name)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the report directory holds %v; want only the three reports (no temporary files)", names)
	}
}
