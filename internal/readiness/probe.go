package readiness

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

// GapWebhookProbe is a standby voice webhook that did not answer a signed
// probe with TwiML in time: the record is right but the call would fail.
const GapWebhookProbe = "webhook_probe_failed"

// ProbeHeader marks voicedr's own requests so the customer app can answer
// them without counting them as business traffic (see internal/sampleapp).
const ProbeHeader = "X-Voicedr-Probe"

// ProbeOptions configure webhook probes.
type ProbeOptions struct {
	// HTTP sends the probes; default http.DefaultClient.
	HTTP *http.Client
	// AuthToken returns a region's auth token, which signs the probe the way
	// Twilio signs its webhooks: an app that checks signatures (as it
	// should) would reject an unsigned probe and prove nothing.
	AuthToken func(region string) (string, error)
	// Timeout bounds each probe; Twilio gives a voice webhook 15 s.
	Timeout time.Duration
}

// ProbeResult is one probe's outcome, kept as evidence.
type ProbeResult struct {
	Region string `json:"region"`
	URL    string `json:"url"`
	Status int    `json:"status,omitempty"`
	Pass   bool   `json:"pass"`
	Error  string `json:"error,omitempty"`
}

// Probe sends a signed POST to each distinct standby voice URL the flow's
// numbers resolve to, in standby regions whose workbook profile allows
// probing (opt-in: the URL may be production), and adds a checklist item,
// gaps and evidence to the report.
func (r *Report) Probe(ctx context.Context, wb *workbook.Workbook, opts ProbeOptions) error {
	if r.snapshot == nil || opts.AuthToken == nil {
		return errors.New("readiness probe: a report from Check and an AuthToken source are required")
	}
	if opts.HTTP == nil {
		opts.HTTP = http.DefaultClient
	}
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Second
	}
	for _, rp := range wb.Regions {
		sr := string(rp.Region)
		if rp.Role != workbook.RoleStandby || !rp.App.ProbeAllowed || r.snapshot.Resources[sr] == nil {
			continue
		}
		token, err := opts.AuthToken(sr)
		if err != nil {
			return fmt.Errorf("readiness probe %s: %w", sr, err)
		}
		to := map[string]string{}       // voice URL → a flow number that reaches it
		fallback := map[string]string{} // fallback URL → its primary voice URL
		for _, n := range r.snapshot.Numbers {
			if f, ok := wb.FlowOf(n); !ok || f != r.Flow {
				continue
			}
			h := posture.Effective(n.Records[sr], r.snapshot.Resources[sr])
			if (h.Kind == "app" || h.Kind == "url") && h.VoiceURL != "" && to[h.VoiceURL] == "" {
				to[h.VoiceURL] = n.PhoneNumber
			}
			if (h.Kind == "app" || h.Kind == "url") && h.FallbackURL != "" && fallback[h.FallbackURL] == "" {
				fallback[h.FallbackURL] = h.VoiceURL
				if to[h.FallbackURL] == "" {
					to[h.FallbackURL] = n.PhoneNumber
				}
			}
		}
		it := Item{ID: "webhooks/" + sr, Title: "Standby voice webhooks in " + sr + " answer a signed probe with TwiML in time", Region: sr}
		for _, u := range sortedKeys(to) {
			// A fallback is requested as Twilio requests it after a failure:
			// with ErrorCode and ErrorUrl.
			res := probeOne(ctx, opts, token, sr, u, to[u], r.snapshot.AccountSID, fallback[u])
			r.Probes = append(r.Probes, res)
			it.Checked++
			if !res.Pass {
				it.Failed++
				it.Evidence = append(it.Evidence, fmt.Sprintf("evidence/probes.json#/%d", len(r.Probes)-1))
				r.Gaps = append(r.Gaps, Gap{Kind: GapWebhookProbe, Severity: SeverityError, Region: sr, Resource: u,
					Detail: "signed probe failed: " + res.Error, Remediation: "fix the standby app at " + u + " so it answers Twilio's signed POST with <Response> TwiML within 15 s"})
			}
		}
		it.Pass = it.Failed == 0
		r.Checklist = append(r.Checklist, it)
		if rp.App.HealthURL != "" {
			r.probeHealth(ctx, opts, sr, rp.App.HealthURL)
		}
	}
	sort.SliceStable(r.Gaps, func(i, j int) bool { return r.Gaps[i].Kind < r.Gaps[j].Kind })
	r.Ready = r.Errors() == 0
	return nil
}

