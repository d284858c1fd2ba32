package audit_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/voicedr/voicedr/internal/audit"
)

// FuzzVerifyExport feeds VerifyExport arbitrary files: it must never panic,
// and a report it calls OK must name no bad entry and count what it read.
func FuzzVerifyExport(f *testing.F) {
	fx := newFixture(f, 2)
	fx.appendN(f, 5)
	f.Add(exportOf(f, fx))
	f.Add([]byte(`{"format":"voicedr.audit/v1","public_keys":{},"checkpoints":[],"entries":[]}`))
	f.Add([]byte(`{"format":"voicedr.audit/v1","public_keys":{"x":"AAAA"},"checkpoints":[{"seq":-1,"hash":"","at":"2026-01-01T00:00:00Z","key_id":"x","signature":""}],"entries":[{"seq":0,"body":null}]}`))
	f.Add([]byte(`{"format":"voicedr.audit/v1","entries":[{"seq":1,"at":"2026-01-01T00:00:00Z","kind":"k","actor":"a","subject":"s","body":{"n":1e400},"prev":"","hash":""}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := audit.VerifyExport(bytes.NewReader(b))
		if err != nil {
			return
		}
		if rep.OK != (rep.FirstBad == nil) {
			t.Errorf("OK %v with FirstBad %+v", rep.OK, rep.FirstBad)
		}
		if rep.OK && rep.Entries != int(rep.Head) {
			t.Errorf("OK with %d entries but head %d", rep.Entries, rep.Head)
		}
		if rep.FirstBad != nil && strings.TrimSpace(rep.FirstBad.Reason) == "" {
			t.Error("bad entry without a reason")
		}
	})
}
