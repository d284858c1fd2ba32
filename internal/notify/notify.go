// Package notify announces decision steps and run progress to the workbook's
// notification targets: Slack incoming webhooks, PagerDuty Events API v2 and
// generic JSON webhooks. Every message carries the signed audit head, so a
// reader can later prove the audit log was not rewritten after it was sent.
//
// Notifying never blocks the decision it reports on: Notify only appends to
// a bounded per-target queue, and a worker per target delivers with retries.
// When a queue is full the oldest queued message is dropped (the newest
// carries the current state and the newest audit head, which supersedes the
// older ones), and the drop is logged and counted.
//
// A target's URL is a secret (Slack and webhook URLs embed their token,
// PagerDuty's carries the routing key), so it is resolved from its reference
// only when sending, and no log line, error or statistic carries it: targets
// are named by their workbook name.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/voicedr/voicedr/internal/workbook"
)

// Severities a Message may carry.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityError    = "error"
	SeverityCritical = "critical"
)

// Target types, as written in the workbook.
const (
	TypeSlack     = "slack"
	TypePagerDuty = "pagerduty"
	TypeWebhook   = "webhook"
)

// AuditHead is a signed checkpoint of the audit chain's head.
type AuditHead struct {
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
	KeyID string `json:"key_id"`
	// Signature is the ed25519 signature, standard base64.
	Signature string `json:"signature"`
}

// Message is one announcement, sent to every target.
type Message struct {
	// Event names what happened: decision.detection, decision.approval,
	// run.cohort_committed, run.rolled_back, ... An event ending in
	// ".resolved" or ".completed" resolves the PagerDuty incident with the
	// same DedupKey instead of triggering one.
	Event string
	// Severity is info, warning, error or critical.
	Severity   string
	Summary    string // one line for humans
	Flow       string
	DecisionID string
	RunID      string
	Fields     map[string]string // key facts, shown as fields
	Link       string            // dashboard URL, optional
	AuditHead  *AuditHead        // published with each notification
	// DedupKey groups PagerDuty events into one incident; when empty the
	// decision ID, else the run ID, is used.
	DedupKey string
	At       time.Time // zero means Notifier.Now() at Notify
}

// Retry tunes redelivery of a failed send. A send is retried after a
// network error, a 5xx, 408 or 429 answer; any other non-2xx answer gives up
// at once, since sending the same request again cannot succeed.
type Retry struct {
	// Attempts is the total number of tries, first included (default 5).
	Attempts int
	// Base is the backoff before the second try, doubling after each
	// further one up to Max (defaults 500ms and 30s). The wait is drawn
	// uniformly from [0, backoff] ("full jitter"), so targets recovering
	// from an outage are not hit in lockstep. A Retry-After answer header
	// is honoured instead, up to MaxRetryAfter.
	Base, Max time.Duration
}

// MaxRetryAfter bounds how long a Retry-After header can hold a target's
// queue: a longer wait is cut to this.
const MaxRetryAfter = 5 * time.Minute

// Defaults for the zero Notifier fields.
const (
	DefaultAttempts  = 5
	DefaultBase      = 500 * time.Millisecond
	DefaultMax       = 30 * time.Second
	DefaultQueueSize = 256
	DefaultTimeout   = 10 * time.Second
)

// Notifier delivers messages to Targets. Set the fields, then Start, Notify
// any number of times, and Close. Fields must not change after first use.
type Notifier struct {
	Targets []workbook.Notification
	// Getenv and ReadFile resolve the targets' URL references (default
	// os.Getenv and os.ReadFile). A reference is resolved at each send, so
	// a rotated URL is picked up without a restart.
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	// HTTP sends the requests (default: a client with no other settings).
	// Redirects are never followed: a redirect would resend the body, and
	// perhaps the token, somewhere the workbook did not name.
	HTTP   *http.Client
	Logger *slog.Logger
	Retry  Retry
	// QueueSize bounds each target's queue of undelivered messages
	// (default 256).
	QueueSize int
	// Timeout bounds each HTTP attempt (default 10s), so a receiver that
	// hangs delays its own queue only.
	Timeout time.Duration
	Now     func() time.Time
	// Sleep waits between attempts; it returns early with ctx's error.
	Sleep func(ctx context.Context, d time.Duration) error

	once    sync.Once
	client  *http.Client
	closing chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	targets []*target
	started bool
	closed  bool
	cancel  context.CancelFunc
}

