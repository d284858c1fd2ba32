package twilioemu

import (
	"context"
	"sync"

	"golang.org/x/time/rate"

	"github.com/voicedr/voicedr/internal/region"
)

// Calls created with the Calls API leave at the account's calls-per-second
// rate (Twilio's default: 1) and wait "queued" beyond it. A call to a number
// the account owns then produces a second, inbound leg processed by that
// number's routing, exactly as a caller's would: this is how voicedr proves a
// routing change with a test call.

type queuedCall struct {
	region region.Region
	sid    string
}

// callQueue is the FIFO of queued API calls and its dispatcher's wake-up.
type callQueue struct {
	mu      sync.Mutex
	pending []queuedCall
	wake    chan struct{}
	limiter *rate.Limiter
	wg      sync.WaitGroup
}

func (e *Emulator) startCallQueue() {
	q := &e.queue
	q.wake = make(chan struct{}, 1)
	cps := e.opts.CallsPerSecond
	switch {
	case cps < 0:
		return // calls stay queued: for inspecting queued records
	case cps == 0:
		cps = 1
	}
	q.limiter = rate.NewLimiter(rate.Limit(cps), 1)
	q.wg.Add(1)
	go e.dispatchCalls()
}

// enqueueAPICall queues a created call; it never blocks (the caller holds
// the account lock).
func (e *Emulator) enqueueAPICall(r region.Region, sid string) {
	q := &e.queue
	q.mu.Lock()
	q.pending = append(q.pending, queuedCall{r, sid})
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// dispatchCalls releases queued calls at the account's rate until Close.
func (e *Emulator) dispatchCalls() {
	q := &e.queue
	defer q.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-e.done; cancel() }()
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		next := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		if err := q.limiter.Wait(ctx); err != nil {
			return
		}
		e.connectAPICall(ctx, next)
	}
}

// connectAPICall puts a queued call through: to an owned number it becomes
// that number's inbound call; to anyone else the callee simply answers.
func (e *Emulator) connectAPICall(ctx context.Context, qc queuedCall) {
	e.mu.Lock()
	cr, ok := e.acct.regions[qc.region].calls.get(qc.sid)
	if !ok || cr.status != "queued" {
		e.mu.Unlock()
		return
	}
	now := e.clock.Now().UTC()
	cr.status, cr.start, cr.updated = "in-progress", now, now
	to, from := cr.to, cr.from
	_, owned := e.acct.byE164[to]
	e.mu.Unlock()
	status := "completed"
	if owned {
		out, err := e.PlaceInboundCall(ctx, InboundCall{To: to, From: from, parent: qc.sid})
		if err != nil || out.Outcome == OutcomeRejected || out.Outcome == OutcomeFailed {
			status = "failed"
		}
	}
	e.mu.Lock()
	end := e.clock.Now().UTC()
	cr.status, cr.end, cr.updated = status, end, end
	cr.duration = int(end.Sub(cr.start).Seconds())
	e.mu.Unlock()
}
