package hooks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/workbook"
)

func TestSelect(t *testing.T) {
	hs := []workbook.Hook{
		{Name: "all-before", When: "before_flip"},
		{Name: "support-after", Flow: "support", When: "after_flip"},
		{Name: "billing-before", Flow: "billing", When: "before_flip"},
		{Name: "support-before", Flow: "support", When: "before_flip"},
		{Name: "all-after-cohort", When: "after_cohort"},
	}
	names := func(hs []workbook.Hook) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Name)
		}
		return out
	}
	for _, tc := range []struct {
		flow, when string
		want       []string
	}{
		{"support", "before_flip", []string{"all-before", "support-before"}},
		{"billing", "before_flip", []string{"all-before", "billing-before"}},
		{"support", "after_flip", []string{"support-after"}},
		{"billing", "after_flip", nil},
		{"other", "after_cohort", []string{"all-after-cohort"}},
		{"support", "after_rollback", nil},
	} {
		if diff := cmp.Diff(tc.want, names(hooks.Select(hs, tc.flow, tc.when))); diff != "" {
			t.Errorf("Select(%s, %s) (-want +got):\n%s", tc.flow, tc.when, diff)
		}
	}
	if got := hooks.Select(nil, "support", "before_flip"); got != nil {
		t.Errorf("Select(nil) = %v, want nil", got)
	}
}

func TestBadInputIsAnErrorNotAPanic(t *testing.T) {
	good := workbook.Hook{
		Name: "h", Type: "http", When: "after_flip", URL: "https://app.example.com/switch",
		Timeout: workbook.Duration(time.Second), Idempotent: true,
	}
	edit := func(f func(*workbook.Hook)) workbook.Hook { h := good; f(&h); return h }
	for _, tc := range []struct {
		name string
		hook workbook.Hook
		call hooks.Call
		want string
	}{
		{"empty hook", workbook.Hook{}, call, "no name"},
		{"no run id", good, hooks.Call{}, "no run id"},
		{"zero timeout", edit(func(h *workbook.Hook) { h.Timeout = 0 }), call, "no timeout"},
		{"negative timeout", edit(func(h *workbook.Hook) { h.Timeout = -1 }), call, "no timeout"},
		{"not idempotent", edit(func(h *workbook.Hook) { h.Idempotent = false }), call, "idempotent: true"},
		{"empty url", edit(func(h *workbook.Hook) { h.URL = "" }), call, "no url"},
		{"relative url", edit(func(h *workbook.Hook) { h.URL = "/switch" }), call, "not an absolute https URL"},
		{"ftp url", edit(func(h *workbook.Hook) { h.URL = "ftp://app.example.com/x" }), call, "not an absolute https URL"},
		{"bad escape", edit(func(h *workbook.Hook) { h.URL = "https://app.example.com/%zz" }), call, "not an absolute https URL"},
		{"bad reference", edit(func(h *workbook.Hook) { h.URL = "env:" }), call, "env:NAME"},
		{"empty command", edit(func(h *workbook.Hook) { h.Type, h.URL = "command", "" }), call, "no command"},
		{"empty argv0", edit(func(h *workbook.Hook) { h.Type, h.Command = "command", []string{""} }), call, "no command"},
		{"unknown type", edit(func(h *workbook.Hook) { h.Type = "grpc" }), call, `type "grpc"`},
		{"wrong when", good, hooks.Call{RunID: "r", When: "before_flip"}, "runs after_flip but was called before_flip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := (&hooks.Runner{}).Run(t.Context(), tc.hook, tc.call)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: error %v, want one containing %q", err, tc.want)
			}
			if res.OK || res.Err != err.Error() {
				t.Errorf("result = %+v, want OK false and the error text", res)
			}
		})
	}
}
