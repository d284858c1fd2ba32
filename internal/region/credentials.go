package region

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// CredentialRef says where a credential comes from, never what it is:
// "env:NAME" reads environment variable NAME, "file:PATH" reads a file (its
// surrounding whitespace trimmed, so a trailing newline is harmless). Secrets
// are never written inline in a workbook or on a command line, where they
// would end up in git history, shell history and process listings.
type CredentialRef string

// Reference prefixes.
const (
	envPrefix  = "env:"
	filePrefix = "file:"
)

// EnvRef is the reference to environment variable name.
func EnvRef(name string) CredentialRef { return CredentialRef(envPrefix + name) }

// FileRef is the reference to the file at path.
func FileRef(path string) CredentialRef { return CredentialRef(filePrefix + path) }

// IsZero reports whether the reference is unset.
func (r CredentialRef) IsZero() bool { return r == "" }

// errInline is returned for a value that is not a reference. Its text never
// includes the value: a non-reference value is most likely the secret itself.
var errInline = errors.New("not a credential reference (inline secrets are not accepted): write env:NAME or file:PATH")

// Validate checks the reference's form without resolving it. The empty
// reference is valid and means "not configured".
func (r CredentialRef) Validate() error {
	switch s := string(r); {
	case s == "":
		return nil
	case strings.HasPrefix(s, envPrefix):
		name := strings.TrimPrefix(s, envPrefix)
		if name == "" || strings.ContainsAny(name, "= \t\n") {
			return fmt.Errorf("reference %q: want env:NAME with a variable name", s)
		}
		return nil
	case strings.HasPrefix(s, filePrefix):
		if strings.TrimPrefix(s, filePrefix) == "" {
			return fmt.Errorf("reference %q: want file:PATH with a path", s)
		}
		return nil
	}
	return errInline
}

// Resolve reads the value the reference points at. Errors name the
// reference (which is not secret) and never the value.
func (r CredentialRef) Resolve(env func(string) string, readFile func(string) ([]byte, error)) (Secret, error) {
	if err := r.Validate(); err != nil {
		return Secret{}, err
	}
	s := string(r)
	if name, ok := strings.CutPrefix(s, envPrefix); ok {
		v := strings.TrimSpace(env(name))
		if v == "" {
			return Secret{}, fmt.Errorf("%s is not set: export %s or point the field at another env:NAME or file:PATH", s, name)
		}
		return NewSecret(v), nil
	}
	path := strings.TrimPrefix(s, filePrefix)
	b, err := readFile(path)
	if err != nil {
		// os errors carry the path and the cause, not the content.
		return Secret{}, fmt.Errorf("%s: %w", s, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return Secret{}, fmt.Errorf("%s: the file is empty", s)
	}
	return NewSecret(v), nil
}

// redacted is what every printer shows instead of a secret's value.
const redacted = "[redacted]"

// Secret holds a resolved credential (API key secret, auth token). The value
// is unexported and every way Go code commonly prints a value — fmt verbs,
// %#v, encoding/json, YAML marshalers, log/slog — shows "[redacted]" (or
// "[unset]" for an empty secret, which is safe to tell and helps debugging).
// The only way to the value is Reveal, so a grep for Reveal finds every place
// a secret leaves this type.
type Secret struct{ v string }

// NewSecret wraps a credential value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret value. Call it only where the value is handed to
// the party that needs it (the HTTP client's Basic auth, a signature).
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty (not configured).
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) mask() string {
	if s.v == "" {
		return "[unset]"
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.mask() }

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return "region.Secret(" + s.mask() + ")" }

// Format implements fmt.Formatter so that no verb (%d, %x, %+v ...) falls
// through to fmt's reflection, which would print the unexported field.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, s.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", s.mask())
	default:
		fmt.Fprint(f, s.mask())
	}
}

// MarshalJSON implements json.Marshaler; the JSON never carries the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.mask() + `"`), nil }

// MarshalText implements encoding.TextMarshaler (map keys, XML, text encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// MarshalYAML implements the yaml marshaler interface of gopkg.in/yaml and
// sigs.k8s.io/yaml without importing either.
func (s Secret) MarshalYAML() (any, error) { return s.mask(), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }
