package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/store"
)

var errEOF = io.EOF

// maxPlanBytes bounds an uploaded plan: a 10,000-number plan with its
// observed state is a few megabytes.
const maxPlanBytes = 256 << 20

// postPlan stores a plan file whose digest verifies, as the engine would
// store it (canonical JSON), so approvals and applies can name its digest.
func (s *Server) postPlan(w http.ResponseWriter, r *http.Request, person string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPlanBytes)
	p, err := plan.Read(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "the plan is larger than the server accepts")
			return
		}
		writeError(w, http.StatusBadRequest, "not a valid plan: "+err.Error())
		return
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		writeError(w, http.StatusBadRequest, "not a valid plan: "+err.Error())
		return
	}
	if err := s.st.PutPlan(r.Context(), p.Digest, buf.Bytes()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			writeError(w, http.StatusConflict, err.Error())
			return
		}
		s.storeError(w, "store plan", err)
		return
	}
	s.mu.Lock()
	s.plans[p.Digest] = p
	s.mu.Unlock()
	s.audit(r.Context(), "plan", person, p.Digest, map[string]any{"flow": p.Flow, "kind": p.Kind, "from": p.From, "to": p.To, "actions": len(p.Actions())})
	writeJSON(w, http.StatusCreated, map[string]string{"digest": p.Digest})
}

// ApprovalItem is one plan of the approvals inbox.
type ApprovalItem struct {
	Digest    string            `json:"digest"`
	Flow      string            `json:"flow"`
	Kind      string            `json:"kind"`
	CreatedAt time.Time         `json:"created_at"`
	Status    governance.Status `json:"status"`
}

// inboxPlans bounds how many stored plans the approvals inbox reads: the
// newest are the ones still awaiting a decision.
const inboxPlans = 1000

// listApprovals lists the stored plans that no run has completed, with
// where their approval stands, newest first. It reads the store's plans on
// every call, so a plan another process stored (the CLI, a drill) shows
// without a restart.
func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request, _ string) {
	ctx := r.Context()
	runs, err := s.st.ListRuns(ctx, inboxPlans)
	if err != nil {
		s.storeError(w, "list runs", err)
		return
	}
	metas, err := s.st.ListPlans(ctx, inboxPlans)
	if err != nil {
		s.storeError(w, "list plans", err)
		return
	}
	done := map[string]bool{}
	for _, run := range runs {
		if run.State == store.RunCompleted {
			done[run.PlanDigest] = true
		}
	}
	// A run's plan is stored before it starts, so ListPlans has it too;
	// runs are read only to tell which plans are done.
	var digests []string
	for _, m := range metas {
		if !done[m.Digest] {
			digests = append(digests, m.Digest)
		}
	}
	apps := s.approvals()
	out := []ApprovalItem{}
	for _, d := range digests {
		p, err := s.planByDigest(ctx, d)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			s.storeError(w, "plan "+short(d), err)
			return
		}
		st, err := apps.Check(ctx, p)
		if err != nil {
			s.governanceError(w, err)
			return
		}
		out = append(out, ApprovalItem{Digest: p.Digest, Flow: p.Flow, Kind: p.Kind, CreatedAt: p.CreatedAt, Status: st})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].Digest < out[j].Digest
	})
	writeJSON(w, http.StatusOK, out)
}

