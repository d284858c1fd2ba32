package signals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// ProveInput asks whether calls to Numbers now land in Target.
type ProveInput struct {
	// Numbers is the E.164 sample to prove (the caller picks the seeded
	// sample).
	Numbers     []string
	Target, Old region.Region
	// Since is when the routing write was answered; calls before it prove
	// nothing.
	Since time.Time
	// Wait bounds the wait for propagation, counted from when Prove starts
	// (Twilio: up to 5 minutes); default 6m. At least one poll is always made.
	Wait time.Duration
	// Interval is the poll interval; default 5s.
	Interval time.Duration
	// CallerID is the From of test calls; "" places none and relies on
	// live traffic.
	CallerID string
	// CallsPerSecond is the account's Calls API rate test calls keep within
	// (default 1).
	CallsPerSecond float64
	// Progress, when set, is called whenever a number's state changes, so
	// the wait is visible.
	Progress func(NumberProof)
	// Kind is what Numbers name: KindNumber (E.164, the default), KindTrunk
	// (trunk domain names: proven by calls from the customer's SBC into the
	// trunk's termination URI, logged with the region's trunk SID) or
	// KindSIPDomain (SIP domain names: proven by calls to sip:...@domain).
	// voicedr cannot originate SIP from the customer's side, so trunk and
	// domain proofs rest on live traffic; CallerID is not used for them.
	Kind string
}

// What ProveInput.Numbers name.
const (
	KindNumber    = "number"
	KindTrunk     = "trunk"
	KindSIPDomain = "sip_domain"
)

// callKey returns what identifies a call of the proof's kind in region c:
// the called number for inbound calls to numbers, the trunk's domain for
// SBC-originated termination calls, the domain for SIP domain calls.
func callKey(ctx context.Context, c *twilio.Client, kind string) (func(callRec) string, error) {
	switch kind {
	case "", KindNumber:
		return func(r callRec) string {
			if r.Direction != "inbound" {
				return ""
			}
			return r.To
		}, nil
	case KindSIPDomain:
		return func(r callRec) string {
			if r.Direction != "inbound" || !strings.HasPrefix(r.To, "sip:") {
				return ""
			}
			_, domain, _ := strings.Cut(r.To, "@")
			return strings.ToLower(domain)
		}, nil
	case KindTrunk:
		trunks, err := c.Trunking(ctx).ListTrunk(nil)
		if err != nil {
			return nil, c.Classify("ListTrunk", err)
		}
		domains := map[string]string{}
		for _, t := range trunks {
			if t.Sid != nil && t.DomainName != nil {
				domains[*t.Sid] = strings.ToLower(*t.DomainName)
			}
		}
		return func(r callRec) string {
			if r.Direction != "trunking-terminating" {
				return ""
			}
			return domains[r.TrunkSID]
		}, nil
	}
	return nil, fmt.Errorf("unknown proof kind %q", kind)
}

// NumberProof is what is known about one number.
type NumberProof struct {
	Number string `json:"number"`
	Proven bool   `json:"proven"`
	// TargetCallSID is the first inbound call seen in Target after Since.
	TargetCallSID string `json:"target_call_sid,omitempty"`
	// OldCalls counts inbound calls seen in Old at or after the first Target
	// call; it must be 0 to prove.
	OldCalls int `json:"old_calls"`
	// OldUnreadable: the Old region's API did not answer its last read (an
	// ungraceful failover), so the proof rests on Target alone.
	OldUnreadable bool `json:"old_unreadable,omitempty"`
	// TestCalls counts test calls placed for the number.
	TestCalls int `json:"test_calls"`
	// Reason says why the number is not proven.
	Reason string `json:"reason,omitempty"`
}

// A number's unseen test call is followed by another after a few polls
// (and at least testCallRetryMin): enough for a paced call to be
// dispatched and logged, soon enough that a lost call does not stall the
// proof.
const (
	testCallRetryPolls = 3
	testCallRetryMin   = 2 * time.Second
)

type proofState struct {
	NumberProof
	targets    []callRec // inbound calls to the number in Target since Since
	latestOld  time.Time // latest inbound call to it in Old since Since
	pendingSID string    // test call placed and not yet seen anywhere
	pendingAt  time.Time
}

