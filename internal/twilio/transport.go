package twilio

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// Retry reasons, the "reason" label of voicedr_twilio_retries_total.
const (
	reasonRateLimited = "rate_limited" // 429: Twilio did not process the request
	reasonServer      = "server_error" // 5xx
	reasonConnect     = "connect"      // dial failed: nothing was sent
	reasonReset       = "reset"        // failed after the request may have been sent
	reasonTimeout     = "timeout"      // AttemptTimeout passed
)

// callOptions let code in this package adjust one call through its context;
// the probe uses them to see every raw attempt.
type callOptions struct {
	maxAttempts int
	observe     func(d time.Duration, err error)
}

type callOptionsKey struct{}

func withCallOptions(ctx context.Context, o callOptions) context.Context {
	return context.WithValue(ctx, callOptionsKey{}, o)
}

// attemptTimeoutError reports that one attempt outlived AttemptTimeout. It
// deliberately does not wrap context.DeadlineExceeded: the caller's context
// is still live, so this is the server's slowness, not a cancellation.
type attemptTimeoutError struct{ after time.Duration }

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("no complete response within %s", e.after)
}
func (e *attemptTimeoutError) Timeout() bool { return true }

// permanentError marks failures a retry cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// roundTrip sends req with limits, endpoint rewrite, retries, metrics and
// logging. The request's context is the caller's (see ctxTransport).
func (p *Pool) roundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		// A RoundTripper must close the request body; every attempt sends
		// a fresh copy from GetBody.
		defer req.Body.Close()
	}
	ctx := req.Context()
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	lbl := labelsFor(host)
	co, _ := ctx.Value(callOptionsKey{}).(callOptions)
	maxAttempts := p.opts.Retry.MaxAttempts
	if co.maxAttempts > 0 {
		maxAttempts = co.maxAttempts
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		maxAttempts = 1 // the body cannot be sent twice
	}
	repeat := repeatable(req.Method, lbl.product, req.URL.Path)

	for attempt := 1; ; attempt++ {
		resp, err := p.attempt(ctx, req, host, lbl, attempt, co)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		reason, retry := retryReason(resp, err, repeat)
		if !retry || attempt >= maxAttempts {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("giving up after %d attempts: %w", attempt, err)
			}
			return resp, err
		}
		delay := p.delay(resp, attempt)
		p.metrics.retries.WithLabelValues(lbl.product, lbl.region, reason).Inc()
		p.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "twilio retry",
			slog.String("method", req.Method), slog.String("host", host), slog.String("path", req.URL.Path),
			slog.String("reason", reason), slog.Int("attempt", attempt), slog.Duration("delay", delay))
		if resp != nil {
			resp.Body.Close() // buffered: closing frees nothing on the wire
		}
		if err := p.opts.Clock.Sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// attempt sends one copy of req and returns its response with the body
// already read into memory. Buffering lets the concurrency slot and the
// connection go back as soon as the exchange is over, whatever the SDK does
// with the body (twilio-go never closes the body of an error response), and
// it makes a connection reset while reading a body retryable like any other.
func (p *Pool) attempt(ctx context.Context, req *http.Request, host string, lbl labels, n int, co callOptions) (*http.Response, error) {
	release, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	actx, cancel := context.WithTimeout(ctx, p.opts.AttemptTimeout)
	defer cancel()

	r := req.Clone(actx)
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			return nil, &permanentError{fmt.Errorf("rewind request body: %w", err)}
		}
	}
	r.Host = host
	if p.endpoint != nil && isTwilioHost(host) {
		r.URL.Scheme, r.URL.Host = p.endpoint.Scheme, p.endpoint.Host
	}

	start := p.opts.Clock.Now()
	resp, err := p.base.RoundTrip(r)
	if err == nil {
		if err = p.buffer(resp); err != nil {
			resp = nil
		}
	}
	dur := p.opts.Clock.Now().Sub(start)
	if err != nil && actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = &attemptTimeoutError{after: p.opts.AttemptTimeout}
	}

	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	p.metrics.requests.WithLabelValues(lbl.product, lbl.region, req.Method, status).Inc()
	p.metrics.duration.WithLabelValues(lbl.product, lbl.region).Observe(dur.Seconds())
	if co.observe != nil {
		co.observe(dur, err)
	}
	if p.opts.Logger.Enabled(ctx, slog.LevelDebug) {
		// Method, host, path and outcome only: headers carry the Basic
		// credentials and query strings may carry customer data.
		attrs := []slog.Attr{
			slog.String("method", req.Method), slog.String("host", host), slog.String("path", req.URL.Path),
			slog.String("status", status), slog.Int("attempt", n), slog.Duration("duration", dur),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		p.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "twilio request", attrs...)
	}
	return resp, err
}

