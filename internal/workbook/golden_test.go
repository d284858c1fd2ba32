package workbook_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/workbook"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.golden from the current output")

// TestBadWorkbooks parses each file of the bad corpus and compares every
// error it reports, in order, with the file's golden text.
func TestBadWorkbooks(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("bad corpus has %d files, want at least 12", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			w, err := workbook.Load(file)
			if err == nil {
				t.Fatalf("Load(%s) accepted %d flows, want errors", file, len(w.Flows))
			}
			var es workbook.Errors
			if !errors.As(err, &es) {
				t.Fatalf("Load(%s) error %T %v, want workbook.Errors", file, err, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("errors for %s differ from %s (-want +got):\n%s", file, golden, diff)
			}
			for i, e := range es {
				if e.Pos.File != file || e.Pos.Line == 0 || e.Pos.Col == 0 {
					t.Errorf("error %d %q has position %+v, want %s:line:col", i, e, e.Pos, file)
				}
			}
		})
	}
}

// TestErrorsNeverEchoSecrets checks that inline secrets and tokenised URLs
// are reported without their values.
func TestErrorsNeverEchoSecrets(t *testing.T) {
	secrets := map[string][]string{
		"testdata/bad/inline_secret.yaml":  {"5f2b9c0d1e3a4b5c6d7e8f9a0b1c2d3e", "hunter2"},
		"testdata/bad/url_with_token.yaml": {"abc123secret", "pa55word", "XXXXsecretXXXX", "R0UT1NGK3Y", "t0ps3cr3t", "hooks.slack.com"},
	}
	for file, values := range secrets {
		_, err := workbook.Load(file)
		if err == nil {
			t.Fatalf("Load(%s) = nil error, want errors", file)
		}
		for _, v := range values {
			if strings.Contains(err.Error(), v) {
				t.Errorf("errors for %s contain the secret %q:\n%v", file, v, err)
			}
		}
		if n := strings.Count(err.Error(), "\n") + 1; n < len(values)-1 {
			t.Errorf("errors for %s: %d lines, want one per planted secret:\n%v", file, n, err)
		}
	}
}

// TestAllErrorsAtOnce checks that one file with many problems reports each.
func TestAllErrorsAtOnce(t *testing.T) {
	_, err := workbook.Load("testdata/bad/unknown_reference.yaml")
	var es workbook.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v, want workbook.Errors", err)
	}
	if len(es) < 10 {
		t.Errorf("got %d errors, want every problem in the file (at least 10):\n%v", len(es), err)
	}
}

// TestValidateBuilt checks the same rules apply to a workbook built in code,
// without positions.
func TestValidateBuilt(t *testing.T) {
	w := &workbook.Workbook{Version: 1, Program: "p"}
	err := w.Validate()
	if err == nil {
		t.Fatal("Validate() of a workbook without regions or flows = nil, want errors")
	}
	want := "workbook: regions: missing; write regions: here\nworkbook: flows: missing; write flows: here"
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Validate() (-want +got):\n%s", diff)
	}
}

// FuzzParse checks that Parse never panics and that any workbook it accepts
// also passes Validate, so behaviour built on a parsed workbook can rely on
// the rules.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/bad/*.yaml")
	seeds = append(seeds, example)
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := workbook.Parse("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("error with empty text")
			}
			return
		}
		if err := w.Validate(); err != nil {
			t.Fatalf("Parse accepted a workbook Validate rejects: %v", err)
		}
	})
}
