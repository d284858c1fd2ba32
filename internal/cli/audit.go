package cli

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store/sqlite"
)

// newAuditCmd is `voicedr audit verify|export`.
func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit verify|export",
		Short: "Prove the tamper-evident audit log, or export it for auditors",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAuditVerifyCmd(g), newAuditExportCmd(g))
	return cmd
}

func newAuditVerifyCmd(g *globals) *cobra.Command {
	var (
		dbPath, file string
		pubPaths     []string
		asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "verify [--db FILE | --file EXPORT] [--pub FILE]",
		Short: "Prove the audit chain and its signed checkpoints, or name the first bad entry",
		Long: `verify recomputes every audit entry's hash, checks each links to the one before without
gaps, and checks every checkpoint's ed25519 signature and that the entry it signed still has
the signed hash. Exit 0: intact; 1: not intact, naming the first bad entry.

Checkpoints are checked with --pub (default ` + signing.PublicFile + ` if present). With --file it
verifies an exported file offline; without --pub it then trusts the keys the file carries,
which proves the file is intact but not who signed it.

Entries after the last checkpoint are chained but not yet checkpointed: a consistent rewrite
of them cannot be detected yet, and verify says how many there are.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			explicit := cmd.Flags().Changed("pub")
			pubs, err := loadPublicKeys(pubPaths, explicit)
			if err != nil {
				return err
			}
			var rep audit.Report
			source := dbPath
			if file != "" {
				if cmd.Flags().Changed("db") {
					return usageError("--db and --file: verify either the database or an export")
				}
				source = file
				f, err := os.Open(file)
				if err != nil {
					return usageError("open --file: %v", err)
				}
				defer f.Close()
				rep, err = audit.VerifyExport(f, pubList(pubs)...)
				if err != nil {
					return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%s: %w", file, err)}
				}
			} else {
				db, err := openExisting(cmd, dbPath)
				if err != nil {
					return err
				}
				defer db.Close()
				rep, err = (&audit.Log{Store: db}).Verify(cmd.Context(), pubs)
				if err != nil {
					return err
				}
			}
			if asJSON {
				if err := json.NewEncoder(g.stdout).Encode(rep); err != nil {
					return err
				}
			} else {
				printAuditReport(g.stdout, source, rep)
			}
			if !rep.OK {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("audit log %s is not intact: entry %d: %s", source, rep.FirstBad.Seq, rep.FirstBad.Reason)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "voicedr.db", "state database")
	cmd.Flags().StringVar(&file, "file", "", "verify this exported file (voicedr audit export) instead of the database")
	cmd.Flags().StringArrayVar(&pubPaths, "pub", []string{signing.PublicFile}, "trusted public key (PEM) that signed checkpoints; repeatable")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

func printAuditReport(w io.Writer, source string, rep audit.Report) {
	if !rep.OK {
		fmt.Fprintf(w, "audit log %s: NOT INTACT\n  first bad entry: %d (%s)\n  %s\n", source, rep.FirstBad.Seq, rep.FirstBad.Kind, rep.FirstBad.Reason)
		return
	}
	fmt.Fprintf(w, "audit log %s: intact, %d entries, %d checkpoints\n", source, rep.Entries, rep.Checkpoints)
	if rep.Entries > 0 {
		fmt.Fprintf(w, "  head: entry %d, hash %s\n", rep.Head, rep.HeadHash)
	}
	switch {
	case rep.Entries == 0:
	case rep.CheckpointedThrough == 0:
		fmt.Fprintf(w, "  no signed checkpoint yet: all %d entries are chained but not yet checkpointed\n", rep.Pending)
	case rep.Pending > 0:
		fmt.Fprintf(w, "  signed through entry %d; %d entries after it not yet checkpointed\n", rep.CheckpointedThrough, rep.Pending)
	default:
		fmt.Fprintf(w, "  signed through the head\n")
	}
	if rep.SelfAttested {
		fmt.Fprintln(w, "  checkpoints verified with the keys the file carries: pass --pub to prove who signed them")
	}
}

func newAuditExportCmd(g *globals) *cobra.Command {
	var (
		dbPath, out string
		pubPaths    []string
	)
	cmd := &cobra.Command{
		Use:   "export [--db FILE] -o FILE",
		Short: "Write the audit chain, its checkpoints and public keys as JSON for auditors",
		Long: `export writes every audit entry, every signed checkpoint and the public keys that signed
them (--pub, default ` + signing.PublicFile + ` if present) in the voicedr.audit/v1 format, which
voicedr audit verify --file checks offline. "-o -" writes to standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError("-o is required: the file to write (- for standard output)")
			}
			pubs, err := loadPublicKeys(pubPaths, cmd.Flags().Changed("pub"))
			if err != nil {
				return err
			}
			db, err := openExisting(cmd, dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			l := &audit.Log{Store: db, PublicKeys: pubList(pubs)}
			if out == "-" {
				return l.Export(cmd.Context(), g.stdout)
			}
			// Written beside the target and renamed, so a failed export
			// never leaves a half file an auditor might take as complete.
			tmp, err := os.CreateTemp(filepath.Dir(out), ".voicedr-audit-*.json")
			if err != nil {
				return fmt.Errorf("export to %s: %w", out, err)
			}
			defer os.Remove(tmp.Name())
			if err := l.Export(cmd.Context(), tmp); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Chmod(0o644); err != nil {
				tmp.Close()
				return fmt.Errorf("export to %s: %w", out, err)
			}
			if err := tmp.Close(); err != nil {
				return fmt.Errorf("export to %s: %w", out, err)
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return fmt.Errorf("export to %s: %w", out, err)
			}
			f, err := os.Open(out)
			if err != nil {
				return err
			}
			defer f.Close()
			rep, err := audit.VerifyExport(f, pubList(pubs)...)
			if err != nil {
				return fmt.Errorf("exported %s does not read back: %w", out, err)
			}
			fmt.Fprintf(g.stdout, "wrote %s: %d entries, %d checkpoints, %d public keys\n", out, rep.Entries, rep.Checkpoints, len(pubs))
			if len(pubs) == 0 && rep.Checkpoints > 0 {
				fmt.Fprintln(g.stderr, "warning: no public key carried, so auditors need yours to check the checkpoints: pass --pub")
			}
			if !rep.OK {
				fmt.Fprintf(g.stdout, "note: the exported chain is NOT INTACT: entry %d: %s\n", rep.FirstBad.Seq, rep.FirstBad.Reason)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "voicedr.db", "state database")
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (- for standard output)")
	cmd.Flags().StringArrayVar(&pubPaths, "pub", []string{signing.PublicFile}, "public key (PEM) to carry in the export; repeatable")
	return cmd
}

// openExisting opens the store at path, refusing to create one: verifying
// a mistyped path must not report an empty, intact log.
func openExisting(cmd *cobra.Command, path string) (*sqlite.Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, usageError("--db %s: %v: pass the state database voicedr writes (--db)", path, err)
	}
	db, err := sqlite.Open(cmd.Context(), path)
	if err != nil {
		return nil, fmt.Errorf("open --db %s: %w", path, err)
	}
	return db, nil
}

