package inventory_test

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/twilioemu/emutest"
)

// account runs an emulator seeded with a generated account and returns a
// client set reaching it the way voicedr reaches Twilio.
func account(tb testing.TB, numbers int, faults *twilioemu.Faults, limits twilio.Limits) (*twilioemu.Emulator, *twilio.Set, *snapshot.Snapshot) {
	a := emutest.Start(tb, numbers, faults, twilio.Options{Limits: limits}, twilioemu.GenerateOptions{})
	return a.Emulator, a.Set, a.Seed
}

// normalize orders what the two sides order differently and drops what
// only one side can know.
func normalize(s *snapshot.Snapshot) *snapshot.Snapshot {
	c := *s
	c.TakenAt = time.Time{}
	c.Credentials = nil
	c.Numbers = append([]snapshot.Number(nil), s.Numbers...)
	sort.Slice(c.Numbers, func(i, j int) bool { return c.Numbers[i].PhoneNumber < c.Numbers[j].PhoneNumber })
	c.Resources = map[string]*snapshot.RegionResources{}
	for r, res := range s.Resources {
		cp := *res
		cp.AdvancedInsights = nil // not readable through the REST API
		c.Resources[r] = &cp
	}
	keep := func(rs []snapshot.Route) []snapshot.Route {
		var out []snapshot.Route
		for _, r := range rs {
			if r.Explicit {
				out = append(out, r)
			}
		}
		return out
	}
	c.TrunkRouting, c.SIPDomainRouting = keep(s.TrunkRouting), keep(s.SIPDomainRouting)
	return &c
}

// TestInventoryReadsWhatTheAccountHolds reads a generated account through
// twilio-go and compares it with the emulator's own export.
func TestInventoryReadsWhatTheAccountHolds(t *testing.T) {
	emu, set, _ := account(t, 250, nil, twilio.Limits{Rate: 10000})
	got, err := inventory.Read(t.Context(), set, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := emu.Snapshot(false)
	if diff := cmp.Diff(normalize(want), normalize(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("inventory vs emulator (-emulator +inventory):\n%s", diff)
	}
	if got.Numbers[0].Records["ie1"] == nil || got.Numbers[0].Records["au1"] == nil {
		t.Errorf("every region's record is read")
	}
	// The snapshot it writes seeds another emulator: the formats are one.
	other := twilioemu.New(twilioemu.Options{})
	defer other.Close()
	if err := other.Seed(got); err != nil {
		t.Errorf("inventory snapshot does not seed the emulator: %v", err)
	}
}

func TestInventoryFailsWithTheRegionThatIsDown(t *testing.T) {
	_, set, _ := account(t, 20, &twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "ie1", Product: "api", Down: "503"}}},
		twilio.Limits{Rate: 10000})
	_, err := inventory.Read(t.Context(), set, inventory.Options{})
	var te *twilio.Error
	if !errors.As(err, &te) || te.Region != region.IE1 || te.Kind != twilio.KindUnavailable {
		t.Errorf("got %v, want ie1 unavailable", err)
	}
}

// BenchmarkInventory reads an account of N numbers (VOICEDR_BENCH_NUMBERS,
// default 2,000) with 100 ms of latency on every request and the emulator's
// 100-request concurrency limit, and prints the time against the budget:
// 3 regions × ceil(N/1000) number pages + N routing fetches + resource lists,
// at min(concurrency/latency, rate limit) requests per second.
func BenchmarkInventory(b *testing.B) {
	n := 2000
	if v := benchNumbers(); v > 0 {
		n = v
	}
	const latency, rate = 100 * time.Millisecond, 250.0
	_, set, seed := account(b, n, &twilioemu.Faults{Version: 1, ConcurrencyLimit: 100,
		Regions: []twilioemu.RegionFault{{Region: "*", Product: "*", Latency: twilioemu.Duration(latency)}}}, twilio.Limits{})
	trunks := 0
	for _, res := range seed.Resources {
		trunks += len(res.Trunks)
	}
	requests := 3*int(math.Ceil(float64(n)/1000)) + n + 3*4 + trunks*3 + len(seed.TrunkRouting) + len(seed.SIPDomainRouting)
	perSec := math.Min(100/latency.Seconds(), rate)
	budget := time.Duration(float64(requests) / perSec * float64(time.Second))
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := inventory.Read(b.Context(), set, inventory.Options{Concurrency: 100}); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.ReportMetric(took.Seconds(), "s_read")
		b.ReportMetric(took.Seconds()/budget.Seconds(), "x_budget")
		b.Logf("%d numbers: %d requests in %v; budget %v at %.0f req/s; %.2f× (target ≤ 1.25×)", n, requests, took.Round(time.Millisecond), budget.Round(time.Millisecond), perSec, took.Seconds()/budget.Seconds())
	}
}

func benchNumbers() int {
	var n int
	fmt.Sscan(getenv("VOICEDR_BENCH_NUMBERS"), &n)
	return n
}
