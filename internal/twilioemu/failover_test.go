package twilioemu_test

import (
	"fmt"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
	routes "github.com/twilio/twilio-go/rest/routes/v2"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

func waitFailover(t *testing.T, h *harness, what string, cond func(twilioemu.TrafficStatus) bool) twilioemu.TrafficStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := h.emu.TrafficStatus()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRegionalFailoverUnderTraffic is the failover a DR tool exists for, over
// real loopback HTTP: traffic runs to numbers routed to us1; us1 voice goes
// down and calls die at the edge, leaving no log; ie1's records are
// configured and the numbers rerouted; after the propagation delay calls
// succeed in ie1, whose Calls API shows them while us1's shows none of them;
// and the ledger's counts equal what the APIs show.
func TestRegionalFailoverUnderTraffic(t *testing.T) {
	a := newApp(t)
	h := newHarness(t, twilioemu.Options{RandSeed: 50, Faults: &twilioemu.Faults{Version: 1, PropagationDelay: twilioemu.Duration(300 * time.Millisecond)}})
	var nums []snapshot.Number
	for i := 0; i < 20; i++ {
		nums = append(nums, snapshot.Number{PhoneNumber: fmt.Sprintf("+1415555%04d", i), Routing: snapshot.Route{VoiceRegion: "us1", Explicit: true},
			Records: map[string]*snapshot.NumberRecord{"us1": {VoiceURL: a.URL + "/us", VoiceFallbackURL: a.URL + "/us-fallback"}}})
	}
	seedWith(t, h, &snapshot.Snapshot{Numbers: nums})
	if err := h.emu.StartTraffic(&twilioemu.Traffic{Version: 1, CallsPerSecond: 200, Numbers: twilioemu.TrafficNumbers{All: true},
		For: twilioemu.Duration(time.Minute), RandSeed: 1}); err != nil {
		t.Fatal(err)
	}
	defer h.emu.StopTraffic()
	waitFailover(t, h, "calls answered in us1", func(s twilioemu.TrafficStatus) bool { return s.Processed["us1"] >= 30 })

	// us1 voice goes down while its REST API stays up.
	h.emu.SetFaults(&twilioemu.Faults{Version: 1, PropagationDelay: twilioemu.Duration(300 * time.Millisecond),
		Regions: []twilioemu.RegionFault{{Region: "us1", Product: "voice", Down: "503"}}})
	down := waitFailover(t, h, "calls dying at the edge", func(s twilioemu.TrafficStatus) bool { return s.Rejected["region_down"] >= 30 })
	usBefore := down.Processed["us1"]

	// Standby records, then the routing flip through the ie1 routes host.
	ie := h.client(region.IE1)
	ieNums, err := ie.Api.ListIncomingPhoneNumber(new(api.ListIncomingPhoneNumberParams).SetPageSize(100))
	if err != nil || len(ieNums) != 20 {
		t.Fatalf("ie1 records: %d, %v", len(ieNums), err)
	}
	for _, n := range ieNums {
		if _, err := ie.Api.UpdateIncomingPhoneNumber(*n.Sid, new(api.UpdateIncomingPhoneNumberParams).SetVoiceUrl(a.URL+"/ie")); err != nil {
			t.Fatal(err)
		}
		r, err := ie.RoutesV2.UpdatePhoneNumber(*n.PhoneNumber, new(routes.UpdatePhoneNumberParams).SetVoiceRegion("ie1"))
		if err != nil || *r.VoiceRegion != "ie1" {
			t.Fatalf("reroute %s: %v %v", *n.PhoneNumber, r, err)
		}
	}
	effective := time.Now().Add(300 * time.Millisecond) // the last write's propagation delay
	waitFailover(t, h, "calls answered in ie1", func(s twilioemu.TrafficStatus) bool { return s.Processed["ie1"] >= 60 })
	h.emu.StopTraffic()
	st := waitFailover(t, h, "the run to end", func(s twilioemu.TrafficStatus) bool { return !s.Running })

	if st.Processed["us1"] != usBefore {
		t.Errorf("us1 processed %d calls after its voice went down (had %d)", st.Processed["us1"], usBefore)
	}
	// The APIs agree with the ledger, region by region.
	ledger, counts := h.emu.Ledger(0, 0)
	for _, r := range []region.Region{region.US1, region.IE1, region.AU1} {
		calls, err := h.client(r).Api.ListCall(new(api.ListCallParams).SetPageSize(1000))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(calls)) != counts.ByRegion[string(r)] || int64(len(calls)) != st.Processed[string(r)] {
			t.Errorf("%s: Calls API %d, ledger %d, traffic %d", r, len(calls), counts.ByRegion[string(r)], st.Processed[string(r)])
		}
	}
	if counts.Total != st.Placed || counts.Rejected["region_down"] != st.Rejected["region_down"] {
		t.Errorf("ledger total %d rejected %d; traffic placed %d rejected %d", counts.Total, counts.Rejected["region_down"], st.Placed, st.Rejected["region_down"])
	}
	// Once the last routing change took effect, every call was answered in
	// ie1: calls were lost only while us1 was down and routing pointed there.
	after := 0
	for _, e := range ledger {
		if e.Time.After(effective) {
			after++
			if e.Region != "ie1" || e.Outcome != twilioemu.OutcomeAnswered {
				t.Fatalf("after the flip took effect: %+v", e)
			}
		}
	}
	if after == 0 {
		t.Fatalf("no call arrived after the flip took effect")
	}
	if a.count("/ie") != int(st.Processed["ie1"]) {
		t.Errorf("ie1 webhook hits %d, processed %d", a.count("/ie"), st.Processed["ie1"])
	}
}
