package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// These tests drive the client against the real emulator over loopback, the
// way voicedr reaches Twilio: profiles from the emulator's credentials, one
// Pool, the endpoint override.

type emuEnv struct {
	emu *twilioemu.Emulator
	url string
	set *twilio.Set
}

func startEmu(t *testing.T, faults *twilioemu.Faults, opts twilio.Options) emuEnv {
	t.Helper()
	emu := twilioemu.New(twilioemu.Options{RandSeed: 5, Faults: faults})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	opts.Endpoint = srv.URL
	if opts.Retry.BaseDelay == 0 {
		opts.Retry = twilio.RetryPolicy{MaxAttempts: 30, BaseDelay: 2 * time.Millisecond, MaxDelay: 20 * time.Millisecond}
	}
	if opts.Limits.Rate == 0 {
		opts.Limits.Rate = 100000
	}
	pool, err := twilio.NewPool(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var profiles []region.Resolved
	for r := range emu.Credentials() {
		profiles = append(profiles, emu.Profile(r))
	}
	set, err := twilio.NewSet(pool, profiles...)
	if err != nil {
		t.Fatal(err)
	}
	return emuEnv{emu: emu, url: srv.URL, set: set}
}

func (e emuEnv) client(t *testing.T, r region.Region) *twilio.Client {
	c, err := e.set.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmulatorWrongRegionKeyIsExplained(t *testing.T) {
	env := startEmu(t, nil, twilio.Options{})
	ie := env.emu.Credentials()[region.IE1]
	pool, _ := twilio.NewPool(twilio.Options{Endpoint: env.url})
	defer pool.Close()
	c, err := twilio.NewRegionClient(region.Resolved{
		Profile:   region.Profile{Region: region.US1, Edge: "ashburn", AccountSID: ie.AccountSID},
		APIKeySID: ie.Standard.SID, APISecret: region.NewSecret(ie.Standard.Secret),
	}, pool)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.API(t.Context()).ListIncomingPhoneNumber(nil)
	err = c.Classify("ListIncomingPhoneNumber", err)
	if !errors.Is(err, twilio.KindAuth) {
		t.Fatalf("got %v, want an auth error", err)
	}
	for _, want := range []string{"us1", "20003", "region-specific"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), ie.Standard.Secret) {
		t.Errorf("message leaks the secret")
	}
}

// TestEmulator429StormIsAbsorbed sends 40 concurrent creates into an account
// whose concurrency limit is 4: the emulator answers 429 to most first tries,
// the client retries them, and every number is bought exactly once.
func TestEmulator429StormIsAbsorbed(t *testing.T) {
	env := startEmu(t, &twilioemu.Faults{Version: 1, ConcurrencyLimit: 4,
		Regions: []twilioemu.RegionFault{{Region: "*", Product: "*", Latency: twilioemu.Duration(10 * time.Millisecond)}}},
		twilio.Options{Limits: twilio.Limits{MaxInFlight: 40}})
	us := env.client(t, region.US1)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := us.API(t.Context()).CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).SetAreaCode("415"))
			errs <- us.Classify("CreateIncomingPhoneNumber", err)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("create lost: %v", err)
		}
	}
	st := env.emu.Stats()
	if st.TooManyRequestsSent == 0 {
		t.Fatalf("no 429 was sent: the test did not create a storm")
	}
	if got := st.RequestsByOperation["api.CreateIncomingPhoneNumber"]; got != 40 {
		t.Errorf("creates processed %d, want exactly 40", got)
	}
	nums, err := us.API(t.Context()).ListIncomingPhoneNumber(nil)
	if err != nil || len(nums) != 40 {
		t.Errorf("numbers owned %d, want 40 (%v)", len(nums), err)
	}
}

// TestEmulator5xxBurst degrades ie1 to fail half its requests with 503:
// reads are retried until they succeed; creates are never repeated, so the
// account holds exactly as many numbers as creates that reported success.
func TestEmulator5xxBurst(t *testing.T) {
	env := startEmu(t, nil, twilio.Options{})
	ie := env.client(t, region.IE1)
	env.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "ie1", Product: "api", ErrorRate: 0.5}}})
	ok := 0
	for i := 0; i < 30; i++ {
		_, err := ie.API(t.Context()).CreateIncomingPhoneNumber(new(api.CreateIncomingPhoneNumberParams).SetAreaCode("212"))
		if err == nil {
			ok++
		} else if !errors.Is(ie.Classify("Create", err), twilio.KindUnavailable) {
			t.Errorf("create failed with %v, want unavailable", err)
		}
	}
	if ok == 30 {
		t.Fatalf("no create failed: the burst did not happen")
	}
	if got := countRequests(t, env.url, "POST", "/IncomingPhoneNumbers.json"); got != 30 {
		t.Errorf("creates reached the emulator %d times, want 30 (one each, never repeated)", got)
	}
	for i := 0; i < 30; i++ {
		if _, err := ie.API(t.Context()).ListIncomingPhoneNumber(nil); err != nil {
			t.Fatalf("list not absorbed: %v", err)
		}
	}
	env.emu.SetFaults(&twilioemu.Faults{Version: 1})
	nums, _ := ie.API(t.Context()).ListIncomingPhoneNumber(nil)
	if len(nums) != ok {
		t.Errorf("account holds %d numbers after %d successful creates", len(nums), ok)
	}
}

// TestEmulatorSharedConcurrencyLimit hammers all three regions at once: the
// emulator's peak-in-flight counter never exceeds the one limit the regions share.
// countRequests counts requests in the emulator's request log, failed ones included.
func countRequests(t *testing.T, base, method, pathSuffix string) int {
	t.Helper()
	resp, err := http.Get(base + "/__emulator/v1/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var log struct {
		Requests []struct{ Method, Path string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&log); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range log.Requests {
		if r.Method == method && strings.HasSuffix(r.Path, pathSuffix) {
			n++
		}
	}
	return n
}

func TestEmulatorSharedConcurrencyLimit(t *testing.T) {
	const limit = 6
	env := startEmu(t, &twilioemu.Faults{Version: 1, ConcurrencyLimit: -1,
		Regions: []twilioemu.RegionFault{{Region: "*", Product: "*", Latency: twilioemu.Duration(5 * time.Millisecond)}}},
		twilio.Options{Limits: twilio.Limits{MaxInFlight: limit}})
	var wg sync.WaitGroup
	for _, c := range env.set.Clients() {
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					if _, err := c.API(t.Context()).ListIncomingPhoneNumber(nil); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	st := env.emu.Stats()
	if st.PeakInFlight > limit {
		t.Errorf("peak in flight %d above the shared limit %d", st.PeakInFlight, limit)
	}
	if st.PeakInFlight < 2 {
		t.Errorf("peak in flight %d: the test never ran requests concurrently", st.PeakInFlight)
	}
	if got := st.RequestsByOperation["api.ListIncomingPhoneNumber"]; got != 240 {
		t.Errorf("requests served %d, want 240", got)
	}
}

func TestEmulatorCancelStopsABlackholedCall(t *testing.T) {
	env := startEmu(t, &twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "au1", Product: "*", Down: "blackhole"}}}, twilio.Options{})
	au := env.client(t, region.AU1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := au.API(ctx).ListIncomingPhoneNumber(nil)
		done <- au.Classify("ListIncomingPhoneNumber", err)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for env.emu.Stats().InFlight == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, twilio.KindCanceled) || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not stop the call")
	}
	for env.emu.Stats().InFlight != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := env.emu.Stats().RequestsByOperation; len(n) != 0 {
		t.Errorf("blackholed requests reached handlers: %v", n)
	}
}
