package sampleapp

import (
	"fmt"
	"github.com/voicedr/voicedr/internal/promreg"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicedr/voicedr/internal/region"
)

// metrics are the voicedr_sampleapp_* collectors. They carry a region label
// because the demo and tests run one app per region in one process with one
// registry, and a gate asks "fallback hits in ie1", not "in this process".
type metrics struct {
	requests     *prometheus.CounterVec
	fallbackHits *prometheus.CounterVec
	sigFailures  *prometheus.CounterVec
	statuses     *prometheus.CounterVec
	probes       *prometheus.CounterVec
	duration     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, r region.Region) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voicedr_sampleapp_requests_total",
			Help: "Requests the sample app answered, by region, endpoint and outcome; probes excluded.",
		}, []string{"region", "endpoint", "outcome"}),
		fallbackHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voicedr_sampleapp_fallback_hits_total",
			Help: "Validly signed requests to the fallback URL, by region and the ErrorCode Twilio sent; probes excluded.",
		}, []string{"region", "error_code"}),
		sigFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voicedr_sampleapp_signature_failures_total",
			Help: "Requests refused for a missing or invalid X-Twilio-Signature, by region; probes excluded.",
		}, []string{"region"}),
		statuses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voicedr_sampleapp_status_callbacks_total",
			Help: "Status callbacks with a final CallStatus, by region and status; probes excluded.",
		}, []string{"region", "call_status"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "voicedr_sampleapp_probe_requests_total",
			Help: "Requests marked with X-Voicedr-Probe: 1, answered but not counted as traffic, by region and endpoint.",
		}, []string{"region", "endpoint"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "voicedr_sampleapp_request_duration_seconds",
			Help: "Time the sample app took to answer, by region and endpoint; probes excluded.",
			// Up to and past Twilio's 15 s webhook timer, where slow turns into 11205.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
		}, []string{"region", "endpoint"}),
	}
	if reg != nil {
		var err error
		m.requests, err = promreg.Register(reg, m.requests)
		if err == nil {
			m.fallbackHits, err = promreg.Register(reg, m.fallbackHits)
		}
		if err == nil {
			m.sigFailures, err = promreg.Register(reg, m.sigFailures)
		}
		if err == nil {
			m.statuses, err = promreg.Register(reg, m.statuses)
		}
		if err == nil {
			m.probes, err = promreg.Register(reg, m.probes)
		}
		if err == nil {
			m.duration, err = promreg.Register(reg, m.duration)
		}
		if err != nil {
			return nil, fmt.Errorf("register sample app metrics: %w", err)
		}
	}
	// A series that exists at zero lets a query such as rate(...[5m]) answer
	// 0 rather than "no data" before the first failure.
	m.sigFailures.WithLabelValues(string(r))
	return m, nil
}

// record counts a finished request, unless it was a probe: probes are not
// business traffic and must not move what gates read.
func (a *App) record(endpoint, outcome string, probe bool, took time.Duration) {
	if probe {
		a.metrics.probes.WithLabelValues(string(a.region), endpoint).Inc()
		a.mu.Lock()
		a.counts.Probes[endpoint]++
		a.mu.Unlock()
		return
	}
	reg := string(a.region)
	a.metrics.requests.WithLabelValues(reg, endpoint, outcome).Inc()
	a.metrics.duration.WithLabelValues(reg, endpoint).Observe(took.Seconds())
	if outcome == OutcomeForbidden {
		a.metrics.sigFailures.WithLabelValues(reg).Inc()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counts.Requests[endpoint] == nil {
		a.counts.Requests[endpoint] = map[string]int64{}
	}
	a.counts.Requests[endpoint][outcome]++
	if outcome == OutcomeForbidden {
		a.counts.SignatureFailures++
	}
}
