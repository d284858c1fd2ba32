package storetest

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
)

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

func runSnapshots(t *testing.T, newStore Factory) {
	ctx := context.Background()
	const acct = "AC00000000000000000000000000000001"

	t.Run("round trip is byte-for-byte", func(t *testing.T) {
		s, c := fresh(t, newStore)
		want := Snapshot(acct, Epoch.Add(-time.Hour))
		c.Advance(time.Minute)
		meta, err := s.SaveSnapshot(ctx, want)
		if err != nil {
			t.Fatalf("SaveSnapshot: %v", err)
		}
		if meta.ID == 0 || meta.AccountSID != acct || meta.Numbers != 2 || !hexDigest.MatchString(meta.SHA256) ||
			!meta.TakenAt.Equal(want.TakenAt) || !meta.SavedAt.Equal(Epoch.Add(time.Minute)) {
			t.Errorf("SaveSnapshot meta = %+v: want id, account, 2 numbers, hex sha256, taken %v, saved %v",
				meta, want.TakenAt, Epoch.Add(time.Minute))
		}
		got, gotMeta, err := s.GetSnapshot(ctx, meta.ID)
		if err != nil {
			t.Fatalf("GetSnapshot: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetSnapshot snapshot (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(meta, gotMeta); diff != "" {
			t.Errorf("GetSnapshot meta (-saved +got):\n%s", diff)
		}
		var wantJSON, gotJSON bytes.Buffer
		if err := want.Write(&wantJSON); err != nil {
			t.Fatal(err)
		}
		if err := got.Write(&gotJSON); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantJSON.String(), gotJSON.String()); diff != "" {
			t.Errorf("snapshot JSON changed in the store (-want +got):\n%s", diff)
		}
	})

	t.Run("digest follows content", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		a, err := s.SaveSnapshot(ctx, Snapshot(acct, Epoch))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.SaveSnapshot(ctx, Snapshot(acct, Epoch))
		if err != nil {
			t.Fatal(err)
		}
		changed := Snapshot(acct, Epoch)
		changed.Numbers[0].FriendlyName = "renamed"
		d, err := s.SaveSnapshot(ctx, changed)
		if err != nil {
			t.Fatal(err)
		}
		if a.SHA256 != b.SHA256 || a.SHA256 == d.SHA256 || a.ID == b.ID {
			t.Errorf("digests %s, %s (same content), %s (changed), ids %d, %d: want equal, equal, different, distinct ids",
				a.SHA256, b.SHA256, d.SHA256, a.ID, b.ID)
		}
	})

	t.Run("credentials refused and nothing stored", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		snap := Snapshot(acct, Epoch)
		snap.Credentials = map[string]*snapshot.RegionCredentials{"us1": {}}
		if _, err := s.SaveSnapshot(ctx, snap); !errors.Is(err, store.ErrCredentials) {
			t.Fatalf("SaveSnapshot with credentials: err = %v, want ErrCredentials", err)
		}
		if _, _, err := s.LatestSnapshot(ctx, acct); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LatestSnapshot after refused save: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("invalid snapshot refused", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		snap := Snapshot(acct, Epoch)
		snap.Format = "other/v9"
		if _, err := s.SaveSnapshot(ctx, snap); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("SaveSnapshot bad format: err = %v, want ErrInvalid", err)
		}
		if _, err := s.SaveSnapshot(ctx, nil); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("SaveSnapshot nil: err = %v, want ErrInvalid", err)
		}
	})

	t.Run("latest is newest taken, per account", func(t *testing.T) {
		s, c := fresh(t, newStore)
		// Saved out of order: an older observation saved later must not win.
		newer := Snapshot(acct, Epoch.Add(-1*time.Hour))
		older := Snapshot(acct, Epoch.Add(-3*time.Hour))
		older.Numbers = older.Numbers[:1]
		other := Snapshot("AC00000000000000000000000000000002", Epoch)
		for _, sn := range []*snapshot.Snapshot{newer, older, other} {
			c.Advance(time.Second)
			if _, err := s.SaveSnapshot(ctx, sn); err != nil {
				t.Fatal(err)
			}
		}
		got, meta, err := s.LatestSnapshot(ctx, acct)
		if err != nil {
			t.Fatalf("LatestSnapshot: %v", err)
		}
		if diff := cmp.Diff(newer, got); diff != "" {
			t.Errorf("LatestSnapshot (-want +got):\n%s", diff)
		}
		if !meta.TakenAt.Equal(newer.TakenAt) || meta.Numbers != 2 {
			t.Errorf("LatestSnapshot meta = %+v, want taken %v with 2 numbers", meta, newer.TakenAt)
		}
		list, err := s.ListSnapshots(ctx, acct, 0)
		if err != nil {
			t.Fatalf("ListSnapshots: %v", err)
		}
		var gotTaken []time.Time
		for _, m := range list {
			gotTaken = append(gotTaken, m.TakenAt)
		}
		if diff := cmp.Diff([]time.Time{newer.TakenAt, older.TakenAt}, gotTaken); diff != "" {
			t.Errorf("ListSnapshots taken order (-want +got):\n%s", diff)
		}
		limited, err := s.ListSnapshots(ctx, acct, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(limited) != 1 || limited[0].ID != list[0].ID {
			t.Errorf("ListSnapshots limit 1 = %+v, want just %+v", limited, list[0])
		}
	})

	t.Run("not found", func(t *testing.T) {
		s, _ := fresh(t, newStore)
		if _, _, err := s.GetSnapshot(ctx, 12345); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSnapshot unknown: err = %v, want ErrNotFound", err)
		}
		if _, _, err := s.LatestSnapshot(ctx, acct); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LatestSnapshot empty: err = %v, want ErrNotFound", err)
		}
		list, err := s.ListSnapshots(ctx, acct, 10)
		if err != nil || len(list) != 0 {
			t.Errorf("ListSnapshots empty = %v, %v; want none, nil", list, err)
		}
	})
}
