package region_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/region"
)

const (
	acct     = "AC00000000000000000000000000000001"
	acct2    = "AC00000000000000000000000000000002"
	acct3    = "AC00000000000000000000000000000003"
	keySID   = "SK00000000000000000000000000000001"
	keySID2  = "SK00000000000000000000000000000002"
	secretV  = "s3cretValueNeverPrinted"
	tokenV   = "t0kenValueNeverPrinted"
	secretV2 = "otherSecretFromFile"
)

// secretEq lets go-cmp compare Secrets, whose field is unexported on purpose.
var secretEq = cmp.Comparer(func(a, b region.Secret) bool { return a.Reveal() == b.Reveal() })

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func filesOf(m map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		v, ok := m[p]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		return []byte(v), nil
	}
}

func TestResolveDefaultsFromEnvironment(t *testing.T) {
	env := envOf(map[string]string{
		"TWILIO_ACCOUNT_SID":    acct,
		"TWILIO_IE1_API_KEY":    keySID,
		"TWILIO_IE1_API_SECRET": secretV,
		"TWILIO_IE1_AUTH_TOKEN": tokenV,
		// twilio-go's own globals must be ignored.
		"TWILIO_REGION": "au1", "TWILIO_EDGE": "sydney", "TWILIO_AUTH_TOKEN": "globalTokenIgnored",
	})
	got, err := region.Resolve(region.Profile{Region: "IE1"}, region.Profile{}, env, nil)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	want := region.Resolved{
		Profile: region.Profile{
			Region: region.IE1, Edge: "dublin", AccountSID: acct,
			APIKey:    "env:TWILIO_IE1_API_KEY",
			APISecret: "env:TWILIO_IE1_API_SECRET",
			AuthToken: "env:TWILIO_IE1_AUTH_TOKEN",
		},
		APIKeySID: keySID,
		APISecret: region.NewSecret(secretV),
		AuthToken: region.NewSecret(tokenV),
	}
	if diff := cmp.Diff(want, got, secretEq); diff != "" {
		t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
	}
	if !got.UsesAPIKey() {
		t.Errorf("UsesAPIKey() = false, want true")
	}
}

