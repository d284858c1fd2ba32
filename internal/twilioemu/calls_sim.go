package twilioemu

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// This file processes calls the way Twilio does: in the region the routing
// table names at the moment the call arrives; dead at the edge (no record
// anywhere) when that region's voice is down or its record has no handler;
// handler precedence trunk > TwiML App > voice URL; the webhook, then the
// fallback; records (Call, Insights summary, Monitor alerts) only in the
// processing region; the number's status callback at the end; and a ledger
// entry for every call, which only tests and drills read.

// InboundCall is a call arriving at Twilio: from the PSTN to an owned number
// (To), from the customer's SBC into a trunk's termination URI (TrunkDomain),
// or to a SIP domain (SIPDomain, with To the SIP user).
type InboundCall struct {
	To   string `json:"to"`
	From string `json:"from"`
	// Duration is how long the call lasts once answered; it is recorded, not
	// waited for.
	Duration    Duration `json:"duration,omitempty"`
	TrunkDomain string   `json:"trunk_domain,omitempty"`
	SIPDomain   string   `json:"sip_domain,omitempty"`
	// parent is the Calls API call whose leg this is.
	parent string
}

// CallOutcome says what happened to a call.
type CallOutcome struct {
	// Region processed the call; empty when it died at the edge.
	Region  string `json:"region,omitempty"`
	CallSID string `json:"call_sid,omitempty"`
	Status  string `json:"status,omitempty"`
	Handler string `json:"handler,omitempty"` // trunk, app, url, domain
	Outcome string `json:"outcome"`
	// Rejected says why the call died before any record was made:
	// not_owned, region_down, no_handler, no_trunk, no_domain.
	Rejected     string   `json:"rejected,omitempty"`
	AnsweredBy   string   `json:"answered_by_url,omitempty"`
	FallbackUsed bool     `json:"fallback_used,omitempty"`
	Alerts       []string `json:"alerts,omitempty"` // error codes written
	AnswerMS     float64  `json:"answer_ms"`
}

// callPlan is what the processing region's configuration says to do.
type callPlan struct {
	kind              string // inbound, api-leg, termination, sip-domain
	reg               region.Region
	handler           string
	primary, fallback webhook
	status            webhook
	origination       []*originationURL // trunk handler: enabled URLs
	drURL             webhook
	trunkSID, numSID  string
	accountSID, token string
	callSID           string
	now               time.Time
}

// PlaceInboundCall processes one call now and returns what happened.
func (e *Emulator) PlaceInboundCall(ctx context.Context, in InboundCall) (CallOutcome, error) {
	switch {
	case in.TrunkDomain != "":
		return e.placeTermination(ctx, in)
	case in.SIPDomain != "":
		return e.placeSIPDomainCall(ctx, in)
	}
	if !ValidE164(in.To) {
		return CallOutcome{}, fmt.Errorf("to %q is not an E.164 number", in.To)
	}
	kind := "inbound"
	if in.parent != "" {
		kind = "api-leg"
	}
	e.mu.Lock()
	n, ok := e.acct.byE164[in.To]
	if !ok {
		e.mu.Unlock()
		return e.reject(in, kind, "not_owned"), nil
	}
	now := e.clock.Now().UTC()
	reg := e.acct.effectiveRegion(routeKey{routeNumber, in.To}, now)
	if e.faults.Load().Down(reg, "voice") {
		e.mu.Unlock()
		return e.reject(in, kind, "region_down"), nil
	}
	drop, delay := e.faults.Load().degradedCall(reg)
	if drop {
		e.mu.Unlock()
		return e.reject(in, kind, "region_degraded"), nil
	}
	rs := e.acct.regions[reg]
	rec := n.records[reg]
	p := &callPlan{kind: kind, reg: reg, numSID: rec.sid, accountSID: rs.accountSID, token: rs.authToken, now: now}
	switch {
	case rec.trunkSID != "":
		if t, ok := rs.trunks.get(rec.trunkSID); ok {
			p.handler, p.trunkSID = "trunk", t.sid
			p.drURL = webhook{t.disasterRecoveryURL, t.disasterRecoveryMethod}
			for _, sid := range t.origination.order {
				if o := t.origination.bySID[sid]; o.enabled {
					cp := *o
					p.origination = append(p.origination, &cp)
				}
			}
		}
	case rec.voiceApplicationSID != "":
		if ap, ok := rs.apps.get(rec.voiceApplicationSID); ok {
			p.handler = "app"
			p.primary, p.fallback = webhook{ap.voiceURL, ap.voiceMethod}, webhook{ap.voiceFallbackURL, ap.voiceFallbackMethod}
			p.status = webhook{ap.statusCallback, ap.statusCallbackMethod}
		}
	case rec.voiceURL != "":
		p.handler = "url"
		p.primary, p.fallback = webhook{rec.voiceURL, rec.voiceMethod}, webhook{rec.voiceFallbackURL, rec.voiceFallbackMethod}
	}
	if p.status.url == "" {
		p.status = webhook{rec.statusCallback, rec.statusCallbackMethod}
	}
	if p.handler == "" {
		// Twilio rejects it at the network edge: no call log, no webhook.
		e.mu.Unlock()
		return e.reject(in, kind, "no_handler"), nil
	}
	p.callSID = e.acct.newSID("CA")
	e.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		case <-e.done:
			t.Stop()
		}
	}
	return e.run(ctx, in, p), nil
}

