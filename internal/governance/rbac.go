package governance

import "slices"

// Actions a person may be allowed, for every API call and dashboard page.
const (
	ActionView    = "view"    // read posture, readiness, plans, runs, audit
	ActionApply   = "apply"   // request and execute a plan, pause, resume, roll back
	ActionApprove = "approve" // approve, reject or break glass on a plan
	ActionAdmin   = "admin"   // issue and revoke tokens, change configuration
)

// Standings: what a person's workbook role makes them. Workbook roles are
// free names (incident_commander, business_owner), so access is derived
// from how the workbook uses a role, plus three reserved role names.
const (
	// StandingApprover: the role is listed in governance.approval.roles.
	StandingApprover = "approver"
	// StandingAdmin: the role is named admin (and not listed as approver).
	StandingAdmin = "admin"
	// StandingViewer: the role is named viewer or auditor.
	StandingViewer = "viewer"
	// StandingOperator: any other role of a listed person.
	StandingOperator = "operator"
)

// Reserved role names with a fixed standing.
const (
	RoleAdmin   = "admin"
	RoleViewer  = "viewer"
	RoleAuditor = "auditor"
)

// grants is the RBAC table. Applying needs apply, but executing still
// needs the plan's approvals, and the requester is never an approver.
// Admins manage tokens and configuration but neither apply nor approve
// unless their role is also listed as an approver role (then they are
// approvers, not admins: one role, one standing).
//
//	standing   view  apply  approve  admin
//	approver    ✓     ✓       ✓
//	operator    ✓     ✓
//	admin       ✓                      ✓
//	viewer      ✓
//	(unknown)
var grants = map[string][]string{
	StandingApprover: {ActionView, ActionApply, ActionApprove},
	StandingOperator: {ActionView, ActionApply},
	StandingAdmin:    {ActionView, ActionAdmin},
	StandingViewer:   {ActionView},
}

// Standing returns what a person's workbook role makes them ("" for a name
// the workbook does not list).
func (p *Policy) Standing(person string) string {
	role, ok := p.RoleOf(person)
	switch {
	case !ok:
		return ""
	case p.Approves(role):
		return StandingApprover
	case role == RoleAdmin:
		return StandingAdmin
	case role == RoleViewer || role == RoleAuditor:
		return StandingViewer
	}
	return StandingOperator
}

// Can tells whether person may do action under policy. Unknown people,
// unknown actions and a nil policy are refused.
func Can(policy *Policy, person, action string) bool {
	if policy == nil {
		return false
	}
	return slices.Contains(grants[policy.Standing(person)], action)
}
