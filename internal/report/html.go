package report

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"strconv"
)

// The page is one html/template so that every piece of user text (scenario
// descriptions, notes, gap texts, names) is escaped by the template engine
// rather than by hand. It carries its CSS inline and loads nothing: a
// Content-Security-Policy of default-src 'none' makes the browser refuse
// any fetch even if some text ever slipped through as markup.
//
//go:embed report.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("report").Parse(pageSource))

// HTML renders the report as one self-contained page: inline CSS, charts as
// inline SVG, no scripts, fonts, images or network access, readable on a
// phone. It can be mailed, attached to a ticket or opened from disk.
func (d *Drill) HTML() ([]byte, error) {
	if d == nil {
		return nil, errors.New("render report html: no drill")
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, d.page()); err != nil {
		return nil, fmt.Errorf("render report html: %w", err)
	}
	return b.Bytes(), nil
}

// page is the template's data: the drill with every number already
// formatted by the helpers the Markdown uses, so both say the same.
type page struct {
	D                                      *Drill
	Title                                  string
	Facts                                  [][]string
	Outcome, OutcomeLine, RTOLine          string
	CallsNote, Lost                        string
	StandInNote, TouchedSummary            string
	Cohorts                                []cohortRow
	Timeline                               []eventRow
	Gates                                  []gateView
	RTOChart                               rtoChart
	Trend                                  *trendChart
	History                                []historyRow
	Touched                                []touchedRow
	ShowTouched, RTOMet, HasObjective, Bad bool
}

type cohortRow struct {
	Name, Numbers, Started, Routed, Proven, Decided, Gate, RTO, Verdict string
	RolledBack                                                          bool
}

type eventRow struct{ Offset, Wall, Kind, RawKind, Cohort, Actor, Text string }

type gateView struct {
	Heading, Summary string
	Chart            gateChart
	Rows             []pointRow
}

type pointRow struct {
	Offset, Cohort, Value, Sample, Result string
	Pass, Missing                         bool
}

type historyRow struct {
	DrillID, When, Kind, Scenario, Outcome, RTO, CallsLost, GapsOpen string
	Current                                                          bool
}

type touchedRow struct {
	Resource, Before, After, Restored string
	Ok                                bool
}

func (d *Drill) page() page {
	p := page{
		D:              d,
		Title:          fmt.Sprintf("Drill report: %s · %s · %s (%s)", d.Program, d.Flow, d.Scenario.Name, d.Kind),
		Facts:          d.facts(),
		Outcome:        words(d.Outcome),
		OutcomeLine:    d.outcomeLine(),
		RTOLine:        d.rtoLine(),
		CallsNote:      d.callsSourceNote(),
		Lost:           lostShare(d.Calls.Lost, d.Calls.Placed),
		StandInNote:    standInNote,
		TouchedSummary: touchedSummary(d.Touched),
		RTOChart:       newRTOChart(d.RTO),
		Trend:          newTrendChart(d.History),
		ShowTouched:    d.Kind == "live" || len(d.Touched) > 0,
		RTOMet:         d.RTO.Met,
		HasObjective:   d.RTO.ObjectiveSeconds > 0,
		Bad:            d.Expected != "" && !d.AsExpected,
	}
	for _, c := range d.RTO.Cohorts {
		rto := never
		if c.RTOSeconds > 0 {
			rto = seconds(c.RTOSeconds)
		}
		gate := words(c.Outcome)
		if c.RolledBack {
			gate += ", rolled back"
		}
		p.Cohorts = append(p.Cohorts, cohortRow{
			Name: c.Name, Numbers: strconv.Itoa(c.Numbers),
			Started: offset(d.Started, c.Started), Routed: offset(d.Started, c.Routed),
			Proven: offset(d.Started, c.Proven), Decided: offset(d.Started, c.Decided),
			Gate: gate, RTO: rto, Verdict: cohortVerdict(c, d.RTO.ObjectiveSeconds), RolledBack: c.RolledBack,
		})
	}
	for _, e := range d.Timeline {
		p.Timeline = append(p.Timeline, eventRow{
			Offset: offset(d.Started, e.At), Wall: wall(e.At), Kind: words(e.Kind), RawKind: e.Kind,
			Cohort: e.Cohort, Actor: e.Actor, Text: e.Text,
		})
	}
	for _, g := range d.Gates {
		v := gateView{Heading: g.Gate + ": " + threshold(g), Summary: gateSummary(g), Chart: newGateChart(d.Started, g)}
		for _, pt := range g.Points {
			r := pointRow{Offset: offset(d.Started, pt.At), Cohort: pt.Cohort, Value: valueUnit(pt.Value, g.Unit),
				Sample: strconv.Itoa(pt.Sample), Result: "fail", Pass: pt.Pass}
			if pt.Pass {
				r.Result = "pass"
			}
			if pt.Missing != "" {
				r.Value, r.Result, r.Missing = "not measured: "+pt.Missing, "no value", true
			}
			v.Rows = append(v.Rows, r)
		}
		p.Gates = append(p.Gates, v)
	}
	for i, h := range d.History {
		rto := never
		if h.RTOSeconds > 0 {
			rto = seconds(h.RTOSeconds)
		}
		p.History = append(p.History, historyRow{
			DrillID: h.DrillID, When: stamp(h.At), Kind: h.Kind, Scenario: h.Scenario, Outcome: words(h.Outcome),
			RTO: rto, CallsLost: strconv.Itoa(h.CallsLost), GapsOpen: strconv.Itoa(h.GapsOpen),
			// History ends with this drill; mark it so the table reads
			// "you are here".
			Current: i == len(d.History)-1 && h.DrillID == d.ID,
		})
	}
	for _, t := range d.Touched {
		p.Touched = append(p.Touched, touchedRow{Resource: t.Resource, Before: t.Before, After: t.After,
			Restored: yesNo(t.Restored), Ok: t.Restored})
	}
	return p
}
