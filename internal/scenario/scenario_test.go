package scenario_test

import (
	"strings"
	"testing"

	"github.com/voicedr/voicedr/internal/scenario"
)

// TestLibraryParses: every library scenario is a valid file that states
// its expected outcome.
func TestLibraryParses(t *testing.T) {
	names := scenario.Library()
	if len(names) != 9 {
		t.Errorf("library has %d scenarios (%v); want the 9 the issue lists", len(names), names)
	}
	for _, name := range names {
		sc, _, err := scenario.Load(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if sc.Name != name || sc.Expect.Outcome == "" || sc.Description == "" {
			t.Errorf("%s: name %q, expected outcome %q, description %q; want all set, the name matching the file", name, sc.Name, sc.Expect.Outcome, sc.Description)
		}
	}
}

// TestBadScenariosNameFileLineAndField: mistakes are reported where they
// are, with what to write instead.
func TestBadScenariosNameFileLineAndField(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown key", "version: 1\nname: x\nfautls: {}\n", "s.yaml: line 3: field fautls not found"},
		{"version", "version: 2\nname: x\n", "s.yaml:1: version: 2: this build reads version 1"},
		{"outcome", "version: 1\nname: x\nexpect: {outcome: fine}\n", `expect.outcome: "fine": use one of completed`},
		{"bad fault", "version: 1\nname: x\nfaults:\n  version: 1\n  regions: [{region: primary, product: voise, down: \"503\"}]\n", `s.yaml:4: faults: faults document: regions[0].product "voise"`},
		{"bad region", "version: 1\nname: x\nfaults:\n  version: 1\n  regions: [{region: mars, product: voice, down: \"503\"}]\n", "s.yaml:4: faults: faults document: regions[0].region"},
		{"traffic bound", "version: 1\nname: x\ntraffic:\n  version: 1\n  calls_per_second: 5\n", "s.yaml:4: traffic: traffic document: max_calls or for"},
		{"event when", "version: 1\nname: x\nevents: [{note: hi}]\n", "events[0]: set exactly one of cohort"},
		{"app mode", "version: 1\nname: x\napps: {standby: {voice: broken}}\n", `apps.standby: "broken": use ok, fail, slow or bad-twiml`},
		{"duration", "version: 1\nname: x\nvalidate: soon\n", `"soon" is not a Go duration`},
		{"empty", "", "the file is empty"},
	} {
		_, err := scenario.Parse("s.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v; want an error containing %q", c.name, err, c.want)
		}
	}
}

// FuzzParse: no input makes the parser panic.
func FuzzParse(f *testing.F) {
	for _, name := range scenario.Library() {
		b, _ := scenario.LibraryFile(name)
		f.Add(b)
	}
	f.Add([]byte("version: 1\nname: x\nevents: [{cohort: 1, faults: {version: 1, revoked_keys: [standby]}}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = scenario.Parse("fuzz.yaml", b)
	})
}
