package twilioemu_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// rewrite sends *.twilio.com requests to the emulator with the Host kept,
// over a pool big enough not to be the bottleneck.
type rewrite struct {
	to   *url.URL
	base *http.Transport
}

func (rw rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Host = req.URL.Host
	out.URL.Scheme, out.URL.Host = rw.to.Scheme, rw.to.Host
	return rw.base.RoundTrip(out)
}

func benchClient(srvURL string, emu *twilioemu.Emulator, r region.Region) *twilio.RestClient {
	to, _ := url.Parse(srvURL)
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	cr := emu.Credentials()[r]
	bc := &client.Client{Credentials: client.NewCredentials(cr.Standard.SID, cr.Standard.Secret),
		HTTPClient: &http.Client{Transport: rewrite{to, tr}}}
	bc.SetAccountSid(emu.AccountSID())
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: bc})
	rc.SetRegion(string(r))
	rc.SetEdge(r.HomeEdge())
	return rc
}

// BenchmarkEmulatorThroughput measures simple requests (fetch of one number)
// per second through twilio-go over loopback, client and emulator sharing
// this machine, latency injection off. Issue #2's floor: 5,000 requests/s.
func BenchmarkEmulatorThroughput(b *testing.B) {
	const floor = 5000.0
	emu := twilioemu.New(twilioemu.Options{RandSeed: 1, Faults: &twilioemu.Faults{Version: 1, ConcurrencyLimit: -1}})
	snap, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 1000, RandSeed: 1})
	if err := emu.Seed(snap); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	rc := benchClient(srv.URL, emu, region.US1)
	nums, err := rc.Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPageSize(1000))
	if err != nil || len(nums) != 1000 {
		b.Fatalf("list: %d numbers, %v", len(nums), err)
	}
	const workers, perIteration = 32, 10000
	var total atomic.Int64
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k := next.Add(1)
					if k > perIteration {
						return
					}
					if _, err := rc.Api.FetchIncomingPhoneNumber(*nums[k%1000].Sid, nil); err != nil {
						b.Error(err)
						return
					}
					total.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	rps := float64(total.Load()) / elapsed.Seconds()
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(rps/floor, "x_floor_5000")
	b.Logf("%d requests in %v: %.0f req/s, %.2f× the 5,000 req/s floor (GOMAXPROCS %d)", total.Load(), elapsed, rps, rps/floor, runtime.GOMAXPROCS(0))
}

func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// BenchmarkEmulator100kNumbers seeds an account of 100,000 numbers (a record
// per region each) and lists every page of it through twilio-go, reporting
// the emulator's heap against issue #2's bound of 1 GiB.
func BenchmarkEmulator100kNumbers(b *testing.B) {
	const n, limitMiB = 100000, 1024.0
	for i := 0; i < b.N; i++ {
		base := heapMiB()
		emu := twilioemu.New(twilioemu.Options{RandSeed: 2, Faults: &twilioemu.Faults{Version: 1, ConcurrencyLimit: -1}})
		snap, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: n, RandSeed: 2})
		if err := emu.Seed(snap); err != nil {
			b.Fatal(err)
		}
		snap = nil
		seeded := heapMiB() - base
		srv := httptest.NewServer(emu)
		rc := benchClient(srv.URL, emu, region.IE1)
		start := time.Now()
		pages, listed := 0, 0
		params := new(api.ListIncomingPhoneNumberParams).SetPageSize(1000)
		ch, errc := rc.Api.StreamIncomingPhoneNumber(params)
		for range ch {
			listed++
			if listed%1000 == 0 {
				pages++
			}
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		listTime := time.Since(start)
		after := heapMiB() - base
		srv.Close()
		if listed != n {
			b.Fatalf("listed %d numbers, want %d", listed, n)
		}
		peak := max(seeded, after)
		b.ReportMetric(peak, "MiB_heap")
		b.ReportMetric(peak/limitMiB, "x_limit_1GiB")
		b.ReportMetric(listTime.Seconds(), "s_list_all")
		b.Logf("100,000 numbers × %d regions: heap %.0f MiB after seeding, %.0f MiB after listing %d pages in %v; %.2f of the 1 GiB bound",
			len(region.All), seeded, after, pages, listTime.Round(time.Millisecond), peak/limitMiB)
		runtime.KeepAlive(emu)
	}
}
