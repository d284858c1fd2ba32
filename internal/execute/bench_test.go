package execute_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	twiliogo "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	routesv2 "github.com/twilio/twilio-go/rest/routes/v2"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/twilioemu/emutest"
	"github.com/voicedr/voicedr/internal/workbook"
)

// benchWB puts every generated number (all six friendly-name prefixes) in one
// flow, in three cohorts and without gates: the benchmark measures routing
// writes and their ledger, not proof or judgement.
const benchWB = `version: 1
program: bench
regions:
  - {region: us1, role: primary}
  - {region: ie1, edge: dublin, role: standby}
flows:
  - name: everything
    criticality: critical
    selectors: {friendly_name_prefix: [support-, sales-, billing-, marketing-, contact-center-, dispatch-]}
    rto: 15m
    cohorts:
      - {name: first, order: 1, share: 0.1, no_go: pause}
      - {name: second, order: 2, share: 0.4, no_go: pause}
      - {name: rest, order: 3, share: 1, no_go: pause}
`

// benchNumbers is VOICEDR_BENCH_NUMBERS (default 10,000), so CI can run a
// bounded slice of the figure.
func benchNumbers(b *testing.B) int {
	b.Helper()
	v := os.Getenv("VOICEDR_BENCH_NUMBERS")
	if v == "" {
		return 10000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("VOICEDR_BENCH_NUMBERS=%q: want a positive number of numbers", v)
	}
	return n
}

// BenchmarkMove10k is the execution issue's figure: one failover moving
// 10,000 numbers (VOICEDR_BENCH_NUMBERS overrides) against the emulator with
// 100 ms of latency on every host and its concurrency limit at 100, through
// the default pool (250 requests/s, 64 in flight), with a real SQLite ledger,
// propagation 0 and no gates (SkipProof). One iteration is one whole move;
// run it with -benchtime=1x.
//
// The figure is printed beside the limit N routing writes need at
// min(concurrency/latency, rate limit) — 40 s for 10,000 at 250/s, target
// ≤ 1.15× — and beside a plain sequential twilio-go loop, which at 100 ms a
// write would take N × 100 ms: it is timed on a sample and extrapolated.
// Failed or duplicated writes fail the benchmark; timing never does.
func BenchmarkMove10k(b *testing.B) {
	n := benchNumbers(b)
	const (
		latency  = 100 * time.Millisecond
		emuLimit = 100 // the emulator's concurrency limit
		seqWrite = 100 // writes of the sequential sample
		target   = 1.15
	)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ctx := context.Background()
		a := emutest.Start(b, n, &twilioemu.Faults{Version: 1, ConcurrencyLimit: emuLimit,
			Regions: []twilioemu.RegionFault{{Region: "*", Product: "*", Latency: twilioemu.Duration(latency)}}},
			twilio.Options{}, twilioemu.GenerateOptions{StandbyShare: 1})
		wb, err := workbook.Parse("bench.yaml", []byte(benchWB))
		if err != nil {
			b.Fatal(err)
		}
		// The generator always plants a missing TwiML App and trunk in the
		// standby (and so numbers that point at them); this is a figure of
		// routing writes, so those gaps are accepted as --accept-gap would.
		p, err := plan.Make(plan.Input{Snapshot: a.Seed, Workbook: wb, Flow: "everything", Kind: plan.Failover, Now: time.Now(),
			Accept: []string{"app_missing", "trunk_missing", "number_standby_unconfigured"}})
		if err != nil {
			b.Fatal(err)
		}
		acts := p.Actions()
		if len(acts) == 0 {
			b.Fatalf("the plan moves nothing")
		}
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "voicedr.db"))
		if err != nil {
			b.Fatal(err)
		}
		e := &execute.Engine{Store: st, Router: &execute.TwilioRoutes{Set: a.Set, Order: p.RoutesWrite}, SkipProof: true}

		perSec := math.Min(emuLimit/latency.Seconds(), math.Min(250, p.Execution.RoutingRate)) // 250: the pool's default rate
		limit := time.Duration(float64(len(acts)) / perSec * float64(time.Second))
		before := int64(len(a.Emulator.RouteWrites(0)))
		a.Emulator.ResetStats()
		heapBefore, stopHeap := watchHeap()

		b.StartTimer()
		start := time.Now()
		res, err := e.Apply(ctx, p, execute.ApplyOptions{Fresh: a.Seed})
		took := time.Since(start)
		b.StopTimer()
		heapPeak := stopHeap()
		if err != nil {
			b.Fatal(err)
		}
		if res.State != store.RunCompleted {
			b.Fatalf("run %s is %s (%s); want completed", res.RunID, res.State, res.Reason)
		}
		emuStats := a.Emulator.Stats()

		// Failed writes are the ledger's; duplicated (and missed) writes
		// are the emulator's journal of every write it accepted.
		recs, err := st.Actions(ctx, res.RunID)
		if err != nil {
			b.Fatal(err)
		}
		failed := 0
		for _, r := range recs {
			if r.Step == store.StepFailed {
				failed++
			}
		}
		writes, stray := map[string]int{}, 0
		for _, w := range a.Emulator.RouteWrites(before) {
			if w.Kind == "phone_number" && w.VoiceRegion == p.To {
				writes[plan.KindNumber+":"+w.Key]++
			} else {
				stray++ // a write anywhere else: a rollback or a wrong region
			}
		}
		dup, missed, moved := 0, 0, 0
		for _, act := range acts {
			switch c := writes[act.Key]; {
			case c == 0:
				missed++
			case c > 1:
				dup += c - 1
				moved++
			default:
				moved++
			}
		}
		st.Close()

		// The baseline: one goroutine, plain twilio-go, one UpdatePhoneNumber
		// after another through the same emulator and latency. The sample
		// writes the region the numbers are now in, so it changes nothing.
		sample := min(seqWrite, len(acts))
		seqTook := sequentialWrites(b, a, acts[:sample], p.To)
		seqAll := time.Duration(float64(seqTook) / float64(sample) * float64(len(acts)))

		ratio := took.Seconds() / limit.Seconds()
		b.ReportMetric(took.Seconds(), "s/move")
		b.ReportMetric(ratio, "x_limit")
		b.ReportMetric(float64(moved)/took.Seconds(), "writes/s")
		b.ReportMetric(seqAll.Seconds()/took.Seconds(), "x_faster_than_sequential")
		b.ReportMetric(heapPeak, "MiB_peak_heap")
		b.Logf("moved %d of %d numbers (%d cohorts) in %v: %.0f writes/s; limit %v at %.0f/s (min(%d/%v, rate limit)); %.3f× the limit (target ≤ %.2f×)",
			moved, len(acts), len(res.Cohorts), took.Round(time.Millisecond), float64(moved)/took.Seconds(),
			limit.Round(time.Millisecond), perSec, emuLimit, latency, ratio, target)
		b.Logf("sequential twilio-go loop: %d writes in %v (%v each), extrapolated to %d: %v; the engine is %.1f× faster",
			sample, seqTook.Round(time.Millisecond), (seqTook / time.Duration(sample)).Round(time.Microsecond), len(acts),
			seqAll.Round(time.Second), seqAll.Seconds()/took.Seconds())
		b.Logf("failed writes %d (ledger); duplicated %d, missed %d, stray %d writes (emulator journal); emulator peak in flight %d of %d, 429s sent %d; ledger records %d; heap (emulator included) %.0f MiB before apply, peak %.0f MiB during (GOMAXPROCS %d)",
			failed, dup, missed, stray, emuStats.PeakInFlight, emuLimit, emuStats.TooManyRequestsSent, len(recs), heapBefore, heapPeak, runtime.GOMAXPROCS(0))
		b.Logf("where the time went: %s", phases(start, start.Add(took), res))
		if failed != 0 || dup != 0 || missed != 0 || stray != 0 {
			b.Fatalf("failed %d, duplicated %d, missed %d, stray %d writes; want none", failed, dup, missed, stray)
		}
	}
}

