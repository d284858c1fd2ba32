package notify_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/notify"
)

func TestSlackPayload(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, target{"chat", "slack", rc.srv.URL + "/services/T0/B0/slacktoken0123456789"})
	f.run(t, sample())

	got := rc.requests()
	head := "[critical] Inbound volume on support-line fell 92% in us1 &lt;detect&gt;"
	field := func(k, v string) any { return map[string]any{"type": "mrkdwn", "text": "*" + k + "*\n" + v} }
	want := []request{{
		Method: "POST", Path: "/services/T0/B0/slacktoken0123456789", ContentType: "application/json",
		Body: map[string]any{
			"text": head,
			"blocks": []any{
				map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*" + head + "*"}},
				map[string]any{"type": "section", "fields": []any{
					field("event", "decision.detection"), field("flow", "support-line"),
					field("decision", "dec-7"), field("run", "run-3"),
					field("region", "us1"), field("trigger", "inbound_drop"),
				}},
				map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
					"text": "<https://voicedr.example/decisions/dec-7|Open in voicedr>"}},
				map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn",
					"text": "audit head #42 sha256:abc, signed by k1: c2lnbmF0dXJl"}}},
			},
		},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slack request (-want +got):\n%s", diff)
	}
}

func TestSlackPayloadSplitsFieldsIntoSectionsOfTen(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, target{"chat", "slack", rc.srv.URL + "/hook"})
	m := notify.Message{Event: "run.cohort_committed", Summary: "s", Fields: map[string]string{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"} {
		m.Fields[k] = k
	}
	f.run(t, m)
	var sizes []int
	for _, b := range rc.requests()[0].Body["blocks"].([]any) {
		if fs, ok := b.(map[string]any)["fields"]; ok {
			sizes = append(sizes, len(fs.([]any)))
		}
	}
	// event + 11 fields = 12 facts: Slack allows at most 10 per section.
	if diff := cmp.Diff([]int{10, 2}, sizes); diff != "" {
		t.Errorf("fields per section (-want +got):\n%s", diff)
	}
}

func TestPagerDutyPayload(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	f := newFixture(t, target{"pager", "pagerduty", rc.srv.URL + "/v2/enqueue?routing_key=R0UTINGKEY0123456789"})
	done := sample()
	done.Event, done.Severity, done.Summary, done.Fields, done.Link, done.AuditHead = "run.completed", "bogus", "", nil, "", nil
	f.run(t, sample(), done)

	want := []request{
		{
			// The routing key travels in the body only.
			Method: "POST", Path: "/v2/enqueue", RawQuery: "", ContentType: "application/json",
			Body: map[string]any{
				"routing_key":  "R0UTINGKEY0123456789",
				"event_action": "trigger",
				"dedup_key":    "dec-7",
				"payload": map[string]any{
					"summary":   "Inbound volume on support-line fell 92% in us1 <detect>",
					"source":    "voicedr",
					"severity":  "critical",
					"timestamp": "2026-03-04T05:06:07Z",
					"component": "support-line",
					"class":     "decision.detection",
					"custom_details": map[string]any{
						"event": "decision.detection", "flow": "support-line", "decision": "dec-7", "run": "run-3",
						"region": "us1", "trigger": "inbound_drop",
						"audit_head": map[string]any{"seq": 42.0, "hash": "sha256:abc", "key_id": "k1", "signature": "c2lnbmF0dXJl"},
					},
				},
				"links": []any{map[string]any{"href": "https://voicedr.example/decisions/dec-7", "text": "Open in voicedr"}},
			},
		},
		{
			// .completed resolves the incident; an unknown severity is raised to error.
			Method: "POST", Path: "/v2/enqueue", ContentType: "application/json",
			Body: map[string]any{
				"routing_key":  "R0UTINGKEY0123456789",
				"event_action": "resolve",
				"dedup_key":    "dec-7",
				"payload": map[string]any{
					"summary":   "run.completed",
					"source":    "voicedr",
					"severity":  "error",
					"timestamp": "2026-03-04T05:06:07Z",
					"component": "support-line",
					"class":     "run.completed",
					"custom_details": map[string]any{
						"event": "run.completed", "flow": "support-line", "decision": "dec-7", "run": "run-3",
					},
				},
			},
		},
	}
	if diff := cmp.Diff(want, rc.requests()); diff != "" {
		t.Errorf("pagerduty requests (-want +got):\n%s", diff)
	}
}

func TestWebhookPayload(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, target{"ops", "webhook", rc.srv.URL + "/in?token=webhooktoken0123456789"})
	minimal := notify.Message{Event: "run.rolled_back", Severity: "warning", Summary: "rolled back"}
	f.run(t, sample(), minimal)

	want := []request{
		{
			Method: "POST", Path: "/in", RawQuery: "token=webhooktoken0123456789", ContentType: "application/json",
			Body: map[string]any{
				"format":      "voicedr.notification/v1",
				"event":       "decision.detection",
				"severity":    "critical",
				"summary":     "Inbound volume on support-line fell 92% in us1 <detect>",
				"flow":        "support-line",
				"decision_id": "dec-7",
				"run_id":      "run-3",
				"fields":      map[string]any{"region": "us1", "trigger": "inbound_drop"},
				"link":        "https://voicedr.example/decisions/dec-7",
				"audit_head":  map[string]any{"seq": 42.0, "hash": "sha256:abc", "key_id": "k1", "signature": "c2lnbmF0dXJl"},
				"dedup_key":   "dec-7",
				"at":          "2026-03-04T05:06:07Z",
			},
		},
		{
			// Zero At takes Notifier.Now; unset optional fields are omitted.
			Method: "POST", Path: "/in", RawQuery: "token=webhooktoken0123456789", ContentType: "application/json",
			Body: map[string]any{
				"format":   "voicedr.notification/v1",
				"event":    "run.rolled_back",
				"severity": "warning",
				"summary":  "rolled back",
				"at":       "2026-03-04T05:06:07Z",
			},
		},
	}
	if diff := cmp.Diff(want, rc.requests()); diff != "" {
		t.Errorf("webhook requests (-want +got):\n%s", diff)
	}
}

func TestPagerDutyBareRoutingKeyGoesToEventsAPI(t *testing.T) {
	// A bare key is posted to PagerDuty itself; prove it by pointing the
	// client's transport at a receiver and checking the request's host.
	var host string
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) { host = r.Host })
	f := newFixture(t, target{"pager", "pagerduty", "BAREKEY0123456789"})
	f.n.HTTP = &http.Client{Transport: redirectTo(rc.srv.URL)}
	f.run(t, sample())
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("got %d requests, want 1", len(got))
	}
	if host != "events.pagerduty.com" || got[0].Path != "/v2/enqueue" || got[0].Body["routing_key"] != "BAREKEY0123456789" {
		t.Errorf("got host %q path %q routing_key %v, want events.pagerduty.com /v2/enqueue BAREKEY0123456789", host, got[0].Path, got[0].Body["routing_key"])
	}
}

// redirectTo is a transport that sends every request to base's host,
// keeping the original Host header.
type redirectTo string

func (r redirectTo) RoundTrip(req *http.Request) (*http.Response, error) {
	u, err := url.Parse(string(r))
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Host = req.URL.Host
	req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
	return http.DefaultTransport.RoundTrip(req)
}
