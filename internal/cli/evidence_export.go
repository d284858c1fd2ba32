package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/evidence"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/workbook"
)

// exportFlags are `voicedr evidence export`'s inputs.
type exportFlags struct {
	run, drill, flow  string
	out, db, wbPath   string
	keyPath, snapPath string
	account           string
	snapshotID        int64
	asJSON            bool
	now               func() time.Time
	getenv            func(string) string
}

func newEvidenceExportCmd(g *globals) *cobra.Command {
	ef := exportFlags{now: time.Now}
	cmd := &cobra.Command{
		Use:   "export (--run ID | --drill ID | --readiness FLOW) --out PATH",
		Short: "Export a run, readiness check or drill as a signed evidence bundle",
		Long: `export writes a bundle: the evidence files, manifest.json (program, kind, subject, time,
workbook version with its git commit when in git, signing key ID, and every file's sha256 and
size) and manifest.sig (the ed25519 signature over manifest.json). --out ending in .tar.gz
writes one archive; anything else a directory. Neither is ever overwritten.

  --run ID         the run, its plan, its ledger (JSON lines), the plan's approvals and the
                   audit log with its checkpoints, naming the entries about the run
  --readiness FLOW the readiness package of the flow, judged against --snapshot FILE, stored
                   snapshot --snapshot-id, or the newest stored for --account
  --drill ID       the drill's record, every file of its directory, and the ledger, decisions
                   and audit log of its own state.db, exported so nobody needs SQLite

A bundle must be signed: without --signing-key (default ` + signing.PrivateFile + `) export refuses.
voicedr evidence verify checks it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ef.getenv = g.getenv
			return ef.export(cmd.Context(), g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&ef.run, "run", "", "export this run (voicedr run list)")
	f.StringVar(&ef.drill, "drill", "", "export this drill")
	f.StringVar(&ef.flow, "readiness", "", "export the readiness package of this workbook flow")
	f.StringVar(&ef.out, "out", "", "bundle to write: a directory, or one archive when it ends in .tar.gz")
	f.StringVar(&ef.db, "db", "voicedr.db", "state database")
	f.StringVar(&ef.wbPath, "workbook", "voicedr.yaml", "the workbook the evidence concerns (bundled, with its version)")
	f.StringVar(&ef.keyPath, "signing-key", signing.PrivateFile, "ed25519 key that signs the bundle (voicedr evidence keys --generate)")
	f.StringVar(&ef.snapPath, "snapshot", "", "--readiness: judge this snapshot file")
	f.Int64Var(&ef.snapshotID, "snapshot-id", 0, "--readiness: judge this stored snapshot")
	f.StringVar(&ef.account, "account", "", "--readiness: judge the newest snapshot stored for this account (default $TWILIO_ACCOUNT_SID)")
	f.BoolVar(&ef.asJSON, "json", false, "machine-readable output (the manifest)")
	return cmd
}

func (ef *exportFlags) export(ctx context.Context, g *globals) error {
	n := 0
	for _, s := range []string{ef.run, ef.drill, ef.flow} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return usageError("export needs exactly one of --run ID, --drill ID or --readiness FLOW")
	}
	if ef.out == "" {
		return usageError("export needs --out PATH: a directory, or a file ending in .tar.gz")
	}
	if _, err := os.Lstat(ef.out); err == nil {
		return usageError("--out %s already exists: choose another path or move it away (evidence is never overwritten)", ef.out)
	}
	key, err := signing.LoadPrivate(ef.keyPath)
	if err != nil {
		// LoadPrivate's error names the file and says to generate a key.
		return usageError("--signing-key: an evidence bundle must be signed: %v", err)
	}
	wb, err := workbook.Load(ef.wbPath)
	if err != nil {
		return usageError("--workbook: %v", err)
	}
	opts := evidence.Options{Program: wb.Program, WorkbookPath: ef.wbPath, PublicKeys: []ed25519.PublicKey{key.Public}}
	var b *evidence.Bundle
	if ef.flow != "" {
		b, err = ef.readinessBundle(ctx, wb, opts)
	} else {
		b, err = ef.storeBundle(ctx, opts)
	}
	if err != nil {
		return err
	}
	m, err := b.Write(ef.out, key, ef.now())
	if err != nil {
		return err
	}
	// Read back as an auditor would, so a bundle that would not verify is
	// never reported as written.
	res, err := evidence.Verify(ef.out, key.Public)
	if err != nil || !res.OK {
		return fmt.Errorf("wrote %s but it does not verify (%v %v): remove it and export again", ef.out, err, res.Problems)
	}
	if ef.asJSON {
		return json.NewEncoder(g.stdout).Encode(struct {
			Path     string             `json:"path"`
			Manifest *evidence.Manifest `json:"manifest"`
		}{ef.out, m})
	}
	fmt.Fprintf(g.stdout, "wrote evidence bundle %s: %s %s, %d files, signed by key %s\n", ef.out, m.Kind, m.Subject, len(m.Files), m.KeyID)
	printWorkbookRef(g.stdout, m.Workbook)
	for _, note := range m.Notes {
		fmt.Fprintf(g.stdout, "  note: %s\n", note)
	}
	return nil
}

// storeBundle builds a run or drill bundle from the state database.
func (ef *exportFlags) storeBundle(ctx context.Context, opts evidence.Options) (*evidence.Bundle, error) {
	if _, err := os.Stat(ef.db); err != nil {
		return nil, usageError("--db %s: %v: pass the state database voicedr writes (--db)", ef.db, err)
	}
	db, err := openEvidenceStore(ctx, ef.db)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var b *evidence.Bundle
	if ef.run != "" {
		b, err = evidence.RunBundle(ctx, db, ef.run, opts)
	} else {
		b, err = evidence.DrillBundle(ctx, db, ef.drill, opts)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return b, err
}

// readinessBundle judges the flow against a recorded snapshot, never a
// fresh read of the account: evidence is of what was observed, offline.
func (ef *exportFlags) readinessBundle(ctx context.Context, wb *workbook.Workbook, opts evidence.Options) (*evidence.Bundle, error) {
	var (
		s   *snapshot.Snapshot
		ref evidence.SnapshotRef
		err error
	)
	if ef.snapPath != "" {
		raw, err := os.ReadFile(ef.snapPath)
		if err != nil {
			return nil, usageError("--snapshot: %v", err)
		}
		if s, err = snapshot.Read(bytes.NewReader(raw)); err != nil {
			return nil, usageError("--snapshot %s: %v", ef.snapPath, err)
		}
		sum := sha256.Sum256(raw)
		ref = evidence.SnapshotRef{Source: "file", File: ef.snapPath, SHA256: hex.EncodeToString(sum[:])}
	} else {
		if s, ref, err = ef.storedSnapshot(ctx); err != nil {
			return nil, err
		}
	}
	ref.AccountSID, ref.TakenAt, ref.Numbers = s.AccountSID, s.TakenAt, len(s.Numbers)
	rep, err := readiness.Check(s, wb, ef.flow, readiness.Options{Now: ef.now})
	if err != nil {
		return nil, usageError("--readiness: %v", err)
	}
	return evidence.ReadinessBundle(rep, ref, opts)
}

func (ef *exportFlags) storedSnapshot(ctx context.Context) (*snapshot.Snapshot, evidence.SnapshotRef, error) {
	if _, err := os.Stat(ef.db); err != nil {
		return nil, evidence.SnapshotRef{}, usageError("--db %s: %v: pass --snapshot FILE, or the state database holding snapshots (--db)", ef.db, err)
	}
	db, err := openEvidenceStore(ctx, ef.db)
	if err != nil {
		return nil, evidence.SnapshotRef{}, err
	}
	defer db.Close()
	id := ef.snapshotID
	if id == 0 {
		acct := ef.account
		if acct == "" {
			acct = ef.getenv("TWILIO_ACCOUNT_SID")
		}
		if acct == "" {
			return nil, evidence.SnapshotRef{}, usageError("--readiness: which snapshot? pass --snapshot FILE, --snapshot-id N or --account SID (or set TWILIO_ACCOUNT_SID)")
		}
		metas, err := db.ListSnapshots(ctx, acct, 1)
		if err != nil {
			return nil, evidence.SnapshotRef{}, err
		}
		if len(metas) == 0 {
			return nil, evidence.SnapshotRef{}, usageError("no snapshot of account %s in %s: voicedr readiness or posture store one", acct, ef.db)
		}
		id = metas[0].ID
	}
	s, meta, err := db.GetSnapshot(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, evidence.SnapshotRef{}, usageError("--snapshot-id %d: not in %s", id, ef.db)
	}
	if err != nil {
		return nil, evidence.SnapshotRef{}, err
	}
	return s, evidence.SnapshotRef{Source: "stored", ID: meta.ID, SHA256: meta.SHA256}, nil
}

func printWorkbookRef(w io.Writer, ref evidence.WorkbookRef) {
	git := "not in git"
	if ref.GitCommit != "" {
		git = "git " + ref.GitCommit
		if ref.Dirty {
			git += ", modified since"
		}
	}
	fmt.Fprintf(w, "  workbook %s sha256 %s (%s)\n", ref.Path, ref.SHA256, git)
}

// openEvidenceStore opens the state database at path, which the caller
// checked exists: exporting from a mistyped path must not create one.
func openEvidenceStore(ctx context.Context, path string) (*sqlite.Store, error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open --db %s: %w", path, err)
	}
	return db, nil
}
