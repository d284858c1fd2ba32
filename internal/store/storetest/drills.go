package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/store"
)

func runDrills(t *testing.T, newStore Factory) {
	ctx := context.Background()
	t.Run("drills round trip, filter by flow, newest first", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		running := store.Drill{ID: "dr1", Flow: "support", Kind: "tabletop", Scenario: "primary-voice-down", Outcome: "running", StartedAt: Epoch, Dir: "/tmp/x"}
		other := store.Drill{ID: "dr2", Flow: "sales", Name: "sales-live", Kind: "live", Scenario: "live", Outcome: "completed",
			StartedAt: Epoch.Add(time.Hour), EndedAt: Epoch.Add(2 * time.Hour), Report: json.RawMessage(`{"rto_seconds":12}`)}
		for _, d := range []store.Drill{running, other} {
			if err := s.SaveDrill(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetDrill(ctx, "dr1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(running, got); diff != "" {
			t.Errorf("running drill (-want +got):\n%s", diff)
		}
		running.Outcome, running.EndedAt, running.Report = "rolled_back", Epoch.Add(3*time.Hour), json.RawMessage(`{"ok":false}`)
		if err := s.SaveDrill(ctx, running); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListDrills(ctx, "", 0)
		if err != nil || len(all) != 2 || all[0].ID != "dr2" {
			t.Fatalf("list all: %+v, %v; want dr2 then dr1", all, err)
		}
		if diff := cmp.Diff(running, all[1]); diff != "" {
			t.Errorf("replaced drill (-want +got):\n%s", diff)
		}
		support, err := s.ListDrills(ctx, "support", 1)
		if err != nil || len(support) != 1 || support[0].ID != "dr1" {
			t.Errorf("list support: %+v, %v; want dr1 alone", support, err)
		}
		if _, err := s.GetDrill(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown drill: %v", err)
		}
		if err := s.SaveDrill(ctx, store.Drill{ID: "x", Flow: "f", Kind: "live", Report: json.RawMessage(`{`)}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad report: %v", err)
		}
	})
	t.Run("action items open until closed", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		a1 := store.ActionItem{ID: "a1", DrillID: "dr1", Flow: "support", Title: "fix the ie1 webhook", Owner: "bob", CreatedAt: Epoch}
		a2 := store.ActionItem{ID: "a2", DrillID: "dr1", Flow: "support", Title: "add a trigger", Owner: "alice", CreatedAt: Epoch.Add(time.Minute)}
		for _, a := range []store.ActionItem{a1, a2} {
			if err := s.SaveActionItem(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		a1.ClosedAt, a1.ClosedBy, a1.Note = Epoch.Add(time.Hour), "bob", "fixed in app v2"
		if err := s.SaveActionItem(ctx, a1); err != nil {
			t.Fatal(err)
		}
		open, err := s.ActionItems(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.ActionItem{a2}, open); diff != "" {
			t.Errorf("open items (-want +got):\n%s", diff)
		}
		all, err := s.ActionItems(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.ActionItem{a1, a2}, all); diff != "" {
			t.Errorf("all items (-want +got):\n%s", diff)
		}
		if err := s.SaveActionItem(ctx, store.ActionItem{ID: "x"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("item without title: %v", err)
		}
	})
}
