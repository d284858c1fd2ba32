// Package storetest is the contract every store.Store backend must pass.
// A backend's test calls Run with a factory that builds a fresh, empty store
// reading time from the given Clock:
//
//	storetest.Run(t, func(t *testing.T, c *storetest.Clock) store.Store {
//		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.WithClock(c.Now))
//		...
//	})
//
// The clock is the suite's, not the backend's, so lease expiry is tested by
// advancing it rather than by sleeping.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
)

// Clock is a fake clock safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Factory returns a new empty store using clock for time. It registers its
// own cleanup (closing the store) with t.
type Factory func(t *testing.T, clock *Clock) store.Store

// Epoch is where every test's clock starts.
var Epoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Run runs the whole contract suite against stores made by newStore.
func Run(t *testing.T, newStore Factory) {
	t.Helper()
	t.Run("snapshots", func(t *testing.T) { runSnapshots(t, newStore) })
	t.Run("leases", func(t *testing.T) { runLeases(t, newStore) })
	t.Run("runs", func(t *testing.T) { runRuns(t, newStore) })
	t.Run("plans", func(t *testing.T) { runPlans(t, newStore) })
	t.Run("governance", func(t *testing.T) { runGovernance(t, newStore) })
	t.Run("batches", func(t *testing.T) { runBatches(t, newStore) })
	t.Run("decisions", func(t *testing.T) { runDecisions(t, newStore) })
	t.Run("drills", func(t *testing.T) { runDrills(t, newStore) })
}

// fresh builds a store and its clock for one subtest.
func fresh(t *testing.T, newStore Factory) (store.Store, *Clock) {
	t.Helper()
	c := NewClock(Epoch)
	return newStore(t, c), c
}

// Snapshot returns a snapshot exercising every section that may be stored
// (everything but credentials), so a round trip that drops a field shows.
func Snapshot(account string, takenAt time.Time) *snapshot.Snapshot {
	yes := true
	return &snapshot.Snapshot{
		Format:     snapshot.Format,
		TakenAt:    takenAt,
		AccountSID: account,
		Regions:    []string{"us1", "ie1"},
		Numbers: []snapshot.Number{{
			PhoneNumber:  "+14155550100",
			FriendlyName: "support-main",
			Capabilities: &snapshot.Capabilities{Voice: true, SMS: true},
			Routing:      snapshot.Route{VoiceRegion: "us1", Explicit: false},
			Records: map[string]*snapshot.NumberRecord{
				"us1": {SID: "PN1", VoiceURL: "https://app.example.com/voice", VoiceMethod: "POST",
					VoiceFallbackURL: "https://fb.example.com/voice", StatusCallback: "https://app.example.com/status"},
				"ie1": {SID: "PN1", VoiceApplicationSID: "AP1"},
			},
		}, {
			PhoneNumber: "+442071838750",
			Routing:     snapshot.Route{VoiceRegion: "ie1", Explicit: true},
			Records:     map[string]*snapshot.NumberRecord{"ie1": {SID: "PN2", TrunkSID: "TK1"}},
		}},
		Resources: map[string]*snapshot.RegionResources{
			"ie1": {
				Applications: []snapshot.Application{{SID: "AP1", FriendlyName: "support", VoiceURL: "https://ie.example.com/v"}},
				Trunks: []snapshot.Trunk{{SID: "TK1", DomainName: "acme.pstn.twilio.com",
					DisasterRecoveryURL: "https://dr.example.com",
					OriginationURLs: []snapshot.OriginationURL{{SID: "OU1", FriendlyName: "sbc1",
						SIPURL: "sip:sbc1.example.com", Priority: 10, Weight: 10, Enabled: true}}}},
				SIPDomains:       []snapshot.SIPDomain{{SID: "SD1", DomainName: "acme.sip.twilio.com"}},
				AdvancedInsights: &yes,
			},
		},
		TrunkRouting: []snapshot.Route{{Key: "acme.pstn.twilio.com", VoiceRegion: "ie1", Explicit: true}},
	}
}