type approvalRequest struct {
	Digest   string `json:"digest"`
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// postApproval records the caller's decision on a stored plan. The person
// is the token's: a body cannot name someone else.
func (s *Server) postApproval(w http.ResponseWriter, r *http.Request, person string) {
	var req approvalRequest
	if !decodeBody(w, r, 1<<20, &req) {
		return
	}
	if req.Digest == "" || req.Decision == "" {
		writeError(w, http.StatusBadRequest, `give {"digest": "<plan digest>", "decision": "approve|reject|break_glass", "reason": "..."}`)
		return
	}
	p, err := s.planByDigest(r.Context(), req.Digest)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "plan "+short(req.Digest)+" is not stored: upload it first (POST /v1/plans)")
			return
		}
		s.storeError(w, "plan", err)
		return
	}
	apps := s.approvals()
	rec, err := apps.Record(r.Context(), p.Digest, "", person, req.Decision, req.Reason)
	if err != nil {
		switch {
		case errors.Is(err, governance.ErrInvalid):
			writeError(w, http.StatusBadRequest, err.Error())
		case errors.Is(err, governance.ErrForbidden), errors.Is(err, governance.ErrUnknownPerson):
			writeError(w, http.StatusForbidden, err.Error())
		default:
			s.governanceError(w, err)
		}
		return
	}
	st, err := apps.Check(r.Context(), p)
	if err != nil {
		s.governanceError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"approval": rec, "status": st})
}

type stepRequest struct {
	Step string          `json:"step"`
	Note string          `json:"note"`
	Data json.RawMessage `json:"data"`
}

// advanceDecision records the next step of a decision as the token's person.
func (s *Server) advanceDecision(w http.ResponseWriter, r *http.Request, person string) {
	if s.opts.Steps == nil {
		writeError(w, http.StatusServiceUnavailable, "this server keeps no decision runbook")
		return
	}
	var req stepRequest
	if !decodeBody(w, r, 1<<20, &req) {
		return
	}
	if req.Step == "" {
		writeError(w, http.StatusBadRequest, `give {"step": "technical_assessment|business_impact|approval|execution|closed|rejected|abandoned", "note": "..."}`)
		return
	}
	var data any
	if len(req.Data) > 0 {
		data = req.Data
	}
	d, err := s.opts.Steps.Advance(r.Context(), r.PathValue("id"), req.Step, person, req.Note, data)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, d)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrStepForbidden):
		writeError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, ErrStepOrder):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.storeError(w, "decision", err)
	}
}

func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request, _ string) {
	ds, err := s.st.ListDecisions(r.Context(), 200)
	if err != nil {
		s.storeError(w, "list decisions", err)
		return
	}
	if ds == nil {
		ds = []store.Decision{}
	}
	writeJSON(w, http.StatusOK, ds)
}

func (s *Server) getDecision(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	d, err := s.st.GetDecision(r.Context(), id)
	if err != nil {
		s.storeError(w, "decision "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// listAudit pages through the audit chain: entries after seq "after"
// (default 0), at most "limit" (default 100, at most 1000).
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	after, limit := int64(0), 100
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "after: give a sequence number (0 or more)")
			return
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: give 1 to 1000")
			return
		}
		limit = n
	}
	recs, err := s.st.AuditRecords(r.Context(), after, limit)
	if err != nil {
		s.storeError(w, "audit", err)
		return
	}
	if recs == nil {
		recs = []store.AuditRecord{}
	}
	writeJSON(w, http.StatusOK, recs)
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, _ string) {
	if s.opts.Auditor == nil {
		writeError(w, http.StatusServiceUnavailable, "this server verifies no audit log: it was started without one")
		return
	}
	rep, err := s.opts.Auditor.Verify(r.Context())
	if err != nil {
		s.log.Error("verify audit", "err", err)
		writeError(w, http.StatusInternalServerError, "audit verify failed: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// closedDecision are decision states that no longer count as open when no
// Decisions counter is configured.
var closedDecision = map[string]bool{"closed": true, "resolved": true, "executed": true, "dismissed": true, "cancelled": true, "canceled": true, "rejected": true, "expired": true}

func (s *Server) openDecisions(ctx context.Context) (int, error) {
	if s.opts.Decisions != nil {
		return s.opts.Decisions.Open(ctx)
	}
	ds, err := s.st.ListDecisions(ctx, 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range ds {
		if !closedDecision[d.State] {
			n++
		}
	}
	return n, nil
}
