package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/decision"
	"github.com/voicedr/voicedr/internal/notify"
	"github.com/voicedr/voicedr/internal/server"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
)

// auditVerifier adapts the audit log to the server's Auditor: it trusts the
// key the server signs with.
type auditVerifier struct{ log *audit.Log }

func (a auditVerifier) Verify(ctx context.Context) (any, error) {
	pubs := map[string]ed25519.PublicKey{}
	if a.log.Key != nil {
		pubs[a.log.Key.ID()] = a.log.Key.Public
	}
	return a.log.Verify(ctx, pubs)
}

// auditHead checkpoints the chain's head (signed, when the server has a
// key) and returns it, published with every notification so a receiver
// holds evidence of the chain outside voicedr.
func auditHead(ctx context.Context, log *audit.Log) *notify.AuditHead {
	if log.Key == nil {
		return nil
	}
	c, err := log.Checkpoint(ctx)
	if err != nil {
		return nil
	}
	return &notify.AuditHead{Seq: c.Seq, Hash: c.Hash, KeyID: c.KeyID, Signature: base64.StdEncoding.EncodeToString(c.Signature)}
}

// openDecisions counts the decisions not yet closed, for the server's gauge.
type openDecisions struct{ st store.Store }

func (o openDecisions) Open(ctx context.Context) (int, error) {
	ds, err := o.st.ListDecisions(ctx, 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range ds {
		if !decision.Terminal(d.State) {
			n++
		}
	}
	return n, nil
}

// cachedSnapshot reads the account at most once per ttl: the decision
// watcher asks for it once per trigger per evaluation.
func cachedSnapshot(read func(context.Context) (*snapshot.Snapshot, error), ttl time.Duration) func(context.Context) (*snapshot.Snapshot, error) {
	var mu sync.Mutex
	var last *snapshot.Snapshot
	var at time.Time
	return func(ctx context.Context) (*snapshot.Snapshot, error) {
		mu.Lock()
		defer mu.Unlock()
		if last != nil && time.Since(at) < ttl {
			return last, nil
		}
		s, err := read(ctx)
		if err != nil {
			return nil, err
		}
		last, at = s, time.Now()
		return s, nil
	}
}

// decisionNotifier turns decision steps into notifications.
func decisionNotifier(ctx context.Context, n *notify.Notifier, log *audit.Log, logger *slog.Logger) func(string, store.Decision) {
	return func(event string, d store.Decision) {
		sev := notify.SeverityWarning
		if event == "decision.opened" {
			sev = notify.SeverityCritical
		}
		n.Notify(notify.Message{
			Event: event, Severity: sev, Flow: d.Flow, DecisionID: d.ID, DedupKey: d.ID, At: d.UpdatedAt,
			Summary:   fmt.Sprintf("voicedr: decision %s for flow %s is at %s (trigger %s)", d.ID, d.Flow, d.State, d.Trigger),
			Fields:    map[string]string{"trigger": d.Trigger, "state": d.State},
			AuditHead: auditHead(ctx, log),
		})
		logger.Info("decision step", "event", event, "decision", d.ID, "flow", d.Flow, "state", d.State)
	}
}

// decisionSteps adapts the decision runbook to the server's step endpoint,
// mapping its refusals to the server's.
type decisionSteps struct{ w *decision.Watcher }

func (d decisionSteps) Advance(ctx context.Context, id, step, actor, note string, data any) (store.Decision, error) {
	dec, err := d.w.Advance(ctx, id, step, actor, note, data)
	switch {
	case errors.Is(err, decision.ErrForbidden):
		return dec, fmt.Errorf("%w: %w", server.ErrStepForbidden, err)
	case errors.Is(err, decision.ErrOutOfOrder), errors.Is(err, decision.ErrClosed):
		return dec, fmt.Errorf("%w: %w", server.ErrStepOrder, err)
	}
	return dec, err
}
