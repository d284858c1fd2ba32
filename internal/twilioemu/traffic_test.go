package twilioemu_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// twimlServer is a customer webhook answering an empty TwiML <Response/>.
func twimlServer(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response/>`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// trafficNumber is a number routed to one region with a voice URL in the
// regions given (none: no handler anywhere).
func trafficNumber(e164, routed, voiceURL string, configured ...string) snapshot.Number {
	n := snapshot.Number{PhoneNumber: e164, FriendlyName: "support-" + e164[len(e164)-3:],
		Routing: snapshot.Route{VoiceRegion: routed, Explicit: true}, Records: map[string]*snapshot.NumberRecord{}}
	for _, r := range configured {
		n.Records[r] = &snapshot.NumberRecord{VoiceURL: voiceURL, VoiceMethod: "POST"}
	}
	return n
}

func seedTraffic(t testing.TB, emu *twilioemu.Emulator, numbers ...snapshot.Number) {
	t.Helper()
	s := &snapshot.Snapshot{Format: snapshot.Format, Regions: []string{"us1", "ie1", "au1"}, Numbers: numbers}
	if err := emu.Seed(s); err != nil {
		t.Fatalf("seed: %v", err)
	}
}

// waitTraffic waits for the run to end (its calls finished) and returns
// its final status. The limit is generous: it only guards against a hang.
func waitTraffic(t testing.TB, emu *twilioemu.Emulator) twilioemu.TrafficStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := emu.TrafficStatus()
		if !st.Running {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("traffic still running after 30 s: %+v", st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// regionCalls lists a region's Calls through twilio-go (judged against the spec).
func regionCalls(t *testing.T, h *harness, r region.Region) []api.ApiV2010Call {
	t.Helper()
	calls, err := h.client(r).Api.ListCall(new(api.ListCallParams).SetPageSize(1000))
	if err != nil {
		t.Fatalf("list %s calls: %v", r, err)
	}
	return calls
}

func TestTrafficDocumentValidation(t *testing.T) {
	const ok = `"version":1,"calls_per_second":10,"numbers":{"all":true},"max_calls":5`
	for _, tc := range []struct{ name, doc, want string }{
		{"no bound", `{"version":1,"calls_per_second":10,"numbers":{"all":true}}`, "max_calls or for"},
		{"zero bounds", `{"version":1,"calls_per_second":10,"numbers":{"all":true},"max_calls":0,"for":"0s"}`, "max_calls or for"},
		{"two selections", `{"version":1,"calls_per_second":10,"numbers":{"all":true,"share":0.5},"max_calls":5}`, "numbers: all and share are set"},
		{"no selection", `{"version":1,"calls_per_second":10,"numbers":{},"max_calls":5}`, "numbers: choose one"},
		{"bad E.164 in list", `{"version":1,"calls_per_second":10,"numbers":{"list":["+14155550100","4155550101"]},"max_calls":5}`, "numbers.list[1]"},
		{"bad caller", `{` + ok + `,"caller_ids":["+447700900123", "x"]}`, "caller_ids[1]"},
		{"cps zero", `{"version":1,"calls_per_second":0,"numbers":{"all":true},"max_calls":5}`, "calls_per_second 0"},
		{"cps negative", `{"version":1,"calls_per_second":-1,"numbers":{"all":true},"max_calls":5}`, "calls_per_second -1"},
		{"cps too high", `{"version":1,"calls_per_second":5001,"numbers":{"all":true},"max_calls":5}`, "calls_per_second 5001"},
		{"share above 1", `{"version":1,"calls_per_second":1,"numbers":{"share":1.5},"max_calls":5}`, "numbers.share 1.5"},
		{"share negative", `{"version":1,"calls_per_second":1,"numbers":{"share":-0.1},"max_calls":5}`, "numbers.share -0.1"},
		{"bad E.164 prefix", `{"version":1,"calls_per_second":1,"numbers":{"prefix":"+44x"},"max_calls":5}`, "numbers.prefix"},
		{"negative max_calls", `{"version":1,"calls_per_second":1,"numbers":{"all":true},"max_calls":-1,"for":"1m"}`, "max_calls -1"},
		{"negative duration", `{` + ok + `,"duration":"-1s"}`, "duration -1s"},
		{"max_in_flight", `{` + ok + `,"max_in_flight":-2}`, "max_in_flight -2"},
		{"version", `{"version":2,"calls_per_second":10,"numbers":{"all":true},"max_calls":5}`, "version 2"},
		{"missing version", `{"calls_per_second":10,"numbers":{"all":true},"max_calls":5}`, "version 0"},
		{"unknown field", `{` + ok + `,"rate":5}`, `unknown field "rate"`},
		{"for not a string", `{` + ok + `,"for":60}`, "for: duration must be a string"},
		{"bad duration", `{` + ok + `,"duration":"2 min"}`, `duration: time: unknown unit " min"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := twilioemu.ParseTraffic([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "traffic document: ") {
				t.Errorf("ParseTraffic(%s) = %v, want an error naming %q", tc.doc, err, tc.want)
			}
		})
	}
	// A full document survives a round trip unchanged.
	doc := `{"version":1,"calls_per_second":20,"numbers":{"share":0.25},"caller_ids":["+447700900123"],` +
		`"duration":"45s","max_calls":10000,"for":"10m0s","max_in_flight":200,"rand_seed":7}`
	tr, err := twilioemu.ParseTraffic([]byte(doc))
	if err != nil {
		t.Fatalf("valid document: %v", err)
	}
	if tr.Numbers.Share != 0.25 || time.Duration(tr.For) != 10*time.Minute || time.Duration(tr.Duration) != 45*time.Second {
		t.Errorf("parsed %+v", tr)
	}
	if b, _ := json.Marshal(tr); string(b) != doc {
		t.Errorf("round trip:\n got %s\nwant %s", b, doc)
	}
	// The Go API validates too.
	if err := twilioemu.New(twilioemu.Options{}).StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 1, Numbers: twilioemu.TrafficNumbers{All: true}}); err == nil || !strings.Contains(err.Error(), "max_calls or for") {
		t.Errorf("StartTraffic without a bound: %v", err)
	}
}

