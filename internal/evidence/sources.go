package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/store"
)

// Options are what every builder needs besides its subject.
type Options struct {
	// Program names the DR program (the workbook's program).
	Program string
	// WorkbookPath is the workbook the evidence concerns; it is carried in
	// the bundle and its version recorded in the manifest.
	WorkbookPath string
	// PublicKeys are carried in audit exports so their checkpoints verify
	// offline (the signing key's public half, and any retired one).
	PublicKeys []ed25519.PublicKey
}

// start makes the bundle and adds the workbook, which every kind carries.
func start(o Options, kind Kind, subject string) (*Bundle, error) {
	b := NewBundle(o.Program, kind, subject)
	ref, err := Workbook(o.WorkbookPath)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(o.WorkbookPath)
	if err != nil {
		return nil, fmt.Errorf("workbook %s: %w", o.WorkbookPath, err)
	}
	ref.BundlePath = "workbook/" + filepath.Base(o.WorkbookPath)
	b.Workbook = ref
	if ref.Dirty {
		b.Notes = append(b.Notes, "the workbook differs from git commit "+ref.GitCommit+" (modified or uncommitted): its sha256 is the version")
	}
	return b, b.Add(ref.BundlePath, data)
}

// RunBundle assembles a run's evidence from st: the run record, its plan,
// its ledger as JSON lines, the approvals of its plan digest and the audit
// log, with the seqs of the entries about the run or its plan.
func RunBundle(ctx context.Context, st store.Store, runID string, o Options) (*Bundle, error) {
	run, err := st.GetRun(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no run %q in the state database: voicedr run list shows the runs (check --db): %w", runID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", runID, err)
	}
	b, err := start(o, KindRun, runID)
	if err != nil {
		return nil, err
	}
	if err := addRun(ctx, b, st, run, ""); err != nil {
		return nil, err
	}
	slice, data, err := exportAudit(ctx, st, "audit/audit.json", "state database", []string{run.ID, run.PlanDigest}, o.PublicKeys)
	if err != nil {
		return nil, err
	}
	if len(slice.Seqs) == 0 {
		b.Notes = append(b.Notes, "no audit entry names run "+run.ID+" or its plan digest as subject")
	}
	return b, b.addAudit(slice, data)
}

// addAudit carries an audit export, noting a chain that did not verify
// when exported (with the keys at hand) rather than refusing: a broken log
// is itself evidence an auditor must see.
func (b *Bundle) addAudit(s AuditSlice, data []byte) error {
	if !s.Intact {
		b.Notes = append(b.Notes, fmt.Sprintf("the audit log of the %s (%s) did not verify when exported: run voicedr audit verify --file on it to see why (a checkpoint by a key not carried is one cause)", s.Source, s.File))
	}
	b.Audit = append(b.Audit, s)
	return b.Add(s.File, data)
}

// addRun adds one run's record, plan, ledger and approvals under prefix.
func addRun(ctx context.Context, b *Bundle, st store.Store, run store.Run, prefix string) error {
	if err := b.AddJSON(prefix+"run.json", run); err != nil {
		return err
	}
	plan, err := st.GetPlan(ctx, run.PlanDigest)
	switch {
	case errors.Is(err, store.ErrNotFound):
		b.Notes = append(b.Notes, fmt.Sprintf("run %s: plan %s is not stored, so the bundle lacks it", run.ID, run.PlanDigest))
	case err != nil:
		return fmt.Errorf("run %s: plan %s: %w", run.ID, run.PlanDigest, err)
	default:
		if err := b.Add(prefix+"plan.json", plan); err != nil {
			return err
		}
		var p struct {
			WorkbookDigest string `json:"workbook_digest"`
		}
		if json.Unmarshal(plan, &p) == nil && p.WorkbookDigest != "" && b.Workbook.SHA256 != "" && p.WorkbookDigest != b.Workbook.SHA256 {
			b.Notes = append(b.Notes, fmt.Sprintf("run %s: its plan was made from workbook sha256 %s, not the bundled workbook's %s: the workbook changed since", run.ID, p.WorkbookDigest, b.Workbook.SHA256))
		}
	}
	acts, err := st.Actions(ctx, run.ID)
	if err != nil {
		return fmt.Errorf("run %s: ledger: %w", run.ID, err)
	}
	if err := b.Add(prefix+"ledger.jsonl", ledgerLines(acts)); err != nil {
		return err
	}
	apps, err := st.Approvals(ctx, run.PlanDigest)
	if err != nil {
		return fmt.Errorf("run %s: approvals: %w", run.ID, err)
	}
	if apps == nil {
		apps = []store.Approval{}
	}
	return b.AddJSON(prefix+"approvals.json", apps)
}

// ledgerLine is one ledger record as an auditor reads it: one JSON object
// per line, in the order the engine wrote them.
type ledgerLine struct {
	RunID     string          `json:"run_id"`
	Seq       int64           `json:"seq"`
	ActionKey string          `json:"action_key"`
	Step      store.Step      `json:"step"`
	Detail    json.RawMessage `json:"detail,omitempty"`
	At        time.Time       `json:"at"`
}

func ledgerLines(acts []store.ActionRecord) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, a := range acts {
		// Marshalling a struct of strings, times and raw JSON the store
		// validated cannot fail.
		_ = enc.Encode(ledgerLine{a.RunID, a.Seq, a.ActionKey, a.Step, a.Detail, a.At})
	}
	return buf.Bytes()
}

