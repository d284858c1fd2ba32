package governance

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/store"
)

// Decisions recorded on a plan digest.
const (
	DecisionApprove    = "approve"
	DecisionReject     = "reject"
	DecisionBreakGlass = "break_glass"
	// DecisionRequest records who asked for the plan's execution; it is
	// stored as an approval record so the store needs nothing new.
	DecisionRequest = "request"
)

// Approvals records and judges the decisions on plan digests.
type Approvals struct {
	Store  store.Store
	Policy *Policy
	Now    func() time.Time // nil: time.Now
	// Audit, when set, receives every request and decision recorded, so
	// the tamper-evident log holds who approved what (audit.Log).
	Audit Auditor
}

// Auditor appends to the tamper-evident audit log.
type Auditor interface {
	Append(ctx context.Context, kind, actor, subject string, body any) (store.AuditRecord, error)
}

// Status is whether a plan may be executed, and why not.
type Status struct {
	// Policy is the one applied: the stricter of the plan's and the
	// workbook's.
	Policy    string `json:"policy"`
	Satisfied bool   `json:"satisfied"`
	// BreakGlass: a valid break-glass satisfies the plan without quorum.
	// It must be flagged for review wherever the run shows.
	BreakGlass bool `json:"break_glass"`
	// Vetoed: a listed approver's latest decision is reject.
	Vetoed bool `json:"vetoed,omitempty"`
	// Reason says what is missing, what vetoed it, or why break-glass
	// satisfied it.
	Reason string `json:"reason,omitempty"`
	// Requesters asked for the execution; their approvals never count.
	Requesters []string `json:"requesters,omitempty"`
	// Approvals is every record on the digest, oldest first.
	Approvals []store.Approval `json:"approvals"`
	// Counted are the records that count now toward the policy.
	Counted []store.Approval `json:"counted"`
}

func (a *Approvals) now() time.Time {
	if a.Now == nil {
		return time.Now().UTC()
	}
	return a.Now().UTC()
}

// Record records one person's decision on a digest. The person's role is
// the workbook's. Approve, reject and break_glass need a role the policy
// lists; the requester of the digest may not approve it (break-glass,
// which is reasoned and flagged, is the one way a lone requester proceeds);
// break_glass needs a reason. A person's latest decision replaces their
// earlier ones, so duplicates count once and a reject can be withdrawn by
// approving.
func (a *Approvals) Record(ctx context.Context, digest, runID, person, decision, reason string) (store.Approval, error) {
	if err := checkDigest(digest); err != nil {
		return store.Approval{}, err
	}
	reason = strings.TrimSpace(reason)
	switch decision {
	case DecisionApprove, DecisionReject:
	case DecisionBreakGlass:
		if reason == "" {
			return store.Approval{}, fmt.Errorf("break-glass: %w: a named reason is required (it is flagged for review)", ErrInvalid)
		}
	default:
		return store.Approval{}, fmt.Errorf("decision %q: %w: use approve, reject or break_glass", decision, ErrInvalid)
	}
	role, err := a.listed(person)
	if err != nil {
		return store.Approval{}, err
	}
	if decision == DecisionApprove {
		recs, err := a.Store.Approvals(ctx, digest)
		if err != nil {
			return store.Approval{}, err
		}
		if slices.Contains(requesters(recs), person) {
			return store.Approval{}, fmt.Errorf("%w: %s requested plan %s and may not approve their own request; ask another approver (%s)", ErrForbidden, person, short(digest), strings.Join(a.Policy.Roles, " or "))
		}
	}
	return a.add(ctx, digest, runID, person, role, decision, reason)
}

// Request records that requester asked for the digest's execution. A
// requester must be a person of the workbook; one whose latest decision on
// the digest is an approval may not also request it. Requesting twice is a
// no-op.
func (a *Approvals) Request(ctx context.Context, digest, runID, requester string) error {
	if err := checkDigest(digest); err != nil {
		return err
	}
	role, ok := a.Policy.RoleOf(requester)
	if !ok {
		return fmt.Errorf("%w: %q is not a person of the workbook (governance.people)", ErrUnknownPerson, requester)
	}
	recs, err := a.Store.Approvals(ctx, digest)
	if err != nil {
		return err
	}
	if slices.Contains(requesters(recs), requester) {
		return nil
	}
	if l, ok := latest(recs)[requester]; ok && l.Decision == DecisionApprove {
		return fmt.Errorf("%w: %s approved plan %s and may not also request it; ask another person to apply it", ErrForbidden, requester, short(digest))
	}
	_, err = a.add(ctx, digest, runID, requester, role, DecisionRequest, "")
	return err
}

