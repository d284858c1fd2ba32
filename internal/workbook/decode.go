package workbook

import (
	"cmp"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads and parses the workbook at path.
func Load(path string) (*Workbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read workbook: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a workbook strictly and validates it. name is the file name
// errors carry. On any problem it returns Errors holding every problem found,
// each at its line and column, so one run of validate fixes a file.
func Parse(name string, data []byte) (*Workbook, error) {
	root, err := parseNode(data)
	if err != nil {
		return nil, Errors{{Pos: Pos{File: name, Line: yamlErrLine(err), Col: 1}, Msg: "not valid YAML: " + cleanYAMLErr(err) + "; fix the syntax"}}
	}
	d := &decoder{file: name, pos: map[string]Pos{}}
	w := &Workbook{}
	if root == nil {
		d.errAt(Pos{File: name, Line: 1, Col: 1}, "", "the file is empty; write a workbook starting with version: 1 (see voicedr schema)")
		return nil, d.errs
	}
	d.decode(root, reflect.ValueOf(w).Elem(), "")
	// A value that could not be decoded was left zero; validation would
	// report it again as missing or out of range, so its path is skipped.
	failed := make([]string, 0, len(d.errs))
	for _, e := range d.errs {
		failed = append(failed, e.Field)
	}
	for _, e := range w.validate(d.lookup) {
		if !under(e.Field, failed) {
			d.errs = append(d.errs, e)
		}
	}
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	return w, nil
}

// parseNode parses YAML into a node tree. The tree, not a struct, is decoded
// because it keeps every value's line and column and shows duplicate keys.
// A panic inside the YAML library becomes an error: validate must never
// crash on a hand-edited file.
func parseNode(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("yaml: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

func yamlErrLine(err error) int {
	// yaml.v3 errors read "yaml: line N: ..."; keep N for the position.
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		rest := s[i+5:]
		if j := strings.IndexByte(rest, ':'); j > 0 {
			if n, err := strconv.Atoi(rest[:j]); err == nil {
				return n
			}
		}
	}
	return 1
}

func cleanYAMLErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(s, ": "); strings.HasPrefix(s, "line ") && i > 0 {
		s = s[i+2:]
	}
	return s
}

// decoder walks the node tree into Go values by reflection, recording the
// position of every value under its field path ("flows[0].numbers[1]") so
// validation can point at it.
type decoder struct {
	file string
	errs Errors
	pos  map[string]Pos
}

func (d *decoder) at(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errAt(p Pos, field, msg string) {
	d.errs = append(d.errs, Error{Pos: p, Field: field, Msg: msg})
}

// lookup returns the position of path, or of its nearest recorded parent
// (a missing field is reported where its parent is).
func (d *decoder) lookup(path string) Pos {
	for p := path; ; {
		if pos, ok := d.pos[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			if pos, ok := d.pos[""]; ok {
				return pos
			}
			return Pos{File: d.file}
		}
		p = p[:i]
	}
}

var durationType = reflect.TypeOf(Duration(0))

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.pos[path] = d.at(n)
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		// Aliases would make one value appear at two positions and allow
		// exponential expansion; a workbook is short enough to write out.
		d.errAt(d.at(n), path, "anchors and aliases are not supported; write the value out in full instead")
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value is the zero value; required checks catch it
	}
	switch {
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode {
			d.errAt(d.at(n), path, "want a duration; write a Go duration such as 90s, 5m or 1h instead")
			return
		}
		var dur Duration
		if err := dur.UnmarshalText([]byte(n.Value)); err == nil && dur < 0 {
			d.errAt(d.at(n), path, fmt.Sprintf("%q is negative; write a positive duration such as %s instead", n.Value, -dur))
			return
		}
		if err := dur.UnmarshalText([]byte(n.Value)); err != nil {
			d.errAt(d.at(n), path, fmt.Sprintf("%q is not a duration; write a Go duration such as 90s, 5m or 1h instead", n.Value))
			return
		}
		v.Set(reflect.ValueOf(dur))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errAt(d.at(n), path, "want a list; write it as a YAML list (- item) instead")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errAt(d.at(n), path, "want a single value; write a string instead")
			return
		}
		// Any scalar is taken as written: +14155550100 and +44 are strings
		// here even though YAML would read them as numbers.
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			d.errAt(d.at(n), path, "want true or false; write true or false instead")
			return
		}
		v.SetBool(b)
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			d.errAt(d.at(n), path, "want a whole number; write a number such as 1 instead")
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil {
			d.errAt(d.at(n), path, "want a number; write a number such as 0.25 or 99.5 instead")
			return
		}
		v.SetFloat(f)
	default:
		panic("workbook: unsupported field type " + v.Type().String())
	}
}

// field is a struct field reachable by a YAML key (embedded structs
// flattened, as yaml:",inline" does).
type field struct {
	index []int
}

func fieldsOf(t reflect.Type) (map[string]field, []string) {
	out := map[string]field{}
	var names []string
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int(nil), prefix...), i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if name == "" || name == "-" {
				continue
			}
			out[name] = field{index: idx}
			names = append(names, name)
		}
	}
	walk(t, nil)
	return out, names
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errAt(d.at(n), path, "want a mapping of keys; write key: value lines instead")
		return
	}
	fields, names := fieldsOf(v.Type())
	seen := map[string]Pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		fp := join(path, key)
		if prev, dup := seen[key]; dup {
			d.errAt(d.at(k), fp, fmt.Sprintf("duplicate key (first at line %d); write each key once instead", prev.Line))
			continue
		}
		seen[key] = d.at(k)
		f, ok := fields[key]
		if !ok {
			d.errAt(d.at(k), fp, "unknown key; write one of "+strings.Join(names, ", ")+" instead")
			continue
		}
		d.decode(val, v.FieldByIndex(f.index), fp)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errAt(d.at(n), path, "want a mapping of keys; write key: value lines instead")
		return
	}
	m := reflect.MakeMap(v.Type())
	seen := map[string]Pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fp := fmt.Sprintf("%s[%q]", path, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.errAt(d.at(k), fp, fmt.Sprintf("duplicate key (first at line %d); write each key once instead", prev.Line))
			continue
		}
		seen[k.Value] = d.at(k)
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, fp)
		d.pos[fp] = d.at(k) // point map errors at the key, which is what they are about
		m.SetMapIndex(reflect.ValueOf(k.Value), e)
	}
	v.Set(m)
}

// under reports whether field is one of paths or inside one of them.
func under(field string, paths []string) bool {
	for _, p := range paths {
		if field == p || strings.HasPrefix(field, p+".") || strings.HasPrefix(field, p+"[") {
			return true
		}
	}
	return false
}

// sortedKeys returns a map's keys in order, so errors come out the same
// every run.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Pos is a place in a workbook file. Line and Col are 1-based; zero when the
// workbook did not come from a file (Workbook.Validate on a built value).
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"column"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		if p.File == "" {
			return "workbook"
		}
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem in a workbook: where, which field, what is wrong and
// what to write instead. Msg never contains a secret value.
type Error struct {
	Pos   Pos    `json:"pos"`
	Field string `json:"field"`
	Msg   string `json:"message"`
}

func (e Error) Error() string {
	if e.Field == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Field + ": " + e.Msg
}

// Errors is every problem found in one workbook; it prints one per line.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sort orders errors by position so output follows the file; the sort is
// stable so errors at one position keep the order they were found in.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
}
