package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/store"
)

func testRun(id string, created time.Time) store.Run {
	return store.Run{ID: id, PlanDigest: "sha256:" + id, Flow: "support", Kind: "failover",
		CreatedAt: created, State: store.RunPlanned}
}

func runRuns(t *testing.T, newStore Factory) {
	ctx := context.Background()

	t.Run("create, get, list", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		r1, r2, r3 := testRun("r1", Epoch), testRun("r2", Epoch.Add(time.Minute)), testRun("r3", Epoch.Add(-time.Minute))
		for _, r := range []store.Run{r1, r2, r3} {
			if err := s.CreateRun(ctx, r); err != nil {
				t.Fatalf("CreateRun %s: %v", r.ID, err)
			}
		}
		got, err := s.GetRun(ctx, "r1")
		if err != nil {
			t.Fatalf("GetRun: %v", err)
		}
		if diff := cmp.Diff(r1, got); diff != "" {
			t.Errorf("GetRun (-want +got):\n%s", diff)
		}
		list, err := s.ListRuns(ctx, 0)
		if err != nil {
			t.Fatalf("ListRuns: %v", err)
		}
		if diff := cmp.Diff([]store.Run{r2, r1, r3}, list); diff != "" {
			t.Errorf("ListRuns newest first (-want +got):\n%s", diff)
		}
		list, err = s.ListRuns(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.Run{r2, r1}, list); diff != "" {
			t.Errorf("ListRuns limit 2 (-want +got):\n%s", diff)
		}
		if err := s.CreateRun(ctx, testRun("r1", Epoch)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateRun duplicate: err = %v, want ErrConflict", err)
		}
		if err := s.CreateRun(ctx, store.Run{State: store.RunPlanned}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CreateRun without id: err = %v, want ErrInvalid", err)
		}
		if _, err := s.GetRun(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRun unknown: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("state compare-and-swap", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		if err := s.CreateRun(ctx, testRun("r1", Epoch)); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateRunState(ctx, "r1", store.RunPlanned, store.RunRunning); err != nil {
			t.Fatalf("UpdateRunState planned→running: %v", err)
		}
		if err := s.UpdateRunState(ctx, "r1", store.RunPlanned, store.RunAborted); !errors.Is(err, store.ErrConflict) {
			t.Errorf("UpdateRunState from stale state: err = %v, want ErrConflict", err)
		}
		got, err := s.GetRun(ctx, "r1")
		if err != nil || got.State != store.RunRunning {
			t.Errorf("GetRun after conflict = %+v, %v; want state running", got, err)
		}
		if err := s.UpdateRunState(ctx, "nope", store.RunPlanned, store.RunRunning); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateRunState unknown run: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("concurrent CAS has one winner", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		if err := s.CreateRun(ctx, testRun("r1", Epoch)); err != nil {
			t.Fatal(err)
		}
		const n = 10
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.UpdateRunState(ctx, "r1", store.RunPlanned, store.RunState(fmt.Sprintf("s%d", i)))
			}()
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("updater %d: err = %v, want nil or ErrConflict", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d updaters won, want exactly 1", wins)
		}
	})

	t.Run("ledger append order and round trip", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		for _, id := range []string{"r1", "r2"} {
			if err := s.CreateRun(ctx, testRun(id, Epoch)); err != nil {
				t.Fatal(err)
			}
		}
		steps := []store.Step{store.StepIntended, store.StepApplied, store.StepRouted, store.StepProven, store.StepCommitted}
		var want []store.ActionRecord
		for i, st := range steps {
			a := store.ActionRecord{RunID: "r1", ActionKey: "number:+14155550100", Step: st,
				Detail: json.RawMessage(fmt.Sprintf(`{"region":"ie1","i":%d}`, i)), At: Epoch.Add(time.Duration(i) * time.Second)}
			got, err := s.AppendAction(ctx, a)
			if err != nil {
				t.Fatalf("AppendAction %s: %v", st, err)
			}
			a.Seq = int64(i + 1)
			if diff := cmp.Diff(a, got); diff != "" {
				t.Errorf("AppendAction result (-want +got):\n%s", diff)
			}
			want = append(want, a)
			// Interleave another run's entries: they must not share r1's sequence.
			if _, err := s.AppendAction(ctx, store.ActionRecord{RunID: "r2", ActionKey: "trunk:t", Step: st, At: Epoch}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Actions(ctx, "r1")
		if err != nil {
			t.Fatalf("Actions: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Actions (-want +got):\n%s", diff)
		}
		r2, err := s.Actions(ctx, "r2")
		if err != nil || len(r2) != len(steps) || r2[0].Seq != 1 || r2[0].Detail != nil {
			t.Errorf("Actions r2 = %+v, %v; want %d entries from seq 1 with nil detail", r2, err, len(steps))
		}
	})

	t.Run("ledger edge cases", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		if err := s.CreateRun(ctx, testRun("r1", Epoch)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Actions(ctx, "r1")
		if err != nil || len(got) != 0 {
			t.Errorf("Actions of a fresh run = %v, %v; want none, nil", got, err)
		}
		if _, err := s.Actions(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Actions unknown run: err = %v, want ErrNotFound", err)
		}
		ok := store.ActionRecord{RunID: "r1", ActionKey: "number:+1", Step: store.StepIntended, At: Epoch}
		if _, err := s.AppendAction(ctx, store.ActionRecord{RunID: "nope", ActionKey: "number:+1",
			Step: store.StepIntended}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AppendAction unknown run: err = %v, want ErrNotFound", err)
		}
		bad := ok
		bad.Step = "teleported"
		if _, err := s.AppendAction(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AppendAction unknown step: err = %v, want ErrInvalid", err)
		}
		bad = ok
		bad.Detail = json.RawMessage(`{not json`)
		if _, err := s.AppendAction(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AppendAction bad detail: err = %v, want ErrInvalid", err)
		}
		bad = ok
		bad.ActionKey = ""
		if _, err := s.AppendAction(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AppendAction empty key: err = %v, want ErrInvalid", err)
		}
		if got, err := s.Actions(ctx, "r1"); err != nil || len(got) != 0 {
			t.Errorf("Actions after refused appends = %v, %v; want none", got, err)
		}
	})

	t.Run("concurrent appends get contiguous sequence", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		if err := s.CreateRun(ctx, testRun("r1", Epoch)); err != nil {
			t.Fatal(err)
		}
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.AppendAction(ctx, store.ActionRecord{RunID: "r1", ActionKey: fmt.Sprintf("number:+%d", i),
					Step: store.StepIntended, At: Epoch}); err != nil {
					t.Errorf("AppendAction %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		got, err := s.Actions(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		var seqs, want []int64
		keys := map[string]bool{}
		for i, a := range got {
			seqs = append(seqs, a.Seq)
			want = append(want, int64(i+1))
			keys[a.ActionKey] = true
		}
		if diff := cmp.Diff(want, seqs); diff != "" || len(keys) != n {
			t.Errorf("sequences (-want +got):\n%s\n%d distinct keys, want %d", diff, len(keys), n)
		}
	})
}
