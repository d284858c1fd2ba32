package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/workbook"
)

// body is what an http hook is told. Field names are part of the contract
// with customer endpoints: do not rename them.
type body struct {
	RunID   string `json:"run_id"`
	Flow    string `json:"flow"`
	Cohort  string `json:"cohort"`
	When    string `json:"when"`
	From    string `json:"from"`
	To      string `json:"to"`
	Attempt int    `json:"attempt"`
	Hook    string `json:"hook"`
}

// drainLimit bounds how much of a long response is read past Output, so the
// connection can be reused without letting an endpoint stream forever.
const drainLimit = 64 << 10

// idempotencyKey is the key an http hook is sent in the Idempotency-Key
// header: the same for every attempt of one hook at one point of one cohort
// of one run, so the endpoint can recognise a retry after a crash. The
// attempt number is in the body, not here, for the same reason.
func idempotencyKey(h workbook.Hook, c Call) string {
	when := c.When
	if when == "" {
		when = h.When
	}
	return c.RunID + "/" + c.Cohort + "/" + h.Name + "/" + when
}

func (r *Runner) runHTTP(ctx context.Context, h workbook.Hook, c Call, when string) outcome {
	target, secret, err := r.hookURL(h)
	if err != nil {
		return outcome{err: err}
	}
	red := newRedactor(target, secret)
	o := outcome{}
	if !secret {
		o.logURL = loggable(target)
	}

	payload, err := json.Marshal(body{
		RunID: c.RunID, Flow: c.Flow, Cohort: c.Cohort, When: when,
		From: c.From, To: c.To, Attempt: c.Attempt, Hook: h.Name,
	})
	if err != nil {
		o.err = fmt.Errorf("hook %q: encode body: %w", h.Name, err)
		return o
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(payload))
	if err != nil {
		// The error would quote the URL; the hook's name is enough.
		o.err = fmt.Errorf("hook %q: the url cannot be requested: check it is an absolute http(s) URL", h.Name)
		return o
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idempotencyKey(h, c))
	req.Header.Set("User-Agent", "voicedr")

	resp, err := r.client().Do(req)
	if err != nil {
		o.err = fmt.Errorf("hook %q: POST failed: check the endpoint is reachable from this host: %w", h.Name, red.wrap(transportCause(err)))
		return o
	}
	defer resp.Body.Close()
	capture := &limitedBuffer{limit: red.captureLimit()}
	_, readErr := io.Copy(capture, io.LimitReader(resp.Body, drainLimit))
	o.status = resp.StatusCode
	o.output = red.output(capture.Bytes())
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		o.err = fmt.Errorf("hook %q answered HTTP %d: the step did not happen; fix the endpoint (its answer is in the result output), then resume the run", h.Name, resp.StatusCode)
		return o
	}
	if readErr != nil && ctx.Err() != nil {
		// The step was accepted, but the answer was cut off by the deadline;
		// Run reports it as a timeout so the idempotent step is retried.
		o.err = fmt.Errorf("hook %q: reading the answer: %w", h.Name, ctx.Err())
	}
	return o
}

// hookURL resolves h.URL and reports whether it is secret (it came from a
// reference). Errors never quote a secret URL.
func (r *Runner) hookURL(h workbook.Hook) (*url.URL, bool, error) {
	raw, secret := h.URL, false
	if strings.HasPrefix(raw, "env:") || strings.HasPrefix(raw, "file:") {
		s, err := region.CredentialRef(raw).Resolve(r.getenv(), r.readFile())
		if err != nil {
			return nil, true, fmt.Errorf("hook %q: url: %w", h.Name, err)
		}
		raw, secret = s.Reveal(), true
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		if secret {
			return nil, true, fmt.Errorf("hook %q: the value of %s is not an absolute https URL: put the whole URL there", h.Name, h.URL)
		}
		return nil, false, fmt.Errorf("hook %q: url %q is not an absolute https URL: write url: https://host/path", h.Name, loggableString(raw))
	}
	return u, secret, nil
}

func (r *Runner) client() *http.Client {
	c := http.Client{}
	if r.HTTP != nil {
		c = *r.HTTP
	}
	// A redirect would turn the POST into a GET without its body (301-303)
	// and still look like success; an endpoint that moved should be
	// rewritten in the workbook instead.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// transportCause strips the *url.Error the client wraps every failure in,
// because its text quotes the whole URL.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// loggable is u without userinfo, query and fragment, which are where an
// inline URL would carry a credential.
func loggable(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

func loggableString(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return loggable(u)
}
