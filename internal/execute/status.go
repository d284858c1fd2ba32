package execute

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/workbook"
)

// TwilioSignals proves and judges through the signals package.
type TwilioSignals struct{ Env signals.Env }

// Prove implements Signals.
func (t TwilioSignals) Prove(ctx context.Context, in signals.ProveInput) ([]signals.NumberProof, error) {
	return signals.Prove(ctx, t.Env, in)
}

// EvaluateGate implements Signals.
func (t TwilioSignals) EvaluateGate(ctx context.Context, g workbook.Gate, sigs []workbook.Signal, sc signals.Scope) (signals.Result, error) {
	return signals.EvaluateGate(ctx, t.Env, g, sigs, sc)
}

// Baseline implements Signals.
func (t TwilioSignals) Baseline(ctx context.Context, r region.Region, numbers []string, since, until time.Time) (float64, int, error) {
	return signals.Baseline(ctx, t.Env, r, numbers, since, until)
}

// Status is a run as its ledger tells it.
type Status struct {
	Run     store.Run      `json:"run"`
	Cohorts []CohortStatus `json:"cohorts"`
	// Steps counts the plan's actions by their last step.
	Steps   map[store.Step]int `json:"steps"`
	Records int                `json:"ledger_records"`
}

// CohortStatus is one cohort's last step and its gate's decision, if any.
type CohortStatus struct {
	Name    string             `json:"name"`
	Kind    string             `json:"kind"`
	Actions int                `json:"actions"`
	Step    store.Step         `json:"step,omitempty"`
	Steps   map[store.Step]int `json:"steps"`
	Gate    json.RawMessage    `json:"gate,omitempty"`
	Reason  string             `json:"reason,omitempty"`
}

// Status reads a run and its ledger.
func (e *Engine) Status(ctx context.Context, runID string) (*Status, error) {
	p, run, err := e.LoadPlan(ctx, runID)
	if err != nil {
		return nil, err
	}
	recs, err := e.Store.Actions(ctx, runID)
	if err != nil {
		return nil, err
	}
	var f Fold
	f.Add(recs)
	return f.Status(run, p), nil
}

// Fold is a run's ledger folded record by record: the last step of every
// key and the latest cohort and gate records. A reader following a live
// run (the server) adds only the records after Seq instead of re-reading
// the whole ledger.
type Fold struct {
	Seq     int64 // the last record folded
	Records int
	last    map[string]store.Step
	detail  map[string]json.RawMessage
}

// Add folds records, which must follow Seq in order.
func (f *Fold) Add(recs []store.ActionRecord) {
	if f.last == nil {
		f.last, f.detail = map[string]store.Step{}, map[string]json.RawMessage{}
	}
	for _, r := range recs {
		f.last[r.ActionKey] = r.Step
		if strings.HasPrefix(r.ActionKey, "gate:") || strings.HasPrefix(r.ActionKey, "cohort:") {
			f.detail[r.ActionKey] = r.Detail
		}
		f.Seq = r.Seq
	}
	f.Records += len(recs)
}

// Status is the run's status as folded so far, for plan p.
func (f *Fold) Status(run store.Run, p *plan.Plan) *Status {
	st := &Status{Run: run, Steps: map[store.Step]int{}, Records: f.Records, Cohorts: []CohortStatus{}}
	for _, c := range p.Cohorts {
		cs := CohortStatus{Name: c.Name, Kind: c.Kind, Actions: len(c.Actions), Step: f.last[cohortKey(c.Name)], Steps: map[store.Step]int{}}
		for _, a := range c.Actions {
			s := f.last[a.Key]
			if s == "" {
				s = "pending"
			}
			cs.Steps[s]++
			st.Steps[s]++
		}
		var e entry
		if json.Unmarshal(f.detail[cohortKey(c.Name)], &e) == nil {
			cs.Reason = e.Reason
			if b, err := json.Marshal(e.Detail); err == nil && e.Detail != nil && cs.Step == store.StepCommitted {
				cs.Gate = b
			}
		}
		if g, ok := f.detail["gate:"+c.Name]; ok {
			var ge entry
			if json.Unmarshal(g, &ge) == nil && ge.Detail != nil {
				cs.Gate, _ = json.Marshal(ge.Detail)
			}
		}
		st.Cohorts = append(st.Cohorts, cs)
	}
	return st
}
