package governance_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/store"
)

type decision struct{ person, decision, reason string }

func TestPolicies(t *testing.T) {
	both := []string{"incident_commander", "business_owner"}
	tests := []struct {
		name       string
		policy     string
		roles      []string
		decisions  []decision
		satisfied  bool
		reasonHas  string
		countedLen int
	}{
		{"none needs nothing", "none", nil, nil, true, "no approval needed", 0},
		{"empty policy is none", "", nil, nil, true, "no approval needed", 0},
		{"one_of unapproved", "one_of", both, nil, false, "needs 1 more approval from incident_commander or business_owner", 0},
		{"one_of by commander", "one_of", both, []decision{{"ada", "approve", ""}}, true, "approved by ada (incident_commander)", 1},
		{"one_of by owner", "one_of", both, []decision{{"bob", "approve", ""}}, true, "approved by bob (business_owner)", 1},
		{"two_person none yet", "two_person", both, nil, false, "needs 2 more approvals from two different people in two different roles of incident_commander, business_owner", 0},
		{"two_person one commander", "two_person", both, []decision{{"ada", "approve", ""}}, false, "needs 1 more approval from business_owner", 1},
		{"two_person one owner", "two_person", both, []decision{{"bob", "approve", ""}}, false, "needs 1 more approval from incident_commander", 1},
		{"two_person same role twice", "two_person", both, []decision{{"ada", "approve", ""}, {"cy", "approve", ""}}, false, "needs 1 more approval from business_owner (ada (incident_commander) and cy (incident_commander) all hold the same role", 2},
		{"two_person both roles", "two_person", both, []decision{{"ada", "approve", ""}, {"bob", "approve", ""}}, true, "approved by ada (incident_commander) and bob (business_owner)", 2},
		{"two_person one role, one person", "two_person", []string{"incident_commander"}, []decision{{"ada", "approve", ""}}, false, "needs 1 more approval from incident_commander (a person other than ada)", 1},
		{"two_person one role, two people", "two_person", []string{"incident_commander"}, []decision{{"ada", "approve", ""}, {"cy", "approve", ""}}, true, "approved by ada (incident_commander) and cy (incident_commander)", 2},
		{"two_person duplicate counts once", "two_person", []string{"incident_commander"}, []decision{{"ada", "approve", ""}, {"ada", "approve", ""}}, false, "a person other than ada", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.policy, tt.roles...)
			p := planOf("plan", tt.policy)
			for _, d := range tt.decisions {
				e.record(t, p, d.person, d.decision, d.reason)
				e.clock.now = e.clock.now.Add(time.Minute)
			}
			st := e.check(t, p)
			if st.Satisfied != tt.satisfied || st.BreakGlass {
				t.Errorf("satisfied, break-glass = %v, %v, want %v, false (reason %q)", st.Satisfied, st.BreakGlass, tt.satisfied, st.Reason)
			}
			if !strings.Contains(st.Reason, tt.reasonHas) {
				t.Errorf("reason = %q, want it to contain %q", st.Reason, tt.reasonHas)
			}
			if got := len(st.Counted); got != tt.countedLen {
				t.Errorf("counted = %d, want %d", got, tt.countedLen)
			}
		})
	}
}

func TestRoleComesFromWorkbook(t *testing.T) {
	e := newEnv(t, "one_of", "incident_commander")
	p := planOf("plan", "one_of")
	rec, err := e.a.Record(context.Background(), p.Digest, "run-1", "ada", "approve", "looks right")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Approval{ID: rec.ID, PlanDigest: p.Digest, RunID: "run-1", Person: "ada", Role: "incident_commander",
		Decision: "approve", Reason: "looks right", At: t0, Expires: t0.Add(time.Hour)}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}
	stored, err := e.db.Approvals(context.Background(), p.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Approval{want}, stored); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
}

func TestUnknownOrUnlistedPersonRefused(t *testing.T) {
	e := newEnv(t, "one_of", "incident_commander")
	p := planOf("plan", "one_of")
	ctx := context.Background()
	for _, d := range []string{"approve", "reject", "break_glass"} {
		if _, err := e.a.Record(ctx, p.Digest, "", "mallory", d, "because"); !errors.Is(err, governance.ErrUnknownPerson) {
			t.Errorf("Record(mallory, %s) = %v, want ErrUnknownPerson", d, err)
		}
		// dee is a person, but sre is not an approving role.
		if _, err := e.a.Record(ctx, p.Digest, "", "dee", d, "because"); !errors.Is(err, governance.ErrForbidden) {
			t.Errorf("Record(dee, %s) = %v, want ErrForbidden", d, err)
		}
	}
	if err := e.a.Request(ctx, p.Digest, "", "mallory"); !errors.Is(err, governance.ErrUnknownPerson) {
		t.Errorf("Request(mallory) = %v, want ErrUnknownPerson", err)
	}
	if st := e.check(t, p); st.Satisfied || len(st.Approvals) != 0 {
		t.Errorf("after refusals: satisfied %v with %d records, want false with 0", st.Satisfied, len(st.Approvals))
	}
}