// listed returns the role of a person the policy lets decide.
func (a *Approvals) listed(person string) (string, error) {
	role, ok := a.Policy.RoleOf(person)
	if !ok {
		return "", fmt.Errorf("%w: %q is not a person of the workbook (governance.people)", ErrUnknownPerson, person)
	}
	if !a.Policy.Approves(role) {
		if len(a.Policy.Roles) == 0 {
			return "", fmt.Errorf("%w: %s (%s) may not decide: governance.approval.roles lists no role", ErrForbidden, person, role)
		}
		return "", fmt.Errorf("%w: %s holds role %s; only %s may approve, reject or break glass", ErrForbidden, person, role, strings.Join(a.Policy.Roles, " or "))
	}
	return role, nil
}

func (a *Approvals) add(ctx context.Context, digest, runID, person, role, decision, reason string) (store.Approval, error) {
	at := a.now()
	rec := store.Approval{
		ID: "apr_" + rand.Text(), PlanDigest: digest, RunID: runID, Person: person, Role: role,
		Decision: decision, Reason: reason, At: at, Expires: at.Add(a.Policy.ttl()),
	}
	if err := a.Store.AddApproval(ctx, rec); err != nil {
		return store.Approval{}, fmt.Errorf("record %s by %s: %w", decision, person, err)
	}
	if a.Audit != nil {
		if _, err := a.Audit.Append(ctx, "approval."+decision, person, digest, rec); err != nil {
			return rec, fmt.Errorf("recorded %s by %s, but the audit log refused it: %w", decision, person, err)
		}
	}
	return rec, nil
}

// Check judges a plan's approvals.
//
//   - none: satisfied, whatever is recorded.
//   - one_of: one unexpired approval from a person whose role is listed.
//   - two_person: unexpired approvals from two different people, each in a
//     listed role; when the policy lists two or more roles, the approvers
//     must also cover two different roles (the workbook example lists
//     incident_commander and business_owner: one of each). With one listed
//     role, two different people in it suffice.
//
// Only each person's latest decision counts, judged with their current
// workbook role (someone removed from the workbook, or moved out of a
// listed role, no longer counts). An approval expires at At+TTL or at its
// Expires, whichever is first. A requester's approval never counts. A
// reject by a listed person vetoes and does not expire (it stands for this
// digest until that person approves). An unexpired break-glass by a listed
// person satisfies without quorum, unless vetoed, and sets BreakGlass.
func (a *Approvals) Check(ctx context.Context, p *plan.Plan) (Status, error) {
	if p == nil {
		return Status{}, fmt.Errorf("check approvals: %w: no plan", ErrInvalid)
	}
	if err := checkDigest(p.Digest); err != nil {
		return Status{}, err
	}
	kind, err := a.Policy.effective(p.Approval)
	if err != nil {
		return Status{}, err
	}
	st := Status{Policy: kind, Approvals: []store.Approval{}, Counted: []store.Approval{}}
	if kind == PolicyNone {
		st.Satisfied, st.Reason = true, "policy none: no approval needed"
		return st, nil
	}
	recs, err := a.Store.Approvals(ctx, p.Digest)
	if err != nil {
		return Status{}, fmt.Errorf("check approvals of %s: %w", short(p.Digest), err)
	}
	st.Approvals = append(st.Approvals, recs...)
	st.Requesters = requesters(recs)
	now := a.now()
	var approvals, glass, vetoes []store.Approval
	expired, selfApproved := 0, 0
	last := latest(recs)
	for _, r := range recs {
		if l, ok := last[r.Person]; !ok || l.ID != r.ID {
			continue
		}
		role, ok := a.Policy.RoleOf(r.Person)
		if !ok || !a.Policy.Approves(role) {
			continue
		}
		r.Role = role
		switch {
		case r.Decision == DecisionReject:
			vetoes = append(vetoes, r)
		case a.expired(r, now):
			expired++
		case r.Decision == DecisionBreakGlass:
			glass = append(glass, r)
		case slices.Contains(st.Requesters, r.Person):
			selfApproved++
		default:
			approvals = append(approvals, r)
		}
	}
	if len(vetoes) > 0 {
		st.Vetoed = true
		st.Counted = vetoes
		names := make([]string, len(vetoes))
		for i, v := range vetoes {
			names[i] = fmt.Sprintf("%s (%s): %s", v.Person, v.Role, cmp.Or(v.Reason, "no reason given"))
		}
		st.Reason = "rejected by " + strings.Join(names, "; ") + "; make a new plan, or have the rejecter approve this one"
		return st, nil
	}
	if len(glass) > 0 {
		st.Satisfied, st.BreakGlass = true, true
		st.Counted = append(glass, approvals...)
		g := glass[len(glass)-1]
		st.Reason = fmt.Sprintf("break-glass by %s (%s): %s; flagged for review", g.Person, g.Role, g.Reason)
		return st, nil
	}
	st.Counted = append(st.Counted, approvals...)
	st.Satisfied, st.Reason = a.quorum(kind, approvals)
	if !st.Satisfied {
		if expired > 0 {
			st.Reason += fmt.Sprintf(" (%d approval(s) expired: an approval counts for %s)", expired, a.Policy.ttl())
		}
		if selfApproved > 0 {
			st.Reason += " (a requester's own approval does not count)"
		}
	}
	return st, nil
}

