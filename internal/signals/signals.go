// Package signals is how voicedr knows what callers experience during a
// failover. It proves that a routing flip took effect (inbound calls to the
// moved numbers land in the target region and none in the old one, the
// recipe Twilio itself gives) and it evaluates a cohort's go/no-go gate over
// the workbook's signals: call outcomes, Monitor alerts on the flow's
// webhooks, Voice Insights, customer-side Prometheus metrics and synthetic
// calls placed and never seen.
//
// Every Twilio read goes through the region-aware client (internal/twilio)
// and every failure is classified there. A region that does not answer makes
// a value missing, and a missing value makes a gate inconclusive, never go:
// silence is not health.
package signals

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
	monitor "github.com/twilio/twilio-go/rest/monitor/v1"
	"golang.org/x/time/rate"

	"github.com/voicedr/voicedr/internal/twilio"
)

// Env is what signals need from the process.
type Env struct {
	Set *twilio.Set
	// HTTP sends Prometheus queries and scrapes; nil means http.DefaultClient.
	HTTP *http.Client
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done (returning its error); nil means a
	// real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives progress at debug level and read failures at warn;
	// nil discards.
	Logger *slog.Logger
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e Env) sleep(ctx context.Context, d time.Duration) error {
	if e.Sleep != nil {
		return e.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e Env) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (e Env) httpClient() *http.Client {
	if e.HTTP != nil {
		return e.HTTP
	}
	return http.DefaultClient
}

// testTwiML hangs up at once: a test or synthetic call exists to produce an
// inbound leg in whichever region processes the number, not to talk.
const testTwiML = "<Response><Hangup/></Response>"

// lateSlack is how far before Since a listing keeps paging. Twilio lists
// calls newest first, and a call's log can be written when it ends (the
// emulator does so), so a call that started just after Since may be listed
// after calls that started before it; Twilio's webhook timers (15 s for the
// URL, 15 s for the fallback) bound how late.
const lateSlack = 2 * time.Minute

// maxCallPages bounds one listing: 50 pages of 1000 calls is more than any
// gate window of a contact centre produces, and a bound keeps a runaway
// listing from eating the window.
const maxCallPages = 50

// callRec is the part of a Call log signals read.
type callRec struct {
	SID, To, From, Status, Direction, Parent, TrunkSID string
	Start                                              time.Time // zero while queued
}

// listCalls lists region c's calls that started at or after since, newest
// first. The whole region is listed once and filtered by number on this
// side: one listing per poll however many numbers are watched. Twilio filters start times by
// whole UTC days, so the request asks for the day and the exact bound is
// applied here; queued calls have no start time and are left out.
func listCalls(ctx context.Context, c *twilio.Client, since time.Time) ([]callRec, error) {
	day := since.Add(-lateSlack).UTC().Truncate(24 * time.Hour)
	p := new(api.ListCallParams).SetStartTimeAfter(day).SetPageSize(1000)
	var out []callRec
	token, page := "", ""
	for range maxCallPages {
		resp, err := c.API(ctx).PageCall(p, token, page)
		if err != nil {
			return out, c.Classify("ListCall", err)
		}
		oldest := time.Time{}
		for _, cl := range resp.Calls {
			r := callRec{SID: str(cl.Sid), To: str(cl.To), From: str(cl.From), Status: str(cl.Status),
				Direction: str(cl.Direction), Parent: str(cl.ParentCallSid), TrunkSID: str(cl.TrunkSid)}
			if s := str(cl.StartTime); s != "" {
				t, err := time.Parse(time.RFC1123Z, s)
				if err != nil {
					return out, fmt.Errorf("call %s in %s: start_time %q: %w", r.SID, c.Region(), s, err)
				}
				r.Start = t
				if oldest.IsZero() || t.Before(oldest) {
					oldest = t
				}
			}
			// Twilio's start times have whole seconds: a call in the second
			// of since counts.
			if !r.Start.IsZero() && !r.Start.Before(since.Truncate(time.Second)) {
				out = append(out, r)
			}
		}
		if resp.NextPageUri == nil || *resp.NextPageUri == "" || (!oldest.IsZero() && oldest.Before(since.Add(-lateSlack))) {
			return out, nil
		}
		token, page = nextPage(*resp.NextPageUri)
	}
	return out, nil
}

// alertRec is the part of a Monitor alert signals read.
type alertRec struct {
	SID, Code, URL, Resource string
	At                       time.Time
}

// listAlerts lists region c's alerts generated at or after since.
func listAlerts(ctx context.Context, c *twilio.Client, since time.Time) ([]alertRec, error) {
	// Alert times have whole seconds, like call start times.
	since = since.Truncate(time.Second)
	p := new(monitor.ListAlertParams).SetStartDate(since.UTC()).SetPageSize(1000)
	var out []alertRec
	token, page := "", ""
	for range maxCallPages {
		resp, err := c.Monitor(ctx).PageAlert(p, token, page)
		if err != nil {
			return out, c.Classify("ListAlert", err)
		}
		for _, a := range resp.Alerts {
			r := alertRec{SID: str(a.Sid), Code: str(a.ErrorCode), URL: str(a.RequestUrl), Resource: str(a.ResourceSid)}
			if a.DateGenerated != nil {
				r.At = *a.DateGenerated
			}
			// StartDate is precise on Twilio and in the emulator; the check
			// keeps a day-granular server honest too.
			if !r.At.IsZero() && r.At.Before(since) {
				continue
			}
			out = append(out, r)
		}
		if resp.Meta.NextPageUrl == nil || *resp.Meta.NextPageUrl == "" {
			return out, nil
		}
		token, page = nextPage(*resp.Meta.NextPageUrl)
	}
	return out, nil
}

// nextPage reads the page token and number from a next-page URL, which is
// how twilio-go's own paging follows it; the Page* methods take them apart.
func nextPage(u string) (token, page string) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", ""
	}
	q := pu.Query()
	return q.Get("PageToken"), q.Get("Page")
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// placeTestCall places a call to number from callerID through c: Twilio
// connects it to the number, whose inbound leg is processed (and logged) by
// the region the number's routing names, with ParentCallSid set to the
// returned SID.
func placeTestCall(ctx context.Context, c *twilio.Client, number, callerID string) (string, error) {
	p := new(api.CreateCallParams).SetTo(number).SetFrom(callerID).SetTwiml(testTwiML)
	cl, err := c.API(ctx).CreateCall(p)
	if err != nil {
		return "", c.Classify("CreateCall", err)
	}
	return str(cl.Sid), nil
}

// newLimiter paces test calls within the account's calls per second
// (Twilio's default is 1; calls beyond it wait queued, which would only
// delay the proof).
func newLimiter(cps float64) *rate.Limiter {
	if cps <= 0 {
		cps = 1
	}
	return rate.NewLimiter(rate.Limit(cps), 1)
}

// pace waits for the limiter on env's clock, so an injected clock drives it.
func pace(ctx context.Context, env Env, lim *rate.Limiter) error {
	now := env.now()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("call rate limiter refused a call")
	}
	if d := r.DelayFrom(now); d > 0 {
		return env.sleep(ctx, d)
	}
	return nil
}

// numberSet indexes numbers for the client-side filter of region listings.
func numberSet(numbers []string) map[string]bool {
	m := make(map[string]bool, len(numbers))
	for _, n := range numbers {
		m[n] = true
	}
	return m
}
