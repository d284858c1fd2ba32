package storetest

import (
	"context"
	"errors"
	"testing"

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
}
