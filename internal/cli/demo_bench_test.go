package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// demoLimit is issue 7's bound: the demo runs a tabletop drill of a
// primary outage on the seeded account within two minutes.
const demoLimit = 2 * time.Minute

// BenchmarkDemo runs `voicedr demo` end to end (account generation,
// readiness, standby provisioning, the tabletop drill and its report) and
// prints its duration against the two-minute bound.
func BenchmarkDemo(b *testing.B) {
	for b.Loop() {
		var out bytes.Buffer
		start := time.Now()
		code := Run(context.Background(), []string{"demo"}, &out, &out, func(string) string { return "" })
		took := time.Since(start)
		if code != 0 || !strings.Contains(out.String(), "Report: ") {
			b.Fatalf("demo exit %d\n%s", code, out.String())
		}
		b.ReportMetric(took.Seconds(), "s/demo")
		b.ReportMetric(took.Seconds()/demoLimit.Seconds(), "x_limit")
		b.Logf("demo: %s, %.2f× the %s limit", took.Round(100*time.Millisecond), took.Seconds()/demoLimit.Seconds(), demoLimit)
	}
}