func TestInvalidInput(t *testing.T) {
	e := newEnv(t, "one_of", "incident_commander")
	ctx := context.Background()
	for _, tc := range []struct{ digest, decision string }{
		{"abc", "approve"},                          // not a full digest
		{strings.ToUpper(digestOf("x")), "approve"}, // not canonical
		{digestOf("x"), "request"},                  // requests go through Request
		{digestOf("x"), "yes"},
	} {
		if _, err := e.a.Record(ctx, tc.digest, "", "ada", tc.decision, ""); !errors.Is(err, governance.ErrInvalid) {
			t.Errorf("Record(%.12s, %s) = %v, want ErrInvalid", tc.digest, tc.decision, err)
		}
	}
}

func TestRequesterMayNotApprove(t *testing.T) {
	e := newEnv(t, "two_person", "incident_commander", "business_owner")
	p := planOf("plan", "two_person")
	ctx := context.Background()
	if err := e.a.Request(ctx, p.Digest, "run-1", "ada"); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Request(ctx, p.Digest, "run-1", "ada"); err != nil {
		t.Fatalf("second Request = %v, want a no-op", err)
	}
	_, err := e.a.Record(ctx, p.Digest, "run-1", "ada", "approve", "")
	if !errors.Is(err, governance.ErrForbidden) || !strings.Contains(err.Error(), "may not approve their own request") {
		t.Fatalf("requester's approval = %v, want ErrForbidden naming the rule", err)
	}
	e.record(t, p, "bob", "approve", "")
	e.record(t, p, "cy", "approve", "")
	st := e.check(t, p)
	if !st.Satisfied {
		t.Errorf("bob and cy approved: not satisfied: %s", st.Reason)
	}
	if diff := cmp.Diff([]string{"ada"}, st.Requesters); diff != "" {
		t.Errorf("requesters (-want +got):\n%s", diff)
	}
	if got := len(st.Approvals); got != 3 {
		t.Errorf("records = %d, want 3 (one request, two approvals, one request deduplicated)", got)
	}
}

