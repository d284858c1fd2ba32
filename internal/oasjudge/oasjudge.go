// Package oasjudge is the OpenAPI referee of the Twilio emulator: it judges a
// response body strictly against Twilio's official OpenAPI specs.
//
// Twilio's specs mark every property nullable and none required, so a plain
// schema validation would accept `{}` for any resource. The emulator contract
// (design.md, "The emulator contract") asks for Twilio's wire format exactly:
// every documented property present (null when unset) and nothing else. The
// judge therefore validates against a strict copy of each response schema in
// which every object that declares properties requires all of them and forbids
// any other, and it checks the date formats Twilio uses (RFC 2822 for the 2010
// API, RFC 3339 for v1/v2) as real formats rather than as annotations.
//
// Tests call it for every response they see:
//
//	j, err := oasjudge.Load(dir) // dir from oasjudge.SpecDir()
//	err = j.Check("api", "GET", r.URL.Path, resp.StatusCode, body)
package oasjudge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// specFiles names the spec of each product, keyed by the host's product label
// (the first label of {product}.{edge}.{region}.twilio.com).
var specFiles = map[string]string{
	"api":      "twilio_api_v2010.json",
	"routes":   "twilio_routes_v2.json",
	"trunking": "twilio_trunking_v1.json",
	"insights": "twilio_insights_v1.json",
	"monitor":  "twilio_monitor_v1.json",
	"voice":    "twilio_voice_v1.json",
}

// envDir overrides the search for the spec folder, for checkouts laid out
// differently from <root>/main next to <root>/shared.
const envDir = "VOICEDR_OPENAPI_DIR"

// SpecDir finds the folder of Twilio's OpenAPI specs: $VOICEDR_OPENAPI_DIR if
// set, else the first "shared/twilio-openapi" (or "../shared/twilio-openapi")
// found walking up from the working directory. Tests run in their package's
// directory, so a fixed relative path would differ per package.
func SpecDir() (string, error) {
	if d := os.Getenv(envDir); d != "" {
		if !isDir(d) {
			return "", fmt.Errorf("oasjudge: $%s=%q is not a directory", envDir, d)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("oasjudge: finding the spec folder: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, rel := range []string{"shared/twilio-openapi", "../shared/twilio-openapi"} {
			if c := filepath.Join(d, rel); isDir(c) {
				return c, nil
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("oasjudge: $%s is unset and no directory shared/twilio-openapi or ../shared/twilio-openapi exists in %s or any of its parents", envDir, wd)
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// Judge judges responses against the specs of one folder. It is safe for
// concurrent use: each product's spec is parsed once, on first use, and is
// read-only afterwards.
type Judge struct {
	dir      string
	products map[string]*lazyProduct
}

// lazyProduct defers parsing a spec until a test asks about its product:
// most test packages touch one or two products, and api_v2010 alone is ~1.9 MB.
type lazyProduct struct {
	once sync.Once
	file string
	p    *product
	err  error
}

// judges caches one Judge per spec folder, so that every test package (and
// every test in it) calling Load pays for parsing only once per process.
var (
	judgesMu sync.Mutex
	judges   = map[string]*Judge{}
)

// Load returns the judge of the specs in dir. It checks that every spec file
// is there but parses each only when its product is first judged; repeated
// calls with the same folder return the same Judge.
func Load(dir string) (*Judge, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("oasjudge: %w", err)
	}
	judgesMu.Lock()
	defer judgesMu.Unlock()
	if j, ok := judges[abs]; ok {
		return j, nil
	}
	j := &Judge{dir: abs, products: map[string]*lazyProduct{}}
	var missing []error
	for name, file := range specFiles {
		path := filepath.Join(abs, file)
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			missing = append(missing, fmt.Errorf("oasjudge: spec of product %q: %s is missing", name, path))
			continue
		}
		j.products[name] = &lazyProduct{file: path}
	}
	if len(missing) > 0 {
		return nil, errors.Join(missing...)
	}
	judges[abs] = j
	return j, nil
}

// product is one parsed spec: its routes and, per operation, the strict
// response schemas by status.
type product struct {
	routes []*route
}

func (j *Judge) product(name string) (*product, error) {
	lp, ok := j.products[name]
	if !ok {
		return nil, fmt.Errorf("oasjudge: unknown product %q (known: %s)", name, knownProducts())
	}
	lp.once.Do(func() { lp.p, lp.err = loadProduct(lp.file) })
	return lp.p, lp.err
}

func knownProducts() string {
	names := make([]string, 0, len(specFiles))
	for n := range specFiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

func loadProduct(file string) (*product, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("oasjudge: %w", err)
	}
	// Decoding as JSON and then resolving the (all internal) $refs is about
	// twice as fast as Loader.LoadFromFile, which reads every document through
	// its YAML decoder to track origins we have no use for.
	doc := &openapi3.T{}
	if err := json.Unmarshal(data, doc); err != nil {
		return nil, fmt.Errorf("oasjudge: decoding %s: %w", file, err)
	}
	if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
		return nil, fmt.Errorf("oasjudge: resolving the $refs of %s: %w", file, err)
	}
	// VisitJSON's behaviour on a schema that did not pass Validate is
	// undefined, so validate the document first. Twilio's own examples are
	// not all valid against its schemas (see the package tests), and they
	// play no part in judging, so they are left out.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("oasjudge: %s is not a valid OpenAPI document: %w", file, err)
	}
	p := &product{}
	strict := newStrictifier()
	for _, tmpl := range doc.Paths.Keys() {
		item := doc.Paths.Value(tmpl)
		r := &route{template: tmpl, segs: parseTemplate(tmpl), ops: map[string]*operation{}}
		for method, op := range item.Operations() {
			o := &operation{id: op.OperationID, responses: map[int]*response{}}
			if op.Responses != nil {
				for _, code := range op.Responses.Keys() {
					status, err := strconv.Atoi(code)
					if err != nil {
						continue // "default" and "2XX"-style ranges: Twilio uses neither
					}
					o.responses[status] = strict.response(op.Responses.Value(code))
				}
			}
			r.ops[method] = o
		}
		p.routes = append(p.routes, r)
	}
	return p, nil
}
