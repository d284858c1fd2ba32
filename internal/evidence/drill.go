package evidence

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
)

// DrillStateFile is the drill's own SQLite store inside its directory: the
// tabletop run's ledger, decision, approvals and audit log.
const DrillStateFile = "state.db"

// DrillBundle assembles a drill's evidence: its record from st, every
// regular file of its directory (report, scenario, workbook copy, its own
// state.db) under drill/, and, from state.db, each run's ledger and plan,
// the decisions and the audit log with checkpoints under state/, so an
// auditor need not open SQLite. Entries of st's own audit log about the
// drill are exported too when there are any.
func DrillBundle(ctx context.Context, st store.Store, drillID string, o Options) (*Bundle, error) {
	d, err := st.GetDrill(ctx, drillID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no drill %q in the state database: voicedr drill history lists them (check --db): %w", drillID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("drill %s: %w", drillID, err)
	}
	b, err := start(o, KindDrill, drillID)
	if err != nil {
		return nil, err
	}
	if err := b.AddJSON("drill.json", d); err != nil {
		return nil, err
	}
	if d.Dir == "" {
		b.Notes = append(b.Notes, "drill "+d.ID+" records no directory: only its record is bundled")
	} else {
		if st, err := os.Stat(d.Dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("drill %s: its directory %s is gone or unreadable (%v): restore it, or export from the host that ran the drill", d.ID, d.Dir, err)
		}
		skipped, err := addTree(b, d.Dir, "drill/")
		if err != nil {
			return nil, err
		}
		if len(skipped) > 0 {
			b.Notes = append(b.Notes, "not bundled (links or devices, not regular files): drill/"+strings.Join(skipped, ", drill/"))
		}
		if _, err := os.Stat(filepath.Join(d.Dir, DrillStateFile)); err == nil {
			if err := addDrillState(ctx, b, d, o.PublicKeys); err != nil {
				return nil, err
			}
		}
	}
	subjects, err := addStoreRuns(ctx, b, st, d)
	if err != nil {
		return nil, err
	}
	slice, data, err := exportAudit(ctx, st, "audit/audit.json", "state database", subjects, o.PublicKeys)
	if err != nil {
		return nil, err
	}
	if len(slice.Seqs) > 0 {
		if err := b.addAudit(slice, data); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// addStoreRuns bundles the runs a live drill made in voicedr's own store
// (its report names them) under runs/, and returns the audit subjects of
// the drill: its ID, those runs and their plans' digests.
func addStoreRuns(ctx context.Context, b *Bundle, st store.Store, d store.Drill) ([]string, error) {
	subjects := []string{d.ID}
	var rep struct {
		RunIDs []string `json:"run_ids"`
	}
	if len(d.Report) == 0 || json.Unmarshal(d.Report, &rep) != nil {
		return subjects, nil
	}
	for _, id := range rep.RunIDs {
		run, err := st.GetRun(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			b.Notes = append(b.Notes, "run "+id+" named by the drill's report is not in the state database")
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("drill %s: run %s: %w", d.ID, id, err)
		}
		if err := addRun(ctx, b, st, run, "runs/"+run.ID+"/"); err != nil {
			return nil, fmt.Errorf("drill %s: %w", d.ID, err)
		}
		subjects = append(subjects, run.ID, run.PlanDigest)
	}
	return subjects, nil
}

// addDrillState exports the drill's own store. It opens a copy of
// state.db, never the file itself: opening a SQLite store may migrate it
// or fold its write-ahead log, which would change the very bytes just
// bundled as evidence.
func addDrillState(ctx context.Context, b *Bundle, d store.Drill, pubs []ed25519.PublicKey) error {
	tmp, err := os.MkdirTemp("", "voicedr-drill-state-*")
	if err != nil {
		return fmt.Errorf("drill %s: %w", d.ID, err)
	}
	defer os.RemoveAll(tmp)
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(filepath.Join(d.Dir, DrillStateFile+suffix))
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			return fmt.Errorf("drill %s: read %s: %w", d.ID, DrillStateFile+suffix, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, DrillStateFile+suffix), data, 0o600); err != nil {
			return fmt.Errorf("drill %s: %w", d.ID, err)
		}
	}
	ds, err := sqlite.Open(ctx, filepath.Join(tmp, DrillStateFile))
	if err != nil {
		return fmt.Errorf("drill %s: open its %s: %w", d.ID, DrillStateFile, err)
	}
	defer ds.Close()
	runs, err := ds.ListRuns(ctx, 0)
	if err != nil {
		return fmt.Errorf("drill %s: %s: %w", d.ID, DrillStateFile, err)
	}
	// Oldest first reads as the drill unfolded.
	slices.Reverse(runs)
	for _, r := range runs {
		if err := addRun(ctx, b, ds, r, "state/runs/"+r.ID+"/"); err != nil {
			return fmt.Errorf("drill %s: %w", d.ID, err)
		}
	}
	decs, err := ds.ListDecisions(ctx, 0)
	if err != nil {
		return fmt.Errorf("drill %s: %s: %w", d.ID, DrillStateFile, err)
	}
	if len(decs) > 0 {
		slices.Reverse(decs)
		if err := b.AddJSON("state/decisions.json", decs); err != nil {
			return err
		}
	}
	slice, data, err := exportAudit(ctx, ds, "state/audit.json", "drill "+DrillStateFile, nil, pubs)
	if err != nil {
		return fmt.Errorf("drill %s: %w", d.ID, err)
	}
	return b.addAudit(slice, data)
}
