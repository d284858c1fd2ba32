package standby

import (
	"context"
	"fmt"
	"sync"

	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"
	trunkingv1 "github.com/twilio/twilio-go/rest/trunking/v1"
	"golang.org/x/sync/errgroup"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Concurrency bounds number updates in flight (default 16); the client
	// pool's own rate and concurrency limits still apply on top.
	Concurrency int
}

// Outcomes of an applied action.
const (
	Created = "created"
	Updated = "updated"
	// Present means a create found its resource already there (a previous,
	// perhaps interrupted, apply made it) and did nothing.
	Present = "already present"
)

// Done is one action Apply carried out.
type Done struct {
	Key     string `json:"key"`
	Outcome string `json:"outcome"`
	SID     string `json:"sid,omitempty"`
}

// Result is what Apply did, in order for resources (numbers in any order).
type Result struct {
	Done []Done `json:"done"`
}

// Changed counts the actions that changed the account.
func (r Result) Changed() int {
	n := 0
	for _, d := range r.Done {
		if d.Outcome != Present {
			n++
		}
	}
	return n
}

// Apply carries out p through the clients of set. Before creating anything
// it lists what the standby holds and reconciles by name, so running it
// again after a crash or a partial apply converges without duplicates. It
// stops at the first error and returns what it did until then.
func Apply(ctx context.Context, set *twilio.Set, p *Plan, opts ApplyOptions) (Result, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	a := &applier{set: set, regions: map[string]*regionState{}}
	var numbers []Action
	// Resources first, one at a time: each may be referenced by a later one
	// (an origination URL by its trunk), and they are few.
	for _, act := range p.Actions {
		if act.Kind == KindNumber {
			numbers = append(numbers, act)
			continue
		}
		if err := a.do(ctx, act); err != nil {
			return a.result(), fmt.Errorf("standby apply %s: %w", act.Key, err)
		}
	}
	// Numbers are most of a plan and independent of each other.
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(opts.Concurrency)
	for _, act := range numbers {
		rs, err := a.region(ctx, act.Region)
		if err != nil {
			return a.result(), fmt.Errorf("standby apply %s: %w", act.Key, err)
		}
		eg.Go(func() error {
			if err := a.number(gctx, rs, act); err != nil {
				return fmt.Errorf("standby apply %s: %w", act.Key, err)
			}
			return nil
		})
	}
	err := eg.Wait()
	return a.result(), err
}

type applier struct {
	set     *twilio.Set
	mu      sync.Mutex
	done    []Done
	regions map[string]*regionState
}

func (a *applier) record(d Done) {
	a.mu.Lock()
	a.done = append(a.done, d)
	a.mu.Unlock()
}

func (a *applier) result() Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Result{Done: append([]Done(nil), a.done...)}
}

func (a *applier) do(ctx context.Context, act Action) error {
	rs, err := a.region(ctx, act.Region)
	if err != nil {
		return err
	}
	c := rs.c
	switch {
	case act.Kind == KindApp && act.App != nil:
		return a.app(ctx, rs, act)
	case act.Kind == KindSIPDomain && act.SIPDomain != nil:
		d := act.SIPDomain
		if sid, ok := rs.domains[d.DomainName]; ok {
			a.record(Done{Key: act.Key, Outcome: Present, SID: sid})
			return nil
		}
		params := new(apiv2010.CreateSipDomainParams).SetDomainName(d.DomainName)
		setIf(d.FriendlyName, params.SetFriendlyName)
		setIf(d.VoiceURL, params.SetVoiceUrl)
		setIf(d.VoiceMethod, params.SetVoiceMethod)
		setIf(d.VoiceFallbackURL, params.SetVoiceFallbackUrl)
		setIf(d.VoiceFallbackMethod, params.SetVoiceFallbackMethod)
		got, err := c.API(ctx).CreateSipDomain(params)
		if err != nil {
			return c.Classify("CreateSipDomain", err)
		}
		rs.domains[d.DomainName] = str(got.Sid)
		a.record(Done{Key: act.Key, Outcome: Created, SID: str(got.Sid)})
		return nil
	case act.Kind == KindTrunk && act.Trunk != nil:
		return a.trunk(ctx, rs, act)
	case act.Kind == KindOrigination && act.Origination != nil:
		return a.origination(ctx, rs, act)
	case (act.Kind == KindTrunkACL || act.Kind == KindTrunkCred) && act.Association != nil:
		return a.associate(ctx, rs, act)
	}
	return fmt.Errorf("unknown action kind %q or missing spec: the plan file is damaged or from another version", act.Kind)
}

