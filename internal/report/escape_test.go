package report_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/voicedr/voicedr/internal/report"
)

const evil = `<script>alert("x")</script><img src=https://evil.example/x.png onerror=alert(1)>`

// hostile puts markup into every kind of user-supplied text the report
// shows: headings, table cells, SVG labels, attributes and titles.
func hostile() *report.Drill {
	d := fixture()
	d.Scenario.Description = "the description " + evil
	d.Scenario.Name = "name" + evil
	d.Program = `prog" onload="alert(1)`
	d.Reason = evil
	d.Timeline[3].Text = evil
	d.Timeline[3].Actor = evil
	d.Gates[0].Gate = `gate"><script>alert(2)</script>`
	d.Gates[0].Signal = evil
	d.Gates[0].Unit = evil
	d.Gates[0].Points[0].Cohort = evil
	d.Gates[1].Points[1].Missing = evil
	d.RTO.Cohorts[0].Name = evil
	d.Gaps[0].Text = evil
	d.Actions[0].Owner = evil
	d.StandIns[0].Person = evil
	d.History[0].DrillID = evil
	d.Notes = append(d.Notes, evil)
	return d
}

// TestHTMLEscapesUserText would fail if any user text reached the page as
// markup: the report has no scripts and no images of its own, so any
// <script or <img in the output came from the data.
func TestHTMLEscapesUserText(t *testing.T) {
	b, err := hostile().HTML()
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ToLower(string(b))
	if m := handler.FindString(page); m != "" {
		t.Errorf("user text became an event handler: %q", m)
	}
	for _, bad := range []string{"<script", "<img", `onload="`, `"><script`} {
		if strings.Contains(page, bad) {
			i := strings.Index(page, bad)
			t.Errorf("user text reached the page unescaped: %q near %q", bad, page[max(0, i-80):min(len(page), i+80)])
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Error("the escaped description is missing from the page; was the text dropped instead of escaped?")
	}
	// The charts must still parse: an unescaped quote in an attribute
	// would break the SVG before it broke the page.
	d := hostile()
	_, all := svgs(t, d)
	if n := len(charts(all, "gate-chart")); n != len(d.Gates) {
		t.Errorf("%d gate charts with hostile names; want %d", n, len(d.Gates))
	}
}

// TestMarkdownEscapesUserText checks the Markdown keeps user markup as
// text: a renderer that allows raw HTML must not run a scenario's script,
// and a "|" must not split a table cell.
func TestMarkdownEscapesUserText(t *testing.T) {
	d := hostile()
	d.Gaps[1].Text = "a | b\nc"
	md := d.Markdown()
	if m := regexp.MustCompile(`(^|[^\\])<(script|img)`).FindString(md); m != "" {
		t.Error("raw HTML from user text in the Markdown")
	}
	if !strings.Contains(md, `\<script\>`) {
		t.Error("the escaped script tag is missing from the Markdown")
	}
	if !strings.Contains(md, `a \| b c |`) {
		t.Error(`a "|" or a newline in a cell was not escaped`)
	}
}

// remoteRef finds a tag with an attribute that makes a browser fetch or
// link to something; the report must have none, not even to a local file.
// It looks inside tags only: user text may say "src=" once escaped.
var remoteRef = regexp.MustCompile(tagWith(`src|href|srcset|action|poster|xlink:href|formaction|background|data`))

// handler finds a tag with an event handler attribute.
var handler = regexp.MustCompile(tagWith(`on[a-z]+`))

// tagWith matches a start tag carrying one of the attributes names: a tag
// name, then whole attributes (values in double quotes, which the template
// always writes and in which user quotes are escaped), then the attribute.
// Text between tags cannot match: user "<" is escaped to "&lt;".
func tagWith(names string) string {
	return `(?i)<[a-z][a-z0-9-]*(?:\s+[a-z][a-z0-9:-]*(?:\s*=\s*"[^"]*")?)*\s+(?:` + names + `)\s*=`
}

// styleRE finds the page's CSS, where url() or @import would fetch.
var styleRE = regexp.MustCompile(`(?is)<style>(.*?)</style>`)

func fetches(page string) string {
	if m := remoteRef.FindString(page); m != "" {
		return m
	}
	for _, css := range styleRE.FindAllStringSubmatch(page, -1) {
		if strings.Contains(css[1], "url(") || strings.Contains(css[1], "@import") {
			return "CSS url() or @import"
		}
	}
	return ""
}

// TestHTMLLoadsNothing proves the page is self-contained: no attribute or
// CSS that fetches anything, a Content-Security-Policy that forbids every
// fetch, and no URL in the page except the ones the user wrote, as text.
func TestHTMLLoadsNothing(t *testing.T) {
	b, err := fixture().HTML()
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if m := fetches(page); m != "" {
		t.Errorf("the page fetches something: %q", m)
	}
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("the page has no Content-Security-Policy forbidding fetches")
	}
	rest := page
	for _, u := range userURLs {
		// html/template writes "/" in text as is, so the user's URLs appear
		// verbatim; each must be there, as text.
		if !strings.Contains(rest, u) {
			t.Errorf("user text %q is missing from the page", u)
		}
		rest = strings.ReplaceAll(rest, u, "")
	}
	for _, scheme := range []string{"http://", "https://", "//cdn", "file:"} {
		if i := strings.Index(rest, scheme); i >= 0 {
			t.Errorf("the page refers to %q outside the user's text, near %q", scheme, rest[max(0, i-60):min(len(rest), i+60)])
		}
	}
	// Markup the user supplied must not become a fetch either.
	hb, err := hostile().HTML()
	if err != nil {
		t.Fatal(err)
	}
	if m := fetches(string(hb)); m != "" {
		t.Errorf("hostile user text made the page fetch something: %q", m)
	}
}

// TestStandInsStatedPlainly checks both renderings say approvals were
// recorded by named stand-ins, and name them.
func TestStandInsStatedPlainly(t *testing.T) {
	d := fixture()
	page, err := d.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"markdown": d.Markdown(), "html": string(page)} {
		if !strings.Contains(out, "recorded by named stand-ins") {
			t.Errorf("%s does not say the approvals were recorded by stand-ins", name)
		}
		for _, s := range d.StandIns {
			if !strings.Contains(out, s.Person) {
				t.Errorf("%s does not name stand-in %s", name, s.Person)
			}
		}
	}
	d.StandIns = nil
	if strings.Contains(d.Markdown(), "Stand-ins") {
		t.Error("a drill without stand-ins has a Stand-ins section")
	}
}
