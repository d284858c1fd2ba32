package cli

import (
	"errors"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
)

// newEvidenceCmd groups the evidence commands (export and verify of bundles
// come with drills).
func newEvidenceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence keys",
		Short: "The program's evidence signing keys (audit checkpoints, evidence bundles)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newEvidenceKeysCmd(g))
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
