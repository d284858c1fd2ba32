package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/store"
)

func TestLeaseHeldError(t *testing.T) {
	exp := time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)
	err := fmt.Errorf("acquire: %w", &store.LeaseHeldError{Key: "flow:support", Holder: "run-7", Expires: exp})
	if !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("errors.Is(%v, ErrLeaseHeld) = false", err)
	}
	var held *store.LeaseHeldError
	if !errors.As(err, &held) || held.Holder != "run-7" {
		t.Errorf("errors.As gave %+v, want holder run-7", held)
	}
	// An operator refused a lease must learn who holds it and until when.
	for _, want := range []string{"flow:support", "run-7", "2026-11-25T12:00:30Z"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestStepValid(t *testing.T) {
	for _, s := range []store.Step{store.StepIntended, store.StepApplied, store.StepRouted, store.StepProven,
		store.StepCommitted, store.StepRolledBack, store.StepFailed} {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false, want true", s)
		}
	}
	for _, s := range []store.Step{"", "Intended", "done"} {
		if s.Valid() {
			t.Errorf("%q.Valid() = true, want false", s)
		}
	}
}
