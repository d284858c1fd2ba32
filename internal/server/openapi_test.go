package server_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/voicedr/voicedr/internal/server"
)

// TestOpenAPI: the embedded description is valid OpenAPI 3, describes
// every registered route with its method, marks each with the action it
// needs, and is what GET /v1/openapi.json serves.
func TestOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI: %v", err)
	}
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			described[method+" "+path] = true
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
		}
	}
	for _, rt := range server.Routes() {
		key := rt.Method + " " + rt.Path
		if !described[key] {
			t.Errorf("route %s is not described", key)
			continue
		}
		op := doc.Paths.Find(rt.Path).GetOperation(rt.Method)
		got, _ := op.Extensions["x-voicedr-action"].(string)
		if got != rt.Action {
			t.Errorf("%s: x-voicedr-action %q; want %q", key, got, rt.Action)
		}
		if rt.Action != "" && (op.Responses.Value("401") == nil || op.Responses.Value("403") == nil) {
			t.Errorf("%s needs a role but documents no 401/403", key)
		}
		delete(described, key)
	}
	for k := range described {
		t.Errorf("described %s is not a route", k)
	}

	e := newEnv(t, 5, parseWB(t, "none", ""), twilioOpts())
	srv := e.start(t, nil)
	r := e.call(t, srv.http.URL, "vic", "GET", "/v1/openapi.json", nil)
	if r.code != http.StatusOK || !bytes.Equal(r.body, server.OpenAPI) || !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/json") {
		t.Errorf("GET /v1/openapi.json: %d, %d bytes; want the embedded document", r.code, len(r.body))
	}
}