func TestTrafficSelectionMustMatch(t *testing.T) {
	emu := twilioemu.New(twilioemu.Options{RandSeed: 40})
	defer emu.Close()
	seedTraffic(t, emu, trafficNumber("+14155550100", "us1", ""), trafficNumber("+442071838750", "us1", ""))
	for _, tc := range []struct {
		sel  twilioemu.TrafficNumbers
		want string
	}{
		{twilioemu.TrafficNumbers{List: []string{"+14155550100", "+14155550199"}}, "numbers.list[1] +14155550199: the account does not own it"},
		{twilioemu.TrafficNumbers{Prefix: "+61"}, "matches none of the account's 2 numbers"},
		{twilioemu.TrafficNumbers{Prefix: "sales-"}, "matches none"},
	} {
		err := emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 1, Numbers: tc.sel, MaxCalls: 1})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.sel, err, tc.want)
		}
	}
	for sel, want := range map[string]twilioemu.TrafficNumbers{
		"E.164 prefix":         {Prefix: "+44"},
		"friendly-name prefix": {Prefix: "support-1"},
		"list with a repeat":   {List: []string{"+14155550100", "+14155550100"}},
	} {
		if err := emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 1000, Numbers: want, MaxCalls: 1}); err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		if st := waitTraffic(t, emu); st.Numbers != 1 || st.Placed != 1 {
			t.Errorf("%s: %d numbers selected, %d placed; want 1 and 1", sel, st.Numbers, st.Placed)
		}
	}
	if err := emu.StartTraffic(nil); err == nil {
		t.Error("StartTraffic(nil) succeeded")
	}
}

func TestTrafficShareIsDeterministic(t *testing.T) {
	// Roughly the share: 30 % of 2,000 generated numbers.
	emu := twilioemu.New(twilioemu.Options{RandSeed: 41})
	defer emu.Close()
	snap, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 2000, RandSeed: 41})
	if err := emu.Seed(snap); err != nil {
		t.Fatal(err)
	}
	if err := emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 1, Numbers: twilioemu.TrafficNumbers{Share: 0.3}, MaxCalls: 1}); err != nil {
		t.Fatal(err)
	}
	if st := waitTraffic(t, emu); st.Numbers < 540 || st.Numbers > 660 {
		t.Errorf("share 0.3 of 2000 picked %d numbers, want about 600", st.Numbers)
	}

	// The same share picks the same numbers whatever the seed; a smaller
	// share picks a subset. Seen through the Calls API: with 20 calls per
	// selected number on average, every selected one is called.
	web := twimlServer(t)
	var nums []snapshot.Number
	for i := 0; i < 40; i++ {
		nums = append(nums, trafficNumber(fmt.Sprintf("+1415555%04d", 100+i), "us1", web.URL, "us1"))
	}
	called := func(seed uint64, share float64, calls int64) map[string]bool {
		h := newHarness(t, twilioemu.Options{RandSeed: 42})
		seedTraffic(t, h.emu, nums...)
		if err := h.emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 5000, MaxCalls: calls, RandSeed: seed,
			Numbers: twilioemu.TrafficNumbers{Share: share}}); err != nil {
			t.Fatal(err)
		}
		st := waitTraffic(t, h.emu)
		set := map[string]bool{}
		for _, c := range regionCalls(t, h, region.US1) {
			set[*c.To] = true
		}
		if len(set) != st.Numbers {
			t.Errorf("share %v: %d numbers called, status says %d selected", share, len(set), st.Numbers)
		}
		return set
	}
	half1, half2, quarter := called(1, 0.5, 400), called(2, 0.5, 400), called(3, 0.25, 200)
	if diff := cmp.Diff(half1, half2); diff != "" {
		t.Errorf("share 0.5 picked different numbers with another seed (-first +second):\n%s", diff)
	}
	if len(half1) < 12 || len(half1) > 28 {
		t.Errorf("share 0.5 of 40 picked %d", len(half1))
	}
	for n := range quarter {
		if !half1[n] {
			t.Errorf("%s is in share 0.25 but not in share 0.5", n)
		}
	}
	if len(quarter) == 0 || len(quarter) >= len(half1) {
		t.Errorf("share 0.25 picked %d, share 0.5 picked %d", len(quarter), len(half1))
	}
}

