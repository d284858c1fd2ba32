package signals_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// TestProveWithTestCalls: after a flip, test calls placed through the
// target region produce inbound legs there, which prove every number; the
// proof names a call that really is in ie1 and a child of a test call.
func TestProveWithTestCalls(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3, twilioemu.Options{})
	since := w.flip(t, region.IE1, w.numbers...)
	var mu sync.Mutex
	var progress []signals.NumberProof
	got, err := signals.Prove(t.Context(), w.env(), signals.ProveInput{
		Numbers: w.numbers, Target: region.IE1, Old: region.US1, Since: since,
		Wait: 20 * time.Second, Interval: 50 * time.Millisecond, CallerID: callerID, CallsPerSecond: 50,
		Progress: func(p signals.NumberProof) { mu.Lock(); progress = append(progress, p); mu.Unlock() },
	})
	if err != nil {
		t.Fatalf("Prove: %v", err)
	}
	var want []signals.NumberProof
	for _, n := range w.numbers {
		want = append(want, signals.NumberProof{Number: n, Proven: true})
	}
	// How many test calls a number took depends on when the emulator
	// logged them; at least one each is what matters.
	for _, p := range got {
		if p.TestCalls < 1 {
			t.Errorf("%s: %d test calls, want at least 1", p.Number, p.TestCalls)
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(signals.NumberProof{}, "TargetCallSID", "TestCalls")); diff != "" {
		t.Errorf("proofs (-want +got):\n%s", diff)
	}
	ie, _ := w.set.Get(region.IE1)
	for _, p := range got {
		c, err := ie.API(t.Context()).FetchCall(p.TargetCallSID, nil)
		if err != nil {
			t.Errorf("%s: target call %s not in ie1: %v", p.Number, p.TargetCallSID, err)
			continue
		}
		if *c.Direction != "inbound" || c.ParentCallSid == nil || *c.ParentCallSid == "" || *c.To != p.Number {
			t.Errorf("%s: target call is %s to %s with parent %v, want the inbound leg of a test call", p.Number, *c.Direction, *c.To, c.ParentCallSid)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	proven := 0
	for _, p := range progress {
		if p.Proven {
			proven++
		}
	}
	if proven != len(w.numbers) {
		t.Errorf("progress reported %d numbers proven, want %d: %+v", proven, len(w.numbers), progress)
	}
}

// TestProveWithLiveTraffic: without a caller ID, live calls alone prove a
// number; a number nobody called stays unproven and says why, and that is
// not an error.
func TestProveWithLiveTraffic(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, twilioemu.Options{})
	called, quiet := w.numbers[0], w.numbers[1]
	since := w.flip(t, region.IE1, w.numbers...)
	if out := w.call(t, called); out.Region != "ie1" {
		t.Fatalf("live call processed in %q, want ie1", out.Region)
	}
	got, err := signals.Prove(t.Context(), w.env(), signals.ProveInput{
		Numbers: w.numbers, Target: region.IE1, Old: region.US1, Since: since,
		Wait: 300 * time.Millisecond, Interval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Prove: %v", err)
	}
	if !got[0].Proven || got[0].Number != called || got[0].TestCalls != 0 {
		t.Errorf("called number: got %+v, want proven by live traffic with no test call", got[0])
	}
	if got[1].Proven || got[1].Number != quiet || !contains(got[1].Reason, "timeout") || !contains(got[1].Reason, "no inbound call") {
		t.Errorf("quiet number: got %+v, want unproven with a timeout reason", got[1])
	}
}

// TestProveNotProvenWhilePropagating: while the routing change has not
// propagated, test calls still land in the old region, so nothing is
// proven within a short wait.
func TestProveNotProvenWhilePropagating(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, twilioemu.Options{Faults: &twilioemu.Faults{Version: 1, PropagationDelay: twilioemu.Duration(time.Hour)}})
	since := w.flip(t, region.IE1, w.numbers...)
	got, err := signals.Prove(t.Context(), w.env(), signals.ProveInput{
		Numbers: w.numbers, Target: region.IE1, Old: region.US1, Since: since,
		Wait: time.Second, Interval: 50 * time.Millisecond, CallerID: callerID, CallsPerSecond: 50,
	})
	if err != nil {
		t.Fatalf("Prove: %v", err)
	}
	for _, p := range got {
		if p.Proven || p.TargetCallSID != "" || p.TestCalls == 0 || !contains(p.Reason, "timeout") {
			t.Errorf("got %+v, want unproven after test calls, no target call, a timeout reason", p)
		}
	}
	// The test calls' legs are where the proof looked for them: in us1.
	if n := len(inbound(t, w, region.US1)); n == 0 {
		t.Errorf("us1 has no inbound legs; the test calls never reached the number")
	}
}

// TestProveOldCallsAfterTheFirstTargetCall: a call in the old region after
// the first target call means routing is not settled (here it was flipped
// back), so the number is not proven and the old calls are counted.
func TestProveOldCallsAfterTheFirstTargetCall(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, twilioemu.Options{})
	n := w.numbers[0]
	since := w.flip(t, region.IE1, n)
	w.call(t, n)
	w.flip(t, region.US1, n)
	w.call(t, n)
	w.call(t, n)
	got, err := signals.Prove(t.Context(), w.env(), signals.ProveInput{
		Numbers: w.numbers, Target: region.IE1, Old: region.US1, Since: since,
		Wait: 200 * time.Millisecond, Interval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Prove: %v", err)
	}
	if p := got[0]; p.Proven || p.TargetCallSID == "" || p.OldCalls != 2 || !contains(p.Reason, "old region") {
		t.Errorf("got %+v, want unproven with a target call and 2 old calls", p)
	}
}

// TestProveWithOldRegionDown: an ungraceful failover: us1 does not answer,
// so the proof rests on ie1 alone and says so.
func TestProveWithOldRegionDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, twilioemu.Options{})
	since := w.flip(t, region.IE1, w.numbers...)
	w.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "*", Down: "503"}}})
	got, err := signals.Prove(t.Context(), w.env(), signals.ProveInput{
		Numbers: w.numbers, Target: region.IE1, Old: region.US1, Since: since,
		Wait: 20 * time.Second, Interval: 50 * time.Millisecond, CallerID: callerID, CallsPerSecond: 50,
	})
	if err != nil {
		t.Fatalf("Prove: %v", err)
	}
	for _, p := range got {
		if !p.Proven || !p.OldUnreadable || p.TargetCallSID == "" {
			t.Errorf("got %+v, want proven on ie1 alone with old_unreadable", p)
		}
	}
}

