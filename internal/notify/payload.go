package notify

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// PagerDutyEndpoint is where PagerDuty events go when the target's secret
// is a bare routing key rather than a URL.
const PagerDutyEndpoint = "https://events.pagerduty.com/v2/enqueue"

// WebhookFormat identifies the generic webhook body's schema.
const WebhookFormat = "voicedr.notification/v1"

// request is a ready-to-send POST. endpoint is secret.
type request struct {
	endpoint string
	body     []byte
}

// build makes the request for a target of type typ whose URL reference
// resolved to secret. Errors never quote the secret.
func build(typ, secret string, m Message) (request, error) {
	switch typ {
	case TypeSlack:
		u, err := httpURL(secret)
		if err != nil {
			return request{}, err
		}
		b, err := json.Marshal(slackPayload(m))
		return request{endpoint: u.String(), body: b}, err
	case TypeWebhook:
		u, err := httpURL(secret)
		if err != nil {
			return request{}, err
		}
		b, err := json.Marshal(webhookPayload(m))
		return request{endpoint: u.String(), body: b}, err
	case TypePagerDuty:
		endpoint, key, err := pagerDutyTarget(secret)
		if err != nil {
			return request{}, err
		}
		p, err := pagerDutyPayload(m, key)
		if err != nil {
			return request{}, err
		}
		b, err := json.Marshal(p)
		return request{endpoint: endpoint, body: b}, err
	}
	return request{}, fmt.Errorf("%w: unknown target type %q: want slack, pagerduty or webhook", errPermanent, typ)
}

func httpURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Neither the value nor url.Parse's error (which quotes it) is shown.
		return nil, fmt.Errorf("%w: url: the referenced value is not an http(s) URL", errPermanent)
	}
	return u, nil
}

// pagerDutyTarget reads the endpoint and routing key from a PagerDuty
// target's secret, which is either
//
//   - a URL whose routing_key query parameter is the integration's routing
//     key, e.g. https://events.pagerduty.com/v2/enqueue?routing_key=KEY
//     (the parameter is removed before posting: the key travels in the body
//     only, as the Events API wants, and stays out of access logs), or
//   - the bare routing key, posted to PagerDutyEndpoint.
//
// The query parameter was chosen over a last path segment because the
// Events API path is fixed (/v2/enqueue), so a key in the path would need a
// URL that does not exist at PagerDuty.
func pagerDutyTarget(secret string) (endpoint, key string, err error) {
	if !strings.Contains(secret, "://") {
		if strings.ContainsAny(secret, " /?&=\t\n") {
			return "", "", fmt.Errorf("%w: url: the referenced value is neither a routing key nor a URL", errPermanent)
		}
		return PagerDutyEndpoint, secret, nil
	}
	u, err := httpURL(secret)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	key = q.Get("routing_key")
	if key == "" {
		return "", "", fmt.Errorf("%w: url: the PagerDuty URL has no routing_key query parameter: write %s?routing_key=KEY, or just the routing key", errPermanent, PagerDutyEndpoint)
	}
	q.Del("routing_key")
	u.RawQuery = q.Encode()
	return u.String(), key, nil
}

// fact is one labelled value shown to people.
type fact struct{ key, value string }

// facts lists m's identifiers, then its Fields sorted by key.
func facts(m Message) []fact {
	var fs []fact
	for _, f := range []fact{{"event", m.Event}, {"flow", m.Flow}, {"decision", m.DecisionID}, {"run", m.RunID}} {
		if f.value != "" {
			fs = append(fs, f)
		}
	}
	keys := make([]string, 0, len(m.Fields))
	for k := range m.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fs = append(fs, fact{k, m.Fields[k]})
	}
	return fs
}

func headline(m Message) string {
	return "[" + severity(m.Severity) + "] " + m.Summary
}

// severity normalises m.Severity to one of the four known values; an
// unknown one becomes "error" so it is not silently played down.
func severity(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", SeverityInfo:
		return SeverityInfo
	case SeverityWarning, "warn":
		return SeverityWarning
	case SeverityCritical:
		return SeverityCritical
	}
	return SeverityError
}

// Slack limits: 10 fields per section, 2000 characters per field text,
// 3000 per section text.
const (
	slackFieldsPerSection = 10
	slackFieldText        = 2000
	slackSectionText      = 3000
)

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

