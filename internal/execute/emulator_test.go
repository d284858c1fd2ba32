package execute_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/twilioemu/emutest"
	"github.com/voicedr/voicedr/internal/workbook"
)

// The engine against the real emulator over loopback: real routing writes
// through twilio-go, real proof by test calls whose inbound legs Twilio
// (here, the emulator) processes by the new routing.

const emuWB = `version: 1
program: t
regions:
  - {region: us1, role: primary}
  - {region: ie1, edge: dublin, role: standby}
flows:
  - name: support
    criticality: critical
    selectors: {friendly_name_prefix: [support-]}
    trunks: [acme-cc.pstn.twilio.com]
    rto: 15m
    cohorts:
      - {name: canary, order: 1, share: 0.2}
      - {name: rest, order: 2, share: 1}
execution:
  routes_write: [us1, ie1]
  proof: {sample: 1, wait: 20s, interval: 200ms}
  calls_per_second: 50
`

func TestRoutingWritesFallBackToAHostThatAnswers(t *testing.T) {
	down := &twilioemu.Faults{Version: twilioemu.FaultsVersion, Regions: []twilioemu.RegionFault{{Region: "us1", Product: "*", Down: "503"}}}
	acct := emutest.Start(t, 30, down, twilio.Options{Retry: twilio.RetryPolicy{MaxAttempts: 1}}, twilioemu.GenerateOptions{StandbyShare: 1})
	rt := &execute.TwilioRoutes{Set: acct.Set, Order: []string{"us1", "ie1"}}
	a := plan.Action{Key: "number:" + acct.Seed.Numbers[0].PhoneNumber, Kind: plan.KindNumber, Target: acct.Seed.Numbers[0].PhoneNumber}
	answer, via, err := rt.Write(context.Background(), a, "ie1")
	if err != nil || answer != "ie1" || via != "ie1" {
		t.Fatalf("write with us1 down: %q via %q, %v; want ie1 via ie1", answer, via, err)
	}
	if got, err := rt.Read(context.Background(), a); err != nil || got != "ie1" {
		t.Fatalf("read: %q, %v", got, err)
	}
	ws := acct.Emulator.RouteWrites(0)
	if len(ws) != 1 || ws[0].Via != "ie1" {
		t.Errorf("emulator journal %+v; want one write taken by ie1", ws)
	}
}

func TestApplyAgainstTheEmulator(t *testing.T) {
	acct := emutest.Start(t, 150, nil, twilio.Options{}, twilioemu.GenerateOptions{StandbyShare: 1})
	wb, err := workbook.Parse("t.yaml", []byte(emuWB))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(plan.Input{Snapshot: acct.Seed, Workbook: wb, Flow: "support", Kind: plan.Failover, Now: time.Now(),
		Accept: []string{"app_missing", "number_standby_handler_mismatch", "trunk_no_disaster_recovery_url", "trunk_missing"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := &execute.Engine{Store: st, Router: &execute.TwilioRoutes{Set: acct.Set, Order: p.RoutesWrite},
		Signals: execute.TwilioSignals{Env: signals.Env{Set: acct.Set}}}
	// The trunk's cohort is proven only by calls from the SBC: keep some
	// coming into its termination URI while the run lasts.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		for ctx.Err() == nil {
			_, _ = acct.Emulator.PlaceInboundCall(ctx, twilioemu.InboundCall{To: "+442071838750", From: "+14155550100", TrunkDomain: "acme-cc.pstn.twilio.com"})
			time.Sleep(100 * time.Millisecond)
		}
	}()
	res, err := e.Apply(context.Background(), p, execute.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != store.RunCompleted {
		t.Fatalf("run %s: %s", res.State, res.Reason)
	}
	written := map[string]int{}
	for _, w := range acct.Emulator.RouteWrites(0) {
		written[w.Key]++
		if w.VoiceRegion != "ie1" {
			t.Errorf("write of %s to %s; want only writes to ie1", w.Key, w.VoiceRegion)
		}
	}
	for _, a := range p.Actions() {
		if written[a.Target] != 1 {
			t.Errorf("%s written %d times; want exactly once", a.Key, written[a.Target])
		}
	}
	for _, c := range res.Cohorts {
		if len(c.Proofs) == 0 {
			t.Errorf("cohort %s: no proof", c.Name)
		}
		for _, pr := range c.Proofs {
			if !pr.Proven {
				t.Errorf("cohort %s: %s not proven: %s", c.Name, pr.Number, pr.Reason)
			}
		}
	}
}
