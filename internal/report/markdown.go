package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Markdown renders the report for a pull request, a ticket or a terminal.
// It has the HTML report's sections in the same order and words, without
// the charts: the tables carry the same numbers.
func (d *Drill) Markdown() string {
	if d == nil {
		return ""
	}
	var w mdWriter
	w.line("# Drill report: %s · %s · %s (%s)\n", text(d.Program), text(d.Flow), text(d.Scenario.Name), text(d.Kind))
	if d.Scenario.Description != "" {
		w.para(text(d.Scenario.Description))
	}
	facts := d.facts()
	for _, f := range facts {
		f[0], f[1] = "**"+f[0]+"**", text(f[1])
	}
	w.table([]string{"", ""}, facts)

	w.section("Outcome")
	w.para(fmt.Sprintf("**Outcome: %s** — %s.", text(words(d.Outcome)), text(d.outcomeLine())))
	if d.Reason != "" {
		w.para("Reason: " + text(d.Reason))
	}

	w.section("RTO")
	w.para(d.rtoLine())
	w.para("RTO runs from the scenario's start (the outage) to the cohort committed: its calls proven in " +
		text(d.Standby) + " and its gate go. Times are offsets from the drill's start.")
	rows := make([][]string, 0, len(d.RTO.Cohorts))
	for _, c := range d.RTO.Cohorts {
		rto := never
		if c.RTOSeconds > 0 {
			rto = seconds(c.RTOSeconds)
		}
		gate := text(words(c.Outcome))
		if c.RolledBack {
			gate += ", rolled back"
		}
		rows = append(rows, []string{text(c.Name), strconv.Itoa(c.Numbers), offset(d.Started, c.Started),
			offset(d.Started, c.Routed), offset(d.Started, c.Proven), offset(d.Started, c.Decided),
			gate, rto, cohortVerdict(c, d.RTO.ObjectiveSeconds)})
	}
	w.table([]string{"Cohort", "Numbers", "Started", "Routed", "Proven", "Decided", "Gate", "RTO", "Objective"}, rows)

	w.section("Timeline")
	rows = rows[:0]
	for _, e := range d.Timeline {
		rows = append(rows, []string{offset(d.Started, e.At), wall(e.At), text(words(e.Kind)), text(e.Cohort), text(e.Actor), text(e.Text)})
	}
	w.table([]string{"Offset", "Time (UTC)", "Event", "Cohort", "Actor", "What"}, rows)

	w.section("Calls")
	w.para(text(d.callsSourceNote()))
	w.para(fmt.Sprintf("Placed %d, lost %d (%s), answered by a fallback %d.",
		d.Calls.Placed, d.Calls.Lost, lostShare(d.Calls.Lost, d.Calls.Placed), d.Calls.Fallback))
	rows = rows[:0]
	for _, p := range d.Calls.Phases {
		rows = append(rows, []string{text(p.Name), strconv.Itoa(p.Placed), strconv.Itoa(p.Lost), strconv.Itoa(p.Fallback)})
	}
	w.table([]string{"Phase", "Placed", "Lost", "Fallback"}, rows)

	w.section("Gates")
	if len(d.Gates) == 0 {
		w.para("No gate was evaluated.")
	}
	for _, g := range d.Gates {
		w.line("### %s: %s", text(g.Gate), text(threshold(g)))
		w.line("")
		w.para(gateSummary(g))
		rows = rows[:0]
		for _, p := range g.Points {
			value, result := text(valueUnit(p.Value, g.Unit)), "fail"
			if p.Pass {
				result = "pass"
			}
			if p.Missing != "" {
				value, result = "not measured: "+text(p.Missing), "no value"
			}
			rows = append(rows, []string{offset(d.Started, p.At), text(p.Cohort), value, strconv.Itoa(p.Sample), result})
		}
		w.table([]string{"Offset", "Cohort", "Value", "Sample", "Result"}, rows)
	}

	w.section("Gaps")
	rows = rows[:0]
	for _, g := range d.Gaps {
		rows = append(rows, []string{text(g.Severity), text(g.Source), text(g.Kind), text(g.Resource), text(g.Text)})
	}
	w.tableOr([]string{"Severity", "Source", "Kind", "Resource", "What"}, rows, "The drill found no gaps.")

	w.section("Action items")
	rows = rows[:0]
	for _, a := range d.Actions {
		rows = append(rows, []string{text(a.ID), text(a.Title), text(a.Owner), text(a.Status)})
	}
	w.tableOr([]string{"ID", "Action", "Owner", "Status"}, rows, "No action items.")

	if len(d.StandIns) > 0 {
		w.section("Stand-ins")
		w.para(standInNote)
		rows = rows[:0]
		for _, s := range d.StandIns {
			rows = append(rows, []string{text(s.Person), text(s.Role), text(s.Step)})
		}
		w.table([]string{"Stood in for", "Role", "Step"}, rows)
	}

	if d.Kind == "live" || len(d.Touched) > 0 {
		w.section("Touched resources")
		w.para(touchedSummary(d.Touched))
		rows = rows[:0]
		for _, t := range d.Touched {
			rows = append(rows, []string{text(t.Resource), text(t.Before), text(t.After), yesNo(t.Restored)})
		}
		w.table([]string{"Resource", "Before", "After", "Restored"}, rows)
	}

	if len(d.History) > 0 {
		w.section("History")
		rows = rows[:0]
		for i, h := range d.History {
			id := text(h.DrillID)
			if i == len(d.History)-1 && h.DrillID == d.ID {
				id += " (this drill)"
			}
			rto := never
			if h.RTOSeconds > 0 {
				rto = seconds(h.RTOSeconds)
			}
			rows = append(rows, []string{id, stamp(h.At), text(h.Kind), text(h.Scenario),
				text(words(h.Outcome)), rto, strconv.Itoa(h.CallsLost), strconv.Itoa(h.GapsOpen)})
		}
		w.table([]string{"Drill", "When", "Kind", "Scenario", "Outcome", "RTO", "Calls lost", "Gaps open"}, rows)
	}

	if len(d.Notes) > 0 {
		w.section("Notes")
		for _, n := range d.Notes {
			w.line("- %s", text(n))
		}
		w.line("")
	}
	return strings.TrimRight(w.String(), "\n") + "\n"
}

