package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/evidence"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
)

// newEvidenceCmd groups the evidence commands: the signing keys, and signed
// bundles of what a run, readiness check or drill produced.
func newEvidenceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Signed evidence bundles of runs, readiness checks and drills, and the keys that sign them",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newEvidenceKeysCmd(g), newEvidenceExportCmd(g), newEvidenceVerifyCmd(g))
	return cmd
}

// signingKeyHelp documents --signing-key for every command that audits.
const signingKeyHelp = "ed25519 key that signs audit checkpoints (voicedr evidence keys --generate); absent: entries are chained but not signed"

// openAudit is the audit log of a store, signing checkpoints with the key at
// keyPath when that file exists (a missing default key is not an error:
// the chain is kept, unsigned, and verify says so).
func openAudit(st store.Store, keyPath string) (*audit.Log, error) {
	l := &audit.Log{Store: st}
	if keyPath == "" {
		return l, nil
	}
	k, err := signing.LoadPrivate(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		if _, statErr := os.Stat(keyPath); errors.Is(statErr, fs.ErrNotExist) {
			return l, nil
		}
	}
	if err != nil {
		return nil, usageError("--signing-key: %v", err)
	}
	l.Key = k
	return l, nil
}

// newEvidenceVerifyCmd is `voicedr evidence verify PATH [--pub FILE...]`.
func newEvidenceVerifyCmd(g *globals) *cobra.Command {
	var (
		pubPaths []string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "verify PATH [--pub FILE...]",
		Short: "Prove an evidence bundle intact, or name every file altered, missing or added",
		Long: `verify checks a bundle written by voicedr evidence export (a directory or a .tar.gz):
manifest.sig over manifest.json with a trusted key (--pub, default ` + signing.PublicFile + ` if present),
then every file's sha256 and size against the manifest. Each altered, missing or extra file is
named; an archive entry that would unpack outside it (absolute, or climbing out with ..) refuses
the archive whole.

Without --pub and no default key file, the signature is checked with the key the manifest
carries: that proves the bundle intact, not who signed it, and verify says so.

Exit 0: intact; 1: not intact or not a bundle; 2: bad usage.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			pubs, err := loadPublicKeys(pubPaths, cmd.Flags().Changed("pub"))
			if err != nil {
				return err
			}
			if _, err := os.Stat(path); err != nil {
				return usageError("%v: pass a bundle voicedr evidence export wrote", err)
			}
			res, err := evidence.Verify(path, pubList(pubs)...)
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			if asJSON {
				// The manifest is long and is in the bundle; the result
				// names what matters.
				res.Manifest = nil
				if err := json.NewEncoder(g.stdout).Encode(res); err != nil {
					return err
				}
			} else {
				printEvidenceResult(g.stdout, res)
			}
			if !res.OK {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("evidence bundle %s is not intact: %d problems", path, len(res.Problems))}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&pubPaths, "pub", []string{signing.PublicFile}, "trusted public key (PEM) of the signer; repeatable")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

func printEvidenceResult(w io.Writer, res evidence.Result) {
	verdict := "INTACT"
	if !res.OK {
		verdict = "NOT INTACT"
	}
	fmt.Fprintf(w, "evidence bundle %s: %s\n", res.Path, verdict)
	if res.Kind != "" {
		fmt.Fprintf(w, "  %s %s of %s, created %s, %d files, signed by key %s\n", res.Kind, res.Subject, res.Program,
			res.Created.UTC().Format(time.RFC3339), res.Files, res.KeyID)
	}
	if res.Manifest != nil {
		printWorkbookRef(w, res.Manifest.Workbook)
		for _, a := range res.Manifest.Audit {
			fmt.Fprintf(w, "  audit log %s: %d entries, checkpointed through %d, %d about the subject\n", a.File, a.Entries, a.Through, len(a.Seqs))
		}
	}
	for _, p := range res.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	if res.SelfAttested && res.OK {
		fmt.Fprintln(w, "  signature checked with the key the bundle carries: pass --pub with the signer's public key to prove who signed it")
	}
}
