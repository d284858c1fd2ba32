package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/store"
)

func runLeases(t *testing.T, newStore Factory) {
	ctx := context.Background()
	const key = "flow:support"
	ttl := 30 * time.Second

	t.Run("held by another", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		got, err := s.AcquireLease(ctx, key, "run-a", ttl)
		if err != nil {
			t.Fatalf("AcquireLease: %v", err)
		}
		want := store.Lease{Key: key, Holder: "run-a", Token: got.Token, Expires: Epoch.Add(ttl)}
		if diff := cmp.Diff(want, got); diff != "" || got.Token <= 0 {
			t.Errorf("AcquireLease (-want +got):\n%s (token must be positive: %d)", diff, got.Token)
		}
		_, err = s.AcquireLease(ctx, key, "run-b", ttl)
		var held *store.LeaseHeldError
		if !errors.Is(err, store.ErrLeaseHeld) || !errors.As(err, &held) {
			t.Fatalf("AcquireLease by second holder: err = %v, want *LeaseHeldError", err)
		}
		if diff := cmp.Diff(store.LeaseHeldError{Key: key, Holder: "run-a", Expires: Epoch.Add(ttl)}, *held); diff != "" {
			t.Errorf("LeaseHeldError (-want +got):\n%s", diff)
		}
	})

	t.Run("same holder renews keeping token", func(t *testing.T) {
		s, c := fresh(t, newStore)
		first, err := s.AcquireLease(ctx, key, "run-a", ttl)
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(20 * time.Second)
		renewed, err := s.AcquireLease(ctx, key, "run-a", ttl)
		if err != nil {
			t.Fatalf("renew: %v", err)
		}
		want := store.Lease{Key: key, Holder: "run-a", Token: first.Token, Expires: Epoch.Add(20*time.Second + ttl)}
		if diff := cmp.Diff(want, renewed); diff != "" {
			t.Errorf("renewed lease (-want +got):\n%s", diff)
		}
		// Past the first expiry but within the renewed one: still held.
		c.Advance(15 * time.Second)
		if _, err := s.AcquireLease(ctx, key, "run-b", ttl); !errors.Is(err, store.ErrLeaseHeld) {
			t.Errorf("AcquireLease after renewal: err = %v, want ErrLeaseHeld", err)
		}
	})

	t.Run("expiry via clock and fencing tokens increase", func(t *testing.T) {
		s, c := fresh(t, newStore)
		a, err := s.AcquireLease(ctx, key, "run-a", ttl)
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(ttl - time.Nanosecond)
		if _, err := s.AcquireLease(ctx, key, "run-b", ttl); !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("AcquireLease 1ns before expiry: err = %v, want ErrLeaseHeld", err)
		}
		c.Advance(time.Nanosecond)
		b, err := s.AcquireLease(ctx, key, "run-b", ttl)
		if err != nil {
			t.Fatalf("AcquireLease at expiry: %v", err)
		}
		if b.Token <= a.Token {
			t.Errorf("token after takeover = %d, want > %d", b.Token, a.Token)
		}
		// The fenced-off holder can neither release nor silently renew.
		if err := s.ReleaseLease(ctx, a); !errors.Is(err, store.ErrConflict) {
			t.Errorf("ReleaseLease with stale token: err = %v, want ErrConflict", err)
		}
		if err := s.ReleaseLease(ctx, b); err != nil {
			t.Fatalf("ReleaseLease: %v", err)
		}
		// Release keeps the counter: the next token is higher still, even
		// for the holder that had it before.
		a2, err := s.AcquireLease(ctx, key, "run-a", ttl)
		if err != nil {
			t.Fatalf("AcquireLease after release: %v", err)
		}
		if a2.Token <= b.Token {
			t.Errorf("token after release = %d, want > %d", a2.Token, b.Token)
		}
		// An expired lease re-taken by the same holder is a new lease.
		c.Advance(ttl)
		a3, err := s.AcquireLease(ctx, key, "run-a", ttl)
		if err != nil {
			t.Fatal(err)
		}
		if a3.Token <= a2.Token {
			t.Errorf("token after own expiry = %d, want > %d", a3.Token, a2.Token)
		}
	})

	t.Run("release", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		l, err := s.AcquireLease(ctx, key, "run-a", ttl)
		if err != nil {
			t.Fatal(err)
		}
		wrong := l
		wrong.Holder = "run-b"
		if err := s.ReleaseLease(ctx, wrong); !errors.Is(err, store.ErrConflict) {
			t.Errorf("ReleaseLease by another holder: err = %v, want ErrConflict", err)
		}
		if err := s.ReleaseLease(ctx, l); err != nil {
			t.Fatalf("ReleaseLease: %v", err)
		}
		if err := s.ReleaseLease(ctx, l); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second ReleaseLease: err = %v, want ErrConflict", err)
		}
		if err := s.ReleaseLease(ctx, store.Lease{Key: "flow:none", Holder: "run-a", Token: 1}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReleaseLease of unknown key: err = %v, want ErrNotFound", err)
		}
		if _, err := s.AcquireLease(ctx, key, "run-b", ttl); err != nil {
			t.Errorf("AcquireLease after release: %v", err)
		}
	})

	t.Run("multi-lease is all or nothing", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		if _, err := s.AcquireLease(ctx, "number:+2", "run-b", ttl); err != nil {
			t.Fatal(err)
		}
		keys := []string{"flow:support", "number:+1", "number:+2", "number:+3"}
		_, err := s.AcquireLeases(ctx, keys, "run-a", ttl)
		var held *store.LeaseHeldError
		if !errors.As(err, &held) || held.Key != "number:+2" || held.Holder != "run-b" {
			t.Fatalf("AcquireLeases over a held key: err = %v, want LeaseHeldError on number:+2 by run-b", err)
		}
		// None of the free keys may have been taken by the failed call.
		for _, k := range []string{"flow:support", "number:+1", "number:+3"} {
			if _, err := s.AcquireLease(ctx, k, "run-c", ttl); err != nil {
				t.Errorf("key %s after failed AcquireLeases: %v (partially leased)", k, err)
			}
		}
		got, err := s.AcquireLeases(ctx, []string{"number:+5", "flow:billing", "number:+4"}, "run-d", ttl)
		if err != nil {
			t.Fatalf("AcquireLeases: %v", err)
		}
		var gotKeys []string
		for _, l := range got {
			gotKeys = append(gotKeys, l.Key)
			if l.Holder != "run-d" || !l.Expires.Equal(Epoch.Add(ttl)) || l.Token <= 0 {
				t.Errorf("lease %+v: want holder run-d, expiry %v, positive token", l, Epoch.Add(ttl))
			}
		}
		if diff := cmp.Diff([]string{"flow:billing", "number:+4", "number:+5"}, gotKeys); diff != "" {
			t.Errorf("AcquireLeases keys, sorted (-want +got):\n%s", diff)
		}
	})

	t.Run("invalid arguments", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		for name, call := range map[string]func() error{
			"empty key":     func() error { _, err := s.AcquireLease(ctx, "", "h", ttl); return err },
			"empty holder":  func() error { _, err := s.AcquireLease(ctx, key, "", ttl); return err },
			"zero ttl":      func() error { _, err := s.AcquireLease(ctx, key, "h", 0); return err },
			"no keys":       func() error { _, err := s.AcquireLeases(ctx, nil, "h", ttl); return err },
			"duplicate key": func() error { _, err := s.AcquireLeases(ctx, []string{key, key}, "h", ttl); return err },
		} {
			if err := call(); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", name, err)
			}
		}
	})

	t.Run("exactly one of 20 concurrent acquirers wins", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				// Half take the single key, half a set containing it, so the
				// multi-key path races too.
				if i%2 == 0 {
					_, errs[i] = s.AcquireLease(ctx, key, fmt.Sprintf("run-%d", i), ttl)
				} else {
					_, errs[i] = s.AcquireLeases(ctx, []string{fmt.Sprintf("number:+%d", i), key},
						fmt.Sprintf("run-%d", i), ttl)
				}
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrLeaseHeld):
				t.Errorf("acquirer %d: err = %v, want nil or ErrLeaseHeld", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d acquirers won, want exactly 1", wins)
		}
	})
}
