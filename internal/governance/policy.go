// Package governance decides who may move a flow: the people and roles of
// the workbook, the approval policy a plan must satisfy before it is
// applied, per-person API tokens and the role-based access table.
//
// Approvals bind to a plan's digest, so approving one plan never approves
// another. A person's role is always the workbook's, never the caller's
// word, and the person who requested a plan's execution may not approve it.
// Break-glass lets one listed person execute without quorum, with a named
// reason, and is flagged wherever it shows.
package governance

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/voicedr/voicedr/internal/workbook"
)

// Approval policies (governance.approval.policy).
const (
	PolicyNone      = "none"
	PolicyOneOf     = "one_of"
	PolicyTwoPerson = "two_person"
)

// DefaultTTL is how long an approval counts when the policy sets no TTL.
const DefaultTTL = time.Hour

var (
	// ErrNotApproved: a plan lacks the approvals its policy needs. The
	// engine wraps it into a refusal (exit code 6).
	ErrNotApproved = errors.New("not approved")
	// ErrUnauthenticated: a token is unknown, malformed or revoked.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnknownPerson: the name is not a person of the workbook.
	ErrUnknownPerson = errors.New("unknown person")
	// ErrForbidden: the person is known but may not do this (role not
	// listed by the policy, or approving their own request).
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: a malformed argument (digest, decision, missing reason).
	ErrInvalid = errors.New("invalid argument")
)

// Policy is the governance section of a workbook, ready to decide.
type Policy struct {
	// Kind is none, one_of or two_person.
	Kind string
	// Roles may approve, reject and break glass, in workbook order.
	Roles []string
	// TTL is how long an approval counts after it is given (DefaultTTL
	// from NewPolicy; zero or negative also means DefaultTTL).
	TTL time.Duration

	people map[string]string // name → role
}

// NewPolicy builds the policy of a parsed workbook. An empty policy is
// none. A person listed twice is an error: a person holds one role, and
// guessing which one would let the caller pick it.
func NewPolicy(wb *workbook.Workbook) (*Policy, error) {
	if wb == nil {
		return nil, fmt.Errorf("governance: %w: no workbook", ErrInvalid)
	}
	g := wb.Governance
	p := &Policy{Kind: g.Approval.Policy, Roles: slices.Clone(g.Approval.Roles), TTL: DefaultTTL, people: map[string]string{}}
	if p.Kind == "" {
		p.Kind = PolicyNone
	}
	if _, ok := rank[p.Kind]; !ok {
		return nil, fmt.Errorf("governance.approval.policy %q: %w: write none, one_of or two_person", p.Kind, ErrInvalid)
	}
	if p.Kind != PolicyNone && len(p.Roles) == 0 {
		return nil, fmt.Errorf("governance.approval.roles: %w: policy %s needs the roles that may approve", ErrInvalid, p.Kind)
	}
	for i, pe := range g.People {
		if pe.Name == "" || pe.Role == "" {
			return nil, fmt.Errorf("governance.people[%d]: %w: a person needs a name and a role", i, ErrInvalid)
		}
		if _, dup := p.people[pe.Name]; dup {
			return nil, fmt.Errorf("governance.people[%d]: %w: %q is listed twice; a person holds one role", i, ErrInvalid, pe.Name)
		}
		p.people[pe.Name] = pe.Role
	}
	return p, nil
}

// rank orders policies by strictness.
var rank = map[string]int{PolicyNone: 0, PolicyOneOf: 1, PolicyTwoPerson: 2}

// RoleOf returns the workbook role of a person.
func (p *Policy) RoleOf(person string) (string, bool) {
	r, ok := p.people[person]
	return r, ok
}

// Approves tells whether the policy lists role among those that approve.
func (p *Policy) Approves(role string) bool { return role != "" && slices.Contains(p.Roles, role) }

func (p *Policy) ttl() time.Duration {
	if p.TTL <= 0 {
		return DefaultTTL
	}
	return p.TTL
}

// effective is the stricter of the plan's recorded policy and the
// workbook's current one: loosening the workbook after a plan was made does
// not loosen that plan, and tightening it applies at once.
func (p *Policy) effective(planPolicy string) (string, error) {
	if planPolicy == "" {
		planPolicy = PolicyNone
	}
	r, ok := rank[planPolicy]
	if !ok {
		return "", fmt.Errorf("plan approval policy %q: %w: make the plan again with this voicedr", planPolicy, ErrInvalid)
	}
	if r > rank[p.Kind] {
		return planPolicy, nil
	}
	return p.Kind, nil
}
