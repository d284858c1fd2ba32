package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The charts are computed here as shapes with their coordinates already
// formatted, and drawn by the HTML template, so html/template escapes every
// label and attribute: no SVG is assembled as a string. Every coordinate
// goes through coord, which turns NaN and infinities (a degenerate scale,
// an absurd value in a hand-edited report) into finite numbers, so a chart
// can look odd but the SVG is always valid.

// coord formats a coordinate with one decimal, clamped to a finite range.
func coord(v float64) string {
	switch {
	case math.IsNaN(v):
		v = 0
	case v > 1e6:
		v = 1e6
	case v < -1e6:
		v = -1e6
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// frac maps v into [0,1] between lo and hi. Halving each operand first keeps
// hi-lo finite even for values near ±MaxFloat64; an empty span (one point,
// all-equal values) maps to the middle instead of dividing by zero.
func frac(v, lo, hi float64) float64 {
	span := hi/2 - lo/2
	if !(span > 0) || !finite(span) {
		return 0.5
	}
	f := (v/2 - lo/2) / span
	switch {
	case math.IsNaN(f):
		return 0.5
	case f < 0:
		return 0
	case f > 1:
		return 1
	}
	return f
}

// span returns the smallest and largest of vs, or ok false when vs is empty.
func span(vs []float64) (lo, hi float64, ok bool) {
	for _, v := range vs {
		if !finite(v) {
			continue
		}
		if !ok || v < lo {
			lo = v
		}
		if !ok || v > hi {
			hi = v
		}
		ok = true
	}
	return lo, hi, ok
}

// label is a piece of text placed in a chart.
type label struct{ X, Y, Text, Anchor string }

// Gate chart layout, in viewBox units; CSS scales the SVG to the screen.
const (
	gateW, gateH         = 640, 250
	plotL, plotR         = 64.0, 600.0 // plot area, left and right
	plotT, plotB         = 36.0, 176.0 // plot area, top and bottom
	barT, barB           = 188.0, 214.0
	xPad                 = 14.0 // keeps the first and last points off the axes
	maxSampleLabels      = 12   // above this, the n= labels would overlap
	gateChartPlotHeadway = 0.9  // the top tenth stays free for the n= labels
)

type gateChart struct {
	Gate, Signal, Aria string
	W, H               int
	Empty              bool
	Threshold          struct{ X1, X2, Y, Value, Label, LabelX, LabelY string }
	Points             []chartPoint
	Axis               struct{ X1, X2, Y1, Y2 string }
	Ticks              []label
}

type chartPoint struct {
	CX, CY, R    string
	Value        string // exact; "" when missing
	Sample       int
	Pass         bool
	Missing      string
	Class, Title string
	SampleLabel  *label
	Bar          struct{ X, Y, W, H string }
}

// newGateChart lays out one gate series: value over time since the drill's
// start, points coloured by pass or fail, the threshold as a dashed line and
// each point's sample size both as a bar under the plot and, when few, a
// label above the point.
func newGateChart(start time.Time, g GateSeries) gateChart {
	c := gateChart{Gate: g.Gate, Signal: g.Signal, W: gateW, H: gateH, Empty: len(g.Points) == 0}
	c.Aria = fmt.Sprintf("%s: %s over time, %s", g.Gate, g.Signal, gateSummary(g))
	c.Axis.X1, c.Axis.X2, c.Axis.Y1, c.Axis.Y2 = coord(plotL), coord(plotR), coord(plotT), coord(plotB)

	var xs, ys []float64
	maxSample := 0
	for _, p := range g.Points {
		xs = append(xs, offsetSeconds(start, p.At))
		if p.Missing == "" {
			ys = append(ys, p.Value)
		}
		maxSample = max(maxSample, p.Sample)
	}
	xlo, xhi, _ := span(xs)
	ylo, yhi, ok := span(append(ys, g.Threshold))
	if !ok {
		ylo, yhi = 0, 1
	}
	// A zero baseline keeps a rate or a latency honest; a series that goes
	// negative keeps its own floor.
	ylo = min(ylo, 0)
	xAt := func(v float64) float64 { return plotL + xPad + frac(v, xlo, xhi)*(plotR-plotL-2*xPad) }
	yAt := func(v float64) float64 { return plotB - frac(v, ylo, yhi)*(plotB-plotT)*gateChartPlotHeadway }

	ty := yAt(g.Threshold)
	c.Threshold.X1, c.Threshold.X2, c.Threshold.Y = coord(plotL), coord(plotR), coord(ty)
	c.Threshold.Value = exact(g.Threshold)
	c.Threshold.Label = strings.TrimSpace(g.Op + " " + valueUnit(g.Threshold, g.Unit))
	c.Threshold.LabelX, c.Threshold.LabelY = coord(plotR), coord(ty-4)

	c.Ticks = []label{
		{X: coord(plotL - 6), Y: coord(plotB + 4), Text: num(ylo), Anchor: "end"},
		{X: coord(plotL - 6), Y: coord(yAt(yhi) + 4), Text: num(yhi), Anchor: "end"},
	}
	if g.Unit != "" {
		c.Ticks = append(c.Ticks, label{X: coord(plotL - 6), Y: coord(plotT - 20), Text: g.Unit, Anchor: "end"})
	}
	c.Ticks = append(c.Ticks, label{X: coord(plotL - 6), Y: coord(barB), Text: "sample", Anchor: "end"})
	if len(g.Points) > 0 {
		first, last := g.Points[0].At, g.Points[0].At
		for _, p := range g.Points {
			if p.At.Before(first) {
				first = p.At
			}
			if p.At.After(last) {
				last = p.At
			}
		}
		c.Ticks = append(c.Ticks, label{X: coord(xAt(xlo)), Y: coord(barB + 22), Text: offset(start, first), Anchor: "middle"})
		if xhi > xlo {
			c.Ticks = append(c.Ticks, label{X: coord(xAt(xhi)), Y: coord(barB + 22), Text: offset(start, last), Anchor: "middle"})
		}
	}

	for i, p := range g.Points {
		x, y := xAt(xs[i]), yAt(p.Value)
		pt := chartPoint{CX: coord(x), R: "5", Sample: p.Sample, Pass: p.Pass, Missing: p.Missing}
		switch {
		case p.Missing != "":
			// No value to plot: a hollow marker on the baseline says
			// "evaluated, nothing measured" without inventing a value.
			y = plotB
			pt.Class = "point missing"
			pt.Title = fmt.Sprintf("%s %s: not measured (%s)", offset(start, p.At), p.Cohort, p.Missing)
		case p.Pass:
			pt.Value, pt.Class = exact(p.Value), "point pass"
			pt.Title = fmt.Sprintf("%s %s: %s, n=%d, pass", offset(start, p.At), p.Cohort, valueUnit(p.Value, g.Unit), p.Sample)
		default:
			pt.Value, pt.Class = exact(p.Value), "point fail"
			pt.Title = fmt.Sprintf("%s %s: %s, n=%d, fail", offset(start, p.At), p.Cohort, valueUnit(p.Value, g.Unit), p.Sample)
		}
		pt.CY = coord(y)
		if len(g.Points) <= maxSampleLabels {
			pt.SampleLabel = &label{X: coord(x), Y: coord(y - 9), Text: "n=" + strconv.Itoa(p.Sample), Anchor: "middle"}
		}
		h := 0.0
		if maxSample > 0 && p.Sample > 0 {
			h = max(1, float64(p.Sample)/float64(maxSample)*(barB-barT))
		}
		pt.Bar.X, pt.Bar.Y, pt.Bar.W, pt.Bar.H = coord(x-3), coord(barB-h), "6", coord(h)
		c.Points = append(c.Points, pt)
	}
	return c
}

// RTO chart layout: one row per cohort and one for the whole flow.
const (
	rtoW             = 640
	rtoRow           = 30.0
	rtoTop           = 26.0
	rtoBarL, rtoBarR = 130.0, 520.0
	rtoLabelRunes    = 16
)

type rtoChart struct {
	W, H      int
	Aria      string
	Bars      []rtoBar
	Overall   rtoBar
	Objective *struct{ X, Y1, Y2, Value, Label, LabelY string }
}

type rtoBar struct {
	Cohort, Seconds, Class, Title string
	X, Y, W, H                    string
	Name, Value                   label
}

// newRTOChart lays out a horizontal bar per cohort against the objective.
// A cohort that never committed gets an empty bar and says why in words.
func newRTOChart(r RTO) rtoChart {
	rows := len(r.Cohorts) + 1
	c := rtoChart{W: rtoW, H: int(rtoTop + float64(rows)*rtoRow + 12)}
	maxS := r.ObjectiveSeconds
	maxS = max(maxS, r.OverallSeconds)
	for _, co := range r.Cohorts {
		maxS = max(maxS, co.RTOSeconds)
	}
	maxS *= 1.1
	xAt := func(s float64) float64 { return rtoBarL + frac(s, 0, maxS)*(rtoBarR-rtoBarL) }
	bar := func(i int, name string, s float64, verdict, class string) rtoBar {
		y := rtoTop + float64(i)*rtoRow
		b := rtoBar{Cohort: name, Seconds: exact(s), Class: class + " " + strings.ReplaceAll(verdict, " ", "-")}
		w := 0.0
		if s > 0 {
			w = xAt(s) - rtoBarL
		}
		b.X, b.Y, b.W, b.H = coord(rtoBarL), coord(y), coord(w), coord(rtoRow-10)
		b.Name = label{X: coord(rtoBarL - 8), Y: coord(y + 15), Text: truncate(name, rtoLabelRunes), Anchor: "end"}
		v := verdict
		if s > 0 {
			v = seconds(s) + " " + verdict
		}
		b.Value = label{X: coord(rtoBarL + w + 6), Y: coord(y + 15), Text: v, Anchor: "start"}
		b.Title = name + ": " + v
		return b
	}
	for i, co := range r.Cohorts {
		verdict := cohortVerdict(co, r.ObjectiveSeconds)
		if co.RolledBack {
			verdict = "rolled back"
		}
		c.Bars = append(c.Bars, bar(i, co.Name, co.RTOSeconds, verdict, "rto-bar"))
	}
	overall := "not recovered"
	switch {
	case r.OverallSeconds > 0 && r.ObjectiveSeconds <= 0:
		overall = "no objective"
	case r.OverallSeconds > 0 && r.Met:
		overall = "met"
	case r.OverallSeconds > 0:
		overall = "missed"
	}
	c.Overall = bar(len(r.Cohorts), "overall", r.OverallSeconds, overall, "rto-overall")
	c.Aria = fmt.Sprintf("RTO per cohort; overall %s", c.Overall.Value.Text)
	if r.ObjectiveSeconds > 0 {
		x := coord(xAt(r.ObjectiveSeconds))
		c.Objective = &struct{ X, Y1, Y2, Value, Label, LabelY string }{
			X: x, Y1: coord(rtoTop - 6), Y2: coord(rtoTop + float64(rows)*rtoRow),
			Value: exact(r.ObjectiveSeconds), Label: "objective " + seconds(r.ObjectiveSeconds), LabelY: coord(rtoTop - 10),
		}
	}
	return c
}

// Trend chart layout: one panel per measure, drills evenly spaced.
const (
	trendW, trendPanelH = 640, 86.0
	trendL, trendR      = 130.0, 590.0 // the points; panel titles sit left of them
	trendTop            = 8.0
)

type trendChart struct {
	W, H   int
	Panels []trendPanel
	Drills []label
}

type trendPanel struct {
	Metric, Title string
	Line          string // polyline points
	Points        []trendPoint
	Base          struct{ X1, X2, Y string }
	TitleLabel    label
}

type trendPoint struct {
	CX, CY, Value, Title string
	Label                label
}

// newTrendChart lays out RTO, calls lost and gaps open across drills; it
// returns nil for fewer than two drills, where a trend would be one dot.
func newTrendChart(hs []HistoryPoint) *trendChart {
	if len(hs) < 2 {
		return nil
	}
	c := &trendChart{W: trendW}
	xAt := func(i int) float64 { return trendL + frac(float64(i), 0, float64(len(hs)-1))*(trendR-trendL) }
	metrics := []struct {
		key, title string
		value      func(HistoryPoint) float64
		text       func(float64) string
	}{
		{"rto", "RTO", func(h HistoryPoint) float64 { return h.RTOSeconds }, func(v float64) string {
			if v <= 0 {
				return never
			}
			return seconds(v)
		}},
		{"calls_lost", "Calls lost", func(h HistoryPoint) float64 { return float64(h.CallsLost) }, num},
		{"gaps_open", "Gaps open", func(h HistoryPoint) float64 { return float64(h.GapsOpen) }, num},
	}
	for m, metric := range metrics {
		top := trendTop + float64(m)*trendPanelH
		base := top + trendPanelH - 14
		hi := 0.0
		for _, h := range hs {
			hi = max(hi, metric.value(h))
		}
		p := trendPanel{Metric: metric.key, Title: metric.title}
		p.TitleLabel = label{X: "8", Y: coord(top + 14), Text: metric.title, Anchor: "start"}
		p.Base.X1, p.Base.X2, p.Base.Y = coord(trendL), coord(trendR), coord(base)
		var line []string
		for i, h := range hs {
			v := metric.value(h)
			x, y := xAt(i), base-frac(v, 0, hi)*(trendPanelH-34)
			line = append(line, coord(x)+","+coord(y))
			p.Points = append(p.Points, trendPoint{
				CX: coord(x), CY: coord(y), Value: exact(v),
				Title: fmt.Sprintf("%s: %s %s", h.DrillID, metric.title, metric.text(v)),
				Label: label{X: coord(x), Y: coord(y - 8), Text: metric.text(v), Anchor: "middle"},
			})
		}
		p.Line = strings.Join(line, " ")
		c.Panels = append(c.Panels, p)
	}
	bottom := trendTop + float64(len(metrics))*trendPanelH
	for i, h := range hs {
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case len(hs) - 1:
			anchor = "end"
		}
		// The date, not the drill's ID: IDs are long and alike, and the
		// table under the chart pairs each date with its ID.
		c.Drills = append(c.Drills, label{X: coord(xAt(i)), Y: coord(bottom + 4), Text: dateOf(h), Anchor: anchor})
	}
	c.H = int(bottom + 14)
	return c
}

func dateOf(h HistoryPoint) string {
	if h.At.IsZero() {
		return truncate(h.DrillID, 12)
	}
	return h.At.UTC().Format("2006-01-02")
}

// truncate shortens a label that would run off a chart; tables carry the
// full text.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
