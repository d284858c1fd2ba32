package server

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/schedule"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/workbook"
)

// RegionView is a region's latest probe.
type RegionView struct {
	Region    string    `json:"region"`
	Status    string    `json:"status"` // up, degraded, down
	MedianMS  float64   `json:"median_ms"`
	CheckedAt time.Time `json:"checked_at"`
	Error     string    `json:"error"`
}

// FlowView is a flow's latest readiness check.
type FlowView struct {
	Flow      string          `json:"flow"`
	Primary   string          `json:"primary"`
	Standby   string          `json:"standby"`
	Numbers   int             `json:"numbers"`
	Ready     bool            `json:"ready"`
	Errors    int             `json:"errors"` // gaps of severity error
	CheckedAt time.Time       `json:"checked_at"`
	Gaps      []readiness.Gap `json:"gaps"`
	// Problem says why the flow could not be checked at all.
	Problem string `json:"problem,omitempty"`
}

// probe measures every region of the set; the API and metrics serve the
// result until the next probe.
func (s *Server) probe(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	hs := twilio.ProbeAll(ctx, s.opts.Set, s.opts.ProbeOptions)
	if ctx.Err() != nil {
		return // a probe cut short by shutdown says nothing of the regions
	}
	out := make([]RegionView, 0, len(hs))
	for _, h := range hs {
		v := RegionView{Region: string(h.Region), Status: string(h.Status), MedianMS: float64(h.Median.Microseconds()) / 1000, CheckedAt: h.At.UTC()}
		if h.Err != nil {
			// Classified errors name the operation and Twilio's code and
			// message, never credentials.
			v.Error = h.Err.Error()
		}
		if h.Status != twilio.StatusUp {
			s.log.Warn("region probe", "region", h.Region, "status", h.Status, "err", v.Error)
		}
		out = append(out, v)
	}
	s.mu.Lock()
	s.regions = out
	s.mu.Unlock()
	s.probed.Store(true)
}

// checkReadiness reads the account once and checks every flow of the
// workbook against it.
func (s *Server) checkReadiness(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	snap, err := s.opts.Snapshot(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("readiness: cannot read the account; keeping the last results", "err", err)
		}
		return
	}
	if _, err := s.st.SaveSnapshot(ctx, snap); err != nil && ctx.Err() == nil {
		// Stored snapshots feed ungraceful plans; the check goes on.
		s.log.Warn("readiness: snapshot not stored", "err", err)
	}
	out := make([]FlowView, 0, len(s.wb.Flows))
	for _, f := range s.wb.Flows {
		v := FlowView{Flow: f.Name, CheckedAt: s.now().UTC(), Gaps: []readiness.Gap{}}
		rep, err := readiness.Check(snap, s.wb, f.Name, s.readinessOptions(ctx, f.Name))
		if err != nil {
			v.Problem = err.Error()
			out = append(out, v)
			continue
		}
		v.Primary, v.Numbers, v.Ready, v.Errors, v.Gaps = rep.Primary, rep.Numbers, rep.Ready, rep.Errors(), rep.Gaps
		if len(rep.Standbys) > 0 {
			v.Standby = rep.Standbys[0]
		}
		if v.Gaps == nil {
			v.Gaps = []readiness.Gap{}
		}
		out = append(out, v)
	}
	s.mu.Lock()
	s.flows = out
	s.mu.Unlock()
}

// readinessOptions judges flow's workbook drills against the store's drill
// history, as voicedr readiness --db does, so the flows page shows overdue
// drills. When the history cannot be read, drills are left unjudged rather
// than all called overdue: silence is not a pass, but neither is a guess.
func (s *Server) readinessOptions(ctx context.Context, flow string) readiness.Options {
	opts := readiness.Options{Now: s.now}
	history, err := s.st.ListDrills(ctx, flow, 0)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("readiness: drill history not readable; drills not judged", "flow", flow, "err", err)
		}
		return opts
	}
	var drills []workbook.Drill
	for _, d := range s.wb.Drills {
		if d.Flow == flow {
			drills = append(drills, d)
		}
	}
	opts.DrillsChecked = true
	for _, d := range schedule.Overdue(schedule.Status(drills, history, s.now())) {
		opts.OverdueDrills = append(opts.OverdueDrills, readiness.OverdueDrill{Name: d.Drill.Name, Flow: d.Drill.Flow,
			Kind: d.Drill.Kind, Cadence: d.Drill.Cadence, Last: d.Last, Due: d.Next})
	}
	return opts
}

func (s *Server) getRegions(w http.ResponseWriter, _ *http.Request, _ string) {
	s.mu.Lock()
	out := slices.Clone(s.regions)
	s.mu.Unlock()
	if out == nil {
		out = []RegionView{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getFlows(w http.ResponseWriter, _ *http.Request, _ string) {
	s.mu.Lock()
	out := slices.Clone(s.flows)
	s.mu.Unlock()
	if out == nil {
		out = []FlowView{}
	}
	writeJSON(w, http.StatusOK, out)
}
