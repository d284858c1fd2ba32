package region_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/voicedr/voicedr/internal/region"
)

// TestSecretNeverPrints drives every common printer over a Secret and over a
// Resolved profile holding two, and checks the value never comes out.
func TestSecretNeverPrints(t *testing.T) {
	env := func(k string) string {
		return map[string]string{
			"TWILIO_ACCOUNT_SID": acct, "TWILIO_IE1_API_KEY": keySID,
			"TWILIO_IE1_API_SECRET": secretV, "TWILIO_IE1_AUTH_TOKEN": tokenV,
		}[k]
	}
	res, err := region.Resolve(region.Profile{Region: "ie1"}, region.Profile{}, env, nil)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	s := region.NewSecret(secretV)

	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, res), fmt.Sprintf(verb, &res))
	}
	out = append(out, fmt.Sprint(s, res), fmt.Sprintln(res))
	for _, v := range []any{s, res, &res, map[string]region.Secret{"k": s}, map[region.Secret]int{s: 1}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		out = append(out, string(b))
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("profile", "secret", s, "resolved", res, "ptr", &res, slog.Any("any", s), slog.Group("g", "s", s))
	}
	out = append(out, logs.String())

	all := strings.Join(out, "\n")
	for _, secret := range []string{secretV, tokenV, fmt.Sprintf("%x", secretV)} {
		if strings.Contains(all, secret) {
			t.Errorf("output reveals %q:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "[redacted]") {
		t.Errorf("output never says [redacted]:\n%s", all)
	}
	if got := s.Reveal(); got != secretV {
		t.Errorf("Reveal() = %q, want %q", got, secretV)
	}
}

func TestSecretZero(t *testing.T) {
	var s region.Secret
	if !s.IsZero() {
		t.Error("zero Secret: IsZero() = false, want true")
	}
	if got, want := s.String(), "[unset]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if region.NewSecret("x").IsZero() {
		t.Error(`NewSecret("x").IsZero() = true, want false`)
	}
}

func TestCredentialRefValidate(t *testing.T) {
	tests := []struct {
		ref     region.CredentialRef
		wantErr bool
	}{
		{"", false},
		{region.EnvRef("TWILIO_IE1_API_SECRET"), false},
		{region.FileRef("/run/secrets/ie1"), false},
		{"env:", true},
		{"env:A=B", true},
		{"file:", true},
		{"hunter2", true},
		{"ENV:X", true},
	}
	for _, tt := range tests {
		err := tt.ref.Validate()
		if (err != nil) != tt.wantErr {
			t.Errorf("CredentialRef(%q).Validate() = %v, want error: %v", tt.ref, err, tt.wantErr)
		}
		if err != nil && tt.ref == "hunter2" && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Validate() error %q repeats the inline value", err)
		}
	}
}
