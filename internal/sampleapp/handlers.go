package sampleapp

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Endpoint label values.
const (
	endpointVoice    = "voice"
	endpointFallback = "fallback"
	endpointStatus   = "status"
	endpointHealth   = "health"
)

// Outcome label values: what the app did with a request.
const (
	OutcomeOK         = "ok"          // answered TwiML (or 204 for a status callback, 200 for health)
	OutcomeFail       = "fail"        // told to fail: HTTP 500
	OutcomeBadTwiML   = "bad_twiml"   // told to answer 200 with a body that is not TwiML
	OutcomeCanceled   = "canceled"    // the caller gave up while the app was slow
	OutcomeForbidden  = "forbidden"   // missing or bad X-Twilio-Signature: 403
	OutcomeBadRequest = "bad_request" // unreadable form body: 400
	OutcomeUnhealthy  = "unhealthy"   // health check while told to be unhealthy: 503
)

// badTwiMLBody is what bad-twiml mode answers: the page a misconfigured web
// server might serve with status 200, which Twilio reports as 12100.
const badTwiMLBody = "<html><body><h1>It works!</h1></body></html>\n"

// finalStatuses are the CallStatus values that end a call; only these are
// counted, because a gate compares finished calls, not progress events.
var finalStatuses = map[string]bool{"completed": true, "busy": true, "failed": true, "no-answer": true, "canceled": true}

// serveFunc answers a request whose signature is valid and returns its
// outcome; m is the mode read once when the request arrived, so a mode
// change mid-request cannot mix two behaviours.
type serveFunc func(w http.ResponseWriter, r *http.Request, m Mode, probe bool) string

// webhook wraps an endpoint Twilio calls: body limit, form parsing,
// signature check (403), then the endpoint, then the bookkeeping.
func (a *App) webhook(endpoint string, serve serveFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		probe := isProbe(r)
		m := a.Mode()
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		var outcome string
		switch {
		case r.ParseForm() != nil:
			http.Error(w, "unreadable form body", http.StatusBadRequest)
			outcome = OutcomeBadRequest
		case !a.verify(r):
			// No detail in the answer: telling a forger why helps only the forger.
			http.Error(w, "invalid "+SignatureHeader, http.StatusForbidden)
			outcome = OutcomeForbidden
			a.log.Warn("sample app refused a request with a missing or invalid signature",
				"region", a.region, "endpoint", endpoint, "url", a.requestURL(r), "probe", probe)
		default:
			outcome = serve(w, r, m, probe)
		}
		a.record(endpoint, outcome, probe, a.now().Sub(start))
	}
}

func (a *App) serveVoice(w http.ResponseWriter, r *http.Request, m Mode, _ bool) string {
	return a.answer(w, r, m.Voice, m.Slow.Std(), fmt.Sprintf("Hello from the %s voice application.", a.region))
}

func (a *App) serveFallback(w http.ResponseWriter, r *http.Request, m Mode, probe bool) string {
	if !probe {
		code := errorCodeLabel(r.Form.Get("ErrorCode"))
		a.metrics.fallbackHits.WithLabelValues(string(a.region), code).Inc()
		a.mu.Lock()
		a.counts.FallbackHits[code]++
		a.mu.Unlock()
	}
	return a.answer(w, r, m.Fallback, m.Slow.Std(),
		fmt.Sprintf("Sorry, we are having trouble. This is the %s fallback application.", a.region))
}

// serveStatus receives a status callback. Injected failures do not apply:
// Twilio ignores the answer to a status callback, so failing it would
// change nothing a caller hears.
func (a *App) serveStatus(w http.ResponseWriter, r *http.Request, _ Mode, probe bool) string {
	if st := r.Form.Get("CallStatus"); finalStatuses[st] && !probe {
		a.metrics.statuses.WithLabelValues(string(a.region), st).Inc()
		a.mu.Lock()
		a.counts.FinalStatuses[st]++
		a.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
	return OutcomeOK
}

// answer carries out behaviour b and otherwise answers TwiML that says text.
func (a *App) answer(w http.ResponseWriter, r *http.Request, b Behavior, slow time.Duration, text string) string {
	switch b {
	case Fail:
		http.Error(w, "sample app told to fail", http.StatusInternalServerError)
		return OutcomeFail
	case BadTwiML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, badTwiMLBody)
		return OutcomeBadTwiML
	case Slow:
		if err := a.sleep(r.Context(), slow); err != nil {
			// The caller (Twilio's timer, a probe's deadline) gave up, or
			// the server is stopping. A 503 tells a caller still
			// connected the truth; an empty 200 would read as success.
			http.Error(w, "sample app stopped waiting", http.StatusServiceUnavailable)
			return OutcomeCanceled
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, TwiML(text))
	return OutcomeOK
}

// TwiML is a <Response> that says text, escaped for XML.
func TwiML(text string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><Response><Say>` + xmlEscape(text) + `</Say></Response>`
}

// healthBody is the JSON /health answers.
type healthBody struct {
	Status string `json:"status"`
	Region string `json:"region"`
}

// serveHealth answers the health URL a load balancer or voicedr's readiness
// check polls. No signature: Twilio does not call it.
func (a *App) serveHealth(w http.ResponseWriter, r *http.Request) {
	start := a.now()
	body, code, outcome := healthBody{Status: "ok", Region: string(a.region)}, http.StatusOK, OutcomeOK
	if !a.Mode().Healthy {
		body.Status, code, outcome = "unhealthy", http.StatusServiceUnavailable, OutcomeUnhealthy
	}
	writeJSON(w, code, body)
	a.record(endpointHealth, outcome, isProbe(r), a.now().Sub(start))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// errorCodeLabel bounds the error_code label to what Twilio sends (a numeric
// code), so a caller cannot grow the metric's cardinality with junk.
func errorCodeLabel(s string) string {
	if s == "" {
		return "none"
	}
	if len(s) > 6 {
		return "other"
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return "other"
		}
	}
	return s
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails to write
	return b.String()
}