// loadPublicKeys reads the --pub files. The default file is optional; an
// explicitly named one must load.
func loadPublicKeys(paths []string, explicit bool) (map[string]ed25519.PublicKey, error) {
	out := map[string]ed25519.PublicKey{}
	for _, p := range paths {
		pub, err := signing.LoadPublic(p)
		if err != nil {
			if !explicit && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, usageError("--pub: %v", err)
		}
		out[signing.KeyID(pub)] = pub
	}
	return out, nil
}

func pubList(m map[string]ed25519.PublicKey) []ed25519.PublicKey {
	out := make([]ed25519.PublicKey, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	return out
}

// newEvidenceKeysCmd is `voicedr evidence keys [--generate] [--dir DIR]`.
func newEvidenceKeysCmd(g *globals) *cobra.Command {
	var (
		dir      string
		generate bool
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "keys [--generate] [--dir DIR]",
		Short: "Show or generate the ed25519 keys that sign audit checkpoints and evidence",
		Long: `keys shows the ID and files of voicedr's evidence signing key in --dir; --generate makes a
new pair there (` + signing.PrivateFile + `, mode 0600, and ` + signing.PublicFile + `) and never overwrites one.
Give the .pub file to auditors; keep the .key file secret: it is never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			privPath, pubPath := filepath.Join(dir, signing.PrivateFile), filepath.Join(dir, signing.PublicFile)
			if generate {
				k, err := signing.Generate(nil)
				if err != nil {
					return err
				}
				if privPath, pubPath, err = k.WriteFiles(dir); err != nil {
					if errors.Is(err, fs.ErrExist) {
						return &ExitError{Code: ExitRefused, Err: err}
					}
					return err
				}
			}
			pub, err := signing.LoadPublic(pubPath)
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			_, privErr := os.Stat(privPath)
			info := struct {
				KeyID      string `json:"key_id"`
				PublicKey  string `json:"public_key_file"`
				PrivateKey string `json:"private_key_file,omitempty"`
				Generated  bool   `json:"generated"`
			}{KeyID: signing.KeyID(pub), PublicKey: pubPath, Generated: generate}
			if privErr == nil {
				info.PrivateKey = privPath
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(info)
			}
			verb := "evidence key"
			if generate {
				verb = "generated evidence key"
			}
			fmt.Fprintf(g.stdout, "%s %s\n  public key:  %s (give this to auditors)\n", verb, info.KeyID, pubPath)
			if info.PrivateKey != "" {
				fmt.Fprintf(g.stdout, "  private key: %s (keep secret)\n", privPath)
			} else {
				fmt.Fprintf(g.stdout, "  private key: not in %s (this host can verify but not sign)\n", dir)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "directory holding "+signing.PrivateFile+" and "+signing.PublicFile)
	cmd.Flags().BoolVar(&generate, "generate", false, "generate a new key pair (refuses to overwrite one)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}
