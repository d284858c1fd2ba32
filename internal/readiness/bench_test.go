package readiness_test

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/twilioemu/emutest"
)

// BenchmarkReadiness10k is issue #4's figure: readiness of a 10,000-number
// flow (VOICEDR_BENCH_NUMBERS overrides) against the emulator with 100 ms of
// latency and its 100-request concurrency limit, printed beside the request
// budget: ceil(N/1000) number pages per region plus N routing fetches
// (Routes has no list) plus each region's resource lists, at
// min(concurrency/latency, the rate limit) requests per second.
func BenchmarkReadiness10k(b *testing.B) {
	n := 10000
	fmt.Sscan(os.Getenv("VOICEDR_BENCH_NUMBERS"), &n)
	const latency, rate = 100 * time.Millisecond, 250.0
	a := emutest.Start(b, n, &twilioemu.Faults{Version: 1, ConcurrencyLimit: 100,
		Regions: []twilioemu.RegionFault{{Region: "*", Product: "*", Latency: twilioemu.Duration(latency)}}},
		twilio.Options{}, twilioemu.GenerateOptions{})
	// One flow holds every number: every number's routing is read.
	wb := generatedWorkbook()
	wb.Flows = wb.Flows[:1]
	wb.Flows[0].Selectors.FriendlyNamePrefix = []string{""}
	trunks := 0
	for _, res := range a.Seed.Resources {
		trunks += len(res.Trunks)
	}
	requests := 3*int(math.Ceil(float64(n)/1000)) + n + 3*4 + 3*trunks + len(a.Seed.TrunkRouting) + len(a.Seed.SIPDomainRouting)
	perSec := math.Min(100/latency.Seconds(), rate)
	budget := time.Duration(float64(requests) / perSec * float64(time.Second))
	for i := 0; i < b.N; i++ {
		start := time.Now()
		s, err := inventory.Read(b.Context(), a.Set, inventory.Options{Concurrency: 100})
		if err != nil {
			b.Fatal(err)
		}
		rep, err := readiness.Check(s, wb, wb.Flows[0].Name, opts())
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.ReportMetric(took.Seconds(), "s_readiness")
		b.ReportMetric(took.Seconds()/budget.Seconds(), "x_budget")
		b.Logf("readiness of a %d-number flow: %d requests in %v (%d gaps); budget %v at %.0f req/s; %.2f× (target ≤ 1.25×)",
			n, requests, took.Round(time.Millisecond), len(rep.Gaps), budget.Round(time.Millisecond), perSec, took.Seconds()/budget.Seconds())
	}
}