// quorum judges the counted approvals (one per person) against kind.
func (a *Approvals) quorum(kind string, approvals []store.Approval) (bool, string) {
	roles := a.Policy.Roles
	covered := map[string]bool{}
	for _, r := range approvals {
		covered[r.Role] = true
	}
	if kind == PolicyOneOf {
		if len(approvals) >= 1 {
			return true, "approved by " + who(approvals)
		}
		return false, "needs 1 more approval from " + strings.Join(roles, " or ")
	}
	// two_person
	if len(roles) < 2 {
		if len(approvals) >= 2 {
			return true, "approved by " + who(approvals)
		}
		if len(approvals) == 1 {
			return false, fmt.Sprintf("needs 1 more approval from %s (a person other than %s)", strings.Join(roles, " or "), approvals[0].Person)
		}
		return false, fmt.Sprintf("needs 2 more approvals from %s (two different people)", strings.Join(roles, " or "))
	}
	if len(approvals) >= 2 && len(covered) >= 2 {
		return true, "approved by " + who(approvals)
	}
	var missing []string
	for _, r := range roles {
		if !covered[r] {
			missing = append(missing, r)
		}
	}
	if len(covered) == 0 {
		return false, fmt.Sprintf("needs 2 more approvals from two different people in two different roles of %s", strings.Join(roles, ", "))
	}
	msg := "needs 1 more approval from " + strings.Join(missing, " or ")
	if len(approvals) >= 2 {
		msg += fmt.Sprintf(" (%s all hold the same role; two_person needs two different roles)", who(approvals))
	}
	return false, msg
}

// expired reports whether an approval no longer counts at now.
func (a *Approvals) expired(r store.Approval, now time.Time) bool {
	end := r.At.Add(a.Policy.ttl())
	if !r.Expires.IsZero() && r.Expires.Before(end) {
		end = r.Expires
	}
	return !now.Before(end)
}

// latest maps each person to their latest approve, reject or break_glass
// (records come oldest first).
func latest(recs []store.Approval) map[string]store.Approval {
	m := map[string]store.Approval{}
	for _, r := range recs {
		switch r.Decision {
		case DecisionApprove, DecisionReject, DecisionBreakGlass:
			m[r.Person] = r
		}
	}
	return m
}

func requesters(recs []store.Approval) []string {
	var out []string
	for _, r := range recs {
		if r.Decision == DecisionRequest && !slices.Contains(out, r.Person) {
			out = append(out, r.Person)
		}
	}
	return out
}

func who(rs []store.Approval) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%s (%s)", r.Person, r.Role)
	}
	return strings.Join(s, " and ")
}

// checkDigest accepts only a full lowercase hex sha256: an approval binds
// to exactly one plan.
func checkDigest(d string) error {
	if len(d) != 64 || strings.ToLower(d) != d {
		return fmt.Errorf("plan digest %q: %w: give the full sha256 digest of the plan", short(d), ErrInvalid)
	}
	if _, err := hex.DecodeString(d); err != nil {
		return fmt.Errorf("plan digest %q: %w: give the full sha256 digest of the plan", short(d), ErrInvalid)
	}
	return nil
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// Approver plugs the policy into the failover engine: Approve returns nil
// when the plan's approvals satisfy its policy, and otherwise an error
// wrapping ErrNotApproved that names what is missing.
type Approver struct {
	Approvals *Approvals
	Logger    *slog.Logger // break-glass is logged at warn level; nil: not logged
}

// Approve implements the engine's Approver.
func (ap Approver) Approve(ctx context.Context, p *plan.Plan) error {
	st, err := ap.Approvals.Check(ctx, p)
	if err != nil {
		return err
	}
	if !st.Satisfied {
		return fmt.Errorf("%w: plan %s (policy %s) %s; approve it with voicedr approve %s --as NAME", ErrNotApproved, short(p.Digest), st.Policy, st.Reason, p.Digest)
	}
	if st.BreakGlass && ap.Logger != nil {
		ap.Logger.WarnContext(ctx, "plan executed by break-glass: flagged for review", "plan", p.Digest, "reason", st.Reason)
	}
	return nil
}
