package twilioemu

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Twilio's webhook timers: a TCP connection within 10 s (two 5-second
// attempts here folded into one), a response within 15 s in all. Both are
// Options so tests and drills run fast.
const (
	defaultWebhookConnectTimeout = 10 * time.Second
	defaultWebhookTimeout        = 15 * time.Second
)

// webhook is one URL Twilio would request for a call.
type webhook struct{ url, method string }

// webhookResult is what a webhook request did.
type webhookResult struct {
	code    string // "" on success, else 11200 / 11205 / 12100
	err     error
	latency time.Duration
}

// newWebhookClient builds the client that requests customers' webhooks, with
// Twilio's connect timeout and a pool sized for traffic bursts.
func newWebhookClient(connect time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: connect}).DialContext,
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// fetchTwiML requests a webhook as Twilio does (form POST, or GET with the
// parameters in the query; X-Twilio-Signature made with the processing
// region's auth token) and insists on a TwiML <Response>. A timeout is
// 11205, any other HTTP failure 11200, a 2xx that is not TwiML 12100.
func (e *Emulator) fetchTwiML(ctx context.Context, w webhook, params url.Values, authToken string) webhookResult {
	start := time.Now()
	res := func(code string, err error) webhookResult {
		return webhookResult{code: code, err: err, latency: time.Since(start)}
	}
	if w.url == "" {
		return res("11200", errors.New("no URL configured"))
	}
	ctx, cancel := context.WithTimeout(ctx, e.webhookTimeout)
	defer cancel()
	req, err := signedRequest(ctx, w, params, authToken)
	if err != nil {
		return res("11200", err)
	}
	resp, err := e.webhooks.Do(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return res("11205", fmt.Errorf("HTTP connection failure: %w", err))
		}
		return res("11200", fmt.Errorf("HTTP retrieval failure: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return res("11205", fmt.Errorf("HTTP connection failure: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return res("11200", fmt.Errorf("HTTP retrieval failure: status %d", resp.StatusCode))
	}
	if !strings.Contains(string(body), "<Response") {
		return res("12100", errors.New("document parse failure: no TwiML <Response>"))
	}
	return res("", nil)
}

// signedRequest builds a webhook request with Twilio's headers.
func signedRequest(ctx context.Context, w webhook, params url.Values, authToken string) (*http.Request, error) {
	target := w.url
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i] // connection overrides never reach the server or the signature
	}
	var req *http.Request
	var err error
	if w.method == http.MethodGet {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + params.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err == nil {
			req.Header.Set("X-Twilio-Signature", Signature(authToken, target, nil))
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", Signature(authToken, target, params))
		}
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", params.Get("CallSid")+"-"+params.Get("CallStatus"))
	return req, nil
}

// statusCallback tells the number's StatusCallback that the call ended.
// Numbers have one end-of-call callback; failures are not retried (Twilio
// does not retry status callbacks) and never change the call.
func (e *Emulator) statusCallback(ctx context.Context, w webhook, params url.Values, authToken string) {
	if w.url == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, e.webhookTimeout)
	defer cancel()
	req, err := signedRequest(ctx, w, params, authToken)
	if err != nil {
		return
	}
	if resp, err := e.webhooks.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
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

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+2)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
