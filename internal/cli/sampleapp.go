package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func newSampleAppCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "sample-app", Short: "not built yet", RunE: func(*cobra.Command, []string) error {
		return errors.New("sample-app is not built yet")
	}}
}