// Prove polls Target and Old until every number is proven or Wait runs
// out. A number is proven when an inbound call to it (live traffic or a
// test call's leg) appears in Target after Since and no inbound call to it
// appears in Old at or after that first Target call. Unproven numbers are
// not an error; the error is for a cancelled ctx, or a Target that never
// answered.
func Prove(ctx context.Context, env Env, in ProveInput) ([]NumberProof, error) {
	if env.Set == nil {
		return nil, errors.New("prove: no twilio clients")
	}
	tc, err := env.Set.Get(in.Target)
	if err != nil {
		return nil, fmt.Errorf("prove: target: %w", err)
	}
	oc, err := env.Set.Get(in.Old)
	if err != nil {
		return nil, fmt.Errorf("prove: old region: %w", err)
	}
	wait, interval := in.Wait, in.Interval
	if wait <= 0 {
		wait = 6 * time.Minute
	}
	if interval <= 0 {
		interval = 5 * time.Second
	}
	in.Wait, in.Interval = wait, interval
	since := in.Since
	if since.IsZero() {
		since = env.now()
	}
	// Counted from now, not Since: a cohort may take longer than Wait to
	// write, and a proof resumed after a crash must still get its calls
	// placed and seen.
	deadline := env.now().Add(wait)
	log := env.log().With("target", in.Target, "old", in.Old)
	lim := newLimiter(in.CallsPerSecond)

	states := make(map[string]*proofState, len(in.Numbers))
	for _, n := range in.Numbers {
		states[n] = &proofState{NumberProof: NumberProof{Number: n}}
	}
	want := numberSet(in.Numbers)
	tkey, err := callKey(ctx, tc, in.Kind)
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	okey, err := callKey(ctx, oc, in.Kind)
	if err != nil {
		// An old region that does not answer cannot name its trunks; its
		// calls are unreadable anyway.
		okey = func(callRec) string { return "" }
	}
	var targetErr error
	targetRead := false
	for {
		before := snapshotProofs(in.Numbers, states)

		tcalls, terr := listCalls(ctx, tc, since)
		if ctx.Err() != nil {
			return finishProofs(in.Numbers, states, "canceled"), ctx.Err()
		}
		if terr != nil {
			targetErr = terr
			log.Warn("prove: target calls unreadable", "err", terr)
		} else {
			targetRead = true
			observeTarget(tcalls, tkey, want, states)
		}
		// Old is read after Target, so an old call racing the first target
		// call is seen by this poll.
		ocalls, oerr := listCalls(ctx, oc, since)
		if ctx.Err() != nil {
			return finishProofs(in.Numbers, states, "canceled"), ctx.Err()
		}
		if oerr != nil {
			log.Warn("prove: old region calls unreadable; proof rests on the target region", "err", oerr)
		}
		observeOld(ocalls, okey, oerr, terr == nil, want, states)

		if in.Progress != nil {
			for i, n := range in.Numbers {
				if s := states[n].NumberProof; s != before[i] {
					in.Progress(s)
				}
			}
		}
		if allProven(states) || !env.now().Before(deadline) {
			break
		}
		if in.CallerID != "" && (in.Kind == "" || in.Kind == KindNumber) {
			if err := placeProofCalls(ctx, env, tc, lim, in, states); err != nil {
				return finishProofs(in.Numbers, states, "canceled"), err
			}
		}
		d := min(interval, deadline.Sub(env.now()))
		if err := env.sleep(ctx, max(d, 0)); err != nil {
			return finishProofs(in.Numbers, states, "canceled"), err
		}
	}
	if !targetRead {
		return finishProofs(in.Numbers, states, "target region unreadable"),
			fmt.Errorf("prove: the %s calls API never answered: %w", in.Target, targetErr)
	}
	return finishProofs(in.Numbers, states, ""), nil
}

// observeTarget keeps each number's inbound calls in Target and clears
// pending test calls whose leg landed there.
func observeTarget(calls []callRec, key func(callRec) string, want map[string]bool, states map[string]*proofState) {
	for _, s := range states {
		s.targets = s.targets[:0]
	}
	for _, c := range calls {
		k := key(c)
		if !want[k] {
			continue
		}
		s := states[k]
		s.targets = append(s.targets, c)
		if c.Parent != "" && c.Parent == s.pendingSID {
			s.pendingSID = ""
		}
	}
}