// An approval that slipped in before the request (or was written around
// Record) still does not count, and its author may not then request.
func TestRequesterApprovalNeverCounts(t *testing.T) {
	e := newEnv(t, "two_person", "incident_commander", "business_owner")
	p := planOf("plan", "two_person")
	ctx := context.Background()
	e.record(t, p, "ada", "approve", "")
	if err := e.a.Request(ctx, p.Digest, "", "ada"); !errors.Is(err, governance.ErrForbidden) {
		t.Errorf("approver requesting = %v, want ErrForbidden", err)
	}
	// Bypass Record: the requester's approval is in the store anyway.
	if err := e.a.Request(ctx, p.Digest, "", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddApproval(ctx, store.Approval{ID: "sneaky", PlanDigest: p.Digest, Person: "bob", Role: "business_owner",
		Decision: "approve", At: t0, Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st := e.check(t, p)
	if st.Satisfied {
		t.Fatalf("satisfied by the requester's own approval: %+v", st)
	}
	if !strings.Contains(st.Reason, "needs 1 more approval from business_owner") || !strings.Contains(st.Reason, "requester's own approval does not count") {
		t.Errorf("reason = %q", st.Reason)
	}
}

func TestApprovalBindsToDigest(t *testing.T) {
	e := newEnv(t, "one_of", "incident_commander", "business_owner")
	approved, other := planOf("approved", "one_of"), planOf("other", "one_of")
	e.record(t, approved, "ada", "approve", "")
	if st := e.check(t, approved); !st.Satisfied {
		t.Fatalf("approved plan not satisfied: %s", st.Reason)
	}
	st := e.check(t, other)
	if st.Satisfied || len(st.Approvals) != 0 {
		t.Errorf("other digest: satisfied %v with %d records, want false with 0", st.Satisfied, len(st.Approvals))
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, "one_of", "incident_commander")
	p := planOf("plan", "one_of")
	e.record(t, p, "ada", "approve", "")
	e.clock.now = t0.Add(time.Hour - time.Nanosecond)
	if st := e.check(t, p); !st.Satisfied {
		t.Fatalf("just before TTL: not satisfied: %s", st.Reason)
	}
	e.clock.now = t0.Add(time.Hour)
	st := e.check(t, p)
	if st.Satisfied || !strings.Contains(st.Reason, "1 approval(s) expired") {
		t.Fatalf("at TTL: satisfied %v, reason %q; want expired", st.Satisfied, st.Reason)
	}
	// Approving again renews: the latest decision counts.
	e.record(t, p, "ada", "approve", "")
	if st := e.check(t, p); !st.Satisfied {
		t.Errorf("after re-approval: not satisfied: %s", st.Reason)
	}
	// A shorter TTL applies to approvals already given.
	e.a.Policy.TTL = time.Minute
	e.clock.now = e.clock.now.Add(time.Minute)
	if st := e.check(t, p); st.Satisfied {
		t.Errorf("TTL shortened to 1m, 1m later: still satisfied")
	}
}

func TestStoredExpiresIsHonoured(t *testing.T) {
	e := newEnv(t, "one_of", "incident_commander")
	p := planOf("plan", "one_of")
	ctx := context.Background()
	if err := e.db.AddApproval(ctx, store.Approval{ID: "a1", PlanDigest: p.Digest, Person: "ada", Role: "incident_commander",
		Decision: "approve", At: t0, Expires: t0.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	e.clock.now = t0.Add(9 * time.Minute)
	if st := e.check(t, p); !st.Satisfied {
		t.Fatalf("before Expires: not satisfied: %s", st.Reason)
	}
	e.clock.now = t0.Add(10 * time.Minute)
	if st := e.check(t, p); st.Satisfied {
		t.Errorf("at Expires (before At+TTL): still satisfied")
	}
}

func TestRejectVetoes(t *testing.T) {
	e := newEnv(t, "two_person", "incident_commander", "business_owner")
	p := planOf("plan", "two_person")
	e.record(t, p, "ada", "approve", "")
	e.record(t, p, "bob", "approve", "")
	if st := e.check(t, p); !st.Satisfied {
		t.Fatalf("two approvals: not satisfied: %s", st.Reason)
	}
	e.record(t, p, "cy", "reject", "standby trunk unverified")
	e.record(t, p, "ada", "break_glass", "us1 is down")
	e.clock.now = t0.Add(24 * time.Hour) // a veto does not expire
	st := e.check(t, p)
	if st.Satisfied || !st.Vetoed || st.BreakGlass {
		t.Fatalf("after reject: satisfied %v vetoed %v break-glass %v, want false true false", st.Satisfied, st.Vetoed, st.BreakGlass)
	}
	if want := "rejected by cy (incident_commander): standby trunk unverified"; !strings.Contains(st.Reason, want) {
		t.Errorf("reason = %q, want it to contain %q", st.Reason, want)
	}
	// The rejecter changing their mind withdraws the veto.
	e.record(t, p, "cy", "approve", "")
	e.record(t, p, "bob", "approve", "")
	if st := e.check(t, p); st.Vetoed || !st.Satisfied {
		t.Errorf("after cy approves: vetoed %v satisfied %v (%s)", st.Vetoed, st.Satisfied, st.Reason)
	}
}

func TestBreakGlass(t *testing.T) {
	e := newEnv(t, "two_person", "incident_commander", "business_owner")
	p := planOf("plan", "two_person")
	ctx := context.Background()
	for _, reason := range []string{"", "   \t"} {
		if _, err := e.a.Record(ctx, p.Digest, "", "ada", "break_glass", reason); !errors.Is(err, governance.ErrInvalid) {
			t.Errorf("break-glass with reason %q = %v, want ErrInvalid", reason, err)
		}
	}
	// The requester may break glass: it is the lone commander's way
	// through, reasoned and flagged.
	if err := e.a.Request(ctx, p.Digest, "", "ada"); err != nil {
		t.Fatal(err)
	}
	e.record(t, p, "ada", "break_glass", "us1 down, business owner unreachable")
	st := e.check(t, p)
	if !st.Satisfied || !st.BreakGlass {
		t.Fatalf("break-glass: satisfied %v break-glass %v, want both (%s)", st.Satisfied, st.BreakGlass, st.Reason)
	}
	if want := "break-glass by ada (incident_commander): us1 down, business owner unreachable; flagged for review"; st.Reason != want {
		t.Errorf("reason = %q, want %q", st.Reason, want)
	}
	if err := (governance.Approver{Approvals: e.a}).Approve(ctx, p); err != nil {
		t.Errorf("Approve after break-glass = %v, want nil", err)
	}
	e.clock.now = t0.Add(time.Hour)
	if st := e.check(t, p); st.Satisfied || st.BreakGlass {
		t.Errorf("break-glass after TTL: satisfied %v break-glass %v, want expired", st.Satisfied, st.BreakGlass)
	}
}

func TestApprover(t *testing.T) {
	e := newEnv(t, "two_person", "incident_commander", "business_owner")
	p := planOf("plan", "two_person")
	ap := governance.Approver{Approvals: e.a}
	ctx := context.Background()
	e.record(t, p, "ada", "approve", "")
	err := ap.Approve(ctx, p)
	if !errors.Is(err, governance.ErrNotApproved) {
		t.Fatalf("Approve = %v, want ErrNotApproved", err)
	}
	if !strings.Contains(err.Error(), "needs 1 more approval from business_owner") {
		t.Errorf("error %q does not name what is missing", err)
	}
	e.record(t, p, "bob", "approve", "")
	if err := ap.Approve(ctx, p); err != nil {
		t.Errorf("Approve after quorum = %v", err)
	}
	none := newEnv(t, "none")
	if err := (governance.Approver{Approvals: none.a}).Approve(ctx, planOf("none", "none")); err != nil {
		t.Errorf("plan and workbook with policy none: %v", err)
	}
}

// Loosening the workbook after the plan was made does not loosen the plan;
// tightening it applies at once.
func TestStricterPolicyApplies(t *testing.T) {
	e := newEnv(t, "one_of", "incident_commander", "business_owner")
	p := planOf("plan", "two_person")
	e.record(t, p, "ada", "approve", "")
	if st := e.check(t, p); st.Satisfied || st.Policy != "two_person" {
		t.Errorf("plan two_person, workbook one_of: policy %s satisfied %v, want two_person false", st.Policy, st.Satisfied)
	}
	e2 := newEnv(t, "two_person", "incident_commander", "business_owner")
	p2 := planOf("plan", "none")
	if st := e2.check(t, p2); st.Satisfied || st.Policy != "two_person" {
		t.Errorf("plan none, workbook two_person: policy %s satisfied %v, want two_person false", st.Policy, st.Satisfied)
	}
	if _, err := e2.a.Check(context.Background(), planOf("plan", "three_person")); !errors.Is(err, governance.ErrInvalid) {
		t.Errorf("unknown plan policy: %v, want ErrInvalid", err)
	}
}

// A person removed from the workbook, or moved to a role the policy does
// not list, no longer counts.
func TestCurrentWorkbookRoleCounts(t *testing.T) {
	e := newEnv(t, "one_of", "incident_commander")
	p := planOf("plan", "one_of")
	e.record(t, p, "ada", "approve", "")
	wb := testWorkbook("one_of", "incident_commander")
	wb.Governance.People[0].Role = "sre"
	pol, err := governance.NewPolicy(wb)
	if err != nil {
		t.Fatal(err)
	}
	e.a.Policy = pol
	if st := e.check(t, p); st.Satisfied {
		t.Errorf("ada is now sre: her approval still counts")
	}
}

func TestNewPolicy(t *testing.T) {
	pol, err := governance.NewPolicy(testWorkbook(""))
	if err != nil {
		t.Fatal(err)
	}
	if pol.Kind != "none" || pol.TTL != time.Hour {
		t.Errorf("defaults: kind %q ttl %s, want none 1h", pol.Kind, pol.TTL)
	}
	if role, ok := pol.RoleOf("bob"); !ok || role != "business_owner" {
		t.Errorf("RoleOf(bob) = %q, %v", role, ok)
	}
	dup := testWorkbook("one_of", "incident_commander")
	dup.Governance.People = append(dup.Governance.People, dup.Governance.People[0])
	dup.Governance.People[len(dup.Governance.People)-1].Role = "business_owner"
	bad := map[string]struct {
		policy string
		roles  []string
	}{
		"unknown policy":       {"three_person", []string{"incident_commander"}},
		"one_of without roles": {"one_of", nil},
		"two_person no roles":  {"two_person", nil},
	}
	for name, b := range bad {
		if _, err := governance.NewPolicy(testWorkbook(b.policy, b.roles...)); !errors.Is(err, governance.ErrInvalid) {
			t.Errorf("%s: NewPolicy = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := governance.NewPolicy(dup); !errors.Is(err, governance.ErrInvalid) || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("person listed twice: NewPolicy = %v, want ErrInvalid", err)
	}
}