// target is one workbook target with its queue and counters, guarded by
// Notifier.mu.
type target struct {
	cfg   workbook.Notification
	queue []Message
	wake  chan struct{} // capacity 1: "the queue may have grown"
	stats TargetStats
}

// Stats counts what happened to messages, in total and by target name.
type Stats struct {
	Sent     int64 // delivered (2xx)
	Failed   int64 // given up: permanent error or attempts exhausted
	Dropped  int64 // never attempted: queue full, or still queued at Close
	ByTarget map[string]TargetStats
}

// TargetStats are one target's counters.
type TargetStats struct {
	Type    string
	Sent    int64
	Failed  int64
	Dropped int64
	Queued  int
	// LastError is the last give-up reason (redacted; never the URL).
	LastError string
}

func (n *Notifier) init() {
	n.once.Do(func() {
		if n.Getenv == nil {
			n.Getenv = os.Getenv
		}
		if n.ReadFile == nil {
			n.ReadFile = os.ReadFile
		}
		if n.Logger == nil {
			n.Logger = slog.New(slog.DiscardHandler)
		}
		if n.Retry.Attempts <= 0 {
			n.Retry.Attempts = DefaultAttempts
		}
		if n.Retry.Base <= 0 {
			n.Retry.Base = DefaultBase
		}
		if n.Retry.Max <= 0 {
			n.Retry.Max = DefaultMax
		}
		n.Retry.Max = max(n.Retry.Max, n.Retry.Base)
		if n.QueueSize <= 0 {
			n.QueueSize = DefaultQueueSize
		}
		if n.Timeout <= 0 {
			n.Timeout = DefaultTimeout
		}
		if n.Now == nil {
			n.Now = time.Now
		}
		if n.Sleep == nil {
			n.Sleep = sleep
		}
		c := http.Client{}
		if n.HTTP != nil {
			c = *n.HTTP
		}
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		n.client = &c
		n.closing = make(chan struct{})
		for _, cfg := range n.Targets {
			n.targets = append(n.targets, &target{
				cfg:   cfg,
				wake:  make(chan struct{}, 1),
				stats: TargetStats{Type: cfg.Type},
			})
		}
	})
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start starts the delivery workers, one per target, owned by the Notifier:
// they run until Close, or until ctx is cancelled (messages still queued
// then are counted as dropped by Close). Messages notified before Start
// wait in the queue. Starting twice, or after Close, does nothing.
func (n *Notifier) Start(ctx context.Context) {
	n.init()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started || n.closed {
		return
	}
	n.started = true
	ctx, n.cancel = context.WithCancel(ctx)
	for _, t := range n.targets {
		n.wg.Add(1)
		go n.work(ctx, t)
	}
}

// Notify queues m for every target and returns at once; it never waits on
// a target. A full queue drops its oldest message to make room. After Close
// the message is dropped.
func (n *Notifier) Notify(m Message) {
	n.init()
	if m.At.IsZero() {
		m.At = n.Now()
	}
	// The caller may reuse its map and head; the workers read them later.
	m.Fields = maps.Clone(m.Fields)
	if m.AuditHead != nil {
		h := *m.AuditHead
		m.AuditHead = &h
	}
	type drop struct{ target, event, why string }
	var drops []drop
	n.mu.Lock()
	for _, t := range n.targets {
		if n.closed {
			t.stats.Dropped++
			drops = append(drops, drop{t.cfg.Name, m.Event, "the notifier is closed"})
			continue
		}
		if len(t.queue) >= n.QueueSize {
			old := t.queue[0]
			t.queue[0] = Message{}
			t.queue = t.queue[1:]
			t.stats.Dropped++
			drops = append(drops, drop{t.cfg.Name, old.Event, "the queue is full"})
		}
		t.queue = append(t.queue, m)
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	n.mu.Unlock()
	for _, d := range drops {
		n.Logger.Warn("notification dropped", "target", d.target, "event", d.event, "reason", d.why)
	}
}

// work delivers t's queue until Close has drained it or ctx ends.
func (n *Notifier) work(ctx context.Context, t *target) {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		if len(t.queue) == 0 {
			closed := n.closed
			n.mu.Unlock()
			if closed {
				return
			}
			select {
			case <-t.wake:
			case <-n.closing:
			case <-ctx.Done():
				return
			}
			continue
		}
		if ctx.Err() != nil {
			n.mu.Unlock()
			return
		}
		m := t.queue[0]
		t.queue[0] = Message{}
		t.queue = t.queue[1:]
		n.mu.Unlock()
		n.record(t, n.deliver(ctx, t, m))
	}
}

// record counts one delivery's outcome.
func (n *Notifier) record(t *target, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		t.stats.Failed++
		t.stats.LastError = err.Error()
		return
	}
	t.stats.Sent++
}

// Send delivers m to every target now, with retries, and reports the
// targets that gave up (by name, never by URL). It is for one-off use such
// as a "send a test notification" command; the decision path uses Notify.
func (n *Notifier) Send(ctx context.Context, m Message) error {
	n.init()
	if m.At.IsZero() {
		m.At = n.Now()
	}
	var errs []error
	for _, t := range n.targets {
		err := n.deliver(ctx, t, m)
		n.record(t, err)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Close stops accepting messages and waits for the workers to deliver what
// is queued. When ctx ends first, in-flight sends are cancelled, the rest is
// dropped, and the error says how many messages were not delivered.
func (n *Notifier) Close(ctx context.Context) error {
	n.init()
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.closing)
	}
	cancel := n.cancel
	n.mu.Unlock()

	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(done)
	}()
	var cause error
	select {
	case <-done:
	case <-ctx.Done():
		cause = ctx.Err()
		if cancel != nil {
			cancel()
		}
		<-done
	}
	if cancel != nil {
		cancel()
	}

	left := 0
	n.mu.Lock()
	for _, t := range n.targets {
		if k := len(t.queue); k > 0 {
			left += k
			t.stats.Dropped += int64(k)
			t.queue = nil
			n.Logger.Warn("notifications dropped at close", "target", t.cfg.Name, "count", k)
		}
	}
	n.mu.Unlock()
	switch {
	case cause != nil:
		return fmt.Errorf("notify: close: %d queued notifications not delivered: %w", left, cause)
	case left > 0:
		return fmt.Errorf("notify: close: %d queued notifications not delivered: the notifier was not running (call Start)", left)
	}
	return nil
}

// Stats returns the counters so far.
func (n *Notifier) Stats() Stats {
	n.init()
	n.mu.Lock()
	defer n.mu.Unlock()
	s := Stats{ByTarget: make(map[string]TargetStats, len(n.targets))}
	for _, t := range n.targets {
		ts := t.stats
		ts.Queued = len(t.queue)
		if prev, ok := s.ByTarget[t.cfg.Name]; ok { // duplicate names: add up
			ts.Sent += prev.Sent
			ts.Failed += prev.Failed
			ts.Dropped += prev.Dropped
			ts.Queued += prev.Queued
		}
		s.ByTarget[t.cfg.Name] = ts
		s.Sent += t.stats.Sent
		s.Failed += t.stats.Failed
		s.Dropped += t.stats.Dropped
	}
	return s
}
