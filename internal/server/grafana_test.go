package server_test

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"
)

// TestGrafanaDashboardUsesServedMetrics: every metric the Grafana dashboard
// in deploy/grafana queries is one voicedr serves, so a renamed metric
// cannot leave a silently empty panel.
func TestGrafanaDashboardUsesServedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana/voicedr-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	// The metrics voicedr declares, read from the code that registers them.
	metric := regexp.MustCompile(`voicedr_[a-z_]+`)
	served := map[string]bool{}
	for _, f := range []string{"metrics.go", "../twilio/pool.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(voicedr_[a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
			served[m[1]] = true
			served[m[1]+"_bucket"] = true // histograms
		}
	}
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range metric.FindAllString(tg.Expr, -1) {
				n++
				if !served[m] {
					t.Errorf("panel %q queries %s, which voicedr does not serve", p.Title, m)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("the dashboard queries no voicedr metric")
	}
}
