package cli

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/standby"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

//go:embed demo_workbook.yaml
var demoWorkbook string

// demoFailover is voicedr's main job on the demo account: the support flow's
// standby is proven not ready, provisioned, proven ready; then us1 voice
// fails under live traffic and the flow is moved to ie1 cohort by cohort,
// each flip proven and gated; the report counts the calls lost from the
// emulator's ledger.
func demoFailover(ctx context.Context, w io.Writer, dir string, set *twilio.Set, emu *twilioemu.Emulator, apps *localApps) error {
	wbText := strings.NewReplacer("{{US1}}", apps.base["us1"], "{{IE1}}", apps.base["ie1"]).Replace(demoWorkbook)
	wb, err := workbook.Parse("demo_workbook.yaml", []byte(wbText))
	if err != nil {
		return fmt.Errorf("the demo's own workbook: %w", err)
	}
	dbPath := filepath.Join(dir, "voicedr-demo.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(dbPath + suffix) // each demo starts a fresh state database
	}
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	fmt.Fprintf(w, "\n1. Readiness of flow support in ie1 (voicedr readiness):\n")
	s, err := inventory.Read(ctx, set, inventory.Options{})
	if err != nil {
		return err
	}
	rep, err := readiness.Check(s, wb, "support", readiness.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   %d numbers, ready: %v, %d gaps of severity error\n", rep.Numbers, rep.Ready, rep.Errors())
	sp, err := standby.MakePlan(s, wb, "support")
	if err != nil {
		return err
	}
	res, err := standby.Apply(ctx, set, sp, standby.ApplyOptions{})
	if err != nil {
		return err
	}
	if s, err = inventory.Read(ctx, set, inventory.Options{}); err != nil {
		return err
	}
	if _, err := db.SaveSnapshot(ctx, s); err != nil {
		return err
	}
	if rep, err = readiness.Check(s, wb, "support", readiness.Options{}); err != nil {
		return err
	}
	fmt.Fprintf(w, "   voicedr standby apply: %d changes in ie1 (routing untouched); readiness now: ready %v, %d gaps\n",
		len(res.Done), rep.Ready, rep.Errors())

	flow := map[string]bool{}
	for _, n := range s.Numbers {
		if f, ok := wb.FlowOf(n); ok && f == "support" {
			flow[n.PhoneNumber] = true
		}
	}
	if err := emu.StartTraffic(&twilioemu.Traffic{Version: twilioemu.TrafficVersion, CallsPerSecond: 40,
		Numbers: twilioemu.TrafficNumbers{All: true}, For: twilioemu.Duration(3 * time.Minute), RandSeed: 2}); err != nil {
		return err
	}
	defer emu.StopTraffic()
	outage := *emu.Faults()
	outage.Regions = append(slices.Clone(outage.Regions), twilioemu.RegionFault{Region: "us1", Product: "voice", Down: "503"})
	emu.SetFaults(&outage)
	outageAt := ledgerSeq(emu)
	fmt.Fprintf(w, "\n2. us1 voice fails under live traffic (40 calls/s): calls die at the Twilio edge, no call log.\n")
	if err := sleepCtx(ctx, 2*time.Second); err != nil {
		return err
	}

	p, err := plan.Make(plan.Input{Snapshot: s, Workbook: wb, Flow: "support", Kind: plan.Failover, Now: time.Now(), Source: "live"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n3. voicedr plan failover --flow support (digest %s):\n", p.Digest[:12])
	for _, c := range p.Cohorts {
		fmt.Fprintf(w, "   cohort %-8s %3d numbers, gate %s, on no-go %s\n", c.Name, len(c.Actions), c.Gate.Name, c.NoGo)
	}
	fmt.Fprintf(w, "\n4. voicedr apply: cohort by cohort, every write journalled, proven by calls in ie1, gated:\n")
	e := &execute.Engine{
		Store: db, Router: &execute.TwilioRoutes{Set: set, Order: p.RoutesWrite},
		Signals: execute.TwilioSignals{Env: signals.Env{Set: set}}, Hooks: &hooks.Runner{},
		OnEvent: func(ev execute.Event) {
			switch ev.Type {
			case "cohort_routed", "cohort_committed":
				fmt.Fprintf(w, "   %s %-17s %-8s %d/%d numbers\n", ev.Time.Format("15:04:05.000"), ev.Type, ev.Cohort, ev.Done, ev.Total)
			case "proof", "gate", "run_completed", "run_paused", "run_rolled_back":
				fmt.Fprintf(w, "   %s %-17s %-8s %s\n", ev.Time.Format("15:04:05.000"), ev.Type, ev.Cohort, ev.Msg)
			}
		},
	}
	moveAt := ledgerSeq(emu)
	result, err := e.Apply(ctx, p, execute.ApplyOptions{Fresh: s})
	if err != nil {
		return err
	}
	doneAt := ledgerSeq(emu)
	if err := sleepCtx(ctx, 2*time.Second); err != nil {
		return err
	}
	emu.StopTraffic()
	printResult(w, result)
	lost := lostCalls(emu, flow, outageAt, moveAt, doneAt)
	fmt.Fprintf(w, "\n5. Calls to the support flow's %d numbers (emulator ledger, ground truth):\n", len(flow))
	fmt.Fprintf(w, "   during the outage, before the move   %4d placed, %4d lost at the edge\n", lost[0].placed, lost[0].lost)
	fmt.Fprintf(w, "   during the move (%-6s)            %4d placed, %4d lost (numbers not yet moved)\n",
		result.Ended.Sub(result.Started).Round(100*time.Millisecond), lost[1].placed, lost[1].lost)
	fmt.Fprintf(w, "   after the move                       %4d placed, %4d lost\n", lost[2].placed, lost[2].lost)
	fmt.Fprintf(w, "   The run's ledger: voicedr run status %s --db %s\n", result.RunID, dbPath)
	return nil
}

func ledgerSeq(emu *twilioemu.Emulator) int64 {
	_, c := emu.Ledger(0, 1)
	return c.Total
}

type phase struct{ placed, lost int }

// lostCalls counts the flow's calls, and those that did not reach an
// answer, in each phase between ledger positions.
func lostCalls(emu *twilioemu.Emulator, flow map[string]bool, marks ...int64) [3]phase {
	var out [3]phase
	entries, _ := emu.Ledger(marks[0], 0)
	for _, e := range entries {
		if !flow[e.To] || e.Kind != "inbound" {
			continue
		}
		i := 0
		for i < 2 && e.Seq > marks[i+1] {
			i++
		}
		out[i].placed++
		if e.Outcome != twilioemu.OutcomeAnswered {
			out[i].lost++
		}
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
