package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/store"
)

func runPlans(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s, _ := fresh(t, newStore)
	if _, err := s.GetPlan(ctx, "abc"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPlan of nothing: got %v; want ErrNotFound", err)
	}
	body := []byte(`{"format":"voicedr.plan/v1"}`)
	for i := 0; i < 2; i++ {
		if err := s.PutPlan(ctx, "abc", body); err != nil {
			t.Fatalf("PutPlan (time %d): %v", i+1, err)
		}
	}
	got, err := s.GetPlan(ctx, "abc")
	if err != nil || string(got) != string(body) {
		t.Fatalf("GetPlan: %q, %v; want %q", got, err, body)
	}
	if err := s.PutPlan(ctx, "abc", []byte(`{}`)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutPlan of other bytes under a stored digest: got %v; want ErrConflict", err)
	}
	if err := s.PutPlan(ctx, "", body); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PutPlan without digest: got %v; want ErrInvalid", err)
	}
	runListPlans(t, newStore)
}

// runListPlans: plans list newest saved first, with the time the store
// first saved them (storing the same plan again does not move it), and
// limit bounds the list.
func runListPlans(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s, c := fresh(t, newStore)
	if got, err := s.ListPlans(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("ListPlans of an empty store: %+v, %v; want none", got, err)
	}
	for _, d := range []string{"p1", "p2", "p3"} {
		if err := s.PutPlan(ctx, d, []byte(`{"digest":"`+d+`"}`)); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Minute)
	}
	// p1 again: a no-op, so it keeps its first saved time.
	if err := s.PutPlan(ctx, "p1", []byte(`{"digest":"p1"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListPlans(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.PlanMeta{
		{Digest: "p3", SavedAt: Epoch.Add(2 * time.Minute)},
		{Digest: "p2", SavedAt: Epoch.Add(time.Minute)},
		{Digest: "p1", SavedAt: Epoch},
	}
	if len(got) != len(want) {
		t.Fatalf("ListPlans(0): %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i].Digest != want[i].Digest || !got[i].SavedAt.Equal(want[i].SavedAt) {
			t.Errorf("ListPlans(0)[%d]: %+v; want %+v", i, got[i], want[i])
		}
	}
	if got, err := s.ListPlans(ctx, 2); err != nil || len(got) != 2 || got[0].Digest != "p3" || got[1].Digest != "p2" {
		t.Errorf("ListPlans(2): %+v, %v; want p3, p2", got, err)
	}
}

func runBatches(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s, c := fresh(t, newStore)
	if err := s.CreateRun(ctx, testRun("r1", Epoch)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAction(ctx, store.ActionRecord{RunID: "r1", ActionKey: "a", Step: store.StepIntended}); err != nil {
		t.Fatal(err)
	}
	batch := []store.ActionRecord{
		{RunID: "r1", ActionKey: "b", Step: store.StepCommitted},
		{RunID: "r1", ActionKey: "c", Step: store.StepCommitted},
	}
	got, err := s.AppendActions(ctx, batch)
	if err != nil || len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 3 {
		t.Fatalf("AppendActions: %+v, %v; want seqs 2 and 3", got, err)
	}
	// All or none: a bad record refuses the whole batch.
	bad := []store.ActionRecord{{RunID: "r1", ActionKey: "d", Step: store.StepCommitted}, {RunID: "r1", ActionKey: "e", Step: "nope"}}
	if _, err := s.AppendActions(ctx, bad); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("batch with a bad step: %v; want ErrInvalid", err)
	}
	if _, err := s.AppendActions(ctx, []store.ActionRecord{{RunID: "nope", ActionKey: "x", Step: store.StepIntended}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("batch for an unknown run: %v; want ErrNotFound", err)
	}
	if all, _ := s.Actions(ctx, "r1"); len(all) != 3 {
		t.Errorf("ledger has %d records; want 3 (refused batches leave nothing)", len(all))
	}
	if tail, err := s.ActionsAfter(ctx, "r1", 1); err != nil || len(tail) != 2 || tail[0].Seq != 2 || tail[0].ActionKey != "b" {
		t.Errorf("ActionsAfter 1: %+v, %v; want records 2 and 3", tail, err)
	}
	if _, err := s.ActionsAfter(ctx, "nope", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ActionsAfter of an unknown run: %v; want ErrNotFound", err)
	}
	// ReleaseLeases frees what is still ours and leaves the rest.
	mine, err := s.AcquireLeases(ctx, []string{"k1", "k2"}, "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Minute) // k2 expires and is taken over
	if _, err := s.AcquireLease(ctx, "k2", "other", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLeases(ctx, mine); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "k1", "third", time.Minute); err != nil {
		t.Errorf("k1 after release: %v", err)
	}
	if _, err := s.AcquireLease(ctx, "k2", "third", time.Minute); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("k2 taken over by another holder was released by the old one: %v", err)
	}
}
