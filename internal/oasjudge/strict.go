package oasjudge

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// operation is one spec operation with its strict responses by status code.
type operation struct {
	id        string
	responses map[int]*response
}

// response is what the spec documents for one status of one operation.
type response struct {
	// media lists the documented content types; none means the body must be
	// empty (Twilio's 204s).
	media []string
	// schema is the strict copy of the application/json schema, nil if the
	// status documents no such content.
	schema *openapi3.Schema
}

// strictifier builds strict copies of a spec's schemas. Copies are memoised
// per (schema, forced-nullable) so that a component shared by many
// operations is copied once and a recursive schema terminates.
type strictifier struct {
	memo map[strictKey]*openapi3.Schema
}

type strictKey struct {
	s        *openapi3.Schema
	nullable bool
}

func newStrictifier() *strictifier {
	return &strictifier{memo: map[strictKey]*openapi3.Schema{}}
}

func (st *strictifier) response(rr *openapi3.ResponseRef) *response {
	r := &response{}
	if rr == nil || rr.Value == nil {
		return r
	}
	for mt := range rr.Value.Content {
		r.media = append(r.media, mt)
	}
	sort.Strings(r.media)
	if mt := rr.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
		r.schema = st.ref(mt.Schema).Value
	}
	return r
}

// ref returns a resolved, strict stand-in for ref. The $ref string is dropped
// so nothing downstream tries to resolve it again.
func (st *strictifier) ref(ref *openapi3.SchemaRef) *openapi3.SchemaRef {
	if ref == nil || ref.Value == nil {
		return ref
	}
	return &openapi3.SchemaRef{Value: st.schema(ref.Value, ref.Ref != "" && siblingNullable(ref))}
}

// siblingNullable reports `nullable: true` written next to a $ref. OpenAPI
// 3.0 says siblings of $ref are ignored, and kin-openapi does ignore them for
// 3.0 documents, but Twilio writes them on purpose (insights_v1 marks its
// enum-typed properties this way) and its API does send null there, so the
// judge honours this one sibling. kin-openapi keeps siblings only privately;
// MarshalYAML is the public way to read them back.
func siblingNullable(ref *openapi3.SchemaRef) bool {
	y, err := ref.MarshalYAML()
	if err != nil {
		return false
	}
	m, ok := y.(map[string]any)
	return ok && m["nullable"] == true
}

// schema returns the strict copy of s: an object schema that declares
// properties requires all of them and allows no others; the rule is applied
// through properties, array items and additionalProperties at every depth.
// Objects without declared properties (Twilio's "uri-map" links and
// subresource_uris, free-form "properties" blobs) stay unrestricted.
func (st *strictifier) schema(s *openapi3.Schema, forceNullable bool) *openapi3.Schema {
	key := strictKey{s, forceNullable}
	if c, ok := st.memo[key]; ok {
		return c
	}
	c := new(openapi3.Schema)
	*c = *s // shallow: the fields rewritten below get fresh values, the rest is shared read-only
	st.memo[key] = c
	if forceNullable {
		c.Nullable = true
	}
	if len(s.Properties) > 0 {
		c.Properties = make(openapi3.Schemas, len(s.Properties))
		c.Required = make([]string, 0, len(s.Properties))
		for name, p := range s.Properties {
			c.Properties[name] = st.ref(p)
			c.Required = append(c.Required, name)
		}
		sort.Strings(c.Required)
		c.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
	} else if s.AdditionalProperties.Schema != nil {
		c.AdditionalProperties = openapi3.AdditionalProperties{Schema: st.ref(s.AdditionalProperties.Schema)}
	}
	if s.Items != nil {
		c.Items = st.ref(s.Items)
	}
	// allOf/anyOf/oneOf/not are left as they are: forbidding extra
	// properties inside each part of a composition would reject every value
	// that combines parts, and Twilio's six specs use none of them.
	return c
}

// formats are the string formats the judge enforces, passed per validation
// (openapi3.WithStringFormatValidators) rather than registered globally, so
// that other users of kin-openapi in the same test binary keep their own.
// kin-openapi's built-in "date-time" is a regexp; it is replaced by what Go's
// time.RFC3339 parses, which also rejects impossible times like 25:00.
// Twilio's other formats (phone-number, http-method, currency,
// iso-country-code, and the object formats uri-map and
// phone-number-capabilities) are left to the type, enum and property checks.
var formats = map[string]openapi3.StringFormatValidator{
	"date-time":          openapi3.NewCallbackValidator(validRFC3339),
	"date-time-rfc-2822": openapi3.NewCallbackValidator(validRFC2822),
	"date":               openapi3.NewCallbackValidator(validDate),
	"uri":                openapi3.NewCallbackValidator(validURI),
}

func validRFC3339(v string) error {
	if _, err := time.Parse(time.RFC3339, v); err != nil {
		return fmt.Errorf("not RFC 3339 like 2015-07-30T20:00:00Z")
	}
	return nil
}

// validRFC2822 requires the exact shape Twilio's 2010 API sends,
// "Thu, 30 Jul 2015 23:19:04 +0000": it parses as time.RFC1123Z and formats
// back to the same text, which also catches a wrong weekday or an unpadded day
// that parsing alone lets through.
func validRFC2822(v string) error {
	t, err := time.Parse(time.RFC1123Z, v)
	if err != nil || t.Format(time.RFC1123Z) != v {
		return fmt.Errorf("not RFC 2822 like Thu, 30 Jul 2015 23:19:04 +0000")
	}
	return nil
}

func validDate(v string) error {
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return fmt.Errorf("not a date like 2015-07-30")
	}
	return nil
}

// validURI accepts absolute URLs and the relative references the 2010 API
// uses ("/2010-04-01/Accounts/AC....json"), and "" which Twilio sends for an
// unset callback URL. url.Parse lets spaces through, which RFC 3986 does not.
func validURI(v string) error {
	if _, err := url.Parse(v); err != nil {
		return fmt.Errorf("not a URI: %v", err)
	}
	if strings.ContainsAny(v, " \t") {
		return fmt.Errorf("not a URI: contains whitespace")
	}
	return nil
}