// exportAudit exports st's whole audit chain with its checkpoints (a slice
// of it could not be verified against them) and lists the seqs whose
// subject is one of subjects (every seq when subjects is nil).
func exportAudit(ctx context.Context, st store.Store, file, source string, subjects []string, pubs []ed25519.PublicKey) (AuditSlice, []byte, error) {
	var buf bytes.Buffer
	if err := (&audit.Log{Store: st, PublicKeys: pubs}).Export(ctx, &buf); err != nil {
		return AuditSlice{}, nil, err
	}
	data := buf.Bytes()
	rep, err := audit.VerifyExport(bytes.NewReader(data))
	if err != nil {
		return AuditSlice{}, nil, fmt.Errorf("audit export of the %s does not read back: %w", source, err)
	}
	// Seqs come from the export itself, not a second read of the store,
	// so they name exactly the entries the file holds.
	var f struct {
		Entries []store.AuditRecord `json:"entries"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return AuditSlice{}, nil, fmt.Errorf("audit export of the %s: %w", source, err)
	}
	s := AuditSlice{File: file, Source: source, Entries: rep.Entries, Checkpoints: rep.Checkpoints,
		Through: rep.CheckpointedThrough, Intact: rep.OK, Subjects: subjects, Seqs: []int64{}}
	for _, e := range f.Entries {
		if subjects == nil || slices.Contains(subjects, e.Subject) {
			s.Seqs = append(s.Seqs, e.Seq)
		}
	}
	return s, data, nil
}

// ReadinessBundle assembles a readiness check's evidence: the readiness
// package (checklist, gaps, resource map, report, the snapshot judged) and
// the snapshot's identity.
func ReadinessBundle(rep *readiness.Report, snap SnapshotRef, o Options) (*Bundle, error) {
	b, err := start(o, KindReadiness, rep.Flow)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "voicedr-readiness-*")
	if err != nil {
		return nil, fmt.Errorf("readiness evidence: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := rep.WritePackage(tmp); err != nil {
		return nil, err
	}
	if _, err := addTree(b, tmp, "readiness/"); err != nil {
		return nil, err
	}
	b.Snapshot = &snap
	if !rep.Ready {
		b.Notes = append(b.Notes, fmt.Sprintf("flow %s was NOT READY: %d gaps of severity error", rep.Flow, rep.Errors()))
	}
	return b, b.AddJSON("snapshot-meta.json", snap)
}

// addTree adds every regular file under dir at prefix+its relative path
// and returns the relative paths it skipped (links, devices): a link
// could pull in a file from anywhere.
func addTree(b *Bundle, dir, prefix string) ([]string, error) {
	var skipped []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			skipped = append(skipped, rel)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return b.Add(path.Join(prefix, rel), data)
	})
	if err != nil {
		return nil, fmt.Errorf("evidence: copy %s: %w", dir, err)
	}
	return skipped, nil
}

// gitTimeout bounds each git call: the version is best effort and must not
// hang an export on a wedged repository.
const gitTimeout = 10 * time.Second

// WorkbookVersion is the version of the workbook file at path: the hex
// sha256 of its bytes (what plans record as workbook_digest) and, when the
// file is in a git work tree and git is installed, the commit at HEAD (""
// otherwise). Whether the file differs from that commit is in Workbook's
// Dirty; reports that show one line use this.
func WorkbookVersion(path string) (sha256, gitCommit string, err error) {
	ref, err := Workbook(path)
	if err != nil {
		return "", "", err
	}
	return ref.SHA256, ref.GitCommit, nil
}

// Workbook describes the workbook file at path for a manifest: its sha256,
// and its git commit and dirtiness, best effort.
func Workbook(path string) (WorkbookRef, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return WorkbookRef{}, fmt.Errorf("workbook %s: %w: pass the workbook the evidence concerns (--workbook)", path, err)
	}
	sum := sha256.Sum256(b)
	ref := WorkbookRef{Path: path, SHA256: hex.EncodeToString(sum[:])}
	ref.GitCommit, ref.Dirty = gitVersion(path)
	return ref, nil
}

// gitVersion is HEAD of the work tree holding file and whether file's
// content is not that commit's (modified, staged or untracked). Any
// failure (no git, not a work tree, no commit yet) is "".
func gitVersion(file string) (commit string, dirty bool) {
	if _, err := exec.LookPath("git"); err != nil {
		return "", false
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", false
	}
	dir, base := filepath.Dir(abs), filepath.Base(abs)
	out, err := git(dir, "rev-parse", "HEAD")
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(out))
	// --porcelain lists the file when it is modified, staged or untracked:
	// in each case its bytes are not the commit's. An ignored file is not
	// listed, so it is checked against the commit's tree as well.
	st, err := git(dir, "status", "--porcelain", "--ignored", "--", base)
	if err != nil || len(bytes.TrimSpace(st)) > 0 {
		return commit, true
	}
	if _, err := git(dir, "cat-file", "-e", "HEAD:./"+path.Clean(filepath.ToSlash(base))); err != nil {
		return commit, true
	}
	return commit, false
}

func git(dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	// Optional locks off: `git status` would otherwise refresh the index
	// and take index.lock, racing whoever is committing in that tree.
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	return cmd.Output()
}