func TestTrafficMaxCallsPlacesExactlyN(t *testing.T) {
	web := twimlServer(t)
	h := newHarness(t, twilioemu.Options{RandSeed: 43})
	seedTraffic(t, h.emu, trafficNumber("+14155550100", "us1", web.URL, "us1"),
		trafficNumber("+14155550101", "us1", web.URL, "us1"), trafficNumber("+14155550102", "us1", web.URL, "us1"))
	callers := []string{"+447700900123", "+61491570156"}
	// A high rate bounded by max_calls completes: the bound, not the rate, ends it.
	doc := &twilioemu.Traffic{Version: 1, CallsPerSecond: 5000, Numbers: twilioemu.TrafficNumbers{All: true},
		CallerIDs: append([]string(nil), callers...), Duration: twilioemu.Duration(30 * time.Second), MaxCalls: 137, RandSeed: 5}
	if err := h.emu.StartTraffic(doc); err != nil {
		t.Fatal(err)
	}
	doc.CallerIDs[0] = "+10000000000" // the run keeps its own copy
	st := waitTraffic(t, h.emu)
	if st.Placed != 137 || st.InFlight != 0 || st.Processed["us1"] != 137 || st.ByOutcome["answered"] != 137 || st.Errors != 0 || len(st.Rejected) != 0 {
		t.Errorf("status %+v, want 137 placed, answered and processed in us1", st)
	}
	if st.EndReason != "max_calls" || st.StartedAt == nil || st.EndedAt == nil || st.Document.CallerIDs[0] != callers[0] {
		t.Errorf("status %+v", st)
	}
	us := regionCalls(t, h, region.US1)
	if len(us) != 137 {
		t.Errorf("us1 Calls API lists %d calls, want 137", len(us))
	}
	for _, c := range us {
		if *c.Direction != "inbound" || (*c.From != callers[0] && *c.From != callers[1]) {
			t.Errorf("call %s: direction %s from %s", *c.Sid, *c.Direction, *c.From)
			break
		}
	}
	for _, r := range []region.Region{region.IE1, region.AU1} {
		if n := len(regionCalls(t, h, r)); n != 0 {
			t.Errorf("%s lists %d calls, want none", r, n)
		}
	}
}

