package cli

import (
	"bufio"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// twilioFlags are the flags of commands that talk to Twilio: which regions,
// and the endpoint override. Credentials come from the environment
// (TWILIO_<REGION>_API_KEY, ...) until the workbook holds profiles.
type twilioFlags struct {
	regions  []string
	endpoint string
	rate     float64
	inFlight int
}

func (t *twilioFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&t.regions, "regions", []string{"us1", "ie1", "au1"}, "regions to reach")
	f.StringVar(&t.endpoint, "endpoint", "", "send every *.twilio.com request here (default $VOICEDR_TWILIO_ENDPOINT)")
	f.Float64Var(&t.rate, "rate", 250, "requests per second to Twilio, shared by every region")
	f.IntVar(&t.inFlight, "max-in-flight", 64, "requests in flight to Twilio, shared by every region")
}

// clients resolves a profile per region (flag > env > file) and builds the
// process's one pool and its region clients.
func (t *twilioFlags) clients(g *globals, getenv func(string) string, reg prometheus.Registerer) (*twilio.Set, *twilio.Pool, error) {
	endpoint := t.endpoint
	if endpoint == "" {
		endpoint = getenv("VOICEDR_TWILIO_ENDPOINT")
	}
	pool, err := twilio.NewPool(twilio.Options{
		Endpoint: endpoint, Registerer: reg, Logger: g.logger,
		Limits: twilio.Limits{Rate: t.rate, MaxInFlight: t.inFlight},
	})
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	var profiles []region.Resolved
	for _, s := range t.regions {
		r, err := region.Parse(s)
		if err != nil {
			return nil, nil, usageError("--regions: %v", err)
		}
		p, err := region.Resolve(region.Profile{Region: r}, region.Profile{}, getenv, os.ReadFile)
		if err != nil {
			return nil, nil, usageError("%v", err)
		}
		profiles = append(profiles, p)
	}
	set, err := twilio.NewSet(pool, profiles...)
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	return set, pool, nil
}

// accountSID is the account the region profiles name (flag > env > file;
// one account for every region by default): stored snapshots are kept per
// account.
func (t *twilioFlags) accountSID(getenv func(string) string) (string, error) {
	for _, s := range t.regions {
		r, err := region.Parse(s)
		if err != nil {
			return "", usageError("--regions: %v", err)
		}
		p, err := region.Resolve(region.Profile{Region: r}, region.Profile{}, getenv, os.ReadFile)
		if err != nil {
			return "", usageError("%v", err)
		}
		if p.Profile.AccountSID != "" {
			return p.Profile.AccountSID, nil
		}
	}
	return "", usageError("no account SID: set TWILIO_ACCOUNT_SID")
}

// envFile reads `export NAME=value` lines (what the emulator's --env-out
// writes) into a lookup that falls back to fallback.
func envFile(content string, fallback func(string) string) func(string) string {
	vars := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "))
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars[k] = v
		}
	}
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return fallback(k)
	}
}