func (a *applier) app(ctx context.Context, rs *regionState, act Action) error {
	c, s := rs.c, act.App
	sid, exists := rs.apps[s.FriendlyName]
	if act.Op == OpCreate {
		if exists {
			a.record(Done{Key: act.Key, Outcome: Present, SID: sid})
			return nil
		}
		params := new(apiv2010.CreateApplicationParams).SetFriendlyName(s.FriendlyName)
		setIf(s.VoiceURL, params.SetVoiceUrl)
		setIf(s.VoiceMethod, params.SetVoiceMethod)
		setIf(s.VoiceFallbackURL, params.SetVoiceFallbackUrl)
		setIf(s.VoiceFallbackMethod, params.SetVoiceFallbackMethod)
		setIf(s.StatusCallback, params.SetStatusCallback)
		setIf(s.StatusCallbackMethod, params.SetStatusCallbackMethod)
		got, err := c.API(ctx).CreateApplication(params)
		if err != nil {
			return c.Classify("CreateApplication", err)
		}
		rs.apps[s.FriendlyName] = str(got.Sid)
		a.record(Done{Key: act.Key, Outcome: Created, SID: str(got.Sid)})
		return nil
	}
	if !exists {
		return fmt.Errorf("TwiML App %s is not in %s any more: plan again", s.FriendlyName, act.Region)
	}
	params := new(apiv2010.UpdateApplicationParams)
	setIf(s.VoiceURL, params.SetVoiceUrl)
	setIf(s.VoiceMethod, params.SetVoiceMethod)
	setIf(s.VoiceFallbackURL, params.SetVoiceFallbackUrl)
	setIf(s.VoiceFallbackMethod, params.SetVoiceFallbackMethod)
	setIf(s.StatusCallback, params.SetStatusCallback)
	setIf(s.StatusCallbackMethod, params.SetStatusCallbackMethod)
	if _, err := c.API(ctx).UpdateApplication(sid, params); err != nil {
		return c.Classify("UpdateApplication", err)
	}
	a.record(Done{Key: act.Key, Outcome: Updated, SID: sid})
	return nil
}

func (a *applier) trunk(ctx context.Context, rs *regionState, act Action) error {
	c, s := rs.c, act.Trunk
	sid, exists := rs.trunks[s.DomainName]
	if act.Op == OpCreate {
		if exists {
			a.record(Done{Key: act.Key, Outcome: Present, SID: sid})
			return nil
		}
		params := new(trunkingv1.CreateTrunkParams).SetDomainName(s.DomainName)
		setIf(s.FriendlyName, params.SetFriendlyName)
		setIf(s.DisasterRecoveryURL, params.SetDisasterRecoveryUrl)
		setIf(s.DisasterRecoveryMethod, params.SetDisasterRecoveryMethod)
		got, err := c.Trunking(ctx).CreateTrunk(params)
		if err != nil {
			return c.Classify("CreateTrunk", err)
		}
		rs.trunks[s.DomainName] = str(got.Sid)
		a.record(Done{Key: act.Key, Outcome: Created, SID: str(got.Sid)})
		return nil
	}
	if !exists {
		return fmt.Errorf("trunk %s is not in %s any more: plan again", s.DomainName, act.Region)
	}
	params := new(trunkingv1.UpdateTrunkParams)
	setIf(s.FriendlyName, params.SetFriendlyName)
	setIf(s.DisasterRecoveryURL, params.SetDisasterRecoveryUrl)
	setIf(s.DisasterRecoveryMethod, params.SetDisasterRecoveryMethod)
	if _, err := c.Trunking(ctx).UpdateTrunk(sid, params); err != nil {
		return c.Classify("UpdateTrunk", err)
	}
	a.record(Done{Key: act.Key, Outcome: Updated, SID: sid})
	return nil
}

func (a *applier) origination(ctx context.Context, rs *regionState, act Action) error {
	c, s := rs.c, act.Origination
	tsid, ok := rs.trunks[s.Trunk]
	if !ok {
		return fmt.Errorf("trunk %s is not in %s: apply the whole plan, or plan again", s.Trunk, act.Region)
	}
	have, err := rs.originations(ctx, tsid)
	if err != nil {
		return err
	}
	if sid, ok := have[s.SIPURL]; ok {
		a.record(Done{Key: act.Key, Outcome: Present, SID: sid})
		return nil
	}
	got, err := c.Trunking(ctx).CreateOriginationUrl(tsid, new(trunkingv1.CreateOriginationUrlParams).SetFriendlyName(s.FriendlyName).
		SetSipUrl(s.SIPURL).SetPriority(s.Priority).SetWeight(s.Weight).SetEnabled(s.Enabled))
	if err != nil {
		return c.Classify("CreateOriginationUrl", err)
	}
	have[s.SIPURL] = str(got.Sid)
	a.record(Done{Key: act.Key, Outcome: Created, SID: str(got.Sid)})
	return nil
}

