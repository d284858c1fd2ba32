package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/drill"
	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/scenario"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/standby"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/workbook"
)

// demoDrill is voicedr's main job on the demo account: the support flow's
// standby is proven not ready, provisioned and proven ready, the account
// is snapshotted, and a tabletop drill of a primary voice outage runs on a
// copy of it: a trigger opens the decision, stand-ins approve, the flow
// moves cohort by cohort with proof and gates, the move is validated, and
// the report (with calls lost from the emulator's ledger) is written.
func demoDrill(ctx context.Context, w io.Writer, dir string, set *twilio.Set, apps *localApps) error {
	orig, err := workbook.Parse("example_workbook.yaml", drill.ExampleWorkbook)
	if err != nil {
		return fmt.Errorf("the demo's own workbook: %w", err)
	}
	// The demo account's webhooks were pointed at the demo's sample apps;
	// the workbook names the same endpoints, as a customer's would. It is
	// written out so the drill's report and evidence carry it.
	var pairs []string
	for _, rp := range orig.Regions {
		r := string(rp.Region)
		for k, u := range map[snapshot.WebhookKind]string{snapshot.WebhookVoice: rp.App.VoiceURL,
			snapshot.WebhookFallback: rp.App.FallbackURL, snapshot.WebhookStatus: rp.App.StatusCallback} {
			if u != "" {
				pairs = append(pairs, u, apps.rewrite(r, k, u))
			}
		}
	}
	wbPath := filepath.Join(dir, "voicedr-demo.yaml")
	text := strings.NewReplacer(pairs...).Replace(string(drill.ExampleWorkbook))
	if err := os.WriteFile(wbPath, []byte(text), 0o644); err != nil {
		return err
	}
	wb, err := workbook.Parse(wbPath, []byte(text))
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
	fmt.Fprintf(w, "   voicedr standby apply: %d changes in ie1 (routing untouched); readiness now: ready %v, %d gaps; snapshot stored\n",
		len(res.Done), rep.Ready, rep.Errors())

	sc, scText, err := scenario.Load("primary-voice-down")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n2. voicedr drill --flow support --kind tabletop --scenario %s\n", sc.Name)
	fmt.Fprintf(w, "   %s\n   On an in-process copy of the stored snapshot; nothing leaves loopback.\n", sc.Description)
	t := &drill.Tabletop{Workbook: wb, WorkbookPath: wbPath, Flow: "support", Scenario: sc, ScenarioText: scText, Snapshot: s, Store: db,
		Dir: filepath.Join(dir, "voicedr-demo-drills"), Name: "support-tabletop", Progress: progressPrinter(w)}
	out, err := t.Run(ctx)
	if err != nil {
		return err
	}
	d := out.Report
	fmt.Fprintf(w, "\n3. Drill %s: %s (scenario expects %s)\n", d.ID, d.Outcome, d.Expected)
	fmt.Fprintf(w, "   RTO %.1fs against the flow's %s objective (met: %v)\n", d.RTO.OverallSeconds, time.Duration(d.RTO.ObjectiveSeconds*float64(time.Second)), d.RTO.Met)
	fmt.Fprintf(w, "   Calls to the flow's numbers (emulator ledger, ground truth):\n")
	for _, p := range d.Calls.Phases {
		fmt.Fprintf(w, "   %-20s %4d placed, %4d lost\n", p.Name, p.Placed, p.Lost)
	}
	fmt.Fprintf(w, "   Approvals and steps by named stand-ins: %d; gaps found: %d\n", len(d.StandIns), len(d.Gaps))
	fmt.Fprintf(w, "\nReport: %s\n", out.Files["report.html"])
	fmt.Fprintf(w, "Evidence: voicedr evidence keys --generate && voicedr evidence export --drill %s --db %s --workbook %s --out bundle.tar.gz\n", d.ID, dbPath, wbPath)
	return nil
}
