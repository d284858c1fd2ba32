package signals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Scope is what a gate judges: the numbers moved so far and where.
type Scope struct {
	Flow        string
	Target, Old region.Region
	// Numbers are the E.164 numbers moved; calls to them are the flow's
	// traffic.
	Numbers []string
	// Trunks and SIPDomains are the trunk and SIP domain names moved (a
	// trunk or domain cohort): calls through them are the flow's traffic.
	Trunks, SIPDomains []string
	// Since is the flip time of this cohort.
	Since time.Time
	// Webhooks are the flow's webhook URLs in Target; alerts on them count.
	Webhooks []string
	// CallerID is the From of synthetic calls; "" places none.
	CallerID       string
	CallsPerSecond float64
	// Synthetic are the numbers synthetic calls may call (the cohort's
	// sample).
	Synthetic []string
	// Baseline is inbound calls per minute to Numbers before the move; 0 is
	// unknown.
	Baseline float64
}

// Measurement is one condition's value at one evaluation.
type Measurement struct {
	Signal string  `json:"signal"`
	Source string  `json:"source"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	// Sample is how many calls (or points) the value rests on.
	Sample    int                `json:"sample"`
	Threshold workbook.Threshold `json:"threshold"`
	Pass      bool               `json:"pass"`
	// Missing says why the value could not be measured; empty when it was.
	Missing string    `json:"missing,omitempty"`
	At      time.Time `json:"at"`
}

// Outcome is a gate's decision.
type Outcome string

// Outcomes.
const (
	Go           Outcome = "go"
	NoGo         Outcome = "no_go"
	Inconclusive Outcome = "inconclusive"
)

// Result is a gate's decision with the evidence it rests on.
type Result struct {
	Gate    string  `json:"gate"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason"`
	// Measurements are the final values, one per condition, in condition
	// order.
	Measurements []Measurement `json:"measurements"`
	// Series is every evaluation's values, for gate charts (value and
	// sample over time).
	Series          []Measurement `json:"series,omitempty"`
	SyntheticPlaced int           `json:"synthetic_placed"`
	SyntheticSeen   int           `json:"synthetic_seen"`
	Started         time.Time     `json:"started"`
	Ended           time.Time     `json:"ended"`
}

// Gate timing: the default window, and evaluations about six per window but
// no closer than a second, enough for a chart without hammering the API.
const (
	defaultWindow = time.Minute
	minStep       = time.Second
)

// EvaluateGate observes the gate's conditions over its window and decides.
// Go needs every condition to pass on at least max(MinSample, 1) calls; a
// condition failing on enough sample is no_go (decided early when it cannot
// recover, e.g. an alert count already above a <= bound); anything missing
// or too thin at the end is inconclusive. Below MinSample it places
// synthetic calls when it can. The error is for a cancelled ctx or a gate
// that cannot be evaluated at all.
func EvaluateGate(ctx context.Context, env Env, g workbook.Gate, signals []workbook.Signal, sc Scope) (Result, error) {
	res := Result{Gate: g.Name, Started: env.now()}
	if env.Set == nil {
		return res, errors.New("gate: no twilio clients")
	}
	if len(g.Conditions) == 0 {
		return res, fmt.Errorf("gate %s: no conditions", g.Name)
	}
	byName := make(map[string]workbook.Signal, len(signals))
	for _, s := range signals {
		byName[s.Name] = s
	}
	window := time.Duration(g.Window)
	if window <= 0 {
		window = defaultWindow
	}
	step := max(window/6, minStep)
	minSample := max(g.MinSample, 1)
	end := res.Started.Add(window)
	ev := newEvaluator(env, sc, byName)
	log := env.log().With("gate", g.Name, "flow", sc.Flow, "target", sc.Target)

	var last []Measurement
	for {
		at := env.now()
		last = ev.evaluate(ctx, g.Conditions, minSample, at)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		res.Series = append(res.Series, last...)
		if reason, early := earlyNoGo(g.Conditions, last, minSample); early {
			res.Outcome, res.Reason = NoGo, reason
			break
		}
		if !at.Before(end) {
			break
		}
		// New synthetic calls stop after two thirds of the window, so each
		// one has time to land before the decision counts it.
		if at.Before(res.Started.Add(window * 2 / 3)) {
			if err := ev.placeSynthetic(ctx, need(last, g.Conditions, ev, minSample)); err != nil {
				return res, err
			}
		}
		log.Debug("gate evaluated", "measurements", len(last), "synthetic_placed", len(ev.synth))
		if err := env.sleep(ctx, min(step, max(end.Sub(env.now()), 0))); err != nil {
			return res, err
		}
	}
	res.Measurements = last
	res.SyntheticPlaced, res.SyntheticSeen = len(ev.synth), ev.synthSeen
	res.Ended = env.now()
	if res.Outcome == "" {
		res.Outcome, res.Reason = decide(last, minSample, ev)
	}
	return res, nil
}

