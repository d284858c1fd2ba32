package oasjudge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Check judges the body of a response with the given status to the request
// (product, method, path). It returns nil if the body is exactly what the
// spec documents, read strictly (see the package comment); otherwise an error
// whose first line names the request and each further line one problem,
// prefixed by the JSON pointer of the offending value.
func (j *Judge) Check(product, method, path string, status int, body []byte) error {
	r, op, err := j.find(product, method, path)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("oasjudge: %s %s %s (%s %s) status %d", product, method, path, op.id, r.template, status)
	resp, ok := op.responses[status]
	if !ok {
		documented := make([]int, 0, len(op.responses))
		for s := range op.responses {
			documented = append(documented, s)
		}
		sort.Ints(documented)
		return fmt.Errorf("%s: the spec does not document this status (only %v)", where, documented)
	}
	if len(resp.media) == 0 {
		if len(body) != 0 {
			return fmt.Errorf("%s: the spec documents no body, got %d bytes: %s", where, len(body), abbrev(string(body)))
		}
		return nil
	}
	if resp.schema == nil {
		return fmt.Errorf("%s: the spec documents no application/json schema for this status, only %v", where, resp.media)
	}
	value, err := decodeJSON(body)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	err = resp.schema.VisitJSON(value,
		openapi3.MultiErrors(), // report every problem, not just the first
		openapi3.DisableSchemaErrorDetails(),
		openapi3.WithStringFormatValidators(formats),
	)
	if err == nil {
		return nil
	}
	problems := flatten(nil, err)
	sort.SliceStable(problems, func(a, b int) bool { return problems[a].pointer < problems[b].pointer })
	errs := make([]error, 0, len(problems)+1)
	errs = append(errs, fmt.Errorf("%s: %d problem(s):", where, len(problems)))
	for _, p := range problems {
		errs = append(errs, p)
	}
	return errors.Join(errs...)
}

// decodeJSON reads exactly one JSON value. Numbers stay json.Number so that
// an integer property is judged on the digits sent, not on a float64.
func decodeJSON(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("the body is empty but the spec documents a JSON body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("the body is not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the body has data after its JSON value")
	}
	return v, nil
}

// problem is one finding, at an RFC 6901 JSON pointer into the body.
type problem struct {
	pointer string
	reason  string
}

func (p problem) Error() string {
	ptr := p.pointer
	if ptr == "" {
		ptr = "(root)"
	}
	return "  " + ptr + ": " + p.reason
}

// unsupportedRE reads back the property name of kin-openapi's
// additionalProperties error, which points at the object rather than at the
// undeclared property itself.
var unsupportedRE = regexp.MustCompile(`^property (".*") is unsupported$`)

// flatten turns kin-openapi's nested MultiErrors into a flat problem list.
func flatten(out []problem, err error) []problem {
	// Direct type tests, not errors.As: a SchemaError's Origin may wrap
	// further errors that belong to that one problem.
	if me, ok := err.(openapi3.MultiError); ok {
		for _, e := range me {
			out = flatten(out, e)
		}
		return out
	}
	se, ok := err.(*openapi3.SchemaError)
	if !ok {
		return append(out, problem{reason: err.Error()})
	}
	ptr := pointer(se.JSONPointer())
	reason := se.Reason
	switch se.SchemaField {
	case "properties":
		if m := unsupportedRE.FindStringSubmatch(reason); m != nil {
			if name, err := strconv.Unquote(m[1]); err == nil {
				ptr += "/" + escape(name)
				reason = "property not in the spec"
			}
		}
	case "required":
		reason = "property in the spec is missing"
	case "type", "nullable", "enum", "pattern", "format", "minLength", "maxLength", "minimum", "maximum":
		reason += " (got " + abbrev(render(se.Value)) + ")"
	}
	if reason == "" {
		reason = "does not match the schema's " + strconv.Quote(se.SchemaField)
	}
	return append(out, problem{pointer: ptr, reason: reason})
}

func pointer(path []string) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(escape(p))
	}
	return b.String()
}

// escape applies RFC 6901 to one pointer token.
func escape(tok string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)
}

func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func abbrev(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