// facts are the header's key facts, shared with the HTML report, as
// unescaped text: each renderer escapes them its own way.
func (d *Drill) facts() [][]string {
	rows := [][]string{
		{"Drill", d.ID},
		{"Kind", d.Kind},
		{"Regions", d.Primary + " → " + d.Standby},
		{"Started", stamp(d.Started)},
		{"Ended", stamp(d.Ended) + " (" + offset(d.Started, d.Ended) + ")"},
	}
	if d.RunID != "" {
		rows = append(rows, []string{"Run", d.RunID})
	}
	wb := d.Workbook.Path
	if d.Workbook.SHA256 != "" {
		wb += " sha256 " + d.Workbook.SHA256
	}
	if d.Workbook.GitCommit != "" {
		wb += " at git commit " + d.Workbook.GitCommit
	}
	return append(rows, []string{"Workbook", wb})
}

// gateSummary counts a series' evaluations in one sentence.
func gateSummary(g GateSeries) string {
	failed, missing := 0, 0
	for _, p := range g.Points {
		switch {
		case p.Missing != "":
			missing++
		case !p.Pass:
			failed++
		}
	}
	return fmt.Sprintf("%d evaluations: %d passed, %d failed, %d not measured.",
		len(g.Points), len(g.Points)-failed-missing, failed, missing)
}

// touchedSummary says whether a live drill left the account as it found it.
func touchedSummary(ts []Touched) string {
	if len(ts) == 0 {
		return "The drill moved no resources."
	}
	open := 0
	for _, t := range ts {
		if !t.Restored {
			open++
		}
	}
	if open == 0 {
		return fmt.Sprintf("All %d resources the drill moved returned to their snapshot.", len(ts))
	}
	return fmt.Sprintf("%d of %d resources the drill moved did not return to their snapshot.", open, len(ts))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// mdEscaper escapes what would turn user text into markup: emphasis, code,
// links, table cell breaks and raw HTML (a "<script>" in a scenario
// description must stay text wherever the Markdown is rendered).
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `|`, `\|`, "\r\n", " ", "\n", " ", "\r", " ",
)

// text escapes user-supplied text for Markdown; identifiers pass through
// unchanged apart from their escaping.
func text(s string) string { return mdEscaper.Replace(s) }

// mdWriter builds the document; its methods keep blank lines consistent.
type mdWriter struct{ strings.Builder }

func (w *mdWriter) line(format string, args ...any) {
	fmt.Fprintf(w, format, args...)
	w.WriteByte('\n')
}

func (w *mdWriter) para(s string) { w.line("%s\n", s) }

func (w *mdWriter) section(title string) { w.line("## %s\n", title) }

func (w *mdWriter) table(header []string, rows [][]string) {
	w.tableOr(header, rows, "None.")
}

// tableOr writes a table, or the sentence empty when there are no rows: a
// table with only a header reads as a rendering bug.
func (w *mdWriter) tableOr(header []string, rows [][]string, empty string) {
	if len(rows) == 0 {
		w.para(empty)
		return
	}
	w.line("| %s |", strings.Join(header, " | "))
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
	}
	w.line("| %s |", strings.Join(seps, " | "))
	for _, r := range rows {
		w.line("| %s |", strings.Join(r, " | "))
	}
	w.line("")
}
