package signals

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"

	insights "github.com/twilio/twilio-go/rest/insights/v1"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/workbook"
)

// webhookFailureCodes are Twilio's "the webhook did not answer" errors
// (11200 HTTP retrieval failure, 11205 HTTP connection failure). A call
// carrying one was answered with Twilio's error message even when its log
// reads completed.
var webhookFailureCodes = map[string]bool{"11200": true, "11205": true}

// finalStatuses are the call statuses a call ends in; completed_percent
// counts only ended calls.
var finalStatuses = map[string]bool{"completed": true, "busy": true, "failed": true, "no-answer": true, "canceled": true}

// synthCall is a synthetic call this gate placed.
type synthCall struct {
	sid, to  string
	seen, ok bool
}

// evaluator measures a gate's conditions; it reads each region's calls and
// alerts once per evaluation however many conditions use them.
type evaluator struct {
	env     Env
	sc      Scope
	signals map[string]workbook.Signal
	numbers map[string]bool
	lim     *rate.Limiter

	synth     []synthCall
	synthSeen int
	nextSynth int // round-robin index into sc.Synthetic

	calls    map[region.Region]readCalls
	alerts   map[region.Region]readAlerts
	matchers map[region.Region]readMatcher
}

type readCalls struct {
	calls []callRec
	err   error
}

type readAlerts struct {
	alerts []alertRec
	err    error
}

func newEvaluator(env Env, sc Scope, signals map[string]workbook.Signal) *evaluator {
	return &evaluator{env: env, sc: sc, signals: signals, numbers: numberSet(sc.Numbers), lim: newLimiter(sc.CallsPerSecond)}
}

func (ev *evaluator) signal(name string) workbook.Signal { return ev.signals[name] }

func (ev *evaluator) region(s workbook.Signal) region.Region {
	if s.Region != "" {
		return s.Region
	}
	return ev.sc.Target
}

// evaluate measures every condition now.
func (ev *evaluator) evaluate(ctx context.Context, conds []workbook.Condition, minSample int, at time.Time) []Measurement {
	ev.calls, ev.alerts, ev.matchers = map[region.Region]readCalls{}, map[region.Region]readAlerts{}, map[region.Region]readMatcher{}
	ev.trackSynthetic(ctx)
	out := make([]Measurement, 0, len(conds))
	for _, c := range conds {
		m := Measurement{Signal: c.Signal, Threshold: c.Threshold, At: at}
		s, ok := ev.signals[c.Signal]
		if !ok {
			m.Missing = "signal not declared in the workbook"
			out = append(out, m)
			continue
		}
		m.Source = s.Source
		var unit string
		switch s.Source {
		case "calls":
			m.Value, unit, m.Sample, m.Missing = ev.measureCalls(ctx, s, at)
		case "alerts":
			m.Value, unit, m.Sample, m.Missing = ev.measureAlerts(ctx, s)
		case "synthetic":
			m.Value, unit, m.Sample, m.Missing = ev.measureSynthetic(ctx)
		case "prometheus":
			m.Value, m.Missing = ev.measurePrometheus(ctx, s)
			unit = c.Threshold.Unit
			if m.Missing == "" {
				m.Sample = 1
			}
		case "insights":
			m.Value, unit, m.Sample, m.Missing = ev.measureInsights(ctx, s)
		default:
			m.Missing = fmt.Sprintf("unknown source %q", s.Source)
		}
		m.Value, m.Unit = convert(m.Value, unit, c.Threshold.Unit)
		if m.Missing == "" && c.Threshold.Unit != "" && m.Unit != c.Threshold.Unit {
			// Comparing a count with a rate would decide on nonsense; the
			// workbook must say what it means.
			m.Missing = fmt.Sprintf("the signal measures %s but the threshold is in %s", m.Unit, c.Threshold.Unit)
		}
		m.Pass = m.Missing == "" && c.Threshold.Holds(m.Value)
		out = append(out, m)
	}
	return out
}

