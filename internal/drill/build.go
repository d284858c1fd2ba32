package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/voicedr/voicedr/internal/evidence"
	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/scenario"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// historyLimit bounds the earlier drills a report's trend shows.
const historyLimit = 20

// finish assembles the report, records the action items, writes the files
// and stores the drill.
func (r *tabletopRun) finish(ctx context.Context, res *execute.Result, fault time.Time) (*Outcome, error) {
	t, rep := r.t, r.rep
	rep.Ended = time.Now().UTC()
	rep.Outcome = outcomeOf(res, !r.validated.IsZero())
	if res != nil && res.Reason != "" && rep.Reason == "" {
		rep.Reason = res.Reason
	}
	rep.RTO = rto(res, fault, time.Duration(r.flow.RTO), rep.Outcome == OutcomeCompleted)
	if rep.RTO.ObjectiveSeconds > 0 && rep.Outcome == OutcomeCompleted && !rep.RTO.Met {
		r.gap(report.Gap{Source: "drill", Kind: "rto_missed", Severity: "error",
			Text: fmt.Sprintf("The flow recovered in %.0fs, over its %.0fs objective.", rep.RTO.OverallSeconds, rep.RTO.ObjectiveSeconds)})
	}
	r.gap(cohortGaps(res)...)
	rep.Calls = ledgerCalls(r.sb.emu, r.numbers, r.marks, res != nil)
	rep.Gates = gateSeries(res)
	rep.Timeline = r.rec.timeline()
	rep.StandIns = r.standIns
	rep.Gaps = r.gaps
	net := r.sb.guard.network()
	conns := 0
	for _, n := range net.Dialed {
		conns += n
	}
	r.note(fmt.Sprintf("Network: %d connections to %d loopback addresses; %d refused.", conns, len(net.Dialed), len(net.Refused)))
	rep.Notes = r.notes
	rep.AsExpected = asExpected(rep, t.Scenario.Expect)
	var err error
	if rep.Actions, err = recordActions(ctx, t.Store, rep, r.wb); err != nil {
		return nil, err
	}
	if rep.History, err = history(ctx, t.Store, rep); err != nil {
		return nil, err
	}
	files, err := writeDrillFiles(r.dir, rep, t.ScenarioText, t.WorkbookPath)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	if err := t.Store.SaveDrill(ctx, store.Drill{ID: rep.ID, Flow: rep.Flow, Name: t.Name, Kind: rep.Kind, Scenario: rep.Scenario.Name,
		Outcome: rep.Outcome, StartedAt: rep.Started, EndedAt: rep.Ended, Dir: r.dir, Report: body}); err != nil {
		return nil, err
	}
	return &Outcome{Report: rep, Dir: r.dir, Files: files, Network: net}, nil
}

// outcomeOf maps a run's end (nil: no run) to the drill's outcome.
func outcomeOf(res *execute.Result, validated bool) string {
	if res == nil {
		return OutcomeRefused
	}
	switch res.State {
	case store.RunCompleted:
		if validated {
			return OutcomeCompleted
		}
		return OutcomeFailed
	case store.RunRolledBack:
		return OutcomeRolledBack
	case store.RunPaused:
		return OutcomePaused
	}
	return OutcomeFailed
}

// asExpected compares the outcome and gap kinds with the scenario's.
func asExpected(rep *report.Drill, ex scenario.Expect) bool {
	if ex.Outcome != "" && ex.Outcome != rep.Outcome {
		return false
	}
	for _, k := range ex.Gaps {
		if !slices.ContainsFunc(rep.Gaps, func(g report.Gap) bool { return g.Kind == k }) {
			return false
		}
	}
	return true
}