// sampleNeeded is the sample a condition's value must rest on. Customer
// metrics have no call sample: one successful read is enough, so MinSample
// never makes them inconclusive.
func sampleNeeded(source string, minSample int) int {
	if source == "prometheus" {
		return 1
	}
	return minSample
}

// decide turns the final measurements into an outcome: a measured failure
// on enough sample outranks missing data, which outranks go.
func decide(ms []Measurement, minSample int, ev *evaluator) (Outcome, string) {
	var fails, missing, thin []string
	for _, m := range ms {
		needed := sampleNeeded(m.Source, minSample)
		switch {
		case m.Missing != "":
			missing = append(missing, fmt.Sprintf("%s missing (%s)", m.Signal, m.Missing))
		case m.Sample < needed:
			thin = append(thin, fmt.Sprintf("%s rests on %d of the %d calls needed", m.Signal, m.Sample, needed))
		case !m.Pass:
			fails = append(fails, fmt.Sprintf("%s = %s, want %s %s", m.Signal, fmtValue(m.Value, m.Unit), m.Threshold.Op, fmtValue(m.Threshold.Value, m.Threshold.Unit)))
		}
	}
	switch {
	case len(fails) > 0:
		return NoGo, strings.Join(fails, "; ")
	case len(missing)+len(thin) > 0:
		why := strings.Join(append(missing, thin...), "; ")
		if len(thin) > 0 && ev.sc.CallerID == "" {
			why += "; no caller ID: synthetic calls cannot be placed to make up the sample"
		}
		return Inconclusive, why
	}
	return Go, "every condition holds"
}

// earlyNoGo decides no_go before the window ends when a failing condition
// cannot recover: a count that only grows is already past an upper bound.
func earlyNoGo(conds []workbook.Condition, ms []Measurement, minSample int) (string, bool) {
	for i, m := range ms {
		if m.Missing != "" || m.Pass || m.Sample < sampleNeeded(m.Source, minSample) || !monotone(m) {
			continue
		}
		t := conds[i].Threshold
		// Failing "<" or "<=" means the count is already at or past the
		// bound; failing "==" can recover only from below.
		if t.Op == "<" || t.Op == "<=" || (t.Op == "==" && m.Value > t.Value) {
			return fmt.Sprintf("%s = %s, want %s %s, and it can only grow", m.Signal, fmtValue(m.Value, m.Unit), t.Op, fmtValue(t.Value, t.Unit)), true
		}
	}
	return "", false
}

// monotone: counts of alerts and calls since the flip only grow within a
// window.
func monotone(m Measurement) bool {
	return m.Unit == "count" && (m.Source == "alerts" || m.Source == "calls")
}

// need is how many more synthetic calls would bring every call-based
// condition to the sample it needs. Calls already placed and not yet seen
// will add to the calls seen, so they are subtracted there; a synthetic
// signal's sample is the calls placed, seen or not.
func need(ms []Measurement, conds []workbook.Condition, ev *evaluator, minSample int) int {
	calls, synth := 0, 0
	for _, m := range ms {
		switch m.Source {
		case "prometheus", "insights", "":
		case "synthetic":
			synth = max(synth, sampleNeeded(m.Source, minSample)-m.Sample)
		default:
			calls = max(calls, sampleNeeded(m.Source, minSample)-m.Sample)
		}
	}
	// A synthetic signal needs at least one call per window.
	for _, c := range conds {
		if ev.signal(c.Signal).Source == "synthetic" && len(ev.synth) == 0 {
			synth = max(synth, 1)
		}
	}
	return max(calls-ev.unseen(), synth, 0)
}

func fmtValue(v float64, unit string) string {
	s := fmt.Sprintf("%.4g", v)
	switch unit {
	case "percent":
		return s + "%"
	case "", "ratio":
		return s
	}
	return s + " " + unit
}

// Baseline measures the inbound call rate to numbers in r between since
// and until: calls per minute and how many calls that rests on. The caller
// measures it before the move (e.g. the hour before, in the old region) so
// a gate can compare volume after the flip with it.
func Baseline(ctx context.Context, env Env, r region.Region, numbers []string, since, until time.Time) (perMinute float64, sample int, err error) {
	if env.Set == nil {
		return 0, 0, errors.New("baseline: no twilio clients")
	}
	if !until.After(since) {
		return 0, 0, fmt.Errorf("baseline: until %s is not after since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	c, err := env.Set.Get(r)
	if err != nil {
		return 0, 0, fmt.Errorf("baseline: %w", err)
	}
	calls, err := listCalls(ctx, c, since)
	if err != nil {
		return 0, 0, fmt.Errorf("baseline in %s: %w", r, err)
	}
	want := numberSet(numbers)
	for _, cl := range calls {
		if cl.Direction == "inbound" && want[cl.To] && cl.Start.Before(until) {
			sample++
		}
	}
	return float64(sample) / until.Sub(since).Minutes(), sample, nil
}
