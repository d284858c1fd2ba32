package governance_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/workbook"
)

var t0 = time.Date(2026, 3, 4, 3, 0, 0, 0, time.UTC)

// clock is an injected clock tests move by hand.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// people of every test workbook: two incident commanders, a business owner,
// an SRE (a role no policy lists), an admin and an auditor.
func testWorkbook(policy string, roles ...string) *workbook.Workbook {
	return &workbook.Workbook{Governance: workbook.Governance{
		Roles: []workbook.GovRole{{Name: "incident_commander"}, {Name: "business_owner"}, {Name: "sre"}, {Name: "admin"}, {Name: "auditor"}},
		People: []workbook.Person{
			{Name: "ada", Role: "incident_commander"},
			{Name: "cy", Role: "incident_commander"},
			{Name: "bob", Role: "business_owner"},
			{Name: "dee", Role: "sre"},
			{Name: "root", Role: "admin"},
			{Name: "aud", Role: "auditor"},
		},
		Approval: workbook.Approval{Policy: policy, Roles: roles},
	}}
}

type env struct {
	a     *governance.Approvals
	db    *sqlite.Store
	clock *clock
}

func newEnv(t *testing.T, policy string, roles ...string) *env {
	t.Helper()
	pol, err := governance.NewPolicy(testWorkbook(policy, roles...))
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "voicedr.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{now: t0}
	return &env{a: &governance.Approvals{Store: db, Policy: pol, Now: c.Now}, db: db, clock: c}
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func planOf(name, policy string) *plan.Plan {
	return &plan.Plan{Digest: digestOf(name), Flow: "support", Kind: plan.Failover, Approval: policy}
}

// record records a decision that must succeed.
func (e *env) record(t *testing.T, p *plan.Plan, person, decision, reason string) {
	t.Helper()
	if _, err := e.a.Record(context.Background(), p.Digest, "", person, decision, reason); err != nil {
		t.Fatalf("Record(%s, %s): %v", person, decision, err)
	}
}

func (e *env) check(t *testing.T, p *plan.Plan) governance.Status {
	t.Helper()
	st, err := e.a.Check(context.Background(), p)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return st
}
