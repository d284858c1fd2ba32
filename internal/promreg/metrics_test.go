package promreg_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicedr/voicedr/internal/promreg"
)

func TestRegisterReusesTheRegisteredCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "voicedr_test_total", Help: "test"}
	a, err := promreg.Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	b, err := promreg.Register(reg, prometheus.NewCounter(opts))
	if err != nil || a != b {
		t.Errorf("second registration: %v, same collector %v", err, a == b)
	}
	if _, err := promreg.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "voicedr_test_total", Help: "other"})); err == nil {
		t.Errorf("a different collector under the same name was accepted")
	}
}
