package twilioemu

import (
	"context"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Elastic SIP Trunking calls, without real SIP: origination (Twilio sends an
// inbound call to the customer's SBC through the trunk's origination URLs),
// termination (the SBC sends a call into the trunk's termination URI,
// processed in the trunk's routed region), and SIP domains (calls and
// registrations processed in the domain's routed region). Each SIP URL's
// reachability is a fault (unreachable_sip_urls), so drills can kill an SBC.

// sipAttemptTimeout is the post-dial delay an unanswered INVITE to an
// origination URL adds (simulated, never waited).
const sipAttemptTimeout = 2 * time.Second

// originationOrder is the order Twilio tries origination URLs: lowest
// priority value first; within a priority, a weighted random order.
func originationOrder(urls []*originationURL) []*originationURL {
	groups := map[int][]*originationURL{}
	var prios []int
	for _, u := range urls {
		if _, ok := groups[u.priority]; !ok {
			prios = append(prios, u.priority)
		}
		groups[u.priority] = append(groups[u.priority], u)
	}
	sort.Ints(prios)
	var out []*originationURL
	for _, p := range prios {
		g := append([]*originationURL(nil), groups[p]...)
		for len(g) > 0 {
			total := 0
			for _, u := range g {
				total += max(u.weight, 1)
			}
			x := rand.IntN(total)
			i := 0
			for ; i < len(g)-1; i++ {
				x -= max(g[i].weight, 1)
				if x < 0 {
					break
				}
			}
			out = append(out, g[i])
			g = append(g[:i], g[i+1:]...)
		}
	}
	return out
}

// answerTrunk tries the origination URLs; when none answers, the trunk's
// disaster_recovery_url is requested for TwiML; without one the call fails.
func (e *Emulator) answerTrunk(ctx context.Context, p *callPlan, params url.Values) answer {
	f := e.faults.Load()
	a := answer{sipCode: 200}
	for _, o := range originationOrder(p.origination) {
		if !f.sipUnreachable(o.sipURL) {
			a.outcome, a.answeredBy = OutcomeAnswered, o.sipURL
			return a
		}
		a.pdd += sipAttemptTimeout
	}
	if p.drURL.url != "" {
		a.fallback = true
		r := e.fetchTwiML(ctx, p.drURL, params, p.token)
		a.latency = r.latency
		if r.code == "" {
			a.outcome, a.answeredBy = OutcomeAnswered, p.drURL.url
			return a
		}
		a.alerts = append(a.alerts, webhookAlert(r, p.drURL, p.callSID, params))
		a.outcome = OutcomeAppError
		return a
	}
	code, text := "32011", "Error forwarding call to trunk origination URIs: none answered"
	if len(p.origination) == 0 {
		code, text = "32010", "No valid Origination URIs configured"
	}
	a.outcome, a.sipCode = OutcomeFailed, 503
	a.alerts = append(a.alerts, &alert{errorCode: code, logLevel: "error", alertText: url.Values{"Msg": {text}}.Encode(), resourceSID: p.callSID})
	return a
}

// placeTermination is a call from the customer's SBC into a trunk's
// termination URI: processed in the trunk's routed region, where a trunk
// with that domain must exist.
func (e *Emulator) placeTermination(ctx context.Context, in InboundCall) (CallOutcome, error) {
	domain := strings.ToLower(in.TrunkDomain)
	e.mu.Lock()
	if !e.acct.trunkDomainExists(domain) {
		e.mu.Unlock()
		return e.reject(in, "termination", "no_trunk"), nil
	}
	now := e.clock.Now().UTC()
	reg := e.acct.effectiveRegion(routeKey{routeTrunk, domain}, now)
	if e.faults.Load().Down(reg, "voice") {
		e.mu.Unlock()
		return e.reject(in, "termination", "region_down"), nil
	}
	rs := e.acct.regions[reg]
	var t *trunk
	for _, sid := range rs.trunks.order {
		if rs.trunks.bySID[sid].domainName == domain {
			t = rs.trunks.bySID[sid]
		}
	}
	if t == nil {
		// Routed to a region where the trunk was never created.
		e.mu.Unlock()
		return e.reject(in, "termination", "no_trunk"), nil
	}
	p := &callPlan{kind: "termination", reg: reg, handler: "trunk", trunkSID: t.sid, accountSID: rs.accountSID,
		token: rs.authToken, now: now, callSID: e.acct.newSID("CA")}
	e.mu.Unlock()
	// The PSTN side answers; nothing of the customer's is requested.
	a := answer{outcome: OutcomeAnswered, answeredBy: "pstn", sipCode: 200}
	end := now.Add(time.Duration(in.Duration))
	out := CallOutcome{Region: string(reg), CallSID: p.callSID, Status: "completed", Handler: "trunk", Outcome: a.outcome, AnsweredBy: "pstn"}
	e.record(p, in, "completed", end, &a, &out)
	e.ledger.add(LedgerEntry{Time: now, Kind: "termination", To: in.To, From: in.From, Region: string(reg), CallSID: p.callSID,
		Handler: "trunk", AnswerBy: "pstn", Outcome: a.outcome})
	return out, nil
}

// sipDomainIn returns the region's domain of that name.
func (rs *regionState) sipDomainIn(name string) *sipDomain {
	for _, sid := range rs.domains.order {
		if d := rs.domains.bySID[sid]; strings.EqualFold(d.domainName, name) {
			return d
		}
	}
	return nil
}

// placeSIPDomainCall is a call to user@domain, processed in the domain's
// routed region with that region's domain configuration.
func (e *Emulator) placeSIPDomainCall(ctx context.Context, in InboundCall) (CallOutcome, error) {
	e.mu.Lock()
	now := e.clock.Now().UTC()
	reg := e.acct.effectiveRegion(routeKey{routeSIPDomain, strings.ToLower(in.SIPDomain)}, now)
	if e.faults.Load().Down(reg, "voice") {
		e.mu.Unlock()
		return e.reject(in, "sip-domain", "region_down"), nil
	}
	rs := e.acct.regions[reg]
	d := rs.sipDomainIn(in.SIPDomain)
	if d == nil || d.voiceURL == "" {
		e.mu.Unlock()
		return e.reject(in, "sip-domain", "no_domain"), nil
	}
	p := &callPlan{kind: "sip-domain", reg: reg, handler: "domain", accountSID: rs.accountSID, token: rs.authToken, now: now,
		primary: webhook{d.voiceURL, d.voiceMethod}, fallback: webhook{d.voiceFallbackURL, d.voiceFallbackMethod},
		status: webhook{d.voiceStatusCallbackURL, d.voiceStatusCallbackMeth}, callSID: e.acct.newSID("CA")}
	e.mu.Unlock()
	return e.run(ctx, in, p), nil
}

// Registration is the answer to a SIP REGISTER.
type Registration struct {
	Region   string `json:"region,omitempty"`
	Accepted bool   `json:"accepted"`
	Reason   string `json:"reason,omitempty"`
}

// RegisterSIP simulates a device registering to a SIP domain: accepted when
// the domain's routed region has the domain with registration enabled.
func (e *Emulator) RegisterSIP(domain, user string) Registration {
	e.mu.RLock()
	now := e.clock.Now().UTC()
	reg := e.acct.effectiveRegion(routeKey{routeSIPDomain, strings.ToLower(domain)}, now)
	d := e.acct.regions[reg].sipDomainIn(domain)
	down := e.faults.Load().Down(reg, "voice")
	e.mu.RUnlock()
	r := Registration{Region: string(reg), Accepted: true}
	switch {
	case down:
		r = Registration{Reason: "region_down"}
	case d == nil:
		r = Registration{Region: string(reg), Reason: "no_domain"}
	case !d.sipRegistration:
		r = Registration{Region: string(reg), Reason: "registration_disabled"}
	}
	outcome := OutcomeAnswered
	if !r.Accepted {
		outcome = OutcomeRejected
	}
	e.ledger.add(LedgerEntry{Time: now, Kind: "registration", To: user + "@" + domain, Region: r.Region, Outcome: outcome, Rejected: r.Reason})
	return r
}
