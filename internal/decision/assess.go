package decision

import (
	"context"
	"errors"
	"fmt"

	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Technical is the technical assessment: can the standby take the flow now.
type Technical struct {
	// Ready is the standby's readiness (readiness.Check); ReadinessErrors
	// counts its blocking gaps.
	Ready           bool            `json:"ready"`
	ReadinessErrors int             `json:"readiness_errors"`
	Gaps            []readiness.Gap `json:"gaps"`
	// Executable says whether a failover plan can be made (plan.Make
	// without ErrNotReady); PlanDigest and Actions describe it.
	Executable bool   `json:"executable"`
	PlanDigest string `json:"plan_digest,omitempty"`
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	Actions    int    `json:"actions"`
	// Reason says why the plan is not executable (gaps, or the assessment
	// could not be made: no snapshot).
	Reason     string `json:"reason,omitempty"`
	SnapshotAt string `json:"snapshot_taken_at,omitempty"`
}

// AssessTechnical computes the technical assessment of flow now, from a
// fresh snapshot.
func (w *Watcher) AssessTechnical(ctx context.Context, flow string) Technical {
	t := Technical{Gaps: []readiness.Gap{}}
	if w.Snapshot == nil {
		t.Reason = "no snapshot source: readiness and plan cannot be assessed"
		return t
	}
	snap, err := w.Snapshot(ctx)
	if err != nil || snap == nil {
		t.Reason = fmt.Sprintf("snapshot unavailable: %v", err)
		return t
	}
	t.SnapshotAt = snap.TakenAt.UTC().Format("2006-01-02T15:04:05Z07:00")
	now := w.now()
	rep, err := readiness.Check(snap, w.Workbook, flow, readiness.Options{Now: w.now})
	if err != nil {
		t.Reason = fmt.Sprintf("readiness: %v", err)
		return t
	}
	t.Ready, t.ReadinessErrors, t.Gaps = rep.Ready, rep.Errors(), rep.Gaps
	p, err := plan.Make(plan.Input{Snapshot: snap, Workbook: w.Workbook, Flow: flow, Kind: plan.Failover, Now: now})
	if p != nil {
		t.PlanDigest, t.From, t.To, t.Actions = p.Digest, p.From, p.To, len(p.Actions())
	}
	switch {
	case errors.Is(err, plan.ErrNotReady):
		t.Reason = err.Error()
	case err != nil:
		t.Reason = fmt.Sprintf("plan: %v", err)
	default:
		t.Executable = true
	}
	return t
}

// Capability is one of the flow's declared capabilities in the impact.
type Capability struct {
	Name string `json:"name"`
	// Class is must_survive, can_degrade, can_wait or out_of_scope.
	Class string `json:"class"`
	// Now is its state under the detected failure: impaired (the primary
	// is failing) or unaffected.
	Now string `json:"now"`
	// InStandby is its state once the flow runs in the standby: works,
	// degraded, waits_for_failback or not_protected.
	InStandby string `json:"in_standby"`
}

// Impact is the business impact assessment, computed for the business
// owner, who adds a note.
type Impact struct {
	Flow        string `json:"flow"`
	Criticality string `json:"criticality"`
	RTO         string `json:"rto"`
	// Failure names what the detection saw and where.
	Failure string `json:"failure"`
	Region  string `json:"region"`
	// PrimaryFailing is true when the detected failure is in the primary:
	// the flow's capabilities are impaired now and a failover restores the
	// standby operating state. False (a standby signal, readiness lost)
	// means nothing is impaired now but the failover protection is.
	PrimaryFailing bool `json:"primary_failing"`
	// Affected are the capabilities the failure impairs now; Capabilities
	// every declared one with its state in the standby.
	Affected     []string     `json:"affected"`
	Capabilities []Capability `json:"capabilities"`
}

// AssessImpact computes the business impact of a firing on its flow.
func (w *Watcher) AssessImpact(f Firing) Impact {
	im := Impact{Flow: f.Flow, Region: string(f.Region), Affected: []string{}, Capabilities: []Capability{},
		Failure: fmt.Sprintf("%s (%s) %s %v %s for %s", f.Signal, f.Source, f.Condition.Op, f.Condition.Value, f.Condition.Unit, f.For)}
	fl := w.flow(f.Flow)
	if fl == nil {
		return im
	}
	im.Criticality, im.RTO = string(fl.Criticality), fl.RTO.String()
	probe := w.signal(f.Signal).Params["probe"]
	im.PrimaryFailing = probe != ProbeReadiness && f.Region == w.regionOf(workbook.Signal{})
	now := "unaffected"
	if im.PrimaryFailing {
		now = "impaired"
	}
	add := func(names []string, class, standby string) {
		for _, n := range names {
			im.Capabilities = append(im.Capabilities, Capability{Name: n, Class: class, Now: now, InStandby: standby})
			if im.PrimaryFailing {
				im.Affected = append(im.Affected, n)
			}
		}
	}
	add(fl.MustSurvive, "must_survive", "works")
	add(fl.CanDegrade, "can_degrade", "degraded")
	add(fl.CanWait, "can_wait", "waits_for_failback")
	add(fl.OutOfScope, "out_of_scope", "not_protected")
	return im
}
