package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"
)

// JSON renders the report as indented JSON ending in a newline. The output
// is stable (struct field order, no maps), so a stored report diffs cleanly
// and an evidence bundle's digest of it does not drift. Lists the model
// always carries are written as [] rather than null, so a consumer can take
// their length without a null check.
func (d *Drill) JSON() ([]byte, error) {
	if d == nil {
		return nil, errors.New("render report json: no drill")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// The file is read by people and jq, never pasted into HTML: "<" and
	// ">" in a gate's text stay readable instead of \u003c.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d.normalized()); err != nil {
		return nil, fmt.Errorf("render report json: %w", err)
	}
	return b.Bytes(), nil
}

// normalized is a shallow copy of d whose always-present lists are empty
// rather than nil. The copy leaves the caller's Drill as it was.
func (d *Drill) normalized() *Drill {
	c := *d
	c.Timeline = orEmpty(c.Timeline)
	c.Gates = orEmpty(c.Gates)
	c.Gaps = orEmpty(c.Gaps)
	c.Actions = orEmpty(c.Actions)
	c.Calls.Phases = orEmpty(c.Calls.Phases)
	c.RTO.Cohorts = orEmpty(c.RTO.Cohorts)
	if len(c.Gates) > 0 {
		gates := slices.Clone(c.Gates)
		for i := range gates {
			gates[i].Points = orEmpty(gates[i].Points)
		}
		c.Gates = gates
	}
	return &c
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Read parses a report written by JSON. It is strict, as the workbook is:
// an unknown field is an error that names it by its path (a typo or a
// report from a newer voicedr must not be silently half-read), trailing
// data is an error, and the version must be one this voicedr renders.
func Read(b []byte) (*Drill, error) {
	// The version comes first: a report from a newer voicedr would also
	// carry unknown fields, and "unsupported version" is the useful error.
	var head struct {
		Version *int `json:"version"`
	}
	// A decoder, not Unmarshal, so that trailing data gets its own error
	// below rather than a syntax error here.
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&head); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("read report: empty input")
		}
		return nil, fmt.Errorf("read report: %w", err)
	}
	switch {
	case head.Version == nil:
		return nil, errors.New("read report: no version field; is this a voicedr drill report?")
	case *head.Version != Version:
		return nil, fmt.Errorf("read report: version %d is not supported; this voicedr reads version %d", *head.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d Drill
	if err := dec.Decode(&d); err != nil {
		if path := unknownField(b); path != "" {
			return nil, fmt.Errorf("read report: unknown field %q", path)
		}
		return nil, fmt.Errorf("read report: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("read report: data after the report's closing brace")
	}
	return &d, nil
}

var timeType = reflect.TypeFor[time.Time]()

// unknownField finds the path of a key in b that Drill has no field for,
// such as "gates[1].points[0].colour", or "" when there is none. The
// standard decoder names only the key, which in a report with a dozen
// nested lists does not say where to look.
func unknownField(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return ""
	}
	return walkUnknown(reflect.TypeFor[Drill](), v, "")
}

func walkUnknown(t reflect.Type, v any, path string) string {
	switch t.Kind() {
	case reflect.Pointer:
		return walkUnknown(t.Elem(), v, path)
	case reflect.Slice:
		items, _ := v.([]any)
		for i, item := range items {
			if p := walkUnknown(t.Elem(), item, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok || t == timeType {
			return ""
		}
		// Sorted keys make the answer the same on every run when a
		// report has more than one unknown field.
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			f, ok := jsonField(t, k)
			if !ok {
				return p
			}
			if sub := walkUnknown(f.Type, obj[k], p); sub != "" {
				return sub
			}
		}
	}
	return ""
}

// jsonField finds the struct field that encoding/json would decode key
// into. Like encoding/json it prefers an exact match and falls back to a
// case-insensitive one, so this walk and the decoder agree on what is known.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	var folded reflect.StructField
	found := false
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if !found && strings.EqualFold(name, key) {
			folded, found = f, true
		}
	}
	return folded, found
}