// reject records a call that died before reaching a region.
func (e *Emulator) reject(in InboundCall, kind, reason string) CallOutcome {
	e.ledger.add(LedgerEntry{Time: e.clock.Now().UTC(), Kind: kind, To: in.To, From: in.From, Outcome: OutcomeRejected, Rejected: reason})
	return CallOutcome{Outcome: OutcomeRejected, Rejected: reason}
}

// answer is how a call was answered.
type answer struct {
	outcome, answeredBy string
	fallback            bool
	alerts              []*alert
	latency             time.Duration
	sipCode             int
	pdd                 time.Duration
}

// run answers a planned call, records it in its region and the ledger, and
// sends the status callback.
func (e *Emulator) run(ctx context.Context, in InboundCall, p *callPlan) CallOutcome {
	params := url.Values{
		"CallSid": {p.callSID}, "AccountSid": {p.accountSID}, "From": {in.From}, "To": {in.To},
		"Called": {in.To}, "Caller": {in.From}, "CallStatus": {"ringing"}, "Direction": {"inbound"},
		"ApiVersion": {"2010-04-01"},
	}
	if in.parent != "" {
		params.Set("ParentCallSid", in.parent)
	}
	var a answer
	if p.handler == "trunk" {
		a = e.answerTrunk(ctx, p, params)
	} else {
		a = e.answerWebhooks(ctx, p, params)
	}
	status := "completed"
	switch a.outcome {
	case OutcomeAppError:
		status = e.appErrorStatus
	case OutcomeFailed:
		status = "failed"
	}
	end := p.now.Add(a.latency)
	if a.outcome == OutcomeAnswered {
		end = end.Add(time.Duration(in.Duration))
	}
	out := CallOutcome{Region: string(p.reg), CallSID: p.callSID, Status: status, Handler: p.handler, Outcome: a.outcome,
		AnsweredBy: a.answeredBy, FallbackUsed: a.fallback, AnswerMS: ms(a.latency)}
	e.record(p, in, status, end, &a, &out)
	e.ledger.add(LedgerEntry{Time: p.now, Kind: p.kind, To: in.To, From: in.From, Region: string(p.reg), CallSID: p.callSID,
		Handler: p.handler, AnswerBy: a.answeredBy, Fallback: a.fallback, Outcome: a.outcome, AnswerMS: out.AnswerMS})
	if p.status.url != "" {
		sp := cloneValues(params)
		sp.Set("CallStatus", status)
		sp.Set("CallDuration", strconv.Itoa(int(end.Sub(p.now).Seconds())))
		sp.Set("Timestamp", end.Format(time.RFC1123Z))
		e.statusCallback(ctx, p.status, sp, p.token)
	}
	return out
}

