// Package emutest starts the Twilio emulator on real loopback HTTP for
// tests and benchmarks, seeded with a generated account, and builds the
// voicedr client set that reaches it exactly as voicedr reaches Twilio
// (region profiles, one pool, the endpoint override).
package emutest

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// Account is a running emulator with its seed and a client set.
type Account struct {
	Emulator *twilioemu.Emulator
	URL      string
	Seed     *snapshot.Snapshot
	Gaps     *twilioemu.GapList
	Set      *twilio.Set
}

// Start seeds an emulator with a generated account of n numbers (seed 3
// unless gen.RandSeed is set) and connects a client set with the given pool
// options; everything stops when the test ends.
func Start(tb testing.TB, n int, faults *twilioemu.Faults, pool twilio.Options, gen twilioemu.GenerateOptions) *Account {
	tb.Helper()
	if gen.RandSeed == 0 {
		gen.RandSeed = 3
	}
	gen.Numbers = n
	emu := twilioemu.New(twilioemu.Options{RandSeed: gen.RandSeed, Faults: faults})
	seed, gaps := twilioemu.Generate(gen)
	if err := emu.Seed(seed); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	tb.Cleanup(func() { emu.Close(); srv.Close() })
	pool.Endpoint = srv.URL
	p, err := twilio.NewPool(pool)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	var profiles []region.Resolved
	for _, r := range region.All {
		profiles = append(profiles, emu.Profile(r))
	}
	set, err := twilio.NewSet(p, profiles...)
	if err != nil {
		tb.Fatal(err)
	}
	return &Account{Emulator: emu, URL: srv.URL, Seed: seed, Gaps: gaps, Set: set}
}

// Env is the account's credentials as the emulator's --env-out writes them:
// shell variables any client can source.
func (a *Account) Env(tb testing.TB) string {
	var b strings.Builder
	if err := a.Emulator.WriteEnv(&b, a.URL); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}