func TestResolvePrecedence(t *testing.T) {
	file := region.Profile{
		Region: region.US1, Edge: "umatilla", AccountSID: acct2,
		APIKey: "file:/run/key", APISecret: "file:/run/secret", AuthToken: "env:FILE_TOKEN",
	}
	files := filesOf(map[string]string{"/run/key": keySID2 + "\n", "/run/secret": "  " + secretV2 + "\n"})
	tests := []struct {
		name  string
		flags region.Profile
		env   map[string]string
		want  region.Resolved
	}{{
		name: "file over defaults, global account is only a default",
		env:  map[string]string{"TWILIO_ACCOUNT_SID": acct, "FILE_TOKEN": tokenV},
		want: region.Resolved{
			Profile:   file,
			APIKeySID: keySID2, APISecret: region.NewSecret(secretV2), AuthToken: region.NewSecret(tokenV),
		},
	}, {
		name: "region environment over file",
		env: map[string]string{
			"TWILIO_US1_EDGE": "ashburn", "TWILIO_US1_ACCOUNT_SID": acct3,
			"TWILIO_US1_API_KEY": keySID, "TWILIO_US1_API_SECRET": secretV, "FILE_TOKEN": tokenV,
		},
		want: region.Resolved{
			Profile: region.Profile{
				Region: region.US1, Edge: "ashburn", AccountSID: acct3,
				APIKey: "env:TWILIO_US1_API_KEY", APISecret: "env:TWILIO_US1_API_SECRET", AuthToken: "env:FILE_TOKEN",
			},
			APIKeySID: keySID, APISecret: region.NewSecret(secretV), AuthToken: region.NewSecret(tokenV),
		},
	}, {
		name:  "flags over environment",
		flags: region.Profile{Edge: "sydney", AccountSID: acct, APIKey: "env:K", APISecret: "env:S", AuthToken: "env:T"},
		env: map[string]string{
			"TWILIO_US1_EDGE": "ashburn", "TWILIO_US1_ACCOUNT_SID": acct3,
			"TWILIO_US1_API_KEY": keySID2, "K": keySID, "S": secretV, "T": tokenV,
		},
		want: region.Resolved{
			Profile: region.Profile{
				Region: region.US1, Edge: "sydney", AccountSID: acct,
				APIKey: "env:K", APISecret: "env:S", AuthToken: "env:T",
			},
			APIKeySID: keySID, APISecret: region.NewSecret(secretV), AuthToken: region.NewSecret(tokenV),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := region.Resolve(file, tt.flags, envOf(tt.env), files)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, secretEq); diff != "" {
				t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveAuthTokenOnly(t *testing.T) {
	env := envOf(map[string]string{"TWILIO_ACCOUNT_SID": acct, "TWILIO_AU1_AUTH_TOKEN": tokenV})
	got, err := region.Resolve(region.Profile{Region: region.AU1}, region.Profile{}, env, nil)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	want := region.Resolved{
		Profile:   region.Profile{Region: region.AU1, Edge: "sydney", AccountSID: acct, AuthToken: "env:TWILIO_AU1_AUTH_TOKEN"},
		AuthToken: region.NewSecret(tokenV),
	}
	if diff := cmp.Diff(want, got, secretEq); diff != "" {
		t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
	}
	if got.UsesAPIKey() {
		t.Errorf("UsesAPIKey() = true, want false")
	}
}

func TestResolveErrors(t *testing.T) {
	base := map[string]string{"TWILIO_ACCOUNT_SID": acct, "TWILIO_IE1_AUTH_TOKEN": tokenV}
	// Without the token variable, which would win over a file's reference.
	acctOnly := map[string]string{"TWILIO_ACCOUNT_SID": acct}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		file  region.Profile
		flags region.Profile
		env   map[string]string
		// want lists substrings the error must contain.
		want []string
	}{
		{name: "inline secret", file: region.Profile{Region: "ie1", APISecret: region.CredentialRef(secretV)}, env: base,
			want: []string{"api_secret", "write env:NAME or file:PATH"}},
		{name: "inline token on flags", flags: region.Profile{Region: "ie1", AuthToken: region.CredentialRef(tokenV)}, env: base,
			want: []string{"flags", "auth_token", "write env:NAME or file:PATH"}},
		{name: "edge of another region", file: region.Profile{Region: "ie1", Edge: "ashburn"}, env: base,
			want: []string{"edge", `"ashburn"`, "use dublin"}},
		{name: "bad edge from environment", file: region.Profile{Region: "au1"},
			env:  map[string]string{"TWILIO_ACCOUNT_SID": acct, "TWILIO_AU1_AUTH_TOKEN": tokenV, "TWILIO_AU1_EDGE": "dublin"},
			want: []string{"TWILIO_AU1_EDGE", "use sydney"}},
		{name: "no region", env: base, want: []string{"region: not set"}},
		{name: "unknown region", file: region.Profile{Region: "eu9"}, env: base, want: []string{"unknown region"}},
		{name: "regions disagree", file: region.Profile{Region: "ie1"}, flags: region.Profile{Region: "au1"}, env: base,
			want: []string{"flag says au1", "profile is for ie1"}},
		{name: "no account", file: region.Profile{Region: "ie1"}, env: map[string]string{"TWILIO_IE1_AUTH_TOKEN": tokenV},
			want: []string{"account_sid: not set", "TWILIO_IE1_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"}},
		{name: "malformed account", file: region.Profile{Region: "ie1", AccountSID: "AC123"}, env: base,
			want: []string{"account_sid", "32 hex digits"}},
		{name: "secret exported as the account", file: region.Profile{Region: "ie1"},
			env:  map[string]string{"TWILIO_ACCOUNT_SID": secretV, "TWILIO_IE1_AUTH_TOKEN": tokenV},
			want: []string{"account_sid", "TWILIO_ACCOUNT_SID", "not an account SID"}},
		{name: "no credentials", file: region.Profile{Region: "ie1"}, env: map[string]string{"TWILIO_ACCOUNT_SID": acct},
			want: []string{"no credentials", "TWILIO_IE1_API_KEY", "TWILIO_IE1_API_SECRET", "TWILIO_IE1_AUTH_TOKEN"}},
		{name: "key without secret", file: region.Profile{Region: "ie1"}, env: with(map[string]string{"TWILIO_IE1_API_KEY": keySID}),
			want: []string{"api_secret", "env:TWILIO_IE1_API_SECRET is not set"}},
		{name: "secret without key", file: region.Profile{Region: "ie1"}, env: with(map[string]string{"TWILIO_IE1_API_SECRET": secretV}),
			want: []string{"api_key", "env:TWILIO_IE1_API_KEY is not set", "key SID is needed"}},
		{name: "secret in the key variable", file: region.Profile{Region: "ie1"},
			env:  with(map[string]string{"TWILIO_IE1_API_KEY": secretV2, "TWILIO_IE1_API_SECRET": secretV}),
			want: []string{"api_key", "env:TWILIO_IE1_API_KEY", "not an API key SID"}},
		{name: "configured token unset", file: region.Profile{Region: "ie1", AuthToken: "env:MISSING_TOKEN"}, env: acctOnly,
			want: []string{"auth_token", "env:MISSING_TOKEN is not set"}},
		{name: "missing file", file: region.Profile{Region: "ie1", AuthToken: "file:/nope/token"}, env: acctOnly,
			want: []string{"auth_token", "file:/nope/token", "not exist"}},
		{name: "empty file", file: region.Profile{Region: "ie1", AuthToken: "file:/empty"}, env: acctOnly,
			want: []string{"auth_token", "file:/empty", "empty"}},
		{name: "malformed references", file: region.Profile{Region: "ie1", APIKey: "env:", APISecret: "file:"}, env: base,
			want: []string{"api_key", `"env:"`, "api_secret", `"file:"`}},
	}
	files := filesOf(map[string]string{"/empty": "\n"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := region.Resolve(tt.file, tt.flags, envOf(tt.env), files)
			if err == nil {
				t.Fatal("Resolve succeeded, want an error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			for _, s := range []string{secretV, tokenV, secretV2} {
				if strings.Contains(msg, s) {
					t.Errorf("error %q reveals a secret", msg)
				}
			}
		})
	}
}

func TestResolveFileErrorIsWrapped(t *testing.T) {
	env := envOf(map[string]string{"TWILIO_ACCOUNT_SID": acct})
	_, err := region.Resolve(region.Profile{Region: "ie1", AuthToken: "file:/nope"}, region.Profile{}, env, filesOf(nil))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false, want true", err)
	}
}

func TestProfileValidate(t *testing.T) {
	ok := []region.Profile{
		{Region: "us1"},
		{Region: "US1", Edge: "umatilla", AccountSID: acct, APIKey: "env:K", APISecret: "file:/s", AuthToken: "env:T"},
		{Region: "au1", Edge: "sydney"},
	}
	for _, p := range ok {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", p, err)
		}
	}
	bad := []region.Profile{
		{Region: ""},
		{Region: "ie1", Edge: "roaming"},
		{Region: "us1", Edge: "roaming"},
		{Region: "ie1", AuthToken: "plain"},
	}
	for _, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v.Validate() = nil, want an error", p)
		}
	}
}

func TestProfileString(t *testing.T) {
	env := envOf(map[string]string{"TWILIO_ACCOUNT_SID": acct, "TWILIO_IE1_API_KEY": keySID, "TWILIO_IE1_API_SECRET": secretV})
	r, err := region.Resolve(region.Profile{Region: "ie1"}, region.Profile{}, env, nil)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got, want := r.String(), "ie1 via dublin (api_key env:TWILIO_IE1_API_KEY)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