func TestTrafficStatusCountsPerRegion(t *testing.T) {
	web := twimlServer(t)
	h := newHarness(t, twilioemu.Options{RandSeed: 44,
		Faults: &twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "au1", Product: "voice", Down: "503"}}}})
	seedTraffic(t, h.emu,
		trafficNumber("+14155550100", "us1", web.URL, "us1", "ie1"),
		trafficNumber("+14155550101", "ie1", web.URL, "us1", "ie1"),
		trafficNumber("+14155550102", "au1", web.URL, "au1"), // au1 voice is down
		trafficNumber("+14155550103", "us1", ""),             // no handler anywhere
	)
	const n = 400
	if err := h.emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 5000, MaxCalls: n, RandSeed: 9,
		Numbers: twilioemu.TrafficNumbers{List: []string{"+14155550100", "+14155550101", "+14155550102", "+14155550103"}}}); err != nil {
		t.Fatal(err)
	}
	st := waitTraffic(t, h.emu)
	var sum int64
	for _, m := range []map[string]int64{st.Processed, st.Rejected} {
		for _, v := range m {
			sum += v
		}
	}
	if st.Placed != n || sum+st.Errors != n || st.Errors != 0 {
		t.Errorf("placed %d, counted %d, errors %d (%s); want %d", st.Placed, sum, st.Errors, st.LastError, n)
	}
	if st.Processed["us1"] == 0 || st.Processed["ie1"] == 0 || st.Processed["au1"] != 0 ||
		st.Rejected["region_down"] == 0 || st.Rejected["no_handler"] == 0 {
		t.Errorf("processed %v rejected %v", st.Processed, st.Rejected)
	}
	if st.ByOutcome["rejected"] != st.Rejected["region_down"]+st.Rejected["no_handler"] ||
		st.ByOutcome["answered"] != st.Processed["us1"]+st.Processed["ie1"] {
		t.Errorf("by_outcome %v against processed %v rejected %v", st.ByOutcome, st.Processed, st.Rejected)
	}
	for _, r := range region.All {
		if got := int64(len(regionCalls(t, h, r))); got != st.Processed[string(r)] {
			t.Errorf("%s Calls API lists %d calls, status says %d processed there", r, got, st.Processed[string(r)])
		}
	}
}

func TestTrafficBoundsInFlightCalls(t *testing.T) {
	var now, peak atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		now.Add(-1)
		w.Write([]byte(`<Response/>`))
	}))
	defer slow.Close()
	emu := twilioemu.New(twilioemu.Options{RandSeed: 45})
	defer emu.Close()
	seedTraffic(t, emu, trafficNumber("+14155550100", "us1", slow.URL, "us1"))
	if err := emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 5000, MaxCalls: 24, MaxInFlight: 4,
		Numbers: twilioemu.TrafficNumbers{All: true}}); err != nil {
		t.Fatal(err)
	}
	st := waitTraffic(t, emu)
	if st.Placed != 24 || st.ByOutcome["answered"] != 24 {
		t.Errorf("status %+v", st)
	}
	if peak.Load() > 4 || st.Delayed == 0 {
		t.Errorf("webhook saw %d calls at once with max_in_flight 4; %d delayed", peak.Load(), st.Delayed)
	}
}

func TestTrafficForBound(t *testing.T) {
	emu := twilioemu.New(twilioemu.Options{RandSeed: 46})
	defer emu.Close()
	seedTraffic(t, emu, trafficNumber("+14155550100", "us1", "")) // rejected at the edge: no webhook needed
	if err := emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 1000, For: twilioemu.Duration(50 * time.Millisecond),
		Numbers: twilioemu.TrafficNumbers{All: true}}); err != nil {
		t.Fatal(err)
	}
	// Call k is due k ms after the start: at most 50 are due within 50 ms.
	st := waitTraffic(t, emu)
	if st.EndReason != "for" || st.Placed == 0 || st.Placed > 50 || st.Rejected["no_handler"] != st.Placed {
		t.Errorf("status %+v", st)
	}
}

func TestTrafficStopsWhenTheEmulatorCloses(t *testing.T) {
	emu := twilioemu.New(twilioemu.Options{RandSeed: 47})
	seedTraffic(t, emu, trafficNumber("+14155550100", "us1", ""))
	if err := emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 100, For: twilioemu.Duration(time.Hour),
		Numbers: twilioemu.TrafficNumbers{All: true}}); err != nil {
		t.Fatal(err)
	}
	emu.Close()
	if st := waitTraffic(t, emu); st.EndReason != "closed" {
		t.Errorf("after Close: %+v", st)
	}
	emu.StopTraffic() // idempotent
	if err := emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 1, MaxCalls: 1, Numbers: twilioemu.TrafficNumbers{All: true}}); err == nil {
		t.Error("traffic started on a closed emulator")
	}
}

// opStatus decodes a traffic status answered by the operator API.
func opStatus(t *testing.T, body string) twilioemu.TrafficStatus {
	t.Helper()
	var st twilioemu.TrafficStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("traffic status %q: %v", body, err)
	}
	return st
}