// buffer replaces resp.Body with an in-memory copy. An error status whose
// body is not JSON (a proxy's HTML 502, a load balancer's text 503) gets a
// Twilio-shaped error body, so twilio-go returns a *client.TwilioRestError
// carrying the status instead of a bare JSON decoding failure.
func (p *Pool) buffer(resp *http.Response) error {
	defer resp.Body.Close()
	limit := p.opts.MaxResponseBytes
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("read response body: %w", err)
	}
	if int64(len(b)) > limit {
		return &permanentError{fmt.Errorf("response body exceeds %d bytes", limit)}
	}
	if resp.StatusCode >= 400 {
		var obj map[string]any
		if json.Unmarshal(b, &obj) != nil {
			b, _ = json.Marshal(map[string]any{
				"code": 0, "status": resp.StatusCode, "more_info": "",
				"message": fmt.Sprintf("HTTP %s without a Twilio error body", resp.Status),
			})
			resp.Header.Set("Content-Type", "application/json")
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return nil
}

// retryReason decides whether an attempt's outcome is worth another try.
// A 429 and a failed dial are always safe: Twilio did not process the
// request. Anything that may have reached Twilio — a 5xx, a reset after
// the request was written, a timeout — is retried only for a request whose
// repetition cannot do anything twice (see repeatable).
func retryReason(resp *http.Response, err error, repeat bool) (string, bool) {
	if err != nil {
		var pe *permanentError
		var op *net.OpError
		var te *attemptTimeoutError
		switch {
		case errors.As(err, &pe) || isCertError(err):
			return "", false
		case errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect"):
			return reasonConnect, true
		case errors.As(err, &te):
			return reasonTimeout, repeat
		}
		return reasonReset, repeat
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		return reasonRateLimited, true
	case code == http.StatusNotImplemented || code == http.StatusHTTPVersionNotSupported:
		return "", false
	case code >= 500:
		return reasonServer, repeat
	}
	return "", false
}

func isCertError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// delay is how long to wait before retry number n (1 = first retry): the
// server's Retry-After when it sent one (capped), else full jitter
// rand × min(MaxDelay, BaseDelay × 2^(n-1)), which spreads a burst of
// throttled clients instead of synchronising them.
func (p *Pool) delay(resp *http.Response, n int) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), p.opts.Clock.Now()); ok {
			return min(d, p.opts.Retry.MaxRetryAfter)
		}
	}
	ceiling := p.opts.Retry.MaxDelay
	if n-1 < 32 {
		if d := p.opts.Retry.BaseDelay << (n - 1); d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return time.Duration(p.opts.Jitter() * float64(ceiling))
}

// retryAfter parses Retry-After as delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sidRe matches a Twilio resource SID: two upper-case letters, 32 hex digits.
var sidRe = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)

// routesResources are the routes collections whose POST updates an existing
// routing record keyed by E.164 or domain name; the Routes API has no create.
var routesResources = map[string]bool{"PhoneNumbers": true, "SipDomains": true, "Trunks": true}

// repeatable reports whether sending the request twice does no more than
// sending it once, so that a failure after it may have reached Twilio can be
// retried. Reads are; so is a POST that updates an existing resource (its
// path ends in the resource: .../IncomingPhoneNumbers/PN....json,
// /v1/Trunks/TK..., routes /v2/PhoneNumbers/+1..., /v2/Trunks/x.pstn.twilio.com):
// writing the same values again is a no-op. A POST to a collection creates
// (a second number purchase, a second call, a duplicate origination URL) and
// a DELETE that failed with 5xx may have happened; neither is repeated.
func repeatable(method, product, path string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	case http.MethodPost:
	default:
		return false
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	last := strings.TrimSuffix(segs[len(segs)-1], ".json")
	if sidRe.MatchString(last) {
		return true
	}
	return product == "routes" && len(segs) == 3 && (segs[0] == "v2" || segs[0] == "v3") &&
		routesResources[segs[1]] && segs[2] != ""
}

// labels are the product and region a request's metrics are filed under.
type labels struct{ product, region string }

func labelsFor(host string) labels {
	info, err := region.ParseHost(host)
	if err != nil {
		return labels{product: "other", region: "unknown"}
	}
	return labels{product: info.Product, region: string(info.Region)}
}

func isTwilioHost(host string) bool {
	h := strings.ToLower(host)
	if hn, _, err := net.SplitHostPort(h); err == nil {
		h = hn
	}
	return h == "twilio.com" || strings.HasSuffix(h, ".twilio.com")
}