func probeOne(ctx context.Context, opts ProbeOptions, token, sr, u, to, account, errorURL string) ProbeResult {
	res := ProbeResult{Region: sr, URL: u}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	// The parameters of an inbound call, so the app's code path is the one
	// a real call would take.
	form := url.Values{"CallSid": {"CA" + strings.Repeat("0", 32)}, "AccountSid": {account}, "From": {"+15005550006"},
		"To": {to}, "Called": {to}, "Caller": {"+15005550006"}, "CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}}
	if errorURL != "" {
		form.Set("ErrorCode", "11200")
		form.Set("ErrorUrl", errorURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilioemu.Signature(token, u, form))
	req.Header.Set(ProbeHeader, "1")
	resp, err := opts.HTTP.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case err != nil:
		res.Error = "reading the answer: " + err.Error()
	case resp.StatusCode != http.StatusOK:
		res.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	default:
		var doc struct{ XMLName xml.Name }
		if err := xml.Unmarshal(body, &doc); err != nil || doc.XMLName.Local != "Response" {
			res.Error = "answer is not TwiML (<Response> document)"
		} else {
			res.Pass = true
		}
	}
	return res
}

// GapHealth is a standby app whose health URL does not answer 200.
const GapHealth = "health_probe_failed"

// probeHealth GETs the standby app's health URL (marked as a probe) and adds
// its checklist item, evidence and gap.
func (r *Report) probeHealth(ctx context.Context, opts ProbeOptions, sr, u string) {
	res := ProbeResult{Region: sr, URL: u}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err == nil {
		req.Header.Set(ProbeHeader, "1")
		var resp *http.Response
		if resp, err = opts.HTTP.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			res.Status = resp.StatusCode
			res.Pass = resp.StatusCode == http.StatusOK
			if !res.Pass {
				res.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
			}
		}
	}
	if err != nil {
		res.Error = err.Error()
	}
	r.Probes = append(r.Probes, res)
	it := Item{ID: "health/" + sr, Title: "The standby app's health URL in " + sr + " answers 200", Region: sr, Checked: 1, Pass: res.Pass}
	if !res.Pass {
		it.Failed = 1
		it.Evidence = []string{fmt.Sprintf("evidence/probes.json#/%d", len(r.Probes)-1)}
		r.Gaps = append(r.Gaps, Gap{Kind: GapHealth, Severity: SeverityError, Region: sr, Resource: u,
			Detail: "health probe failed: " + res.Error, Remediation: "bring the standby app at " + u + " up, or fix health_url in the workbook"})
	}
	r.Checklist = append(r.Checklist, it)
}

// GapCredentials is a standby region whose credentials Twilio rejects.
const GapCredentials = "standby_credentials_invalid"

// RecordCredentials adds the checklist item proving voicedr's credentials
// work in a standby region: err is the outcome of a request made there with
// them (nil when it succeeded).
func (r *Report) RecordCredentials(region string, err error) {
	it := Item{ID: "credentials/" + region, Title: "voicedr's credentials for " + region + " are accepted there", Region: region, Checked: 1, Pass: err == nil}
	if err != nil {
		it.Failed = 1
		r.Gaps = append(r.Gaps, Gap{Kind: GapCredentials, Severity: SeverityError, Region: region, Resource: region,
			Detail: err.Error(), Remediation: "set TWILIO_" + strings.ToUpper(region) + "_API_KEY/_API_SECRET (or the workbook's references) to a key created in " + region})
	}
	r.Checklist = append(r.Checklist, it)
	sort.SliceStable(r.Gaps, func(i, j int) bool { return r.Gaps[i].Kind < r.Gaps[j].Kind })
	r.Ready = r.Errors() == 0
}
