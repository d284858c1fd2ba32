package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/store"
)

func runGovernance(t *testing.T, newStore Factory) {
	ctx := context.Background()
	t.Run("audit chain is gapless and linked", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		next := func(kind string) func(*store.AuditRecord) (store.AuditRecord, error) {
			return func(head *store.AuditRecord) (store.AuditRecord, error) {
				r := store.AuditRecord{Seq: 1, At: Epoch, Kind: kind, Actor: "ada", Subject: "run-1", Body: json.RawMessage(`{"k":1}`)}
				if head != nil {
					r.Seq, r.Prev = head.Seq+1, head.Hash
				}
				r.Hash = fmt.Sprintf("h%d", r.Seq)
				return r, nil
			}
		}
		for _, k := range []string{"plan", "approval", "run.action"} {
			if _, err := s.AppendAudit(ctx, next(k)); err != nil {
				t.Fatalf("append %s: %v", k, err)
			}
		}
		got, err := s.AuditRecords(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[1].Prev != "h1" || got[2].Seq != 3 || got[2].Kind != "run.action" || string(got[0].Body) != `{"k":1}` || !got[0].At.Equal(Epoch) {
			t.Errorf("records %+v", got)
		}
		if tail, _ := s.AuditRecords(ctx, 1, 1); len(tail) != 1 || tail[0].Seq != 2 {
			t.Errorf("after 1 limit 1: %+v", tail)
		}
		bad := func(*store.AuditRecord) (store.AuditRecord, error) {
			return store.AuditRecord{Seq: 9, Hash: "x", Body: json.RawMessage(`{}`)}, nil
		}
		if _, err := s.AppendAudit(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("an entry that skips the head: %v; want ErrInvalid", err)
		}
		refuse := errors.New("no")
		if _, err := s.AppendAudit(ctx, func(*store.AuditRecord) (store.AuditRecord, error) { return store.AuditRecord{}, refuse }); !errors.Is(err, refuse) {
			t.Errorf("build error: %v", err)
		}
	})
	t.Run("checkpoints", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		c := store.Checkpoint{Seq: 3, Hash: "h3", At: Epoch, KeyID: "k1", Signature: []byte{1, 2, 3}}
		if err := s.SaveCheckpoint(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpoint(ctx, c); !errors.Is(err, store.ErrConflict) {
			t.Errorf("same checkpoint twice: %v; want ErrConflict", err)
		}
		got, err := s.Checkpoints(ctx)
		if err != nil || len(got) != 1 {
			t.Fatal(got, err)
		}
		if diff := cmp.Diff(c, got[0]); diff != "" {
			t.Errorf("checkpoint (-want +got):\n%s", diff)
		}
	})
	t.Run("approvals and tokens", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		a := store.Approval{ID: "a1", PlanDigest: "d1", RunID: "r1", Person: "Ada", Role: "incident_commander",
			Decision: "approve", At: Epoch, Expires: Epoch.Add(time.Hour)}
		if err := s.AddApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.AddApproval(ctx, a); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate approval: %v", err)
		}
		got, err := s.Approvals(ctx, "d1")
		if err != nil || len(got) != 1 {
			t.Fatal(got, err)
		}
		if diff := cmp.Diff(a, got[0]); diff != "" {
			t.Errorf("approval (-want +got):\n%s", diff)
		}
		if other, _ := s.Approvals(ctx, "d2"); len(other) != 0 {
			t.Errorf("another digest's approvals: %+v", other)
		}
		tok := store.Token{ID: "t1", Person: "Ada", Hash: "abc", CreatedAt: Epoch}
		if err := s.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if got, err := s.TokenByHash(ctx, "abc"); err != nil || got != tok {
			t.Errorf("token %+v, %v", got, err)
		}
		tok.Revoked = true
		if err := s.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.TokenByHash(ctx, "abc"); !got.Revoked {
			t.Errorf("revoked token reads %+v", got)
		}
		if _, err := s.TokenByHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown token: %v", err)
		}
	})
}

func runDecisions(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s, _ := fresh(t, newStore)
	d1 := store.Decision{ID: "d1", Flow: "support", Trigger: "us1-down", State: "detection", OpenedAt: Epoch, UpdatedAt: Epoch, Body: json.RawMessage(`{"steps":[]}`)}
	d2 := d1
	d2.ID, d2.OpenedAt = "d2", Epoch.Add(time.Minute)
	for _, d := range []store.Decision{d1, d2} {
		if err := s.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	d1.State, d1.UpdatedAt = "approval", Epoch.Add(2*time.Minute)
	if err := s.SaveDecision(ctx, d1); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDecision(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d1, got); diff != "" {
		t.Errorf("decision (-want +got):\n%s", diff)
	}
	list, err := s.ListDecisions(ctx, 0)
	if err != nil || len(list) != 2 || list[0].ID != "d2" {
		t.Errorf("list %+v, %v; want d2 then d1", list, err)
	}
	if _, err := s.GetDecision(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown decision: %v", err)
	}
	if err := s.SaveDecision(ctx, store.Decision{ID: "x", State: "s", Body: json.RawMessage(`{`)}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad body: %v", err)
	}
}