// regionCalls reads r's calls since the flip once per evaluation.
func (ev *evaluator) regionCalls(ctx context.Context, r region.Region) ([]callRec, error) {
	if rc, ok := ev.calls[r]; ok {
		return rc.calls, rc.err
	}
	var rc readCalls
	c, err := ev.env.Set.Get(r)
	if err == nil {
		rc.calls, err = listCalls(ctx, c, ev.sc.Since)
	}
	rc.err = err
	if err != nil {
		ev.env.log().Warn("gate: calls unreadable", "region", r, "err", err)
	}
	ev.calls[r] = rc
	return rc.calls, rc.err
}

func (ev *evaluator) regionAlerts(ctx context.Context, r region.Region) ([]alertRec, error) {
	if ra, ok := ev.alerts[r]; ok {
		return ra.alerts, ra.err
	}
	var ra readAlerts
	c, err := ev.env.Set.Get(r)
	if err == nil {
		ra.alerts, err = listAlerts(ctx, c, ev.sc.Since)
	}
	ra.err = err
	if err != nil {
		ev.env.log().Warn("gate: alerts unreadable", "region", r, "err", err)
	}
	ev.alerts[r] = ra
	return ra.alerts, ra.err
}

// flowCalls are the calls of the scope in r: inbound calls to its numbers,
// and the calls through its trunks (SBC-originated termination) and SIP
// domains.
func (ev *evaluator) flowCalls(ctx context.Context, r region.Region) ([]callRec, error) {
	all, err := ev.regionCalls(ctx, r)
	if err != nil {
		return nil, err
	}
	match, err := ev.matcher(ctx, r)
	if err != nil {
		return nil, err
	}
	var out []callRec
	for _, c := range all {
		if match(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// matcher tells the scope's calls in r. Trunk calls carry the region's own
// trunk SID, so trunks are listed (once per evaluation) to name them.
func (ev *evaluator) matcher(ctx context.Context, r region.Region) (func(callRec) bool, error) {
	byNumber := func(c callRec) bool { return c.Direction == "inbound" && ev.numbers[c.To] }
	if len(ev.sc.Trunks) == 0 && len(ev.sc.SIPDomains) == 0 {
		return byNumber, nil
	}
	if m, ok := ev.matchers[r]; ok {
		return m.match, m.err
	}
	var m readMatcher
	c, err := ev.env.Set.Get(r)
	var tk, dk func(callRec) string
	if err == nil {
		tk, err = callKey(ctx, c, KindTrunk)
	}
	if err == nil {
		dk, err = callKey(ctx, c, KindSIPDomain)
	}
	if err != nil {
		m.err = err
	} else {
		trunks, domains := lowerSet(ev.sc.Trunks), lowerSet(ev.sc.SIPDomains)
		m.match = func(c callRec) bool { return byNumber(c) || trunks[tk(c)] || domains[dk(c)] }
	}
	ev.matchers[r] = m
	return m.match, m.err
}

type readMatcher struct {
	match func(callRec) bool
	err   error
}

func lowerSet(ss []string) map[string]bool {
	out := make(map[string]bool, len(ss))
	for _, s := range ss {
		out[strings.ToLower(s)] = true
	}
	return out
}

// failedWebhookCalls are the SIDs of calls in r with a webhook failure
// alert, whatever URL it was on.
func (ev *evaluator) failedWebhookCalls(ctx context.Context, r region.Region) (map[string]bool, error) {
	alerts, err := ev.regionAlerts(ctx, r)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range alerts {
		if webhookFailureCodes[a.Code] && a.Resource != "" {
			out[a.Resource] = true
		}
	}
	return out, nil
}

func (ev *evaluator) measureCalls(ctx context.Context, s workbook.Signal, at time.Time) (float64, string, int, string) {
	r := ev.region(s)
	calls, err := ev.flowCalls(ctx, r)
	if err != nil {
		return 0, "", 0, fmt.Sprintf("%s calls unreadable: %v", r, err)
	}
	minutes := max(at.Sub(ev.sc.Since), time.Second).Minutes()
	switch measure := s.Params["measure"]; measure {
	case "", "completed_percent":
		failed, err := ev.failedWebhookCalls(ctx, r)
		if err != nil {
			// Without the alerts a completed status proves nothing.
			return 0, "percent", 0, fmt.Sprintf("%s alerts unreadable, so completed calls cannot be told from failed webhooks: %v", r, err)
		}
		ended, ok := 0, 0
		for _, c := range calls {
			if !finalStatuses[c.Status] {
				continue
			}
			ended++
			if c.Status == "completed" && !failed[c.SID] {
				ok++
			}
		}
		if ended == 0 {
			return 0, "percent", 0, ""
		}
		return 100 * float64(ok) / float64(ended), "percent", ended, ""
	case "count":
		return float64(len(calls)), "count", len(calls), ""
	case "per_minute":
		return float64(len(calls)) / minutes, "per_minute", len(calls), ""
	case "volume_vs_baseline":
		if ev.sc.Baseline <= 0 {
			return 0, "percent", len(calls), "no baseline call rate for the flow's numbers"
		}
		return 100 * float64(len(calls)) / minutes / ev.sc.Baseline, "percent", len(calls), ""
	default:
		return 0, "", 0, fmt.Sprintf("unknown calls measure %q: use completed_percent, count, per_minute or volume_vs_baseline", measure)
	}
}

// measureAlerts counts alerts with the signal's error codes on the flow's
// webhooks. Its sample is the flow's calls in the region: no alerts on no
// calls says nothing.
func (ev *evaluator) measureAlerts(ctx context.Context, s workbook.Signal) (float64, string, int, string) {
	r := ev.region(s)
	codes := map[string]bool{}
	list := s.Params["error_codes"]
	if list == "" {
		list = "11200,11205"
	}
	for _, c := range strings.Split(list, ",") {
		if c = strings.TrimSpace(c); c != "" {
			codes[c] = true
		}
	}
	hooks := numberSet(ev.sc.Webhooks)
	alerts, err := ev.regionAlerts(ctx, r)
	if err != nil {
		return 0, "count", 0, fmt.Sprintf("%s alerts unreadable: %v", r, err)
	}
	n := 0
	for _, a := range alerts {
		if codes[a.Code] && (len(hooks) == 0 || hooks[a.URL]) {
			n++
		}
	}
	calls, err := ev.flowCalls(ctx, r)
	if err != nil {
		return float64(n), "count", 0, fmt.Sprintf("%s calls unreadable, so the alert count has no sample: %v", r, err)
	}
	return float64(n), "count", len(calls), ""
}

// trackSynthetic marks synthetic calls whose inbound leg appeared in Target,
// and whether it was answered (not failed, no webhook failure alert).
func (ev *evaluator) trackSynthetic(ctx context.Context) {
	if len(ev.synth) == 0 {
		return
	}
	calls, err := ev.regionCalls(ctx, ev.sc.Target)
	if err != nil {
		return
	}
	failed, ferr := ev.failedWebhookCalls(ctx, ev.sc.Target)
	legs := map[string]callRec{}
	for _, c := range calls {
		if c.Direction == "inbound" && c.Parent != "" {
			legs[c.Parent] = c
		}
	}
	ev.synthSeen = 0
	for i := range ev.synth {
		sc := &ev.synth[i]
		leg, ok := legs[sc.sid]
		sc.seen = ok
		sc.ok = ok && ferr == nil && leg.Status != "failed" && !failed[leg.SID]
		if sc.seen {
			ev.synthSeen++
		}
	}
}

// unseen counts synthetic calls still on their way.
func (ev *evaluator) unseen() int {
	n := 0
	for _, s := range ev.synth {
		if !s.seen {
			n++
		}
	}
	return n
}

// measureSynthetic is the share of this gate's synthetic calls answered in
// Target. A call placed and never seen counts as a failure: it is exactly
// what a caller whose call went nowhere experiences.
func (ev *evaluator) measureSynthetic(ctx context.Context) (float64, string, int, string) {
	if ev.sc.CallerID == "" {
		return 0, "ratio", 0, "no caller ID: synthetic calls cannot be placed"
	}
	if len(ev.sc.Synthetic) == 0 {
		return 0, "ratio", 0, "no numbers to place synthetic calls to"
	}
	if _, err := ev.regionCalls(ctx, ev.sc.Target); err != nil {
		return 0, "ratio", len(ev.synth), fmt.Sprintf("%s calls unreadable: %v", ev.sc.Target, err)
	}
	if _, err := ev.regionAlerts(ctx, ev.sc.Target); err != nil {
		return 0, "ratio", len(ev.synth), fmt.Sprintf("%s alerts unreadable: %v", ev.sc.Target, err)
	}
	if len(ev.synth) == 0 {
		return 0, "ratio", 0, ""
	}
	ok := 0
	for _, s := range ev.synth {
		if s.ok {
			ok++
		}
	}
	return float64(ok) / float64(len(ev.synth)), "ratio", len(ev.synth), ""
}

// placeSynthetic places n synthetic calls, round-robin over the scope's
// synthetic numbers, through Target and within the account's call rate.
func (ev *evaluator) placeSynthetic(ctx context.Context, n int) error {
	if n <= 0 || ev.sc.CallerID == "" || len(ev.sc.Synthetic) == 0 {
		return nil
	}
	c, err := ev.env.Set.Get(ev.sc.Target)
	if err != nil {
		return nil // reported by the measurements reading Target
	}
	for range n {
		if err := pace(ctx, ev.env, ev.lim); err != nil {
			return err
		}
		to := ev.sc.Synthetic[ev.nextSynth%len(ev.sc.Synthetic)]
		ev.nextSynth++
		sid, err := placeTestCall(ctx, c, to, ev.sc.CallerID)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ev.env.log().Warn("gate: synthetic call not placed", "to", to, "target", ev.sc.Target, "err", err)
			return nil
		}
		ev.synth = append(ev.synth, synthCall{sid: sid, to: to})
	}
	return nil
}

// measureInsights reads Voice Insights call summaries of the flow's calls
// in the region. Insights is an extra: when its API does not answer (not
// enabled, down) the value is missing, not failed.
func (ev *evaluator) measureInsights(ctx context.Context, s workbook.Signal) (float64, string, int, string) {
	r := ev.region(s)
	c, err := ev.env.Set.Get(r)
	if err != nil {
		return 0, "", 0, err.Error()
	}
	p := new(insights.ListCallSummariesParams).SetStartTime(ev.sc.Since.UTC().Format(time.RFC3339)).
		SetDirection("inbound").SetPageSize(25).SetLimit(10000)
	sums, err := c.Insights(ctx).ListCallSummaries(p)
	if err != nil {
		err = c.Classify("ListCallSummaries", err)
		return 0, "", 0, fmt.Sprintf("%s voice insights unavailable: %v", r, err)
	}
	total, completed := 0, 0
	for _, sm := range sums {
		if !ev.numbers[callee(sm.To)] {
			continue
		}
		total++
		if str(sm.CallState) == "completed" {
			completed++
		}
	}
	switch measure := s.Params["measure"]; measure {
	case "", "completed_percent":
		if total == 0 {
			return 0, "percent", 0, ""
		}
		return 100 * float64(completed) / float64(total), "percent", total, ""
	case "count":
		return float64(total), "count", total, ""
	default:
		return 0, "", 0, fmt.Sprintf("unknown insights measure %q: use completed_percent or count", measure)
	}
}

// callee reads the number out of a summary's "to" object.
func callee(to *any) string {
	if to == nil {
		return ""
	}
	if m, ok := (*to).(map[string]any); ok {
		if s, ok := m["callee"].(string); ok {
			return s
		}
	}
	return ""
}

// convert expresses v (in unit from) in the threshold's unit when they are
// percent and ratio; otherwise v keeps its own unit.
func convert(v float64, from, to string) (float64, string) {
	switch {
	case from == "percent" && to == "ratio":
		return v / 100, to
	case from == "ratio" && to == "percent":
		return v * 100, to
	case from == "":
		return v, to
	}
	return v, from
}
