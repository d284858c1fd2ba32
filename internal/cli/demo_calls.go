package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/voicedr/voicedr/internal/twilioemu"
)

// demoCalls runs live traffic through the emulated regions, then takes us1's
// voice down and runs it again, and reports what callers experienced.
func demoCalls(ctx context.Context, w io.Writer, emu *twilioemu.Emulator) error {
	run := func(label string) error {
		_, before := emu.Ledger(0, 1)
		if err := emu.StartTraffic(&twilioemu.Traffic{Version: twilioemu.TrafficVersion, CallsPerSecond: 100,
			Numbers: twilioemu.TrafficNumbers{All: true}, MaxCalls: 200, RandSeed: 1}); err != nil {
			return err
		}
		for emu.TrafficStatus().Running {
			select {
			case <-ctx.Done():
				emu.StopTraffic()
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
		_, after := emu.Ledger(0, 1)
		diff := func(m, n map[string]int64, k string) int64 { return m[k] - n[k] }
		fmt.Fprintf(w, "  %-34s answered %3d (us1 %3d, ie1 %3d)  app errors %3d  failed %3d  died at the edge %3d\n", label,
			diff(after.ByOutcome, before.ByOutcome, twilioemu.OutcomeAnswered),
			diff(after.ByRegion, before.ByRegion, "us1"), diff(after.ByRegion, before.ByRegion, "ie1"),
			diff(after.ByOutcome, before.ByOutcome, twilioemu.OutcomeAppError),
			diff(after.ByOutcome, before.ByOutcome, twilioemu.OutcomeFailed),
			diff(after.ByOutcome, before.ByOutcome, twilioemu.OutcomeRejected))
		return nil
	}
	fmt.Fprintf(w, "\nLive calls (200 inbound calls each, webhooks answered by one sample app per region):\n")
	if err := run("healthy"); err != nil {
		return err
	}
	f := *emu.Faults()
	f.Regions = append(append([]twilioemu.RegionFault(nil), f.Regions...), twilioemu.RegionFault{Region: "us1", Product: "voice", Down: "503"})
	emu.SetFaults(&f)
	if err := run("us1 voice down, REST API up"); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintln(w, "  Calls routed to us1 now die at the edge and leave no log: moving them to the standby is voicedr's job.")
	return nil
}
