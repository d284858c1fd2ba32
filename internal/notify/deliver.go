package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// errPermanent marks a failure that another attempt cannot fix.
var errPermanent = errors.New("not retried")

// attemptResult is one HTTP attempt's outcome.
type attemptResult struct {
	retry      bool
	retryAfter time.Duration // from the answer's Retry-After, 0 when absent
	err        error         // nil on 2xx; already redacted
}

// deliver sends m to t, retrying as Retry says. The error names the target
// and never carries its URL.
func (n *Notifier) deliver(ctx context.Context, t *target, m Message) error {
	name, typ := t.cfg.Name, t.cfg.Type
	fail := func(err error) error {
		n.Logger.Error("notification failed", "target", name, "type", typ, "event", m.Event, "err", err)
		return fmt.Errorf("notify target %q: %w", name, err)
	}
	secret, err := t.cfg.URL.Resolve(n.Getenv, n.ReadFile)
	if err != nil {
		// Resolve errors name the reference, never the value.
		return fail(fmt.Errorf("url: %w", err))
	}
	req, err := build(typ, secret.Reveal(), m)
	if err != nil {
		return fail(err)
	}
	red := newRedactor(secret.Reveal(), req.endpoint)
	for attempt := 1; ; attempt++ {
		res := n.attempt(ctx, req, red)
		if res.err == nil {
			n.Logger.Info("notification sent", "target", name, "type", typ, "event", m.Event, "attempt", attempt)
			return nil
		}
		if !res.retry {
			return fail(res.err)
		}
		if attempt >= n.Retry.Attempts {
			return fail(fmt.Errorf("%w: gave up after %d attempts", res.err, attempt))
		}
		wait := n.backoff(attempt, res.retryAfter)
		n.Logger.Warn("notification attempt failed, retrying", "target", name, "type", typ, "event", m.Event,
			"attempt", attempt, "retry_in", wait, "err", res.err)
		if err := n.Sleep(ctx, wait); err != nil {
			return fail(fmt.Errorf("%w: stopped retrying: %w", res.err, err))
		}
	}
}

// attempt makes one POST.
func (n *Notifier) attempt(ctx context.Context, req request, red redactor) attemptResult {
	if err := ctx.Err(); err != nil {
		return attemptResult{err: fmt.Errorf("not sent: %w", err)}
	}
	actx, cancel := context.WithTimeout(ctx, n.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(actx, http.MethodPost, req.endpoint, bytes.NewReader(req.body))
	if err != nil {
		// The URL was parsed already; this should not happen, and the
		// error text would quote the URL, so it is not passed on.
		return attemptResult{err: fmt.Errorf("%w: cannot build the request", errPermanent)}
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "voicedr-notify")
	resp, err := n.client.Do(hr)
	if err != nil {
		// *url.Error quotes the URL: keep only its cause, and redact that
		// too in case the transport echoed part of the URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil {
			return attemptResult{err: fmt.Errorf("not sent: %w", ctx.Err())}
		}
		return attemptResult{retry: true, err: red.wrap(fmt.Errorf("post: %w", err))}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return attemptResult{}
	}
	msg := fmt.Sprintf("answered %s", resp.Status)
	if s := oneLine(red.redact(string(snippet))); s != "" {
		msg += ": " + s
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return attemptResult{retry: true, retryAfter: n.retryAfter(resp.Header.Get("Retry-After")), err: errors.New(msg)}
	case code >= 300 && code < 400:
		return attemptResult{err: fmt.Errorf("%w: %s (redirects are not followed: put the final URL in the reference)", errPermanent, msg)}
	default:
		return attemptResult{err: fmt.Errorf("%w: %s (check the target's URL reference)", errPermanent, msg)}
	}
}

// backoff is the wait after the given failed attempt (1-based).
func (n *Notifier) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, MaxRetryAfter)
	}
	ceil := n.Retry.Base
	for i := 1; i < attempt && ceil < n.Retry.Max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, n.Retry.Max)
	return rand.N(ceil + 1)
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func (n *Notifier) retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(n.Now()))
	}
	return 0
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// minFragment is the shortest URL piece redacted on its own: tokens are
// long, and redacting "v2" or "hooks" everywhere would only hurt reading.
const minFragment = 8

// redactor removes a target's URL, and each part of it that can carry a
// token, from text a receiver or the transport produced.
type redactor struct{ secrets []string }

func newRedactor(values ...string) redactor {
	var s []string
	add := func(v string) {
		if len(v) >= minFragment {
			s = append(s, v, url.QueryEscape(v))
		}
	}
	for _, v := range values {
		add(v)
		u, err := url.Parse(v)
		if err != nil {
			continue
		}
		add(u.EscapedPath())
		add(u.RawQuery)
		for _, seg := range strings.Split(u.Path, "/") {
			add(seg)
		}
		for _, vs := range u.Query() {
			for _, q := range vs {
				add(q)
			}
		}
		if u.User != nil {
			add(u.User.String())
		}
	}
	// Longest first, so a URL goes whole rather than piece by piece.
	slices.SortStableFunc(s, func(a, b string) int { return len(b) - len(a) })
	return redactor{secrets: slices.Compact(s)}
}

func (r redactor) redact(text string) string {
	for _, s := range r.secrets {
		text = strings.ReplaceAll(text, s, "[redacted]")
	}
	return text
}

// wrap gives err a redacted text, keeping it in the chain for errors.Is.
func (r redactor) wrap(err error) error {
	return redactedError{msg: r.redact(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }
