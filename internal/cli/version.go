package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/voicedr/voicedr/internal/cli.Version=v1.2.3".
var Version = "dev"

type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"go_version"`
	TwilioGo  string `json:"twilio_go,omitempty"`
	Platform  string `json:"platform"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: Version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Commit = s.Value
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/twilio/twilio-go" {
				v.TwilioGo = d.Version
			}
		}
	}
	return v
}

func newVersionCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print voicedr's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(v)
			}
			fmt.Fprintf(g.stdout, "voicedr %s (%s, %s", v.Version, v.GoVersion, v.Platform)
			if v.TwilioGo != "" {
				fmt.Fprintf(g.stdout, ", twilio-go %s", v.TwilioGo)
			}
			if v.Commit != "" {
				fmt.Fprintf(g.stdout, ", commit %.12s", v.Commit)
			}
			fmt.Fprintln(g.stdout, ")")
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}
