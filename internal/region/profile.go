package region

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Profile is how a region is reached: region, edge, account and where its
// credentials come from. It holds references only, so it is safe to print,
// log, store and embed in the workbook.
type Profile struct {
	Region     Region `yaml:"region" json:"region"`
	Edge       string `yaml:"edge,omitempty" json:"edge,omitempty"`
	AccountSID string `yaml:"account_sid,omitempty" json:"account_sid,omitempty"`
	// APIKey references the API key SID (SK...), APISecret its secret. A key
	// works only in the region it was created in.
	APIKey    CredentialRef `yaml:"api_key,omitempty" json:"api_key,omitempty"`
	APISecret CredentialRef `yaml:"api_secret,omitempty" json:"api_secret,omitempty"`
	// AuthToken references the region's auth token: the credential when no
	// key is configured, and the key that signs webhook probe requests.
	AuthToken CredentialRef `yaml:"auth_token,omitempty" json:"auth_token,omitempty"`
}

// Resolved is a profile after precedence and defaults, with its secrets read.
// Printing or logging it shows the references and "[redacted]" for secrets.
type Resolved struct {
	// Profile is the effective profile: region, edge and account SID as used,
	// and the references the credentials were read from.
	Profile Profile
	// APIKeySID is the key SID (not secret); empty when the auth token is the
	// credential.
	APIKeySID string
	APISecret Secret
	AuthToken Secret
}

// Region is the profile's region.
func (r Resolved) Region() Region { return r.Profile.Region }

// Edge is the edge the region is reached through.
func (r Resolved) Edge() string { return r.Profile.Edge }

// AccountSID is the account the region's requests act on.
func (r Resolved) AccountSID() string { return r.Profile.AccountSID }

// UsesAPIKey reports whether requests authenticate with the API key (true)
// or with the account SID and auth token (false).
func (r Resolved) UsesAPIKey() bool { return r.APIKeySID != "" }

// String describes the resolved profile without secrets.
func (r Resolved) String() string { return r.Profile.String() }

// String describes the profile: "ie1 via dublin (api_key env:TWILIO_IE1_API_KEY)".
func (p Profile) String() string {
	cred := "auth_token " + string(p.AuthToken)
	if p.APIKey != "" {
		cred = "api_key " + string(p.APIKey)
	}
	return fmt.Sprintf("%s via %s (%s)", p.Region, p.Edge, cred)
}

// Environment variables read besides the per-field defaults.
const (
	// EnvAccountSID is the account used by every region that names none.
	EnvAccountSID = "TWILIO_ACCOUNT_SID"
)

var (
	accountSIDRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	keySIDRe     = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)
)