// answerWebhooks requests the primary URL, then the fallback with ErrorCode
// and ErrorUrl; every failure writes a Monitor alert.
func (e *Emulator) answerWebhooks(ctx context.Context, p *callPlan, params url.Values) answer {
	a := answer{sipCode: 200}
	r := e.fetchTwiML(ctx, p.primary, params, p.token)
	a.latency = r.latency
	if r.code == "" {
		a.outcome, a.answeredBy = OutcomeAnswered, p.primary.url
		return a
	}
	a.alerts = append(a.alerts, webhookAlert(r, p.primary, p.callSID, params))
	if p.fallback.url != "" {
		fp := cloneValues(params)
		fp.Set("ErrorCode", r.code)
		fp.Set("ErrorUrl", p.primary.url)
		a.fallback = true
		fr := e.fetchTwiML(ctx, p.fallback, fp, p.token)
		a.latency += fr.latency
		if fr.code == "" {
			a.outcome, a.answeredBy = OutcomeAnswered, p.fallback.url
			return a
		}
		a.alerts = append(a.alerts, webhookAlert(fr, p.fallback, p.callSID, fp))
	}
	// Twilio answers the caller with its application-error message.
	a.outcome = OutcomeAppError
	return a
}

func webhookAlert(r webhookResult, w webhook, callSID string, params url.Values) *alert {
	return &alert{errorCode: r.code, logLevel: "error", requestURL: w.url, requestMethod: w.method, resourceSID: callSID,
		requestVariables: params.Encode(),
		alertText:        url.Values{"Msg": {r.err.Error()}, "url": {w.url}}.Encode()}
}

// record writes the Call, its alerts and its Insights summary in the
// processing region only.
func (e *Emulator) record(p *callPlan, in InboundCall, status string, end time.Time, a *answer, out *CallOutcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rs := e.acct.regions[p.reg]
	to := in.To
	if p.kind == "sip-domain" {
		to = "sip:" + in.To + "@" + in.SIPDomain
	}
	direction := "inbound"
	if p.kind == "termination" {
		direction = "trunking-terminating"
	}
	rs.addCall(&callRecord{sid: p.callSID, parentCallSID: in.parent, to: to, from: in.From, phoneNumberSID: p.numSID,
		status: status, direction: direction, trunkSID: p.trunkSID, start: p.now, end: end, created: p.now, updated: end,
		duration: int(end.Sub(p.now).Seconds()), priceUnit: priceUnit(p.reg)})
	for _, al := range a.alerts {
		al.generated = p.now.Add(a.latency)
		out.Alerts = append(out.Alerts, e.acct.addAlert(rs, *al).errorCode)
	}
	if rs.advancedInsights {
		rs.addSummary(e.summarize(p, in, to, direction, end, a))
	}
}

// highPDD is the post-dial delay above which Insights tags a call high_pdd.
const highPDD = 3 * time.Second

// summarize derives the Insights summary from what the simulation did:
// post-dial delay from the webhook latency and failed trunk attempts, the
// last SIP response from the outcome, the signaling region from routing.
func (e *Emulator) summarize(p *callPlan, in InboundCall, to, direction string, end time.Time, a *answer) callSummary {
	pdd := a.latency + a.pdd
	state := "completed"
	switch a.outcome {
	case OutcomeFailed:
		state = "fail"
	}
	var tags []string
	if pdd > highPDD {
		tags = append(tags, "high_pdd")
	}
	if a.sipCode != 200 {
		tags = append(tags, "AbnormalSession")
	}
	callType := "carrier"
	if p.kind == "termination" || p.handler == "trunk" {
		callType = "trunking"
	} else if p.kind == "sip-domain" {
		callType = "sip"
	}
	return callSummary{
		callSID: p.callSID, callType: callType, callState: state, processingState: "complete",
		from: map[string]any{"caller": in.From}, to: map[string]any{"callee": to},
		carrierEdge: map[string]any{"properties": map[string]any{"signaling_region": string(p.reg), "direction": direction}},
		tags:        tags,
		properties: map[string]any{"direction": direction, "pdd_ms": pdd.Milliseconds(), "last_sip_response_num": a.sipCode,
			"disconnected_by": "callee"},
		start: p.now, end: end, created: end, duration: int(end.Sub(p.now).Seconds()),
		partialAt: end.Add(e.opts.InsightsPartialLag), completeAt: end.Add(e.opts.InsightsCompleteLag),
	}
}

// priceUnit is null outside us1 until a call is finalized (Twilio's
// non-us1 behaviour); the emulator never finalizes prices.
func priceUnit(r region.Region) string {
	if r == region.US1 {
		return "USD"
	}
	return ""
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
