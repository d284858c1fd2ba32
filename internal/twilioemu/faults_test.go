package twilioemu_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func TestParseFaultsNamesTheField(t *testing.T) {
	for doc, want := range map[string]string{
		`{"version":2}`: "version 2",
		`{"version":1,"regions":[{"region":"xx1","product":"api"}]}`:                "regions[0].region",
		`{"version":1,"regions":[{"region":"us1","product":"sms"}]}`:                "regions[0].product",
		`{"version":1,"regions":[{"region":"us1","product":"api","down":"maybe"}]}`: "regions[0].down",
		`{"version":1,"regions":[{"region":"us1","product":"api","error_rate":2}]}`: "regions[0].error_rate",
		`{"version":1,"regions":[{"region":"us1","product":"api","latency":"1x"}]}`: "time: unknown unit",
		`{"version":1,"bogus":true}`:                                                `unknown field "bogus"`,
	} {
		_, err := twilioemu.ParseFaults([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFaults(%s) = %v, want an error containing %q", doc, err, want)
		}
	}
	f, err := twilioemu.ParseFaults([]byte(`{"version":1,"regions":[{"region":"*","product":"*","latency":"20ms","jitter":"5ms"}],"propagation_delay":"5m","concurrency_limit":10}`))
	if err != nil || time.Duration(f.PropagationDelay) != 5*time.Minute || f.ConcurrencyLimit != 10 {
		t.Errorf("valid document: %+v, %v", f, err)
	}
}

func FuzzParseFaults(f *testing.F) {
	f.Add([]byte(`{"version":1,"regions":[{"region":"us1","product":"api","down":"503"}]}`))
	f.Add([]byte(`{"version":1,"propagation_delay":"5m"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fd, err := twilioemu.ParseFaults(b)
		if err != nil {
			return
		}
		if err := fd.Validate(); err != nil {
			t.Fatalf("ParseFaults accepted what Validate rejects: %v", err)
		}
	})
}

func TestRegionDown(t *testing.T) {
	for _, mode := range []string{"503", "reset", "blackhole"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, twilioemu.Options{RandSeed: 11})
			h.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "ie1", Product: "api", Down: mode}}})
			ie := h.client(region.IE1)
			ie.SetTimeout(300 * time.Millisecond) // the blackhole holds until the client gives up
			_, err := ie.Api.ListIncomingPhoneNumber(nil)
			if err == nil {
				t.Fatalf("ie1 answered while down (%s)", mode)
			}
			if mode == "503" && restError(t, err).Status != 503 {
				t.Errorf("got %v, want 503", err)
			}
			// Other regions and products are untouched.
			if _, err := h.client(region.US1).Api.ListIncomingPhoneNumber(nil); err != nil {
				t.Errorf("us1 failed while only ie1 is down: %v", err)
			}
			if _, err := h.client(region.IE1).RoutesV2.FetchPhoneNumber("+14155550100"); err != nil && restError(t, err).Status != 404 {
				t.Errorf("ie1 routes failed while only ie1 api is down: %v", err)
			}
		})
	}
}

func TestDegradedRegionFailsItsShare(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 12})
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "au1", Product: "*", ErrorRate: 1}}})
	if _, err := h.client(region.AU1).Api.ListIncomingPhoneNumber(nil); restError(t, err).Status != 503 {
		t.Errorf("error_rate 1 let a request through")
	}
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "au1", Product: "*", ErrorRate: 0.5}}})
	failed := 0
	for i := 0; i < 200; i++ {
		if _, err := h.client(region.AU1).Api.ListIncomingPhoneNumber(nil); err != nil {
			failed++
		}
	}
	if failed < 50 || failed > 150 {
		t.Errorf("error_rate 0.5 failed %d of 200", failed)
	}
}

// TestConcurrencyLimitAnswers429 holds requests in the emulator with latency
// and counts: past the limit, requests get 429 / 20429 and are not processed.
func TestConcurrencyLimitAnswers429(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 13})
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, ConcurrencyLimit: 5,
		Regions: []twilioemu.RegionFault{{Region: "*", Product: "*", Latency: twilioemu.Duration(300 * time.Millisecond)}}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.client(region.US1).Api.CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).SetAreaCode("415"))
			code := 0
			if err != nil {
				code = restError(t, err).Code
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	st := h.emu.Stats()
	if codes[20429] == 0 || int64(codes[20429]) != st.TooManyRequestsSent {
		t.Errorf("429s: clients saw %d, emulator sent %d; want equal and > 0 (codes %v)", codes[20429], st.TooManyRequestsSent, codes)
	}
	// Requests over the limit were never processed: one number per success.
	nums, _ := h.client(region.US1).Api.ListIncomingPhoneNumber(nil)
	if len(nums) != codes[0] {
		t.Errorf("%d numbers bought by %d successful creates: a 429'd create was processed", len(nums), codes[0])
	}
	if st.PeakInFlight < 6 {
		t.Errorf("peak in flight %d, want > limit 5 (the 429'd requests count while answered)", st.PeakInFlight)
	}
}

func TestBlackholeReleasesOnClose(t *testing.T) {
	emu := twilioemu.New(twilioemu.Options{Faults: &twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "*", Down: "blackhole"}}}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://api.twilio.com/", nil)
		rec := &nopWriter{h: http.Header{}}
		emu.ServeHTTP(rec, req)
	}()
	emu.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal(errors.New("blackholed request still held after Close"))
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}