// slackPayload is an incoming-webhook message: a plain text fallback (for
// notifications and clients without blocks) and blocks: a headline
// section, sections of fields, a link, and the audit head as context.
func slackPayload(m Message) slackMessage {
	mrkdwn := func(s string, limit int) slackText {
		return slackText{Type: "mrkdwn", Text: truncate(s, limit)}
	}
	h := slackEscape(headline(m))
	msg := slackMessage{
		Text:   truncate(h, slackSectionText),
		Blocks: []slackBlock{{Type: "section", Text: ptr(mrkdwn("*"+h+"*", slackSectionText))}},
	}
	var fields []slackText
	for _, f := range facts(m) {
		fields = append(fields, mrkdwn("*"+slackEscape(f.key)+"*\n"+slackEscape(f.value), slackFieldText))
	}
	for c := range slices.Chunk(fields, slackFieldsPerSection) {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Fields: c})
	}
	if m.Link != "" {
		link := strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(m.Link)
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: ptr(mrkdwn("<"+link+"|Open in voicedr>", slackSectionText))})
	}
	if a := m.AuditHead; a != nil {
		text := fmt.Sprintf("audit head #%d %s, signed by %s: %s", a.Seq, a.Hash, a.KeyID, a.Signature)
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{mrkdwn(slackEscape(text), slackSectionText)}})
	}
	return msg
}

func ptr[T any](v T) *T { return &v }

// slackEscape escapes the three characters Slack's mrkdwn gives meaning to.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most limit bytes on a rune boundary, marking the cut.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

type pagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

type pagerDutyPayloadBody struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details"`
}

type pagerDutyEvent struct {
	RoutingKey  string               `json:"routing_key"`
	EventAction string               `json:"event_action"`
	DedupKey    string               `json:"dedup_key,omitempty"`
	Payload     pagerDutyPayloadBody `json:"payload"`
	Links       []pagerDutyLink      `json:"links,omitempty"`
}

// pagerDutySummaryLimit is the Events API's limit on payload.summary.
const pagerDutySummaryLimit = 1024

// pagerDutyPayload is an Events API v2 event. custom_details holds the
// identifiers, the Fields and the audit head (under "audit_head").
func pagerDutyPayload(m Message, routingKey string) (pagerDutyEvent, error) {
	action := "trigger"
	if strings.HasSuffix(m.Event, ".resolved") || strings.HasSuffix(m.Event, ".completed") {
		action = "resolve"
	}
	dedup := cmp.Or(m.DedupKey, m.DecisionID, m.RunID)
	if action == "resolve" && dedup == "" {
		return pagerDutyEvent{}, fmt.Errorf("%w: event %s resolves a PagerDuty incident but the message has no dedup key, decision or run ID", errPermanent, m.Event)
	}
	details := map[string]any{}
	for _, f := range facts(m) {
		details[f.key] = f.value
	}
	if m.AuditHead != nil {
		details["audit_head"] = *m.AuditHead
	}
	sev := severity(m.Severity)
	ev := pagerDutyEvent{
		RoutingKey:  routingKey,
		EventAction: action,
		DedupKey:    dedup,
		Payload: pagerDutyPayloadBody{
			Summary:       truncate(cmp.Or(m.Summary, m.Event), pagerDutySummaryLimit),
			Source:        "voicedr",
			Severity:      sev,
			Timestamp:     m.At.UTC().Format(time.RFC3339Nano),
			Component:     m.Flow,
			Class:         m.Event,
			CustomDetails: details,
		},
	}
	if m.Link != "" {
		ev.Links = []pagerDutyLink{{Href: m.Link, Text: "Open in voicedr"}}
	}
	return ev, nil
}

// webhookMessage is the generic webhook body, format voicedr.notification/v1.
// format, event, severity, summary and at are always present; the others
// only when set.
type webhookMessage struct {
	Format     string            `json:"format"`
	Event      string            `json:"event"`
	Severity   string            `json:"severity"`
	Summary    string            `json:"summary"`
	Flow       string            `json:"flow,omitempty"`
	DecisionID string            `json:"decision_id,omitempty"`
	RunID      string            `json:"run_id,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
	Link       string            `json:"link,omitempty"`
	AuditHead  *AuditHead        `json:"audit_head,omitempty"`
	DedupKey   string            `json:"dedup_key,omitempty"`
	At         string            `json:"at"`
}

func webhookPayload(m Message) webhookMessage {
	return webhookMessage{
		Format:     WebhookFormat,
		Event:      m.Event,
		Severity:   severity(m.Severity),
		Summary:    m.Summary,
		Flow:       m.Flow,
		DecisionID: m.DecisionID,
		RunID:      m.RunID,
		Fields:     m.Fields,
		Link:       m.Link,
		AuditHead:  m.AuditHead,
		DedupKey:   m.DedupKey,
		At:         m.At.UTC().Format(time.RFC3339Nano),
	}
}
