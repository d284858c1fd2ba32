package server

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/drill"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/report"
	"github.com/voicedr/voicedr/internal/store"
)

// maxDrills bounds GET /v1/drills: the dashboard shows a history, and a
// program running weekly drills for years stays well under it.
const maxDrills = 500

// reportCSP is the policy a drill's report is served under. The report is
// self-contained (inline CSS, inline SVG charts, no script, no network), so
// everything else is refused: even a report whose text carried markup could
// neither run script nor reach anywhere.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// DrillItem is one drill of GET /v1/drills: the stored record with the
// figures of its report a history table shows. The report figures are zero
// while the drill runs (it has no report yet).
type DrillItem struct {
	ID        string    `json:"id"`
	Flow      string    `json:"flow"`
	Name      string    `json:"name,omitempty"`
	Kind      string    `json:"kind"`
	Scenario  string    `json:"scenario"`
	Outcome   string    `json:"outcome"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	// Report says the drill has a stored report (GET /v1/drills/{id}).
	Report           bool    `json:"report"`
	RTOSeconds       float64 `json:"rto_seconds"`
	ObjectiveSeconds float64 `json:"objective_seconds"`
	Met              bool    `json:"met"`
	CallsLost        int     `json:"calls_lost"`
	// Gaps counts the report's gaps of severity error.
	Gaps       int  `json:"gaps"`
	AsExpected bool `json:"as_expected"`
}

func drillItem(d store.Drill) (DrillItem, error) {
	it := DrillItem{ID: d.ID, Flow: d.Flow, Name: d.Name, Kind: d.Kind, Scenario: d.Scenario, Outcome: d.Outcome,
		StartedAt: d.StartedAt, EndedAt: d.EndedAt}
	if len(d.Report) == 0 {
		return it, nil
	}
	var rep report.Drill
	if err := json.Unmarshal(d.Report, &rep); err != nil {
		return it, err
	}
	it.Report = true
	it.RTOSeconds, it.ObjectiveSeconds, it.Met = rep.RTO.OverallSeconds, rep.RTO.ObjectiveSeconds, rep.RTO.Met
	it.CallsLost, it.AsExpected = rep.Calls.Lost, rep.AsExpected
	for _, g := range rep.Gaps {
		if g.Severity == "error" {
			it.Gaps++
		}
	}
	return it, nil
}

// listDrills lists the drill history, newest first, of one flow (?flow=)
// or of all.
func (s *Server) listDrills(w http.ResponseWriter, r *http.Request, _ string) {
	ds, err := s.st.ListDrills(r.Context(), r.URL.Query().Get("flow"), maxDrills)
	if err != nil {
		s.storeError(w, "list drills", err)
		return
	}
	out := make([]DrillItem, 0, len(ds))
	for _, d := range ds {
		it, err := drillItem(d)
		if err != nil {
			// One unreadable report must not hide the whole history: the
			// drill is listed without its figures.
			s.log.Warn("drill report is not readable JSON", "drill", d.ID, "err", err)
		}
		out = append(out, it)
	}
	writeJSON(w, http.StatusOK, out)
}

// getDrill serves a drill's stored report JSON (package report's Drill).
func (s *Server) getDrill(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	d, err := s.st.GetDrill(r.Context(), id)
	if err != nil {
		s.storeError(w, "drill "+id, err)
		return
	}
	if len(d.Report) == 0 {
		writeError(w, http.StatusNotFound, "drill "+id+" has no report yet: it is "+d.Outcome)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(d.Report)
}

// getDrillReport serves the drill's rendered report.html. The file name is
// fixed and the directory is the store's, never the request's, so no other
// file of the drill directory (its state database, its evidence) is ever
// served.
func (s *Server) getDrillReport(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	d, err := s.st.GetDrill(r.Context(), id)
	if err != nil {
		s.storeError(w, "drill "+id, err)
		return
	}
	if d.Dir == "" {
		writeError(w, http.StatusNotFound, "drill "+id+" keeps no report directory")
		return
	}
	path := filepath.Join(d.Dir, "report.html")
	// Lstat, not Stat: a report.html that is a symlink could point anywhere.
	fi, err := os.Lstat(path)
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	var body []byte
	if err == nil {
		body, err = os.ReadFile(path)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		writeError(w, http.StatusNotFound, "drill "+id+" has no report.html (still running, or its directory was moved or removed): its JSON report is at /v1/drills/"+id)
		return
	case err != nil:
		s.log.Error("read drill report", "drill", id, "err", err)
		writeError(w, http.StatusInternalServerError, "drill "+id+": the report could not be read; see the server log")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", reportCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// listActions lists the open post-drill action items, or every one with
// ?all=1, oldest first.
func (s *Server) listActions(w http.ResponseWriter, r *http.Request, _ string) {
	all := r.URL.Query().Get("all")
	items, err := s.st.ActionItems(r.Context(), !(all == "1" || all == "true"))
	if err != nil {
		s.storeError(w, "list action items", err)
		return
	}
	if items == nil {
		items = []store.ActionItem{}
	}
	writeJSON(w, http.StatusOK, items)
}

type closeRequest struct {
	Note string `json:"note"`
}

// closeAction closes an action item as the token's person, as `voicedr
// drill actions close` does, and audits it.
func (s *Server) closeAction(w http.ResponseWriter, r *http.Request, person string) {
	var req closeRequest
	if !decodeBody(w, r, 64<<10, &req) {
		return
	}
	req.Note = strings.TrimSpace(req.Note)
	if req.Note == "" {
		writeError(w, http.StatusBadRequest, `give {"note": "..."}: say what was done, e.g. "standby app created, readiness green"`)
		return
	}
	id := r.PathValue("id")
	// One close at a time in this server, so two people pressing close
	// together get one 200 and one 409, not two closings.
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	// The server audits itself (a refused entry is logged, never undoes a
	// close the store has recorded).
	item, err := drill.CloseAction(r.Context(), s.st, nil, id, person, req.Note, s.now())
	switch {
	case errors.Is(err, drill.ErrNoAction):
		writeError(w, http.StatusNotFound, "action item "+id+" not found: GET /v1/actions?all=1 lists every one")
		return
	case errors.Is(err, drill.ErrActionClosed):
		writeError(w, http.StatusConflict, err.Error()+": nothing to do")
		return
	case err != nil:
		s.storeError(w, "close action item "+id, err)
		return
	}
	s.audit(r.Context(), "drill.action_closed", person, item.ID, item)
	writeJSON(w, http.StatusOK, item)
}

// Allowed tells whether person may call a route needing action: one
// action, or several separated by "|" of which any suffices. Closing an
// action item is bookkeeping that operators (apply) and admins (admin) both
// do, but viewers may not, and no single action says that.
func Allowed(policy *governance.Policy, person, action string) bool {
	for a := range strings.SplitSeq(action, "|") {
		if governance.Can(policy, person, a) {
			return true
		}
	}
	return false
}
