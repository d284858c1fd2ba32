package report

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The formatting helpers below are shared by the Markdown and HTML
// renderers so that both say the same thing in the same words: a reader
// comparing the two files must never find a number rounded differently.

// never stands in for a time or duration the drill did not reach.
const never = "—"

// offset renders t relative to the drill's start as "+12.3s" or "+2m05.0s",
// the way people talk about a drill ("two minutes in"). Events before the
// start (the scenario's own setup) come out negative.
func offset(start, t time.Time) string {
	if t.IsZero() {
		return never
	}
	d := t.Sub(start)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
		if d < 0 { // the negation of the smallest Duration overflows
			d = math.MaxInt64
		}
	}
	// Round to tenths first so that 59.96s does not print as "60.0s".
	tenths := int64(d.Round(100*time.Millisecond) / (100 * time.Millisecond))
	secs := tenths / 10
	if secs < 60 {
		return fmt.Sprintf("%s%d.%ds", sign, secs, tenths%10)
	}
	mins, secs := secs/60, secs%60
	if mins < 60 {
		return fmt.Sprintf("%s%dm%02d.%ds", sign, mins, secs, tenths%10)
	}
	return fmt.Sprintf("%s%dh%02dm%02d.%ds", sign, mins/60, mins%60, secs, tenths%10)
}

// offsetSeconds is offset as a number, for chart axes.
func offsetSeconds(start, t time.Time) float64 {
	return t.Sub(start).Seconds()
}

// wall renders the wall clock in UTC: drills span regions and teams, and
// one stated zone avoids "whose 09:00?".
func wall(t time.Time) string {
	if t.IsZero() {
		return never
	}
	// Round, not the truncation Format does, so the wall clock agrees
	// with the offset next to it.
	return t.UTC().Round(100 * time.Millisecond).Format("15:04:05.0")
}

// stamp is a full UTC date and time for the report's header.
func stamp(t time.Time) string {
	if t.IsZero() {
		return never
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// seconds renders a duration given in seconds ("3m12.5s"); 0 means the
// thing never happened, which the callers say in words instead.
func seconds(s float64) string {
	if !finite(s) || math.Abs(s) > 1e9 {
		return "n/a"
	}
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}

// num renders a measured value for people: four significant digits are
// plenty for an error rate or a latency, and never an exponent.
func num(v float64) string {
	switch {
	case !finite(v):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatFloat(v, 'g', 4, 64)
	if strings.ContainsAny(s, "e") {
		s = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return s
}

// exact renders a value for data attributes: every digit, so a test or a
// script reading the SVG gets back the number the report was built from.
func exact(v float64) string {
	if !finite(v) {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// words turns an identifier such as rolled_back into "rolled back".
func words(s string) string {
	if s == "" {
		return "none"
	}
	return strings.ReplaceAll(s, "_", " ")
}

// threshold renders a gate condition: "error_rate < 0.05 %".
func threshold(g GateSeries) string {
	s := fmt.Sprintf("%s %s %s", g.Signal, g.Op, num(g.Threshold))
	if g.Unit != "" {
		s += " " + g.Unit
	}
	return s
}

// valueUnit renders a measured value with the series' unit.
func valueUnit(v float64, unit string) string {
	if unit == "" {
		return num(v)
	}
	return num(v) + " " + unit
}

// outcomeLine says how the outcome compares with the scenario's expected
// one; the renderers put the outcome itself in front of it.
func (d *Drill) outcomeLine() string {
	switch {
	case d.Expected == "":
		return "the scenario states no expected outcome"
	case d.AsExpected:
		return fmt.Sprintf("as expected (the scenario expects %s)", words(d.Expected))
	default:
		return fmt.Sprintf("NOT as expected: the scenario expects %s", words(d.Expected))
	}
}

// rtoLine states the overall RTO against the objective.
func (d *Drill) rtoLine() string {
	r := d.RTO
	switch {
	case r.OverallSeconds <= 0 && r.ObjectiveSeconds <= 0:
		return "The flow never fully recovered; the workbook states no RTO objective."
	case r.OverallSeconds <= 0:
		return fmt.Sprintf("The flow never fully recovered: the objective of %s was missed.", seconds(r.ObjectiveSeconds))
	case r.ObjectiveSeconds <= 0:
		return fmt.Sprintf("Overall RTO %s; the workbook states no RTO objective.", seconds(r.OverallSeconds))
	case r.Met:
		return fmt.Sprintf("Overall RTO %s against an objective of %s: met.", seconds(r.OverallSeconds), seconds(r.ObjectiveSeconds))
	default:
		return fmt.Sprintf("Overall RTO %s against an objective of %s: missed.", seconds(r.OverallSeconds), seconds(r.ObjectiveSeconds))
	}
}

// cohortVerdict is one cohort's RTO against the objective.
func cohortVerdict(c CohortRTO, objective float64) string {
	switch {
	case c.RTOSeconds <= 0:
		return "not recovered"
	case objective <= 0:
		return "no objective"
	case c.RTOSeconds <= objective:
		return "met"
	default:
		return "missed"
	}
}

// callsSourceNote says how far the call counts can be trusted: the ledger
// sees every call, the live APIs cannot see calls that died at the edge.
func (d *Drill) callsSourceNote() string {
	src := d.Calls.Source
	if src == "" {
		src = "unstated"
	}
	switch {
	case strings.Contains(strings.ToLower(src), "ledger"):
		return fmt.Sprintf("Source: %s. The emulator's ledger sees every call, so these counts are ground truth.", src)
	case d.Kind == "live" || strings.Contains(strings.ToLower(src), "api"):
		return fmt.Sprintf("Source: %s. Twilio's Calls and Alerts cannot see calls that died at the edge, so the lost count is a floor.", src)
	default:
		return fmt.Sprintf("Source: %s.", src)
	}
}

// lostShare is the share of placed calls lost, as "2.5%".
func lostShare(lost, placed int) string {
	if placed <= 0 {
		return never
	}
	return num(math.Round(float64(lost)/float64(placed)*1000)/10) + "%"
}

const standInNote = "This drill ran unattended. The steps and approvals below were recorded by named stand-ins, " +
	"not given by the people themselves; nobody should read them as those people's decisions."

// WriteFiles renders the report as report.json, report.md and report.html
// into dir (created if missing) and returns each file's name and path. It
// renders all three before writing any, and writes each through a
// temporary file and a rename, so a failure never leaves a half-written
// report that a reader could mistake for a whole one.
func (d *Drill) WriteFiles(dir string) (map[string]string, error) {
	if d == nil {
		return nil, errors.New("write report: no drill")
	}
	js, err := d.JSON()
	if err != nil {
		return nil, err
	}
	page, err := d.HTML()
	if err != nil {
		return nil, err
	}
	files := []struct {
		name string
		body []byte
	}{
		{"report.json", js},
		{"report.md", []byte(d.Markdown())},
		{"report.html", page},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	out := make(map[string]string, len(files))
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := writeAtomic(path, f.body); err != nil {
			return nil, fmt.Errorf("write report %s: %w", f.name, err)
		}
		out[f.name] = path
	}
	return out, nil
}

func writeAtomic(path string, body []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
