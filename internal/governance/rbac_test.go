package governance_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/governance"
)

func TestRBAC(t *testing.T) {
	pol, err := governance.NewPolicy(testWorkbook("two_person", "incident_commander", "business_owner"))
	if err != nil {
		t.Fatal(err)
	}
	actions := []string{"view", "apply", "approve", "admin"}
	// person → standing and the actions they may do.
	want := map[string]struct {
		standing string
		can      []string
	}{
		"ada":     {"approver", []string{"view", "apply", "approve"}},
		"bob":     {"approver", []string{"view", "apply", "approve"}},
		"dee":     {"operator", []string{"view", "apply"}},
		"root":    {"admin", []string{"view", "admin"}},
		"aud":     {"viewer", []string{"view"}},
		"mallory": {"", nil},
	}
	for person, w := range want {
		if got := pol.Standing(person); got != w.standing {
			t.Errorf("Standing(%s) = %q, want %q", person, got, w.standing)
		}
		var got []string
		for _, a := range actions {
			if governance.Can(pol, person, a) {
				got = append(got, a)
			}
		}
		if diff := cmp.Diff(w.can, got); diff != "" {
			t.Errorf("%s may (-want +got):\n%s", person, diff)
		}
	}
	if governance.Can(pol, "ada", "delete_everything") {
		t.Error("an unknown action is allowed")
	}
	if governance.Can(nil, "ada", "view") {
		t.Error("a nil policy allows")
	}
	// The same person is an approver only while the policy lists their role.
	one, err := governance.NewPolicy(testWorkbook("one_of", "incident_commander"))
	if err != nil {
		t.Fatal(err)
	}
	if governance.Can(one, "bob", "approve") || !governance.Can(one, "bob", "apply") {
		t.Error("bob (business_owner) under one_of incident_commander: want apply, not approve")
	}
}