// rto measures each committed cohort from the fault to its gate's go, and
// the flow from the fault to its last cohort's go.
func rto(res *execute.Result, fault time.Time, objective time.Duration, recovered bool) report.RTO {
	out := report.RTO{ObjectiveSeconds: objective.Seconds()}
	if res == nil {
		return out
	}
	var last time.Time
	for _, c := range res.Cohorts {
		cr := report.CohortRTO{Name: c.Name, Numbers: c.Actions, Started: c.Started, Routed: c.Routed, Proven: c.Proven,
			Decided: c.Decided, Outcome: c.Outcome, RolledBack: c.Rollback}
		if cr.Outcome == "" {
			cr.Outcome = "not_run"
		}
		if c.Outcome == string(signals.Go) && !c.Rollback && !c.Decided.IsZero() {
			cr.RTOSeconds = c.Decided.Sub(fault).Seconds()
			if c.Decided.After(last) {
				last = c.Decided
			}
		}
		out.Cohorts = append(out.Cohorts, cr)
	}
	if recovered && !last.IsZero() {
		out.OverallSeconds = last.Sub(fault).Seconds()
		out.Met = objective <= 0 || last.Sub(fault) <= objective
	}
	return out
}

// cohortGaps names each cohort a gate stopped.
func cohortGaps(res *execute.Result) []report.Gap {
	if res == nil {
		return nil
	}
	var out []report.Gap
	for _, c := range res.Cohorts {
		reason := ""
		if c.Gate != nil {
			reason = c.Gate.Reason
		}
		switch c.Outcome {
		case string(signals.NoGo):
			out = append(out, report.Gap{Source: "drill", Kind: "cohort_no_go", Severity: "error", Resource: "cohort:" + c.Name,
				Text: fmt.Sprintf("Cohort %s failed its gate in the standby (%s) and was rolled back: %s", c.Name, c.Kind, reason)})
		case string(signals.Inconclusive):
			out = append(out, report.Gap{Source: "drill", Kind: "gate_inconclusive", Severity: "error", Resource: "cohort:" + c.Name,
				Text: fmt.Sprintf("Cohort %s could not be judged and the run paused for a human: %s", c.Name, reason)})
		}
	}
	return out
}

// ledgerCalls counts the flow's inbound calls per phase from the
// emulator's ledger: the ground truth a tabletop drill has and Twilio's
// APIs do not (calls that die at the edge leave no record).
func ledgerCalls(emu *twilioemu.Emulator, numbers []string, m marks, moved bool) report.Calls {
	flow := map[string]bool{}
	for _, n := range numbers {
		flow[n] = true
	}
	end := m.validateEnd
	if end == 0 {
		end = ledgerSeq(emu)
	}
	names := []string{"before the move", "during the move", "after the move"}
	bounds := []int64{m.moveStart, m.moveEnd, end}
	if !moved {
		names, bounds = []string{"during the outage"}, []int64{end}
	}
	out := report.Calls{Source: "emulator ledger"}
	for _, n := range names {
		out.Phases = append(out.Phases, report.Phase{Name: n})
	}
	entries, _ := emu.Ledger(m.fault, 0)
	for _, e := range entries {
		if e.Seq > end || !flow[e.To] || e.Kind != "inbound" {
			continue
		}
		i := 0
		for i < len(bounds)-1 && e.Seq > bounds[i] {
			i++
		}
		p := &out.Phases[i]
		p.Placed++
		if e.Outcome != twilioemu.OutcomeAnswered {
			p.Lost++
		}
		if e.Fallback {
			p.Fallback++
		}
	}
	for _, p := range out.Phases {
		out.Placed, out.Lost, out.Fallback = out.Placed+p.Placed, out.Lost+p.Lost, out.Fallback+p.Fallback
	}
	return out
}

