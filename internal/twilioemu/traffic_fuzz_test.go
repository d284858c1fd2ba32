package twilioemu_test

import (
	"testing"

	"github.com/voicedr/voicedr/internal/twilioemu"
)

func FuzzParseTraffic(f *testing.F) {
	f.Add([]byte(`{"version":1,"calls_per_second":20,"numbers":{"share":0.25},"max_calls":100}`))
	f.Add([]byte(`{"version":1,"calls_per_second":5,"numbers":{"list":["+14155550100"]},"for":"10m","duration":"30s"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := twilioemu.ParseTraffic(b)
		if err != nil {
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("ParseTraffic accepted what Validate rejects: %v", err)
		}
		if tr.MaxCalls <= 0 && tr.For <= 0 {
			t.Fatalf("an unbounded traffic document was accepted: %s", b)
		}
	})
}
