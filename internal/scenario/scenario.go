// Package scenario is what a drill rehearses: a versioned YAML file that
// embeds the emulator's faults and traffic documents as they are, the
// sample apps' behaviour, changes during the drill and the outcome the
// team expects, with regions written as the roles primary and standby so
// one file fits every flow. The built-in library is embedded; teams copy
// and edit it. Kept apart from package drill so the parser can be fuzzed
// without the whole engine linked in.
package scenario

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// Version is the scenario file format this build reads.
const Version = 1

// Outcomes a drill ends with, which a scenario may expect.
const (
	OutcomeCompleted   = "completed"    // every cohort moved, proven, gated go, and validated
	OutcomeRolledBack  = "rolled_back"  // a gate said no-go and the cohort was rolled back
	OutcomePaused      = "paused"       // a gate was inconclusive or a no-go paused the run
	OutcomeFailed      = "failed"       // the run or its validation failed
	OutcomeRefused     = "refused"      // no executable plan (not ready, stale, not approved)
	OutcomeNotRestored = "not_restored" // live: a touched resource did not return to its snapshot
)

var outcomes = []string{OutcomeCompleted, OutcomeRolledBack, OutcomePaused, OutcomeFailed, OutcomeRefused, OutcomeNotRestored}

//go:embed scenarios/*.yaml
var library embed.FS