// Validate checks a profile as written (in a file or on flags) without
// reading any secret: a known region, an edge valid for it, well-formed
// references and account SID. Empty fields are allowed; defaults fill them.
func (p Profile) Validate() error {
	var errs []error
	r, err := Parse(string(p.Region))
	if err != nil {
		errs = append(errs, fmt.Errorf("region: %w", err))
	}
	if p.Edge != "" && err == nil && !r.ValidEdge(p.Edge) {
		errs = append(errs, edgeError(r, p.Edge))
	}
	if p.AccountSID != "" && !accountSIDRe.MatchString(p.AccountSID) {
		errs = append(errs, fmt.Errorf("account_sid: %q is not an account SID (AC followed by 32 hex digits)", p.AccountSID))
	}
	for _, f := range p.refs() {
		if err := f.ref.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	return errors.Join(errs...)
}

type namedRef struct {
	name string
	ref  CredentialRef
}

func (p Profile) refs() []namedRef {
	return []namedRef{{"api_key", p.APIKey}, {"api_secret", p.APISecret}, {"auth_token", p.AuthToken}}
}

func edgeError(r Region, edge string) error {
	return fmt.Errorf("edge: %q is not an edge Twilio accepts for %s: use %s", edge, r, r.HomeEdge())
}

// Resolve applies precedence and defaults to a region's profile and reads its
// secrets. Precedence per field is flags > environment > file > default:
//
//   - region: flags, else file (they must agree when both are set);
//   - edge: flags, TWILIO_<REGION>_EDGE, file, the region's home edge;
//   - account_sid: flags, TWILIO_<REGION>_ACCOUNT_SID, file, TWILIO_ACCOUNT_SID.
//     The global variable is a default rather than an override so that an
//     exported TWILIO_ACCOUNT_SID (common for twilio-cli users) cannot
//     silently replace a per-region account written in the workbook;
//   - api_key, api_secret, auth_token: flags, env:TWILIO_<REGION>_<FIELD> when
//     that variable is set, file, env:TWILIO_<REGION>_<FIELD>.
//
// The credential is the API key + secret when a key is found, otherwise the
// auth token; a key without its secret is an error. An auth token that was
// only defaulted and is unset is fine. Errors name the field and the
// reference, never a secret; all problems are reported at once.
//
// twilio-go itself would fall back to TWILIO_REGION, TWILIO_EDGE and
// TWILIO_AUTH_TOKEN; Resolve never reads those, so one region's settings
// cannot leak into another's.
func Resolve(file, flags Profile, env func(string) string, readFile func(string) ([]byte, error)) (Resolved, error) {
	if env == nil {
		env = func(string) string { return "" }
	}
	if readFile == nil {
		readFile = func(string) ([]byte, error) { return nil, errors.New("reading files is not enabled") }
	}
	r, err := pickRegion(file.Region, flags.Region)
	if err != nil {
		return Resolved{}, err
	}
	fail := func(errs []error) (Resolved, error) {
		return Resolved{}, fmt.Errorf("region %s profile: %w", r, errors.Join(errs...))
	}
	// Validate what was written before applying defaults, so an error points
	// at the flag or file value that caused it.
	var errs []error
	for _, src := range []struct {
		where string
		p     Profile
	}{{"flags", flags}, {"profile", file}} {
		src.p.Region = r
		if err := src.p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src.where, err))
		}
	}
	if len(errs) > 0 {
		return fail(errs)
	}

	pre := r.EnvPrefix()
	eff := Profile{
		Region:     r,
		Edge:       first(flags.Edge, env(pre+"EDGE"), file.Edge, r.HomeEdge()),
		AccountSID: first(flags.AccountSID, env(pre+"ACCOUNT_SID"), file.AccountSID, env(EnvAccountSID)),
	}
	explicit := map[string]bool{}
	pick := func(field string, flag, fromFile CredentialRef) CredentialRef {
		name := pre + strings.ToUpper(field)
		switch {
		case flag != "":
			explicit[field] = true
			return flag
		case env(name) != "":
			explicit[field] = true
			return EnvRef(name)
		case fromFile != "":
			explicit[field] = true
			return fromFile
		}
		return EnvRef(name)
	}
	eff.APIKey = pick("api_key", flags.APIKey, file.APIKey)
	eff.APISecret = pick("api_secret", flags.APISecret, file.APISecret)
	eff.AuthToken = pick("auth_token", flags.AuthToken, file.AuthToken)

	if !r.ValidEdge(eff.Edge) {
		errs = append(errs, fmt.Errorf("%s: %w", pre+"EDGE", edgeError(r, eff.Edge)))
	}
	switch {
	case eff.AccountSID == "":
		errs = append(errs, fmt.Errorf("account_sid: not set: write account_sid in the profile or export %s or %s", pre+"ACCOUNT_SID", EnvAccountSID))
	case !accountSIDRe.MatchString(eff.AccountSID):
		// Flags and file were validated above, so the value came from the
		// environment; it is not printed in case a secret was exported
		// under the wrong name.
		errs = append(errs, fmt.Errorf("account_sid: the value of %s or %s is not an account SID (AC followed by 32 hex digits)", pre+"ACCOUNT_SID", EnvAccountSID))
	}

	out := Resolved{Profile: eff}
	key, keyErr := eff.APIKey.Resolve(env, readFile)
	secret, secretErr := eff.APISecret.Resolve(env, readFile)
	token, tokenErr := eff.AuthToken.Resolve(env, readFile)
	switch {
	case keyErr == nil && secretErr != nil:
		errs = append(errs, fmt.Errorf("api_secret: %w", secretErr))
	case keyErr == nil && !keySIDRe.MatchString(key.Reveal()):
		// A key SID is not secret, but a malformed one may be a secret
		// pasted into the wrong variable: do not print it.
		errs = append(errs, fmt.Errorf("api_key: the value of %s is not an API key SID (SK followed by 32 hex digits)", eff.APIKey))
	case keyErr == nil:
		out.APIKeySID, out.APISecret = key.Reveal(), secret
	case explicit["api_key"]:
		errs = append(errs, fmt.Errorf("api_key: %w", keyErr))
	case explicit["api_secret"]:
		errs = append(errs, fmt.Errorf("api_key: %w (api_secret is set, so the key SID is needed too)", keyErr))
	}
	keyConfigured := keyErr == nil || explicit["api_key"] || explicit["api_secret"]
	switch {
	case tokenErr == nil:
		out.AuthToken = token
	case explicit["auth_token"]:
		errs = append(errs, fmt.Errorf("auth_token: %w", tokenErr))
	case !keyConfigured:
		errs = append(errs, fmt.Errorf("no credentials: export %s and %s (an API key created in %s) or %s, or name references in the profile",
			pre+"API_KEY", pre+"API_SECRET", r, pre+"AUTH_TOKEN"))
	}
	if len(errs) > 0 {
		return fail(errs)
	}
	if !out.UsesAPIKey() {
		// Without a key the account SID is the Basic auth user name.
		out.Profile.APIKey, out.Profile.APISecret = "", ""
	}
	return out, nil
}

// pickRegion returns the flags' region over the file's, refusing a
// contradiction: a profile is one region's, and silently re-pointing it would
// send one region's credentials to another.
func pickRegion(fromFile, fromFlags Region) (Region, error) {
	s := string(fromFlags)
	if s == "" {
		s = string(fromFile)
	}
	if s == "" {
		return "", errors.New("region: not set: name one of " + strings.Join(Names(), ", "))
	}
	r, err := Parse(s)
	if err != nil {
		return "", fmt.Errorf("region: %w", err)
	}
	if fromFile != "" && fromFlags != "" {
		if f, err := Parse(string(fromFile)); err == nil && f != r {
			return "", fmt.Errorf("region: the flag says %s but the profile is for %s", r, f)
		}
	}
	return r, nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
