// Command voicedr is cross-region disaster recovery for Twilio Voice: one
// binary that is a CLI and a daemon. main only wires the process to the CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/voicedr/voicedr/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
