package twilioemu

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/voicedr/voicedr/internal/region"
)

// Key is an API key's credentials as a client needs them.
type Key struct {
	SID, Secret, Type string
}

// RegionCredentials are one region's credentials of the emulated account.
type RegionCredentials struct {
	AccountSID string
	AuthToken  string
	// Standard is a Standard key (no /Accounts, no /Keys); Main a Main key.
	Standard, Main Key
}

// Credentials returns each served region's credentials.
func (e *Emulator) Credentials() map[region.Region]RegionCredentials {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := map[region.Region]RegionCredentials{}
	for id, rs := range e.acct.regions {
		rc := RegionCredentials{AccountSID: rs.accountSID, AuthToken: rs.authToken}
		for _, sid := range rs.keys.order {
			k := rs.keys.bySID[sid]
			key := Key{SID: k.sid, Secret: k.secret, Type: k.kind}
			switch {
			case k.kind == "standard" && rc.Standard.SID == "":
				rc.Standard = key
			case k.kind == "main" && rc.Main.SID == "":
				rc.Main = key
			}
		}
		out[id] = rc
	}
	return out
}

// AccountSID is the emulated account's SID.
func (e *Emulator) AccountSID() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.acct.sid
}

// WriteEnv writes the credentials as shell variables any client can source:
// TWILIO_ACCOUNT_SID, VOICEDR_TWILIO_ENDPOINT, and per region
// TWILIO_<REGION>_API_KEY / _API_SECRET / _AUTH_TOKEN (the Standard key).
func (e *Emulator) WriteEnv(w io.Writer, endpoint string) error {
	creds := e.Credentials()
	ids := make([]string, 0, len(creds))
	for id := range creds {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	var b strings.Builder
	fmt.Fprintf(&b, "# voicedr emulator credentials: source this file, e.g. `. %s`\n", "voicedr-emulator.env")
	fmt.Fprintf(&b, "export TWILIO_ACCOUNT_SID=%s\n", e.AccountSID())
	fmt.Fprintf(&b, "export VOICEDR_TWILIO_ENDPOINT=%s\n", endpoint)
	for _, id := range ids {
		rc := creds[region.Region(id)]
		p := region.Region(id).EnvPrefix()
		fmt.Fprintf(&b, "export %sAPI_KEY=%s\nexport %sAPI_SECRET=%s\nexport %sAUTH_TOKEN=%s\n",
			p, rc.Standard.SID, p, rc.Standard.Secret, p, rc.AuthToken)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Profile is how a client reaches region r of this emulator with its
// Standard key, as voicedr's region profiles reach Twilio: the region's
// home edge (the only one the emulator accepts by default), the account
// and the key's secret and auth token read.
func (e *Emulator) Profile(r region.Region) region.Resolved {
	c := e.Credentials()[r]
	return region.Resolved{Profile: region.Profile{Region: r, Edge: r.HomeEdge(), AccountSID: c.AccountSID},
		APIKeySID: c.Standard.SID, APISecret: region.NewSecret(c.Standard.Secret), AuthToken: region.NewSecret(c.AuthToken)}
}