// phases splits an apply's wall time: before the first cohort (run, plan and
// leases), each cohort's writes and commit, and after the last one until
// Apply returned (leases released).
func phases(start, end time.Time, res *execute.Result) string {
	var b strings.Builder
	at := start
	if len(res.Cohorts) == 0 {
		return "no cohort ran"
	}
	fmt.Fprintf(&b, "start %v", res.Cohorts[0].Started.Sub(at).Round(time.Millisecond))
	for _, c := range res.Cohorts {
		fmt.Fprintf(&b, "; %s %d writes %v (%.0f/s) + commit %v", c.Name, c.Actions, c.Routed.Sub(c.Started).Round(time.Millisecond),
			float64(c.Actions)/c.Routed.Sub(c.Started).Seconds(), c.Decided.Sub(c.Routed).Round(time.Millisecond))
		at = c.Decided
	}
	fmt.Fprintf(&b, "; end %v", end.Sub(at).Round(time.Millisecond))
	return b.String()
}

// watchHeap samples the live heap until stop is called and returns the heap
// now and a stop that returns the peak, in MiB. ReadMemStats stops the world
// for microseconds; four times a second does not move the figure.
func watchHeap() (now float64, stop func() float64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	now = float64(m.HeapAlloc) / (1 << 20)
	p := now
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				mu.Lock()
				p = max(p, float64(m.HeapAlloc)/(1<<20))
				mu.Unlock()
			}
		}
	}()
	return now, func() float64 {
		close(done)
		wg.Wait()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mu.Lock()
		defer mu.Unlock()
		return max(p, float64(m.HeapAlloc)/(1<<20))
	}
}

// hostRewrite sends *.twilio.com requests to the emulator with the Host
// kept: the only thing the plain loop borrows, so it reaches the same
// emulator as voicedr does.
type hostRewrite struct {
	to   *url.URL
	base http.RoundTripper
}

func (rw hostRewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Host = req.URL.Host
	out.URL.Scheme, out.URL.Host = rw.to.Scheme, rw.to.Host
	return rw.base.RoundTrip(out)
}

// sequentialWrites times a plain twilio-go loop: one goroutine, one
// UpdatePhoneNumber after another, through the routes host of region to.
func sequentialWrites(b *testing.B, a *emutest.Account, acts []plan.Action, to string) time.Duration {
	b.Helper()
	u, err := url.Parse(a.URL)
	if err != nil {
		b.Fatal(err)
	}
	r := region.Region(to)
	cr := a.Emulator.Credentials()[r]
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	bc := &client.Client{Credentials: client.NewCredentials(cr.Standard.SID, cr.Standard.Secret),
		HTTPClient: &http.Client{Transport: hostRewrite{u, tr}}}
	bc.SetAccountSid(cr.AccountSID)
	rc := twiliogo.NewRestClientWithParams(twiliogo.ClientParams{Client: bc})
	rc.SetRegion(string(r))
	rc.SetEdge(r.HomeEdge())
	start := time.Now()
	for _, act := range acts {
		out, err := rc.RoutesV2.UpdatePhoneNumber(act.Target, (&routesv2.UpdatePhoneNumberParams{}).SetVoiceRegion(to))
		if err != nil {
			b.Fatalf("sequential write of %s: %v", act.Target, err)
		}
		if out.VoiceRegion == nil || *out.VoiceRegion != to {
			b.Fatalf("sequential write of %s answered %v; want %s", act.Target, out.VoiceRegion, to)
		}
	}
	return time.Since(start)
}
