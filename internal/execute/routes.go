package execute

import (
	"context"
	"errors"
	"fmt"
	"sync"

	routesv2 "github.com/twilio/twilio-go/rest/routes/v2"

	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// TwilioRoutes writes and reads routing through the Routes API of the
// regions a plan names, in order: Twilio does not document which hosts
// accept routing writes during an outage, so a host that does not answer
// (or refuses the credentials) is skipped for the next, and the one that
// answered is tried first from then on.
type TwilioRoutes struct {
	Set   *twilio.Set
	Order []string // regions, in the plan's routes_write order

	mu   sync.Mutex
	good int // index into Order of the host that last answered
}

// Write sets a's voice region to r and returns Twilio's answer and the
// region whose host took the write.
func (t *TwilioRoutes) Write(ctx context.Context, a plan.Action, r string) (string, string, error) {
	return t.try(ctx, func(c *twilio.Client) (*string, error) {
		switch a.Kind {
		case plan.KindNumber:
			out, err := c.Routes(ctx).UpdatePhoneNumber(a.Target, (&routesv2.UpdatePhoneNumberParams{}).SetVoiceRegion(r))
			if out == nil {
				return nil, err
			}
			return out.VoiceRegion, err
		case plan.KindTrunk:
			out, err := c.Routes(ctx).UpdateTrunks(a.Target, (&routesv2.UpdateTrunksParams{}).SetVoiceRegion(r))
			if out == nil {
				return nil, err
			}
			return out.VoiceRegion, err
		case plan.KindSIPDomain:
			out, err := c.Routes(ctx).UpdateSipDomain(a.Target, (&routesv2.UpdateSipDomainParams{}).SetVoiceRegion(r))
			if out == nil {
				return nil, err
			}
			return out.VoiceRegion, err
		}
		return nil, fmt.Errorf("unknown action kind %q", a.Kind)
	}, "update routing of "+a.Key)
}

// Read returns a's current voice region; never set (404) is us1.
func (t *TwilioRoutes) Read(ctx context.Context, a plan.Action) (string, error) {
	got, _, err := t.try(ctx, func(c *twilio.Client) (*string, error) {
		switch a.Kind {
		case plan.KindNumber:
			out, err := c.Routes(ctx).FetchPhoneNumber(a.Target)
			if out == nil {
				return nil, err
			}
			return out.VoiceRegion, err
		case plan.KindTrunk:
			out, err := c.Routes(ctx).FetchTrunks(a.Target)
			if out == nil {
				return nil, err
			}
			return out.VoiceRegion, err
		case plan.KindSIPDomain:
			out, err := c.Routes(ctx).FetchSipDomain(a.Target)
			if out == nil {
				return nil, err
			}
			return out.VoiceRegion, err
		}
		return nil, fmt.Errorf("unknown action kind %q", a.Kind)
	}, "fetch routing of "+a.Key)
	if errors.Is(err, twilio.KindNotFound) {
		return string(region.US1), nil
	}
	return got, err
}

func (t *TwilioRoutes) try(ctx context.Context, call func(*twilio.Client) (*string, error), op string) (string, string, error) {
	if len(t.Order) == 0 {
		return "", "", fmt.Errorf("%s: the plan names no routes host (routes_write)", op)
	}
	t.mu.Lock()
	start := t.good
	t.mu.Unlock()
	var errs []error
	for i := range t.Order {
		idx := (start + i) % len(t.Order)
		r := t.Order[idx]
		c, err := t.Set.Get(region.Region(r))
		if err != nil {
			errs = append(errs, fmt.Errorf("via %s: %w", r, err))
			continue
		}
		v, err := call(c)
		if err != nil {
			err = c.Classify(op, err)
			// Only a host that does not answer, or does not take these
			// credentials, is a reason to try the next one; anything else
			// is the answer.
			if errors.Is(err, twilio.KindUnavailable) || errors.Is(err, twilio.KindAuth) {
				errs = append(errs, err)
				continue
			}
			return "", r, err
		}
		t.mu.Lock()
		t.good = idx
		t.mu.Unlock()
		if v == nil {
			return "", r, fmt.Errorf("%s via %s: the answer carries no voice_region", op, r)
		}
		return *v, r, nil
	}
	return "", "", fmt.Errorf("%s: no routes host answered: %w", op, errors.Join(errs...))
}
