package twilio

import (
	"context"
	"slices"
	"time"

	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"
	"golang.org/x/sync/errgroup"

	"github.com/voicedr/voicedr/internal/region"
)

// Status is a region's health as voicedr's credentials see it.
type Status string

// Health statuses.
const (
	StatusUp       Status = "up"
	StatusDegraded Status = "degraded"
	StatusDown     Status = "down"
)

// ProbeOptions tune Probe. Zero values mean the defaults.
type ProbeOptions struct {
	// Samples is the number of requests (default 3).
	Samples int
	// DegradedLatency is the median latency above which an answering
	// region counts as degraded (default 2s).
	DegradedLatency time.Duration
}

// Health is the outcome of a Probe.
type Health struct {
	Region region.Region
	Status Status
	// Samples were attempted, Failures of them failed.
	Samples, Failures int
	// Latencies of the samples that got an HTTP response (an error status
	// included: it is the region answering), in order; Median and Max
	// summarise them. They time the HTTP exchange only, not waits for the
	// process's own rate and concurrency limits.
	Latencies   []time.Duration
	Median, Max time.Duration
	// Err is the last sample's classified error, nil when all succeeded.
	Err error
	// At is when the probe started.
	At time.Time
}

// Probe measures a region with Samples list requests for one incoming phone
// number (GET .../IncomingPhoneNumbers.json?PageSize=1: it works with every
// API key type, unlike /Accounts, and costs Twilio one indexed read). Each
// sample is one attempt — no retries — so that failures show instead of
// being absorbed. Thresholds:
//
//   - down: every sample failed, or Twilio rejected the credentials (the
//     region is unusable to voicedr however fast it answers; the probe stops
//     at the first rejection), or ctx ended;
//   - degraded: some samples failed, or the median latency of the samples
//     that got a response exceeds DegradedLatency (the median, so that one
//     slow sample does not flap the status);
//   - up: otherwise.
//
// Latency is measured on the Pool's clock.
func Probe(ctx context.Context, c *Client, opts ProbeOptions) Health {
	if opts.Samples <= 0 {
		opts.Samples = 3
	}
	if opts.DegradedLatency <= 0 {
		opts.DegradedLatency = 2 * time.Second
	}
	clock := c.pool.opts.Clock
	h := Health{Region: c.region, At: clock.Now()}
	down := false
	for i := 0; i < opts.Samples && !down; i++ {
		h.Samples++
		var answered []time.Duration
		sctx := withCallOptions(ctx, callOptions{
			maxAttempts: 1,
			observe: func(d time.Duration, err error) {
				if err == nil {
					answered = append(answered, d)
				}
			},
		})
		params := (&apiv2010.ListIncomingPhoneNumberParams{}).SetPageSize(1).SetLimit(1)
		_, err := c.API(sctx).ListIncomingPhoneNumber(params)
		if len(answered) > 0 {
			h.Latencies = append(h.Latencies, answered[len(answered)-1])
		}
		if err != nil {
			h.Failures++
			h.Err = c.Classify("ListIncomingPhoneNumber", err)
			kind := KindOf(h.Err)
			down = kind == KindAuth || kind == KindCanceled
		}
	}
	if n := len(h.Latencies); n > 0 {
		sorted := slices.Sorted(slices.Values(h.Latencies))
		h.Median, h.Max = sorted[n/2], sorted[n-1]
		if n%2 == 0 {
			h.Median = (sorted[n/2-1] + sorted[n/2]) / 2
		}
	}
	switch {
	case down || h.Failures == h.Samples:
		h.Status = StatusDown
	case h.Failures > 0 || h.Median > opts.DegradedLatency:
		h.Status = StatusDegraded
	default:
		h.Status = StatusUp
	}
	return h
}

// ProbeAll probes every region of the set concurrently and returns the
// results in the set's order.
func ProbeAll(ctx context.Context, s *Set, opts ProbeOptions) []Health {
	clients := s.Clients()
	out := make([]Health, len(clients))
	var g errgroup.Group
	for i, c := range clients {
		g.Go(func() error {
			out[i] = Probe(ctx, c, opts) // each goroutine owns its slot
			return nil
		})
	}
	_ = g.Wait() // Probe reports failures in Health, never as an error
	return out
}