// TestProveTargetUnreadable: a target region that never answers is an
// error: nothing can be proven, and the caller must know why.
func TestProveTargetUnreadable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, twilioemu.Options{})
	since := w.flip(t, region.IE1, w.numbers...)
	w.emu.SetFaults(&twilioemu.Faults{Version: 1, Regions: []twilioemu.RegionFault{{Region: "ie1", Product: "api", Down: "503"}}})
	got, err := signals.Prove(t.Context(), w.env(), signals.ProveInput{
		Numbers: w.numbers, Target: region.IE1, Old: region.US1, Since: since,
		Wait: 200 * time.Millisecond, Interval: 50 * time.Millisecond,
	})
	if err == nil || !contains(err.Error(), "ie1") {
		t.Errorf("err = %v, want the ie1 calls API named", err)
	}
	if len(got) != 1 || got[0].Proven {
		t.Errorf("proofs %+v, want one unproven", got)
	}
}

// inbound lists r's inbound call legs through the client.
func inbound(t *testing.T, w *world, r region.Region) []string {
	t.Helper()
	c, _ := w.set.Get(r)
	calls, err := c.API(t.Context()).ListCall(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, cl := range calls {
		if *cl.Direction == "inbound" {
			out = append(out, *cl.Sid)
		}
	}
	return out
}
