package report_test

import (
	"encoding/xml"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/report"
)

// node is an SVG element, decoded with encoding/xml: the charts are
// well-formed XML, so the tests can read them without an HTML parser.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n node) hasClass(c string) bool {
	v, _ := n.attr("class")
	return slices.Contains(strings.Fields(v), c)
}

// all returns n's descendants (and n) of element el with class c.
func (n node) all(el, c string) []node {
	var out []node
	if n.XMLName.Local == el && (c == "" || n.hasClass(c)) {
		out = append(out, n)
	}
	for _, k := range n.Nodes {
		out = append(out, k.all(el, c)...)
	}
	return out
}

var svgRE = regexp.MustCompile(`(?s)<svg\b.*?</svg>`)

// svgs renders d and decodes every inline SVG in the page.
func svgs(t *testing.T, d *report.Drill) (string, []node) {
	t.Helper()
	page, err := d.HTML()
	if err != nil {
		t.Fatal(err)
	}
	var out []node
	for _, s := range svgRE.FindAllString(string(page), -1) {
		var n node
		if err := xml.Unmarshal([]byte(s), &n); err != nil {
			t.Fatalf("an inline SVG is not well-formed: %v\n%s", err, s)
		}
		out = append(out, n)
	}
	return string(page), out
}

func charts(ns []node, class string) []node {
	var out []node
	for _, n := range ns {
		if n.hasClass(class) {
			out = append(out, n)
		}
	}
	return out
}

// TestGateCharts reads the fixture's gate charts back: one per series, one
// circle per point with its value, sample and verdict, and the threshold.
func TestGateCharts(t *testing.T) {
	d := fixture()
	_, all := svgs(t, d)
	got := charts(all, "gate-chart")
	if len(got) != len(d.Gates) {
		t.Fatalf("%d gate charts; want one per series, %d", len(got), len(d.Gates))
	}
	for i, g := range d.Gates {
		c := got[i]
		gate, _ := c.attr("data-gate")
		signal, _ := c.attr("data-signal")
		if gate != g.Gate || signal != g.Signal {
			t.Errorf("chart %d is for %s/%s; want %s/%s", i, gate, signal, g.Gate, g.Signal)
		}
		lines := c.all("line", "threshold")
		if len(lines) != 1 {
			t.Fatalf("chart %s has %d threshold lines; want 1", g.Gate, len(lines))
		}
		if v, _ := lines[0].attr("data-threshold"); v != strconv.FormatFloat(g.Threshold, 'f', -1, 64) {
			t.Errorf("chart %s threshold %q; want %v", g.Gate, v, g.Threshold)
		}
		type pt struct{ Value, Sample, Pass, Missing string }
		var want, have []pt
		for _, p := range g.Points {
			w := pt{Value: strconv.FormatFloat(p.Value, 'f', -1, 64), Sample: strconv.Itoa(p.Sample), Pass: strconv.FormatBool(p.Pass), Missing: p.Missing}
			if p.Missing != "" {
				w.Value = "" // a missing measurement has no value to claim
			}
			want = append(want, w)
		}
		for _, n := range c.all("circle", "point") {
			var p pt
			p.Value, _ = n.attr("data-value")
			p.Sample, _ = n.attr("data-sample")
			p.Pass, _ = n.attr("data-pass")
			p.Missing, _ = n.attr("data-missing")
			have = append(have, p)
		}
		if diff := cmp.Diff(want, have); diff != "" {
			t.Errorf("chart %s points (-want +got):\n%s", g.Gate, diff)
		}
	}
}

// TestRTOChart reads the RTO bars and the objective line back.
func TestRTOChart(t *testing.T) {
	d := fixture()
	_, all := svgs(t, d)
	rto := charts(all, "rto-chart")
	if len(rto) != 1 {
		t.Fatalf("%d RTO charts; want 1", len(rto))
	}
	var cohorts []string
	for _, b := range rto[0].all("rect", "rto-bar") {
		c, _ := b.attr("data-cohort")
		cohorts = append(cohorts, c)
	}
	if diff := cmp.Diff([]string{"canary", "wave-1", "wave-2"}, cohorts); diff != "" {
		t.Errorf("RTO bars (-want +got):\n%s", diff)
	}
	obj := rto[0].all("line", "objective")
	if len(obj) != 1 {
		t.Fatalf("%d objective lines; want 1", len(obj))
	}
	if v, _ := obj[0].attr("data-objective"); v != "300" {
		t.Errorf("objective line at %q; want 300", v)
	}
}