// gateSeries is every gate evaluation's values, one series per gate and
// signal, in the order cohorts ran.
func gateSeries(res *execute.Result) []report.GateSeries {
	if res == nil {
		return nil
	}
	var out []report.GateSeries
	index := map[string]int{}
	for _, c := range res.Cohorts {
		if c.Gate == nil {
			continue
		}
		ms := c.Gate.Series
		if len(ms) == 0 {
			ms = c.Gate.Measurements
		}
		for _, m := range ms {
			key := c.Gate.Gate + "\x00" + m.Signal
			i, ok := index[key]
			if !ok {
				i = len(out)
				index[key] = i
				out = append(out, report.GateSeries{Gate: c.Gate.Gate, Signal: m.Signal, Op: m.Threshold.Op,
					Threshold: m.Threshold.Value, Unit: m.Threshold.Unit})
			}
			out[i].Points = append(out[i].Points, report.Point{At: m.At.UTC(), Cohort: c.Name, Value: m.Value,
				Sample: m.Sample, Pass: m.Pass, Missing: m.Missing})
		}
	}
	return out
}

// recordActions turns the drill's error gaps into action items owned by
// the workbook's technical lead (or the first person who can act), stored
// until closed.
func recordActions(ctx context.Context, st store.Store, rep *report.Drill, wb *workbook.Workbook) ([]report.Action, error) {
	owner := "unassigned"
	for _, role := range []string{"technical_lead", "on_call", "operator", "incident_commander"} {
		if i := slices.IndexFunc(wb.Governance.People, func(p workbook.Person) bool { return p.Role == role }); i >= 0 {
			owner = wb.Governance.People[i].Name
			break
		}
	}
	var out []report.Action
	for _, g := range rep.Gaps {
		if g.Source != "drill" || g.Severity != "error" {
			continue
		}
		a := store.ActionItem{ID: fmt.Sprintf("%s-a%d", rep.ID, len(out)+1), DrillID: rep.ID, Flow: rep.Flow,
			Title: g.Kind + ": " + g.Text, Owner: owner, CreatedAt: rep.Ended}
		if err := st.SaveActionItem(ctx, a); err != nil {
			return nil, err
		}
		out = append(out, report.Action{ID: a.ID, Title: a.Title, Owner: a.Owner, Status: "open"})
	}
	return out, nil
}

// history is the flow's earlier finished drills, oldest first, then this one.
func history(ctx context.Context, st store.Store, rep *report.Drill) ([]report.HistoryPoint, error) {
	ds, err := st.ListDrills(ctx, rep.Flow, historyLimit)
	if err != nil {
		return nil, err
	}
	var out []report.HistoryPoint
	for _, d := range ds {
		var old report.Drill
		if d.ID == rep.ID || len(d.Report) == 0 || json.Unmarshal(d.Report, &old) != nil {
			continue
		}
		out = append(out, point(&old))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return append(out, point(rep)), nil
}

func point(d *report.Drill) report.HistoryPoint {
	open := 0
	for _, g := range d.Gaps {
		if g.Severity == "error" {
			open++
		}
	}
	return report.HistoryPoint{DrillID: d.ID, At: d.Started, Kind: d.Kind, Scenario: d.Scenario.Name, Outcome: d.Outcome,
		RTOSeconds: d.RTO.OverallSeconds, CallsLost: d.Calls.Lost, GapsOpen: open}
}

// writeDrillFiles writes the report and copies of the scenario and
// workbook into the drill's directory (evidence bundles take them all).
func writeDrillFiles(dir string, rep *report.Drill, scenario []byte, workbookPath string) (map[string]string, error) {
	files, err := rep.WriteFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(scenario) > 0 {
		p := filepath.Join(dir, "scenario.yaml")
		if err := os.WriteFile(p, scenario, 0o644); err != nil {
			return nil, err
		}
		files["scenario.yaml"] = p
	}
	if workbookPath != "" {
		if b, err := os.ReadFile(workbookPath); err == nil {
			p := filepath.Join(dir, "workbook.yaml")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return nil, err
			}
			files["workbook.yaml"] = p
		}
	}
	return files, nil
}

// workbookRef is the workbook's file, digest and git commit (best effort:
// a drill of a workbook outside git has no commit).
func workbookRef(path string) report.Workbook {
	w := report.Workbook{Path: path}
	if path != "" {
		w.SHA256, w.GitCommit, _ = evidence.WorkbookVersion(path)
	}
	return w
}