// observeOld reads each number's inbound calls in Old and decides the
// proofs. The anchor is the first Target call after the latest Old call:
// normally the first Target call, since routing moves once; but when calls
// were still landing in Old at or after it (propagation, or a flip back), a
// later Target call that no Old call follows proves the routing settled.
// Twilio's start times have whole seconds, so an Old call in the same second
// as a Target call follows it. A number is proven only on a poll where
// Target was read, so the decision rests on fresh data.
func observeOld(calls []callRec, key func(callRec) string, oerr error, targetOK bool, want map[string]bool, states map[string]*proofState) {
	// Down or refusing credentials: the old region is gone for now (an
	// ungraceful failover) and Target alone must do. Any other failure
	// (rate limited, a bad answer) is passing: decide on the next poll.
	unreadable := errors.Is(oerr, twilio.KindUnavailable) || errors.Is(oerr, twilio.KindAuth)
	transient := oerr != nil && !unreadable
	var olds map[string][]callRec
	if oerr == nil {
		olds = map[string][]callRec{}
		for _, c := range calls {
			k := key(c)
			if !want[k] {
				continue
			}
			olds[k] = append(olds[k], c)
			s := states[k]
			if c.Parent != "" && c.Parent == s.pendingSID {
				// The test call was processed in Old: propagation is not
				// done; another one is due.
				s.pendingSID = ""
			}
		}
	}
	for n, s := range states {
		if s.Proven {
			continue
		}
		s.OldUnreadable = unreadable
		if olds != nil {
			s.latestOld = time.Time{}
			for _, c := range olds[n] {
				if c.Start.After(s.latestOld) {
					s.latestOld = c.Start
				}
			}
		}
		var first, anchor *callRec
		for i := range s.targets {
			c := &s.targets[i]
			if first == nil || c.Start.Before(first.Start) {
				first = c
			}
			if c.Start.After(s.latestOld) && (anchor == nil || c.Start.Before(anchor.Start)) {
				anchor = c
			}
		}
		if first != nil && anchor == nil && olds != nil {
			s.OldCalls = 0
			for _, c := range olds[n] {
				if !c.Start.Before(first.Start) {
					s.OldCalls++
				}
			}
		}
		switch {
		case first == nil:
			s.Reason = "no inbound call seen in the target region yet"
		case anchor == nil:
			s.TargetCallSID = first.SID
			s.Reason = fmt.Sprintf("%d inbound calls still landed in the old region at or after the first target call", s.OldCalls)
		case !targetOK:
			s.Reason = "target region unreadable on the last poll"
		case transient:
			s.Reason = "old region read failed on the last poll: " + oerr.Error()
		default:
			s.Proven, s.TargetCallSID, s.OldCalls, s.Reason = true, anchor.SID, 0, ""
		}
	}
}

// placeProofCalls places a test call for each number with no sighting in
// Target yet, unless its previous test call is still unseen and recent.
func placeProofCalls(ctx context.Context, env Env, tc *twilio.Client, l *rate.Limiter, in ProveInput, states map[string]*proofState) error {
	for _, n := range in.Numbers {
		s := states[n]
		if s.Proven {
			continue
		}
		if s.pendingSID != "" && env.now().Sub(s.pendingAt) < max(testCallRetryPolls*in.Interval, testCallRetryMin) {
			continue
		}
		if err := pace(ctx, env, l); err != nil {
			return err
		}
		sid, err := placeTestCall(ctx, tc, n, in.CallerID)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			env.log().Warn("prove: test call not placed", "number", n, "target", in.Target, "err", err)
			continue
		}
		s.pendingSID, s.pendingAt = sid, env.now()
		s.TestCalls++
	}
	return nil
}

func allProven(states map[string]*proofState) bool {
	for _, s := range states {
		if !s.Proven {
			return false
		}
	}
	return true
}

func snapshotProofs(numbers []string, states map[string]*proofState) []NumberProof {
	out := make([]NumberProof, len(numbers))
	for i, n := range numbers {
		out[i] = states[n].NumberProof
	}
	return out
}

// finishProofs returns the proofs in input order; an unproven number whose
// wait ended gets a reason saying so.
func finishProofs(numbers []string, states map[string]*proofState, why string) []NumberProof {
	out := snapshotProofs(numbers, states)
	for i := range out {
		if out[i].Proven {
			continue
		}
		switch {
		case why != "":
			out[i].Reason = why + ": " + out[i].Reason
		case out[i].Reason == "":
			out[i].Reason = "timeout"
		default:
			out[i].Reason = "timeout: " + out[i].Reason
		}
	}
	return out
}