func (a *applier) associate(ctx context.Context, rs *regionState, act Action) error {
	c, s := rs.c, act.Association
	tsid, ok := rs.trunks[s.Trunk]
	if !ok {
		return fmt.Errorf("trunk %s is not in %s: apply the whole plan, or plan again", s.Trunk, act.Region)
	}
	lists := rs.creds
	if act.Kind == KindTrunkACL {
		lists = rs.acls
	}
	lsid, ok := lists[s.List]
	if !ok {
		return fmt.Errorf("list %s is not in %s: create it there with its entries from your secret store, then apply again", s.List, act.Region)
	}
	attached, err := rs.attached(ctx, act.Kind, tsid)
	if err != nil {
		return err
	}
	if attached[lsid] {
		a.record(Done{Key: act.Key, Outcome: Present, SID: lsid})
		return nil
	}
	tr := c.Trunking(ctx)
	if act.Kind == KindTrunkACL {
		_, err = tr.CreateIpAccessControlList(tsid, new(trunkingv1.CreateIpAccessControlListParams).SetIpAccessControlListSid(lsid))
	} else {
		_, err = tr.CreateCredentialList(tsid, new(trunkingv1.CreateCredentialListParams).SetCredentialListSid(lsid))
	}
	if err != nil {
		return c.Classify("Create"+act.Kind, err)
	}
	attached[lsid] = true
	a.record(Done{Key: act.Key, Outcome: Created, SID: lsid})
	return nil
}

// number writes a standby record. It reads no state but the SID maps, which
// the resource phase has finished writing, so it is safe to run in parallel.
// Writing the same values twice is harmless, which makes a re-run safe.
func (a *applier) number(ctx context.Context, rs *regionState, act Action) error {
	c, s := rs.c, act.Number
	if s == nil {
		return fmt.Errorf("number action without its spec: the plan file is damaged")
	}
	sid, ok := rs.numbers[s.PhoneNumber]
	if !ok {
		return fmt.Errorf("%s is not listed in %s", s.PhoneNumber, act.Region)
	}
	params := new(apiv2010.UpdateIncomingPhoneNumberParams)
	switch {
	case s.Trunk != "":
		tsid, ok := rs.trunks[s.Trunk]
		if !ok {
			return fmt.Errorf("trunk %s is not in %s: apply the whole plan, or plan again", s.Trunk, act.Region)
		}
		params.SetTrunkSid(tsid)
	case s.App != "":
		asid, ok := rs.apps[s.App]
		if !ok {
			return fmt.Errorf("TwiML App %s is not in %s: apply the whole plan, or plan again", s.App, act.Region)
		}
		params.SetVoiceApplicationSid(asid)
	}
	// Empty values clear: a trunk or app left on the record would take
	// precedence over the handler the plan sets.
	if s.ClearTrunk {
		params.SetTrunkSid("")
	}
	if s.ClearApp {
		params.SetVoiceApplicationSid("")
	}
	setIf(s.VoiceURL, params.SetVoiceUrl)
	setIf(s.VoiceMethod, params.SetVoiceMethod)
	setIf(s.VoiceFallbackURL, params.SetVoiceFallbackUrl)
	setIf(s.VoiceFallbackMethod, params.SetVoiceFallbackMethod)
	setIf(s.StatusCallback, params.SetStatusCallback)
	setIf(s.StatusCallbackMethod, params.SetStatusCallbackMethod)
	if _, err := c.API(ctx).UpdateIncomingPhoneNumber(sid, params); err != nil {
		return c.Classify("UpdateIncomingPhoneNumber", err)
	}
	a.record(Done{Key: act.Key, Outcome: Updated, SID: sid})
	return nil
}

// setIf calls set only for a non-empty value: twilio-go sends every
// parameter whose setter was called, and an empty one clears the field.
func setIf[P any](v string, set func(string) P) {
	if v != "" {
		set(v)
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// region returns the state of region r, reading it on first use.
func (a *applier) region(ctx context.Context, r string) (*regionState, error) {
	if rs, ok := a.regions[r]; ok {
		return rs, nil
	}
	reg, err := region.Parse(r)
	if err != nil {
		return nil, err
	}
	c, err := a.set.Get(reg)
	if err != nil {
		return nil, fmt.Errorf("%w (add %s to --regions)", err, r)
	}
	rs, err := readRegion(ctx, c)
	if err != nil {
		return nil, err
	}
	a.regions[r] = rs
	return rs, nil
}
