package workbook

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/voicedr/voicedr/internal/region"
)

// SchemaID is the JSON Schema's $id.
const SchemaID = "https://voicedr.dev/schema/workbook-v1.json"

// profileDesc describes the region.Profile fields, whose struct tags live in
// the region package and carry no descriptions.
var profileDesc = map[string]string{
	"region":      "Twilio region: us1, ie1 or au1.",
	"edge":        "Edge the region is reached through; default the region's home edge (us1 ashburn, ie1 dublin, au1 sydney).",
	"account_sid": "Account SID (AC...); default TWILIO_<REGION>_ACCOUNT_SID, then TWILIO_ACCOUNT_SID.",
	"api_key":     "env:NAME or file:PATH of the API key SID created in this region; default env:TWILIO_<REGION>_API_KEY.",
	"api_secret":  "env:NAME or file:PATH of the API key secret; default env:TWILIO_<REGION>_API_SECRET.",
	"auth_token":  "env:NAME or file:PATH of the auth token (signs probe requests); default env:TWILIO_<REGION>_AUTH_TOKEN.",
}

var (
	credType   = reflect.TypeOf(region.CredentialRef(""))
	regionType = reflect.TypeOf(region.Region(""))
)

// Schema returns the JSON Schema (draft 2020-12) of a workbook, generated from
// the Go types so it cannot drift from what Parse accepts: every object is
// closed (additionalProperties false), as the parser rejects unknown keys.
// Cross-field rules (one flow per number, references between sections)
// cannot be expressed in it; validate checks those.
func Schema() []byte {
	s := schemaOf(reflect.TypeOf(Workbook{}), "")
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "voicedr workbook"
	s["description"] = "The DR workbook (voicedr.yaml), schema version 1. Secrets only as env:NAME or file:PATH references."
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic("workbook: schema: " + err.Error()) // maps of plain values always marshal
	}
	return append(b, '\n')
}

type obj = map[string]any

func schemaOf(t reflect.Type, desc string) obj {
	s := obj{}
	if desc != "" {
		s["description"] = desc
	}
	switch {
	case t == durationType:
		s["type"] = "string"
		s["pattern"] = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
		return s
	case t == credType:
		s["type"] = "string"
		s["pattern"] = `^(env:[^=\s]+|file:.+)$`
		return s
	case t == regionType:
		s["type"] = "string"
		s["enum"] = region.Names()
		return s
	}
	switch t.Kind() {
	case reflect.Pointer:
		return mergeDesc(schemaOf(t.Elem(), ""), desc)
	case reflect.String:
		s["type"] = "string"
	case reflect.Bool:
		s["type"] = "boolean"
	case reflect.Int:
		s["type"] = "integer"
	case reflect.Float64:
		s["type"] = "number"
	case reflect.Slice:
		s["type"] = "array"
		s["items"] = schemaOf(t.Elem(), "")
	case reflect.Map:
		s["type"] = "object"
		s["additionalProperties"] = schemaOf(t.Elem(), "")
	case reflect.Struct:
		props, required := obj{}, []string{}
		addFields(t, props, &required)
		s["type"] = "object"
		s["properties"] = props
		s["additionalProperties"] = false
		if len(required) > 0 {
			s["required"] = required
		}
	default:
		panic("workbook: schema: unsupported type " + t.String())
	}
	return s
}

func addFields(t reflect.Type, props obj, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			addFields(f.Type, props, required)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		desc := f.Tag.Get("desc")
		if t == reflect.TypeOf(region.Profile{}) {
			desc = profileDesc[name]
		}
		p := schemaOf(f.Type, desc)
		if enum := f.Tag.Get("enum"); enum != "" {
			p["enum"] = strings.Split(enum, ",")
		}
		props[name] = p
		if f.Tag.Get("wb") == "required" {
			*required = append(*required, name)
		}
	}
	if t == reflect.TypeOf(region.Profile{}) {
		*required = append(*required, "region")
	}
}

func mergeDesc(s obj, desc string) obj {
	if desc != "" {
		s["description"] = desc
	}
	return s
}
