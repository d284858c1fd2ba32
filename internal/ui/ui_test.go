package ui_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/voicedr/voicedr/internal/ui"
)

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func TestHandlerServesAssetsWithTheirTypes(t *testing.T) {
	h := ui.Handler()
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", `<script src="app.js"`},
		{"/index.html", "text/html; charset=utf-8", `<main id="main"`},
		{"/app.js", "text/javascript; charset=utf-8", "Authorization"},
		{"/app.css", "text/css; charset=utf-8", ".progress"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	} {
		resp := get(t, h, c.path)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %s", c.path, resp.Status)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", c.path)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q does not confine the page to its own origin", c.path, csp)
		}
		if !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
	}
	for _, p := range []string{"/nope.js", "/static/app.js", "/v1/me", "/../ui.go", "/ui.go"} {
		if resp := get(t, h, p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", rec.Code)
	}
}

// Comments are skipped: a URL in a comment is never fetched. The SVG XML
// namespace name is an identifier, not a location, and is allowed.
var (
	blockComment = regexp.MustCompile(`(?s)/\*.*?\*/|<!--.*?-->`)
	lineComment  = regexp.MustCompile(`(?m)(^|[^:"'\\])//[^\n]*`)
	externalURL  = regexp.MustCompile(`(?i)https?://[^\s"'<>)]*`)
)

const svgNamespace = "http://www.w3.org/2000/svg"

func TestAssetsReferenceNoExternalURL(t *testing.T) {
	n := 0
	err := fs.WalkDir(ui.Assets(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := fs.ReadFile(ui.Assets(), name)
		if err != nil {
			return err
		}
		s := blockComment.ReplaceAllString(string(b), "")
		if strings.HasSuffix(name, ".js") {
			s = lineComment.ReplaceAllString(s, "$1")
		}
		for _, u := range externalURL.FindAllString(s, -1) {
			if u != svgNamespace {
				t.Errorf("%s references %s: the dashboard must work without the network", name, u)
			}
		}
		for _, bad := range []string{"@import", "url(http", "//cdn", "fonts.googleapis"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Errorf("only %d assets embedded", n)
	}
}

// The script never writes markup from strings: API data reaches the page
// through textContent and setAttribute only.
func TestScriptDoesNotUseInnerHTML(t *testing.T) {
	b, err := fs.ReadFile(ui.Assets(), "app.js")
	if err != nil {
		t.Fatal(err)
	}
	code := lineComment.ReplaceAllString(blockComment.ReplaceAllString(string(b), ""), "$1")
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(code, sink) {
			t.Errorf("app.js uses %s", sink)
		}
	}
}
