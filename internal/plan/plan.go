// Package plan computes failover and failback plans: the exact routing
// writes that move a flow's numbers, trunks and SIP domains from one region
// to another, in the workbook's cohorts, each with its gate, hooks and the
// seeded sample of numbers whose calls prove the flip.
//
// A plan is canonical JSON (RFC 8785) whose sha256 digest approvals and
// evidence bind to. It carries the observed state it was computed from: what
// rollback restores, and what the drift check compares the account with
// before anything is applied. MakePlan is pure (snapshot and workbook in,
// plan out), so the same plan is reproducible from the evidence.
package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gowebpki/jcs"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Format is the value of Plan.Format for this version of the schema.
const Format = "voicedr.plan/v1"

// Kinds of plan.
const (
	Failover = "failover"
	Failback = "failback"
)

// Modes: graceful reads every region; ungraceful is for a primary that is
// down, and reads and writes only through hosts that answer.
const (
	Graceful   = "graceful"
	Ungraceful = "ungraceful"
)

// Action kinds. A number's flip moves its inbound calls; a trunk's or SIP
// domain's flip moves all the traffic of that trunk or domain at once, so
// each is its own cohort with its own gate.
const (
	KindNumber    = "number"
	KindTrunk     = "trunk"
	KindSIPDomain = "sip_domain"
)

// No-go policies of a cohort.
const (
	NoGoRollback = "rollback"
	NoGoPause    = "pause"
)

// ErrNotReady is wrapped by MakePlan when the target region lacks what the
// flow needs there and the gaps were not accepted. The plan is still
// returned, so the caller can show what blocks it.
var ErrNotReady = errors.New("target region not ready")

// Plan is one reviewed move of a flow.
type Plan struct {
	Format string `json:"format"`
	// Digest is the hex sha256 of the canonical JSON of the plan with Digest
	// empty. Approvals and evidence bind to it.
	Digest         string    `json:"digest,omitempty"`
	Kind           string    `json:"kind"`
	Mode           string    `json:"mode"`
	Flow           string    `json:"flow"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	CreatedAt      time.Time `json:"created_at"`
	WorkbookDigest string    `json:"workbook_digest"`
	// SnapshotSource is "live" (read for this plan) or "stored" (the last
	// snapshot in the store, in ungraceful mode), and SnapshotAge how old
	// it was when the plan was made.
	SnapshotSource string   `json:"snapshot_source"`
	SnapshotAge    Duration `json:"snapshot_age"`
	// Observed is the state the plan was computed against: the flow's
	// numbers with their routing and records in From and To, its trunks'
	// and SIP domains' routing, and the resources they use in both regions.
	Observed *snapshot.Snapshot `json:"observed"`
	// RoutesWrite are the regions whose routes host and credentials write
	// routing, tried in order.
	RoutesWrite []string `json:"routes_write"`
	Execution   Exec     `json:"execution"`
	// Webhooks are the flow's webhook URLs in the target region: Monitor
	// alerts on them count against the gates.
	Webhooks []string `json:"webhooks"`
	Cohorts  []Cohort `json:"cohorts"`
	// Hooks are the workbook's hooks for this flow, run around flips.
	Hooks    []workbook.Hook   `json:"hooks,omitempty"`
	Signals  []workbook.Signal `json:"signals,omitempty"`
	Approval string            `json:"approval_policy"`
	// Gaps are the target region's errors for the flow; Accepted names the
	// ones the planner was told to accept (by kind or resource).
	Gaps     []readiness.Gap `json:"gaps,omitempty"`
	Accepted []string        `json:"accepted,omitempty"`
	// Already counts numbers already routed to the target: nothing to do.
	Already int `json:"already_in_target"`
}

// Exec are the workbook's execution settings, with defaults filled in.
type Exec struct {
	ProofSample    int      `json:"proof_sample"`
	ProofWait      Duration `json:"proof_wait"`
	ProofInterval  Duration `json:"proof_interval"`
	CallerID       string   `json:"caller_id,omitempty"`
	CallsPerSecond float64  `json:"calls_per_second"`
	RoutingRate    float64  `json:"routing_writes_per_second"`
}

// Cohort is a batch moved together and judged by one gate.
type Cohort struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // number, trunk or sip_domain
	// Gate is the workbook's gate (nil: the cohort goes once proven).
	Gate    *workbook.Gate `json:"gate,omitempty"`
	NoGo    string         `json:"no_go"`
	Actions []Action       `json:"actions"`
	// Sample are the numbers whose calls prove the flip (numbers cohorts).
	Sample []string `json:"sample,omitempty"`
}

// Action is one routing write: Target's voice region from From to To.
// Rollback writes From back (us1 when the route was never set).
type Action struct {
	Key          string `json:"key"` // number:+1..., trunk:x.pstn.twilio.com, sip_domain:x.sip.twilio.com
	Kind         string `json:"kind"`
	Target       string `json:"target"`
	From         string `json:"from"`
	FromExplicit bool   `json:"from_explicit"`
	To           string `json:"to"`
}

// Duration is a time.Duration written as a Go duration string.
type Duration time.Duration

// MarshalText writes the duration as Go formats it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration", b)
	}
	*d = Duration(v)
	return nil
}

// Actions returns every action of the plan in cohort order.
func (p *Plan) Actions() []Action {
	var out []Action
	for _, c := range p.Cohorts {
		out = append(out, c.Actions...)
	}
	return out
}

// Canonical returns the RFC 8785 form of the plan with Digest empty.
func (p *Plan) Canonical() ([]byte, error) {
	cp := *p
	cp.Digest = ""
	raw, err := json.Marshal(&cp)
	if err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return jcs.Transform(raw)
}

// Seal computes and sets the digest.
func (p *Plan) Seal() error {
	c, err := p.Canonical()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(c)
	p.Digest = hex.EncodeToString(sum[:])
	return nil
}

// Write writes the sealed plan as canonical JSON (one line).
func (p *Plan) Write(w io.Writer) error {
	if p.Digest == "" {
		if err := p.Seal(); err != nil {
			return err
		}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	c, err := jcs.Transform(raw)
	if err != nil {
		return fmt.Errorf("canonicalize plan: %w", err)
	}
	_, err = w.Write(append(c, '\n'))
	return err
}

// Read decodes a plan strictly and checks its digest, so a plan edited after
// review is refused rather than applied.
func Read(r io.Reader) (*Plan, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode plan: %w: write one with voicedr plan failover|failback", err)
	}
	if p.Format != Format {
		return nil, fmt.Errorf("plan format %q: this voicedr reads %q; make the plan again with this version", p.Format, Format)
	}
	if p.Observed == nil || p.Flow == "" || p.From == "" || p.To == "" {
		return nil, fmt.Errorf("plan is missing its flow, regions or observed state; make the plan again")
	}
	want := p.Digest
	if err := p.Seal(); err != nil {
		return nil, err
	}
	if want != p.Digest {
		return nil, fmt.Errorf("plan digest %s does not match its content (%s): the plan was edited after it was made; make it again and have it reviewed", short(want), short(p.Digest))
	}
	return &p, nil
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
