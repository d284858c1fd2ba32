package twilioemu

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// This file processes one inbound call the way Twilio does, in its simplest
// form: routed region at the moment the call arrives, the region's record,
// handler precedence trunk > TwiML App > voice URL, the webhook then the
// fallback, and records (Call, Insights summary, Monitor alerts) left only in
// the processing region. Traffic generation, timers per Twilio, status
// callbacks and SIP legs are the live-calls work built on top of this.

// InboundCall is a call from the PSTN to an owned number.
type InboundCall struct {
	To   string `json:"to"`
	From string `json:"from"`
}

// CallOutcome says what happened to an inbound call.
type CallOutcome struct {
	// Region processed the call; empty when it died at the edge.
	Region  string `json:"region,omitempty"`
	CallSID string `json:"call_sid,omitempty"`
	Status  string `json:"status,omitempty"`
	Handler string `json:"handler,omitempty"` // trunk, app, url
	// Rejected says why the call died before any record was made:
	// not_owned, region_down, no_handler.
	Rejected string   `json:"rejected,omitempty"`
	Alerts   []string `json:"alerts,omitempty"` // error codes written
}

// webhook is one URL Twilio would request for a call.
type webhook struct{ url, method string }

// PlaceInboundCall processes one inbound call now.
func (e *Emulator) PlaceInboundCall(ctx context.Context, in InboundCall) (CallOutcome, error) {
	if !ValidE164(in.To) {
		return CallOutcome{}, fmt.Errorf("to %q is not an E.164 number", in.To)
	}
	// The write lock: minting the call SID uses the account's random source.
	e.mu.Lock()
	n, ok := e.acct.byE164[in.To]
	if !ok {
		e.mu.Unlock()
		return CallOutcome{Rejected: "not_owned"}, nil
	}
	now := e.clock.Now().UTC()
	reg := e.acct.effectiveRegion(routeKey{routeNumber, in.To}, now)
	if e.faults.Load().Down(reg, "voice") {
		e.mu.Unlock()
		return CallOutcome{Rejected: "region_down"}, nil
	}
	rs := e.acct.regions[reg]
	rec := *n.records[reg]
	handler, primary, fallback := "", webhook{}, webhook{}
	switch {
	case rec.trunkSID != "":
		handler = "trunk"
		if t, ok := rs.trunks.get(rec.trunkSID); ok && !trunkReachable(t) && t.disasterRecoveryURL != "" {
			primary = webhook{t.disasterRecoveryURL, t.disasterRecoveryMethod}
		}
	case rec.voiceApplicationSID != "":
		handler = "app"
		if ap, ok := rs.apps.get(rec.voiceApplicationSID); ok {
			primary, fallback = webhook{ap.voiceURL, ap.voiceMethod}, webhook{ap.voiceFallbackURL, ap.voiceFallbackMethod}
		}
	case rec.voiceURL != "":
		handler = "url"
		primary, fallback = webhook{rec.voiceURL, rec.voiceMethod}, webhook{rec.voiceFallbackURL, rec.voiceFallbackMethod}
	}
	accountSID, token := rs.accountSID, rs.authToken
	callSID := e.acct.newSID("CA")
	e.mu.Unlock()
	if handler == "" {
		// Twilio rejects it at the network edge: no call log, no webhook.
		return CallOutcome{Rejected: "no_handler"}, nil
	}
	out := CallOutcome{Region: string(reg), CallSID: callSID, Status: "completed", Handler: handler}
	params := url.Values{
		"CallSid": {callSID}, "AccountSid": {accountSID}, "From": {in.From}, "To": {in.To}, "Called": {in.To},
		"Caller": {in.From}, "CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"},
	}
	var alerts []*alert
	if handler == "trunk" && primary.url == "" {
		if t, ok := rs.trunks.get(rec.trunkSID); !ok || !trunkReachable(t) {
			out.Status = "failed"
			alerts = append(alerts, &alert{errorCode: "32010", logLevel: "error", alertText: "No valid Origination URIs configured", resourceSID: callSID})
		}
	} else if code, err := e.fetchTwiML(ctx, primary, params, token); err != nil {
		alerts = append(alerts, webhookAlert(code, primary, callSID, err))
		if fallback.url != "" {
			fp := cloneValues(params)
			fp.Set("ErrorCode", code)
			fp.Set("ErrorUrl", primary.url)
			if code2, err := e.fetchTwiML(ctx, fallback, fp, token); err != nil {
				alerts = append(alerts, webhookAlert(code2, fallback, callSID, err))
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rs = e.acct.regions[reg]
	end := e.clock.Now().UTC()
	rs.calls.put(callSID, &callRecord{sid: callSID, to: in.To, from: in.From, phoneNumberSID: rec.sid, status: out.Status,
		direction: "inbound", trunkSID: rec.trunkSID, start: now, end: end, created: now, updated: end,
		duration: int(end.Sub(now).Seconds()), priceUnit: priceUnit(reg)})
	for _, a := range alerts {
		a.generated = end
		out.Alerts = append(out.Alerts, e.acct.addAlert(rs, *a).errorCode)
	}
	if rs.advancedInsights {
		state := "completed"
		if out.Status == "failed" {
			state = "fail" // Insights' call_state enum, not the Call status
		}
		rs.addSummary(callSummary{callSID: callSID, callType: "carrier", callState: state, processingState: "complete",
			from: map[string]any{"caller": in.From}, to: map[string]any{"callee": in.To},
			carrierEdge: map[string]any{"properties": map[string]any{"signaling_region": string(reg)}},
			start:       now, end: end, created: end, duration: int(end.Sub(now).Seconds())})
	}
	return out, nil
}

func trunkReachable(t *trunk) bool {
	for _, sid := range t.origination.order {
		if t.origination.bySID[sid].enabled {
			return true
		}
	}
	return false
}

func webhookAlert(code string, w webhook, callSID string, err error) *alert {
	return &alert{errorCode: code, logLevel: "error", alertText: err.Error(), requestURL: w.url, requestMethod: w.method,
		resourceSID: callSID, moreInfo: "https://www.twilio.com/docs/errors/" + code}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// fetchTwiML requests a webhook as Twilio does (form POST or GET query,
// X-Twilio-Signature with the region's auth token) and insists on a TwiML
// <Response>. It returns the Twilio error code on failure: 11205 for a
// timeout, 11200 otherwise.
func (e *Emulator) fetchTwiML(ctx context.Context, w webhook, params url.Values, authToken string) (string, error) {
	if w.url == "" {
		return "11200", errors.New("no URL configured")
	}
	timeout := e.opts.WebhookTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var req *http.Request
	var err error
	if w.method == "GET" {
		u := w.url
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + params.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("X-Twilio-Signature", Signature(authToken, u, nil))
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, w.url, strings.NewReader(params.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", Signature(authToken, w.url, params))
		}
	}
	if err != nil {
		return "11200", err
	}
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	resp, err := e.webhookClient().Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "11205", fmt.Errorf("HTTP connection failure: %w", err)
		}
		return "11200", fmt.Errorf("HTTP retrieval failure: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return "11200", fmt.Errorf("HTTP retrieval failure: status %d", resp.StatusCode)
	}
	if !strings.Contains(string(body), "<Response") {
		return "12100", errors.New("document parse failure: no TwiML <Response>")
	}
	return "", nil
}

func (e *Emulator) webhookClient() *http.Client {
	if e.opts.WebhookClient != nil {
		return e.opts.WebhookClient
	}
	return http.DefaultClient
}

// Signature computes X-Twilio-Signature: HMAC-SHA1 over the URL followed by
// each POST parameter's name and value, sorted by name, keyed with the auth
// token, base64-encoded.
func Signature(authToken, fullURL string, post url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(post))
	for k := range post {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range post[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// priceUnit is null outside us1 until a call is finalized (Twilio's
// non-us1 behaviour); the emulator never finalizes prices.
func priceUnit(r region.Region) string {
	if r == region.US1 {
		return "USD"
	}
	return ""
}