// TestTrendChart draws a trend only when there is one: two drills or more.
func TestTrendChart(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3} {
		d := fixture()
		d.History = d.History[:n]
		_, all := svgs(t, d)
		trend := charts(all, "trend-chart")
		if want := min(1, n/2); len(trend) != want {
			t.Errorf("%d history points: %d trend charts; want %d", n, len(trend), want)
			continue
		}
		if n < 2 {
			continue
		}
		var lost []string
		for _, p := range trend[0].all("g", "") {
			if m, _ := p.attr("data-metric"); m == "calls_lost" {
				for _, c := range p.all("circle", "trend-point") {
					v, _ := c.attr("data-value")
					lost = append(lost, v)
				}
			}
		}
		var want []string
		for _, h := range d.History {
			want = append(want, strconv.Itoa(h.CallsLost))
		}
		if diff := cmp.Diff(want, lost); diff != "" {
			t.Errorf("%d history points: calls lost trend (-want +got):\n%s", n, diff)
		}
	}
}

// numericAttr finds a coordinate or size attribute that is not a finite
// number, the mark of a division by zero or an overflow in a chart.
var numericAttr = regexp.MustCompile(`\b(x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|viewBox|data-value|data-threshold|data-objective|data-seconds)="([^"]*)"`)

func checkFinite(t *testing.T, name, page string) {
	t.Helper()
	for _, m := range numericAttr.FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[2], "NaN") || strings.Contains(m[2], "Inf") {
			t.Errorf("%s: %s", name, m[0])
		}
	}
}

// TestChartsDegenerate renders the cases that divide by zero in a naive
// chart: no points, one point, all-equal values, only missing values, no
// objective, values near the float limits and a zero time.
func TestChartsDegenerate(t *testing.T) {
	series := func(ps ...report.Point) []report.GateSeries {
		return []report.GateSeries{{Gate: "g", Signal: "s", Op: "<", Threshold: 0.05, Points: ps}}
	}
	cases := map[string]func(d *report.Drill){
		"empty series": func(d *report.Drill) { d.Gates = series() },
		"single point": func(d *report.Drill) { d.Gates = series(report.Point{At: at(10), Value: 0.01, Sample: 3, Pass: true}) },
		"all equal": func(d *report.Drill) {
			p := report.Point{At: at(10), Value: 0.05, Sample: 0}
			d.Gates = series(p, p, p)
			d.Gates[0].Threshold = 0.05
		},
		"all missing": func(d *report.Drill) {
			d.Gates = series(report.Point{At: at(1), Missing: "no calls"}, report.Point{At: at(2), Missing: "no calls"})
		},
		"zero objective": func(d *report.Drill) { d.RTO.ObjectiveSeconds, d.RTO.Met = 0, false },
		"nothing recovered": func(d *report.Drill) {
			d.RTO = report.RTO{Cohorts: []report.CohortRTO{{Name: "c", Outcome: "not_run"}}}
		},
		"huge values": func(d *report.Drill) {
			d.Gates = series(report.Point{At: at(1), Value: -1.7e308, Sample: 1 << 62}, report.Point{At: at(2), Value: 1.7e308, Sample: 1})
			d.Gates[0].Threshold = 1.7e308
			d.RTO.ObjectiveSeconds, d.RTO.Cohorts[0].RTOSeconds = 1.7e308, 1.7e308
			d.History[0].RTOSeconds = 1.7e308
		},
		"zero time": func(d *report.Drill) {
			d.Gates = series(report.Point{Value: 1}, report.Point{At: at(5), Value: 2})
			d.Started = d.Started.AddDate(-300, 0, 0)
		},
		"empty drill": func(d *report.Drill) { *d = report.Drill{Version: report.Version} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			d := fixture()
			mutate(d)
			page, all := svgs(t, d)
			checkFinite(t, name, page)
			checkFinite(t, name+" (markdown)", d.Markdown())
			gates := charts(all, "gate-chart")
			if len(gates) != len(d.Gates) {
				t.Errorf("%d gate charts for %d series", len(gates), len(d.Gates))
			}
			for _, g := range gates {
				if n := len(g.all("line", "threshold")); n != 1 {
					t.Errorf("a gate chart has %d threshold lines; want 1", n)
				}
			}
			if len(charts(all, "rto-chart")) != 1 {
				t.Error("no RTO chart")
			}
			hasObjective := len(charts(all, "rto-chart")) == 1 && len(charts(all, "rto-chart")[0].all("line", "objective")) == 1
			if hasObjective != (d.RTO.ObjectiveSeconds > 0) {
				t.Errorf("objective line drawn: %v; objective %v", hasObjective, d.RTO.ObjectiveSeconds)
			}
			if d.RTO.ObjectiveSeconds == 0 && !strings.Contains(page, "states no RTO objective") {
				t.Error("a drill without an objective does not say so")
			}
		})
	}
}
