package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The server's metrics, computed at scrape time from what it already
// keeps (latest probe, latest readiness, cached run status), so a scrape
// costs Twilio nothing.
var (
	descRegionUp = prometheus.NewDesc("voicedr_region_up",
		"Region health from the latest probe: 1 up, 0.5 degraded, 0 down.", []string{"region"}, nil)
	descRegionLatency = prometheus.NewDesc("voicedr_region_probe_median_seconds",
		"Median latency of the latest region probe.", []string{"region"}, nil)
	descGaps = prometheus.NewDesc("voicedr_readiness_gaps",
		"Standby readiness gaps of a flow by severity, from the latest check.", []string{"flow", "severity"}, nil)
	descFlowReady = prometheus.NewDesc("voicedr_readiness_ready",
		"1 when the flow's standby is ready (no gap of severity error).", []string{"flow"}, nil)
	descRunActions = prometheus.NewDesc("voicedr_run_actions",
		"A run's actions by their last ledger step (pending, intended, applied, routed, committed, rolled_back, failed).", []string{"run", "state"}, nil)
	descCohortActions = prometheus.NewDesc("voicedr_cohort_actions",
		"A cohort's actions by their last ledger step.", []string{"run", "cohort", "state"}, nil)
	descRunActive = prometheus.NewDesc("voicedr_runs_active",
		"Runs executing in this server now.", nil, nil)
	descGateValue = prometheus.NewDesc("voicedr_gate_value",
		"A cohort gate's latest value of each signal.", []string{"run", "cohort", "signal"}, nil)
	descGateSample = prometheus.NewDesc("voicedr_gate_sample",
		"How many calls (or points) a gate's latest value rests on.", []string{"run", "cohort", "signal"}, nil)
	descDecisionsOpen = prometheus.NewDesc("voicedr_decisions_open",
		"Failover decisions still open.", nil, nil)
)

type collector struct{ s *Server }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRegionUp, descRegionLatency, descGaps, descFlowReady, descRunActions,
		descCohortActions, descRunActive, descGateValue, descGateSample, descDecisionsOpen} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	s.mu.Lock()
	regions, flows := s.regions, s.flows
	var active []string
	for _, id := range s.active {
		if id != "" {
			active = append(active, id)
		}
	}
	views := make(map[string]*runView, len(s.runs))
	for id, v := range s.runs {
		views[id] = v
	}
	s.mu.Unlock()

	for _, r := range regions {
		up := 0.0
		switch r.Status {
		case "up":
			up = 1
		case "degraded":
			up = 0.5
		}
		ch <- prometheus.MustNewConstMetric(descRegionUp, prometheus.GaugeValue, up, r.Region)
		ch <- prometheus.MustNewConstMetric(descRegionLatency, prometheus.GaugeValue, r.MedianMS/1000, r.Region)
	}
	for _, f := range flows {
		bySev := map[string]float64{"error": 0, "warning": 0}
		for _, g := range f.Gaps {
			bySev[g.Severity]++
		}
		for sev, n := range bySev {
			ch <- prometheus.MustNewConstMetric(descGaps, prometheus.GaugeValue, n, f.Flow, sev)
		}
		ready := 0.0
		if f.Ready {
			ready = 1
		}
		ch <- prometheus.MustNewConstMetric(descFlowReady, prometheus.GaugeValue, ready, f.Flow)
	}
	ch <- prometheus.MustNewConstMetric(descRunActive, prometheus.GaugeValue, float64(len(active)))

	// Runs executing here are always exported (their status is computed
	// if no one has asked yet); others while their status is cached.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range active {
		if _, err := s.runDetail(ctx, id); err == nil {
			views[id] = s.view(id)
		}
	}
	for id, v := range views {
		v.mu.Lock()
		d := v.detail
		v.mu.Unlock()
		if d == nil {
			continue
		}
		for step, n := range d.Status.Steps {
			ch <- prometheus.MustNewConstMetric(descRunActions, prometheus.GaugeValue, float64(n), id, string(step))
		}
		for _, cs := range d.Status.Cohorts {
			for step, n := range cs.Steps {
				ch <- prometheus.MustNewConstMetric(descCohortActions, prometheus.GaugeValue, float64(n), id, cs.Name, string(step))
			}
		}
		for _, g := range d.Gates {
			last := map[string]int{}
			for i, m := range g.Series {
				last[m.Signal] = i
			}
			for sig, i := range last {
				m := g.Series[i]
				ch <- prometheus.MustNewConstMetric(descGateValue, prometheus.GaugeValue, m.Value, id, g.Cohort, sig)
				ch <- prometheus.MustNewConstMetric(descGateSample, prometheus.GaugeValue, float64(m.Sample), id, g.Cohort, sig)
			}
		}
	}
	if n, err := s.openDecisions(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(descDecisionsOpen, prometheus.GaugeValue, float64(n))
	} else {
		s.log.Warn("metrics: count open decisions", "err", err)
	}
}