// Scenario is what a drill rehearses: the emulator's faults and traffic
// (the documents of docs/emulator.md, embedded as they are), the sample
// apps' behaviour, changes during the drill, and the outcome the team
// expects. Regions may be written as the roles "primary" and "standby",
// resolved against the workbook, so one file fits every flow.
type Scenario struct {
	Version     int    `yaml:"version"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Expect      Expect `yaml:"expect"`
	// TrafficDoc is an emulator traffic document; numbers may be left out
	// to call the flow's numbers.
	TrafficDoc yaml.Node `yaml:"traffic"`
	// FaultsDoc is the emulator faults document applied when the drill starts.
	FaultsDoc yaml.Node `yaml:"faults"`
	// Apps sets the sample apps' behaviour per region (or role) at the start.
	Apps map[string]AppMode `yaml:"apps"`
	// Events change faults or apps during the drill.
	Events []Event `yaml:"events"`
	// DetectWithin bounds how long the drill waits for a trigger to fire
	// before a stand-in declares the incident (recorded as a gap); default
	// the longest trigger `for` of the flow plus 60s.
	DetectWithin Duration `yaml:"detect_within"`
	// Validate is how long calls are watched after the move to validate
	// the flow (default 5s).
	Validate Duration `yaml:"validate"`

	// Resolved documents (after Resolve).
	traffic *twilioemu.Traffic
	faults  *twilioemu.Faults
	file    string
}

// Expect is the outcome the scenario should end with and the gap kinds its
// report should hold.
type Expect struct {
	Outcome string   `yaml:"outcome"`
	Gaps    []string `yaml:"gaps"`
}

// AppMode is a sample app's behaviour: ok, fail, slow or bad-twiml for the
// voice URL and the fallback URL.
type AppMode struct {
	Voice    string `yaml:"voice"`
	Fallback string `yaml:"fallback"`
}

// Event is a change during the drill: when the given cohort (1-based, in
// plan order) starts, or After the drill started.
type Event struct {
	Cohort    int                `yaml:"cohort"`
	After     Duration           `yaml:"after"`
	FaultsDoc yaml.Node          `yaml:"faults"`
	Apps      map[string]AppMode `yaml:"apps"`
	Note      string             `yaml:"note"`

	faults *twilioemu.Faults
}

// Duration is a Go duration string in a scenario file.
type Duration time.Duration

// UnmarshalYAML reads "30s", "5m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a Go duration such as 30s or 5m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Library lists the built-in scenarios' names, sorted.
func Library() []string {
	es, _ := fs.ReadDir(library, "scenarios")
	var out []string
	for _, e := range es {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// LibraryFile returns a built-in scenario's file, for `voicedr drill
// scenarios --write DIR` (the team copies and edits them).
func LibraryFile(name string) ([]byte, error) {
	b, err := library.ReadFile(path.Join("scenarios", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("scenario %q is not in the library (%s); or give a file path", name, strings.Join(Library(), ", "))
	}
	return b, nil
}

// Load reads a scenario by library name or file path.
func Load(nameOrPath string) (*Scenario, []byte, error) {
	if !strings.ContainsAny(nameOrPath, `/\`) && !strings.HasSuffix(nameOrPath, ".yaml") {
		b, err := LibraryFile(nameOrPath)
		if err != nil {
			return nil, nil, err
		}
		s, err := Parse(nameOrPath+".yaml", b)
		return s, b, err
	}
	b, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read scenario: %w", err)
	}
	s, err := Parse(nameOrPath, b)
	return s, b, err
}

// yamlType is the Go type yaml.v3 names in its errors, which mean nothing
// to the person editing the file.
var yamlType = regexp.MustCompile(` in type [\w.\[\]*]+`)

// Parse decodes a scenario strictly (unknown keys are errors) and
// checks it; errors name the file, line and field.
func Parse(file string, b []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty; start from a library scenario (voicedr drill scenarios --write DIR)", file)
		}
		msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "yaml: "), "unmarshal errors:\n  ", "")
		msg = yamlType.ReplaceAllString(msg, "")
		return nil, fmt.Errorf("%s: %s (the format: voicedr drill scenarios --write DIR)", file, msg)
	}
	s.file = file
	at := func(n *yaml.Node, field, format string, args ...any) error {
		line := 1
		if n != nil && n.Line > 0 {
			line = n.Line
		}
		return fmt.Errorf("%s:%d: %s: %s", file, line, field, fmt.Sprintf(format, args...))
	}
	if s.Version != Version {
		return nil, at(nil, "version", "%d: this build reads version %d; write version: 1", s.Version, Version)
	}
	if s.Name == "" {
		return nil, at(nil, "name", "missing; name the scenario")
	}
	if s.Expect.Outcome != "" && !slices.Contains(outcomes, s.Expect.Outcome) {
		return nil, at(nil, "expect.outcome", "%q: use one of %s", s.Expect.Outcome, strings.Join(outcomes, ", "))
	}
	for role, m := range s.Apps {
		if err := m.check(); err != nil {
			return nil, at(nil, "apps."+role, "%v", err)
		}
	}
	for i, e := range s.Events {
		if (e.Cohort > 0) == (e.After > 0) {
			return nil, at(nil, fmt.Sprintf("events[%d]", i), "set exactly one of cohort (1-based) or after (a duration)")
		}
		for role, m := range e.Apps {
			if err := m.check(); err != nil {
				return nil, at(nil, fmt.Sprintf("events[%d].apps.%s", i, role), "%v", err)
			}
		}
	}
	// Decode the embedded emulator documents now, with placeholder roles,
	// so a typo is reported when the file is read, not mid-drill.
	if _, err := s.resolve(map[string]string{"primary": "us1", "standby": "ie1"}, nil, []string{"+15005550006"}); err != nil {
		return nil, err
	}
	return &s, nil
}

func (m AppMode) check() error {
	for _, b := range []string{m.Voice, m.Fallback} {
		switch sampleapp.Behavior(b) {
		case "", sampleapp.OK, sampleapp.Fail, sampleapp.Slow, sampleapp.BadTwiML:
		default:
			return fmt.Errorf("%q: use ok, fail, slow or bad-twiml", b)
		}
	}
	return nil
}

// Resolve turns roles into the workbook's regions, revoked_keys roles into
// the drill's API key SIDs, and fills the traffic's numbers with the flow's
// when the scenario leaves them out.
func (s *Scenario) Resolve(roles map[string]string, keys map[string]string, flowNumbers []string) error {
	_, err := s.resolve(roles, keys, flowNumbers)
	return err
}

func (s *Scenario) resolve(roles, keys map[string]string, flowNumbers []string) (*Scenario, error) {
	var err error
	if s.faults, err = faultsDoc(s.file, "faults", &s.FaultsDoc, roles, keys); err != nil {
		return nil, err
	}
	for i := range s.Events {
		if s.Events[i].faults, err = faultsDoc(s.file, fmt.Sprintf("events[%d].faults", i), &s.Events[i].FaultsDoc, roles, keys); err != nil {
			return nil, err
		}
	}
	if s.TrafficDoc.Kind == 0 {
		s.traffic = nil
		return s, nil
	}
	m, err := nodeMap(&s.TrafficDoc)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: traffic: %v", s.file, s.TrafficDoc.Line, err)
	}
	if _, ok := m["numbers"]; !ok {
		m["numbers"] = map[string]any{"list": flowNumbers}
	}
	b, _ := json.Marshal(m)
	if s.traffic, err = twilioemu.ParseTraffic(b); err != nil {
		return nil, fmt.Errorf("%s:%d: traffic: %v", s.file, s.TrafficDoc.Line, err)
	}
	return s, nil
}

// faultsDoc decodes an embedded faults document (nil when absent) with its
// roles resolved.
func faultsDoc(file, field string, n *yaml.Node, roles, keys map[string]string) (*twilioemu.Faults, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	m, err := nodeMap(n)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %s: %v", file, n.Line, field, err)
	}
	if rs, ok := m["regions"].([]any); ok {
		for _, r := range rs {
			if rm, ok := r.(map[string]any); ok {
				if v, ok := rm["region"].(string); ok && roles[v] != "" {
					rm["region"] = roles[v]
				}
			}
		}
	}
	if ks, ok := m["revoked_keys"].([]any); ok {
		for i, k := range ks {
			if v, ok := k.(string); ok {
				if sid := keys[roleOr(roles, v)]; sid != "" {
					ks[i] = sid
				} else if keys != nil && !strings.HasPrefix(v, "SK") {
					return nil, fmt.Errorf("%s:%d: %s.revoked_keys[%d] %q: write a role (primary, standby), a region or an SK… key SID", file, n.Line, field, i, v)
				}
			}
		}
	}
	b, _ := json.Marshal(m)
	f, err := twilioemu.ParseFaults(b)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %s: %v", file, n.Line, field, err)
	}
	return f, nil
}

// roleOr maps a role to its region; anything else is returned as written.
func roleOr(roles map[string]string, v string) string {
	if r := roles[v]; r != "" {
		return r
	}
	return v
}

func nodeMap(n *yaml.Node) (map[string]any, error) {
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Mode is the sample app mode for a scenario's AppMode: unnamed fields
// stay ok.
func (m AppMode) Mode() sampleapp.Mode {
	out := sampleapp.DefaultMode()
	if m.Voice != "" {
		out.Voice = sampleapp.Behavior(m.Voice)
	}
	if m.Fallback != "" {
		out.Fallback = sampleapp.Behavior(m.Fallback)
	}
	return out
}

// RegionOf resolves a role or region name used as a key under apps.
func RegionOf(roles map[string]string, key string) (region.Region, error) {
	return region.Parse(roleOr(roles, key))
}

// Traffic is the resolved traffic document (nil: none).
func (s *Scenario) Traffic() *twilioemu.Traffic { return s.traffic }

// Faults is the resolved faults document applied at the start (nil: none).
func (s *Scenario) Faults() *twilioemu.Faults { return s.faults }

// Faults is the event's resolved faults document (nil: unchanged).
func (e *Event) Faults() *twilioemu.Faults { return e.faults }
