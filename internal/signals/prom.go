package signals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/voicedr/voicedr/internal/workbook"
)

// promTimeout bounds one scrape or query, so a hung customer endpoint
// costs one evaluation, not the gate's window.
const promTimeout = 10 * time.Second

// measurePrometheus reads a customer-side metric: params.url ending in
// /metrics is scraped and the samples of the metric s.Query names are
// summed; any other URL is a Prometheus server asked for the instant value
// of the PromQL in s.Query. The second result says why it is missing.
func (ev *evaluator) measurePrometheus(ctx context.Context, s workbook.Signal) (float64, string) {
	u := s.Params["url"]
	if u == "" {
		return 0, "prometheus signal has no params.url"
	}
	if s.Query == "" {
		return 0, "prometheus signal has no query"
	}
	ctx, cancel := context.WithTimeout(ctx, promTimeout)
	defer cancel()
	var (
		v   float64
		err error
	)
	if strings.HasSuffix(strings.TrimRight(u, "/"), "/metrics") {
		v, err = scrape(ctx, ev.env.httpClient(), u, s.Query)
	} else {
		v, err = instantQuery(ctx, ev.env.httpClient(), u, s.Query)
	}
	if err != nil {
		ev.env.log().Warn("gate: prometheus unreadable", "signal", s.Name, "err", err)
		return 0, err.Error()
	}
	return v, ""
}

// selector is a metric name with exact label matchers: name{a="b",c="d"}.
type selector struct {
	name   string
	labels map[string]string
}

func parseSelector(q string) (selector, error) {
	q = strings.TrimSpace(q)
	sel := selector{name: q, labels: map[string]string{}}
	i := strings.IndexByte(q, '{')
	if i < 0 {
		return sel, nil
	}
	if !strings.HasSuffix(q, "}") {
		return sel, fmt.Errorf("metric selector %q: missing }", q)
	}
	sel.name = strings.TrimSpace(q[:i])
	body := strings.TrimSpace(q[i+1 : len(q)-1])
	for body != "" {
		eq := strings.IndexByte(body, '=')
		if eq < 0 {
			return sel, fmt.Errorf("metric selector %q: want label=\"value\"", q)
		}
		name := strings.TrimSpace(body[:eq])
		rest := strings.TrimSpace(body[eq+1:])
		val, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return sel, fmt.Errorf("metric selector %q: label %s: value must be quoted", q, name)
		}
		sel.labels[name], _ = strconv.Unquote(val)
		body = strings.TrimPrefix(strings.TrimSpace(rest[len(val):]), ",")
		body = strings.TrimSpace(body)
	}
	return sel, nil
}

// scrape reads a Prometheus exposition endpoint and sums the samples of the
// selected metric. For histograms and summaries name_count and name_sum
// select the observation count and sum.
func scrape(ctx context.Context, hc *http.Client, u, query string) (float64, error) {
	sel, err := parseSelector(query)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", u, err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape %s: HTTP %d", u, resp.StatusCode)
	}
	dec := expfmt.NewDecoder(io.LimitReader(resp.Body, 16<<20), expfmt.ResponseFormat(resp.Header))
	sum, found := 0.0, false
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, fmt.Errorf("scrape %s: %w", u, err)
		}
		field := ""
		switch name := mf.GetName(); {
		case name == sel.name:
		case name+"_count" == sel.name:
			field = "count"
		case name+"_sum" == sel.name:
			field = "sum"
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			if !labelsMatch(m, sel.labels) {
				continue
			}
			v, ok := sampleValue(m, field)
			if ok {
				sum, found = sum+v, true
			}
		}
	}
	if !found {
		return 0, fmt.Errorf("scrape %s: no samples of %s", u, query)
	}
	return sum, nil
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func sampleValue(m *dto.Metric, field string) (float64, bool) {
	switch {
	case field == "" && m.Counter != nil:
		return m.Counter.GetValue(), true
	case field == "" && m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case field == "" && m.Untyped != nil:
		return m.Untyped.GetValue(), true
	case field == "count" && m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), true
	case field == "sum" && m.Histogram != nil:
		return m.Histogram.GetSampleSum(), true
	case field == "count" && m.Summary != nil:
		return float64(m.Summary.GetSampleCount()), true
	case field == "sum" && m.Summary != nil:
		return m.Summary.GetSampleSum(), true
	}
	return 0, false
}

// instantQuery asks a Prometheus server (base URL) for the value of a
// PromQL expression now: the first sample of a vector, or a scalar.
func instantQuery(ctx context.Context, hc *http.Client, base, query string) (float64, error) {
	u := strings.TrimRight(base, "/") + "/api/v1/query?" + url.Values{"query": {query}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("prometheus query: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("prometheus query %s: %w", base, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return 0, fmt.Errorf("prometheus query %s: HTTP %d: %w", base, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("prometheus query %s: %s: %s", base, body.Status, body.Error)
	}
	var pair []any
	switch body.Data.ResultType {
	case "vector":
		var vec []struct {
			Value []any `json:"value"`
		}
		if err := json.Unmarshal(body.Data.Result, &vec); err != nil {
			return 0, fmt.Errorf("prometheus query %s: %w", base, err)
		}
		if len(vec) == 0 {
			return 0, fmt.Errorf("prometheus query %s: empty result for %s", base, query)
		}
		pair = vec[0].Value
	case "scalar":
		if err := json.Unmarshal(body.Data.Result, &pair); err != nil {
			return 0, fmt.Errorf("prometheus query %s: %w", base, err)
		}
	default:
		return 0, fmt.Errorf("prometheus query %s: result type %q: want a vector or scalar", base, body.Data.ResultType)
	}
	if len(pair) != 2 {
		return 0, fmt.Errorf("prometheus query %s: malformed sample", base)
	}
	s, _ := pair[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("prometheus query %s: value %q is not a number", base, s)
	}
	return v, nil
}
