package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/server"
	"github.com/voicedr/voicedr/internal/store"
)

// TestApprovalsThroughTheAPI: under one_of, an apply is refused (409)
// until another approver approves; the requester's own approval is refused
// (403, with the reason); the person is always the token's; then the run
// executes.
func TestApprovalsThroughTheAPI(t *testing.T) {
	e := newEnv(t, 30, parseWB(t, "one_of", ""), twilioOpts())
	srv := e.start(t, nil)
	p := e.makePlan(t)
	if r := e.call(t, srv.http.URL, "alice", "POST", "/v1/plans", planBody(t, p)); r.code != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	r := e.call(t, srv.http.URL, "alice", "POST", "/v1/plans/"+p.Digest+"/apply", map[string]bool{"force": false})
	if r.code != http.StatusConflict || !strings.Contains(string(r.body), "needs 1 more approval") {
		t.Fatalf("apply before approval: %d %s; want 409 naming what is missing", r.code, r.body)
	}
	r = e.call(t, srv.http.URL, "alice", "POST", "/v1/approvals", map[string]string{"digest": p.Digest, "decision": "approve"})
	if r.code != http.StatusForbidden || !strings.Contains(string(r.body), "may not approve their own request") {
		t.Fatalf("self-approval: %d %s; want 403 with the reason", r.code, r.body)
	}
	// The body cannot name the person.
	if r := e.call(t, srv.http.URL, "olga", "POST", "/v1/approvals", map[string]string{"digest": p.Digest, "decision": "approve", "person": "bob"}); r.code != http.StatusForbidden {
		t.Errorf("operator approving as bob via the body: %d %s; want 403 (the token's person decides)", r.code, r.body)
	}
	if r := e.call(t, srv.http.URL, "bob", "POST", "/v1/approvals", map[string]string{"digest": p.Digest, "decision": "approve", "person": "alice"}); r.code != http.StatusBadRequest {
		t.Errorf("a body naming a person: %d %s; want 400", r.code, r.body)
	}
	if r := e.call(t, srv.http.URL, "bob", "POST", "/v1/approvals", map[string]string{"digest": p.Digest, "decision": "maybe"}); r.code != http.StatusBadRequest {
		t.Errorf("decision maybe: %d %s; want 400", r.code, r.body)
	}
	if r := e.call(t, srv.http.URL, "bob", "POST", "/v1/approvals", map[string]string{"digest": strings.Repeat("a", 64), "decision": "approve"}); r.code != http.StatusNotFound {
		t.Errorf("approve an unknown plan: %d %s; want 404", r.code, r.body)
	}
	var inbox []server.ApprovalItem
	e.call(t, srv.http.URL, "vic", "GET", "/v1/approvals", nil).decode(t, &inbox)
	if len(inbox) != 1 || inbox[0].Status.Satisfied || len(inbox[0].Status.Requesters) != 1 || inbox[0].Status.Requesters[0] != "alice" || inbox[0].Flow != "support" {
		t.Fatalf("inbox: %+v; want the plan, not satisfied, requested by alice", inbox)
	}
	var rec struct {
		Approval store.Approval
		Status   struct {
			Satisfied bool
			Policy    string
		}
	}
	r = e.call(t, srv.http.URL, "bob", "POST", "/v1/approvals", map[string]string{"digest": p.Digest, "decision": "approve", "reason": "us1 degraded"})
	if r.code != http.StatusCreated {
		t.Fatalf("bob approves: %d %s", r.code, r.body)
	}
	r.decode(t, &rec)
	if rec.Approval.Person != "bob" || rec.Approval.Role != "business_owner" || !rec.Status.Satisfied || rec.Status.Policy != "one_of" {
		t.Fatalf("bob's approval: %+v", rec)
	}
	r = e.call(t, srv.http.URL, "alice", "POST", "/v1/plans/"+p.Digest+"/apply", nil)
	if r.code != http.StatusAccepted {
		t.Fatalf("apply after approval: %d %s", r.code, r.body)
	}
	var started struct {
		RunID string `json:"run_id"`
	}
	r.decode(t, &started)
	e.waitRun(t, srv.http.URL, started.RunID, store.RunCompleted, 50*time.Second)
}

// TestApprovalsInboxSeesPlansOfOtherProcesses: a plan another process put
// in the store (the CLI's approve, a drill) after the server started is in
// the inbox at once, without a restart.
func TestApprovalsInboxSeesPlansOfOtherProcesses(t *testing.T) {
	e := newEnv(t, 30, parseWB(t, "one_of", ""), twilioOpts())
	srv := e.start(t, nil)
	var inbox []server.ApprovalItem
	e.call(t, srv.http.URL, "vic", "GET", "/v1/approvals", nil).decode(t, &inbox)
	if len(inbox) != 0 {
		t.Fatalf("inbox of an empty store: %+v; want none", inbox)
	}
	p := e.makePlan(t)
	if err := e.st.PutPlan(t.Context(), p.Digest, planBody(t, p)); err != nil {
		t.Fatal(err)
	}
	e.call(t, srv.http.URL, "vic", "GET", "/v1/approvals", nil).decode(t, &inbox)
	if len(inbox) != 1 || inbox[0].Digest != p.Digest || inbox[0].Flow != "support" || inbox[0].Status.Satisfied {
		t.Errorf("inbox after another process stored a plan: %+v; want that plan, not yet approved", inbox)
	}
}
