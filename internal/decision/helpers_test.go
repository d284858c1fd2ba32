package decision_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicedr/voicedr/internal/decision"
	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// clock is the virtual clock the emulator (call start times) and the
// watcher (windows, trigger durations) share, so windows are compressed
// without waiting for them.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is an emulated account whose flow numbers are answered by a sample
// app per region (us1 primary, ie1 standby) and routed to us1, as in the
// signals tests, on a virtual clock.
type world struct {
	emu     *twilioemu.Emulator
	set     *twilio.Set
	clock   *clock
	apps    map[region.Region]*httptest.Server
	numbers []string
}

func newWorld(t *testing.T, n int) *world {
	t.Helper()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	emu := twilioemu.New(twilioemu.Options{RandSeed: 7, CallsPerSecond: 200, Clock: clk})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	creds := emu.Credentials()
	w := &world{emu: emu, clock: clk, apps: map[region.Region]*httptest.Server{}}
	for _, r := range []region.Region{region.US1, region.IE1} {
		a, err := sampleapp.New(sampleapp.Options{Region: r, AuthToken: region.NewSecret(creds[r].AuthToken), Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		s := httptest.NewServer(a)
		t.Cleanup(s.Close)
		w.apps[r] = s
	}
	records := func() map[string]*snapshot.NumberRecord {
		m := map[string]*snapshot.NumberRecord{}
		for r, a := range w.apps {
			m[string(r)] = &snapshot.NumberRecord{VoiceURL: a.URL + "/voice", VoiceMethod: "POST",
				VoiceFallbackURL: a.URL + "/fallback", VoiceFallbackMethod: "POST"}
		}
		return m
	}
	seed := &snapshot.Snapshot{Format: snapshot.Format, Regions: []string{"us1", "ie1", "au1"}}
	for i := range n {
		num := fmt.Sprintf("+1415555%04d", 100+i)
		w.numbers = append(w.numbers, num)
		seed.Numbers = append(seed.Numbers, snapshot.Number{PhoneNumber: num,
			Routing: snapshot.Route{VoiceRegion: "us1", Explicit: true}, Records: records()})
	}
	if err := emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	// One attempt per request: a region the test takes down answers at once.
	pool, err := twilio.NewPool(twilio.Options{Endpoint: srv.URL, Retry: twilio.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var profiles []region.Resolved
	for _, r := range []region.Region{region.US1, region.IE1} {
		profiles = append(profiles, emu.Profile(r))
	}
	if w.set, err = twilio.NewSet(pool, profiles...); err != nil {
		t.Fatal(err)
	}
	return w
}

// workbook is the flow "support" over the world's numbers, us1 primary and
// ie1 standby pointing at the sample apps, with people in three roles.
func (w *world) workbook() *workbook.Workbook {
	prof := func(r region.Region, role workbook.Role) workbook.RegionProfile {
		a := w.apps[r].URL
		return workbook.RegionProfile{Profile: region.Profile{Region: r, Edge: r.HomeEdge()}, Role: role,
			App: workbook.AppEndpoints{VoiceURL: a + "/voice", VoiceMethod: "POST", FallbackURL: a + "/fallback", FallbackMethod: "POST"}}
	}
	return &workbook.Workbook{Version: 1, Program: "test",
		Regions: []workbook.RegionProfile{prof(region.US1, workbook.RolePrimary), prof(region.IE1, workbook.RoleStandby)},
		Flows: []workbook.Flow{{Name: "support", Numbers: w.numbers, Criticality: "critical", RTO: workbook.Duration(15 * time.Minute),
			MustSurvive: []string{"inbound calls answered"}, CanDegrade: []string{"call recording"},
			CanWait: []string{"callback scheduling"}, OutOfScope: []string{"outbound campaigns"}}},
		Governance: workbook.Governance{
			Roles: []workbook.GovRole{{Name: "incident_commander"}, {Name: "business_owner"}, {Name: "operator"}},
			People: []workbook.Person{{Name: "ada", Role: "incident_commander"}, {Name: "bob", Role: "business_owner"},
				{Name: "olga", Role: "operator"}},
			Approval: workbook.Approval{Policy: "one_of", Roles: []string{"incident_commander", "business_owner"}},
		},
	}
}

// call places n inbound calls from the PSTN to every number and returns
// their outcomes.
func (w *world) call(t *testing.T, n int) []twilioemu.CallOutcome {
	t.Helper()
	var out []twilioemu.CallOutcome
	for range n {
		for _, num := range w.numbers {
			o, err := w.emu.PlaceInboundCall(t.Context(), twilioemu.InboundCall{To: num, From: "+447700900123"})
			if err != nil {
				t.Fatalf("call %s: %v", num, err)
			}
			out = append(out, o)
		}
	}
	return out
}

func (w *world) faults(t *testing.T, product string) {
	t.Helper()
	w.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "us1", Product: product, Down: "503"}}})
}

// snapshotFn reads the account live through inventory, as the server does;
// edit, if set, changes what was read (a standby record lost).
func (w *world) snapshotFn(edit func(*snapshot.Snapshot)) func(context.Context) (*snapshot.Snapshot, error) {
	return func(ctx context.Context) (*snapshot.Snapshot, error) {
		s, err := inventory.Read(ctx, w.set, inventory.Options{Now: w.clock.Now})
		if err == nil && edit != nil {
			edit(s)
		}
		return s, err
	}
}

// watcher builds a Watcher over the world with a fresh SQLite store.
func (w *world) watcher(t *testing.T, wb *workbook.Workbook) *decision.Watcher {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "voicedr.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &decision.Watcher{Workbook: wb, Env: signals.Env{Set: w.set}, Store: st, Now: w.clock.Now,
		Snapshot: w.snapshotFn(nil)}
}

// dropStandbyRecord empties ie1's voice URL of the first number: a
// readiness error gap.
func dropStandbyRecord(s *snapshot.Snapshot) {
	if len(s.Numbers) > 0 {
		if rec := s.Numbers[0].Records["ie1"]; rec != nil {
			rec.VoiceURL, rec.VoiceFallbackURL = "", ""
		}
	}
}
