// Package report renders a drill's report: a timeline from detection to
// validated, RTO per cohort and overall against the workbook's objective,
// calls lost and fallback hits, gate charts, gaps, action items and the
// trend across earlier drills, as self-contained HTML (charts inline SVG, no
// network), Markdown and JSON.
//
// The Drill type is the report's data; package drill fills it, this package
// only renders it, so a report can be re-rendered from its stored JSON.
package report

import "time"

// Version of the report's JSON.
const Version = 1

// Drill is one drill's report.
type Drill struct {
	Version  int       `json:"version"`
	ID       string    `json:"id"`
	Program  string    `json:"program"`
	Flow     string    `json:"flow"`
	Kind     string    `json:"kind"` // tabletop or live
	Scenario Scenario  `json:"scenario"`
	Workbook Workbook  `json:"workbook"`
	Primary  string    `json:"primary"` // region the flow left
	Standby  string    `json:"standby"` // region it moved to
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
	// Outcome is how the drill ended: completed, rolled_back, paused,
	// failed, refused or not_detected. Expected is the scenario's expected
	// outcome ("" when it states none); AsExpected compares them.
	Outcome    string `json:"outcome"`
	Expected   string `json:"expected,omitempty"`
	AsExpected bool   `json:"as_expected"`
	// Reason says why the run ended as it did (the engine's reason).
	Reason string `json:"reason,omitempty"`
	RunID  string `json:"run_id,omitempty"`
	// RunIDs are the runs a live drill made in voicedr's store (the
	// failover, then the failback), for evidence bundles to carry.
	RunIDs   []string     `json:"run_ids,omitempty"`
	RTO      RTO          `json:"rto"`
	Timeline []Event      `json:"timeline"`
	Calls    Calls        `json:"calls"`
	Gates    []GateSeries `json:"gates"`
	Gaps     []Gap        `json:"gaps"`
	Actions  []Action     `json:"actions"`
	// StandIns are the people whose steps and approvals were recorded by
	// named stand-ins because the drill ran unattended.
	StandIns []StandIn `json:"stand_ins,omitempty"`
	// Touched is, for a live drill, every resource moved and whether it
	// returned to its snapshot.
	Touched []Touched `json:"touched,omitempty"`
	// History is this flow's earlier drills, oldest first, ending with this one.
	History []HistoryPoint `json:"history,omitempty"`
	Notes   []string       `json:"notes,omitempty"`
}

// Scenario names what was rehearsed.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Workbook is the workbook version the drill ran: its file, digest and git
// commit when it sits in a git work tree.
type Workbook struct {
	Path      string `json:"path"`
	SHA256    string `json:"sha256"`
	GitCommit string `json:"git_commit,omitempty"`
}

// RTO is the time to recover per cohort and overall, from the scenario's
// start (the outage) to the cohort committed (its calls proven in the
// standby and its gate go), against the flow's objective.
type RTO struct {
	ObjectiveSeconds float64     `json:"objective_seconds"` // 0: the workbook states none
	OverallSeconds   float64     `json:"overall_seconds"`   // 0 when the flow never fully recovered
	Met              bool        `json:"met"`
	Cohorts          []CohortRTO `json:"cohorts"`
}

// CohortRTO is one cohort's timings. Zero times mean "never reached".
type CohortRTO struct {
	Name       string    `json:"name"`
	Numbers    int       `json:"numbers"`
	Started    time.Time `json:"started"`
	Routed     time.Time `json:"routed"`
	Proven     time.Time `json:"proven"`
	Decided    time.Time `json:"decided"`
	Outcome    string    `json:"outcome"` // go, no_go, inconclusive, not_run
	RolledBack bool      `json:"rolled_back,omitempty"`
	RTOSeconds float64   `json:"rto_seconds"` // 0 unless it committed
}

// Event is one line of the timeline.
type Event struct {
	At time.Time `json:"at"`
	// Kind: scenario, fault, detection, decision_step, plan, approval,
	// cohort_started, cohort_routed, proof, gate, cohort_committed,
	// cohort_rolled_back, run_ended, validated, failback, restored.
	Kind   string `json:"kind"`
	Actor  string `json:"actor,omitempty"`
	Cohort string `json:"cohort,omitempty"`
	Text   string `json:"text"`
}

// Calls counts the flow's calls during the drill. Tabletop counts come from
// the emulator's ledger (ground truth); live ones from Twilio's Calls and
// Alerts, which cannot see calls that died at the edge.
type Calls struct {
	Source   string  `json:"source"` // "emulator ledger" or "Calls and Alerts API"
	Placed   int     `json:"placed"`
	Lost     int     `json:"lost"`
	Fallback int     `json:"fallback"` // answered by a fallback URL
	Phases   []Phase `json:"phases"`
}

// Phase is the calls of one stretch of the drill.
type Phase struct {
	Name     string `json:"name"` // e.g. "before the move", "during the move", "after the move"
	Placed   int    `json:"placed"`
	Lost     int    `json:"lost"`
	Fallback int    `json:"fallback"`
}

// GateSeries is one gate condition's measurements over the drill, one point
// per evaluation, with its threshold.
type GateSeries struct {
	Gate      string  `json:"gate"`
	Signal    string  `json:"signal"`
	Op        string  `json:"op"` // <, <=, >, >=
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit"`
	Points    []Point `json:"points"`
}

// Point is one evaluation of a gate condition.
type Point struct {
	At      time.Time `json:"at"`
	Cohort  string    `json:"cohort"`
	Value   float64   `json:"value"`
	Sample  int       `json:"sample"`
	Pass    bool      `json:"pass"`
	Missing string    `json:"missing,omitempty"` // why no value was measured
}

// Gap is something the drill found not ready.
type Gap struct {
	Source   string `json:"source"` // readiness or drill
	Kind     string `json:"kind"`
	Severity string `json:"severity"` // error or warning
	Resource string `json:"resource,omitempty"`
	Text     string `json:"text"`
}

// Action is a follow-up with its owner, tracked in the store until closed.
type Action struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Owner  string `json:"owner"`
	Status string `json:"status"` // open or closed
}

// StandIn records who a step or approval was recorded for in an
// unattended drill.
type StandIn struct {
	Person string `json:"person"`
	Role   string `json:"role"`
	Step   string `json:"step"` // a decision step or "approval"
}

// Touched is one resource a live drill moved, and whether it came back.
type Touched struct {
	Resource string `json:"resource"` // number:+1…, trunk:…
	Before   string `json:"before"`
	After    string `json:"after"`
	Restored bool   `json:"restored"`
}

// HistoryPoint is one drill in the trend.
type HistoryPoint struct {
	DrillID    string    `json:"drill_id"`
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	Scenario   string    `json:"scenario"`
	Outcome    string    `json:"outcome"`
	RTOSeconds float64   `json:"rto_seconds"`
	CallsLost  int       `json:"calls_lost"`
	GapsOpen   int       `json:"gaps_open"`
}