func TestTrafficOperatorAPI(t *testing.T) {
	web := twimlServer(t)
	h := newHarness(t, twilioemu.Options{RandSeed: 48})
	seedTraffic(t, h.emu, trafficNumber("+14155550100", "us1", web.URL, "us1"), trafficNumber("+14155550101", "ie1", web.URL, "ie1"))

	st, body := op(t, h, "GET", "traffic", "")
	if st != 200 || !strings.Contains(body, `"running":false`) || !strings.Contains(body, `"document":null`) || !strings.Contains(body, `"started_at":null`) {
		t.Errorf("GET before any run: %d %s", st, body)
	}
	if st, body := op(t, h, "PUT", "traffic", `{"version":1,"calls_per_second":50,"numbers":{"all":true}}`); st != 400 || !strings.Contains(body, "max_calls or for") {
		t.Errorf("PUT without a bound: %d %s", st, body)
	}
	if st, body := op(t, h, "PUT", "traffic", `{"version":1,"calls_per_second":50,"numbers":{"prefix":"+44"},"for":"1h"}`); st != 400 || !strings.Contains(body, "matches none") {
		t.Errorf("PUT matching nothing: %d %s", st, body)
	}
	if st, body := op(t, h, "GET", "traffic", ""); st != 200 || !strings.Contains(body, `"running":false`) {
		t.Errorf("a refused PUT started something: %s", body)
	}

	// A long run, then a replacement: the new document is the one in force.
	if st, body := op(t, h, "PUT", "traffic", `{"version":1,"calls_per_second":200,"numbers":{"all":true},"for":"1h"}`); st != 200 || !opStatus(t, body).Running {
		t.Fatalf("PUT: %d %s", st, body)
	}
	if st, body := op(t, h, "PUT", "traffic", `{"version":1,"calls_per_second":200,"numbers":{"list":["+14155550101"]},"for":"1h","rand_seed":3}`); st != 200 {
		t.Fatalf("PUT replacement: %d %s", st, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body = op(t, h, "GET", "traffic", "")
		s := opStatus(t, body)
		if !s.Running || s.Document == nil || s.Document.RandSeed != 3 || s.Numbers != 1 {
			t.Fatalf("GET during the replacement run: %s", body)
		}
		if s.Placed >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run placed too few calls in 30 s: %s", body)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// DELETE stops it and answers the final counts.
	st, body = op(t, h, "DELETE", "traffic", "")
	stopped := opStatus(t, body)
	if st != 200 || stopped.Running || stopped.EndReason != "stopped" || stopped.InFlight != 0 || stopped.EndedAt == nil ||
		stopped.Placed < 10 || stopped.Processed["ie1"] != stopped.Placed {
		t.Fatalf("DELETE: %d %s", st, body)
	}
	time.Sleep(50 * time.Millisecond)
	if _, body = op(t, h, "GET", "traffic", ""); opStatus(t, body).Placed != stopped.Placed {
		t.Errorf("calls placed after DELETE: %s", body)
	}
	// ie1's calls are the replacement run's and nothing else.
	if got := int64(len(regionCalls(t, h, region.IE1))); got != stopped.Placed {
		t.Errorf("ie1 lists %d calls, the stopped run placed %d", got, stopped.Placed)
	}
	if st, _ := op(t, h, "DELETE", "traffic", ""); st != 200 {
		t.Errorf("DELETE with nothing running: %d", st)
	}
}

// BenchmarkTrafficCalls runs traffic at the highest rate a document may ask
// (5,000 calls/s) against a real webhook over loopback, webhook server and
// emulator sharing this machine, and reports the calls completed per second
// against issue #3's floor of 200 simulated calls/s.
func BenchmarkTrafficCalls(b *testing.B) {
	const floor, calls = 200.0, 4000
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("CallSid") == "" {
			http.Error(w, "no CallSid", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response><Say>Thanks for calling.</Say></Response>`))
	}))
	defer web.Close()
	emu := twilioemu.New(twilioemu.Options{RandSeed: 49})
	defer emu.Close()
	var nums []snapshot.Number
	for i := 0; i < 100; i++ {
		nums = append(nums, trafficNumber(fmt.Sprintf("+1415555%04d", 100+i), "us1", web.URL, "us1"))
	}
	seedTraffic(b, emu, nums...)
	var placed, delayed int64
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: twilioemu.MaxTrafficCPS, MaxCalls: calls,
			Numbers: twilioemu.TrafficNumbers{All: true}, RandSeed: uint64(i)}); err != nil {
			b.Fatal(err)
		}
		st := waitTraffic(b, emu)
		if st.ByOutcome["answered"] != calls {
			b.Fatalf("run %d: %+v", i, st)
		}
		placed += st.Placed
		delayed += st.Delayed
	}
	elapsed := time.Since(start)
	cps := float64(placed) / elapsed.Seconds()
	b.ReportMetric(cps, "calls/s")
	b.ReportMetric(cps/floor, "x_floor_200")
	b.Logf("%d calls answered by a real webhook in %v: %.0f calls/s, %.1f× the 200 calls/s floor (%d waited for one of 64 slots)",
		placed, elapsed.Round(time.Millisecond), cps, cps/floor, delayed)
}
