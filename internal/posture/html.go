package posture

import (
	"bytes"
	"html/template"
	"sort"
	"time"
)

// The HTML report: the three stages in aggregate, each region's blast radius,
// and every finding. html/template escapes everything taken from the account.
var htmlPage = template.Must(template.New("posture").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Voice resilience posture of {{.Account}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.bar{background:#3b6ea5;height:.8em;display:inline-block}.error{color:#b00020}.warning{color:#8a5a00}
</style></head><body>
<h1>Voice resilience posture</h1>
<p>Account {{.Account}}, {{.R.Numbers}} numbers, snapshot taken {{.TakenAt.Format "2006-01-02 15:04:05 MST"}}.</p>
<h2>Stages</h2>
<table><tr><th>Stage</th><th>Clean</th><th>Flagged</th></tr>
{{range .Stages}}<tr><td>{{.Name}}</td><td>{{.Sum.Clean}}</td><td>{{.Sum.Flagged}}</td></tr>{{end}}</table>
<h2>Blast radius</h2>
<table><tr><th>Region</th><th>Numbers processed there</th><th></th></tr>
{{range .Regions}}<tr><td>{{.Name}}</td><td>{{.Count}} ({{printf "%.1f" .Share}}%)</td><td><span class="bar" style="width:{{printf "%.0f" .Share}}px"></span></td></tr>{{end}}</table>
<h2>Findings by kind</h2>
<table><tr><th>Kind</th><th>Count</th></tr>{{range .Kinds}}<tr><td>{{.Name}}</td><td>{{.Count}}</td></tr>{{end}}</table>
<h2>All findings ({{len .R.Findings}})</h2>
<table><tr><th>Stage</th><th>Severity</th><th>Kind</th><th>Region</th><th>Resource</th><th>Detail</th></tr>
{{range .R.Findings}}<tr><td>{{.Stage}}</td><td class="{{.Severity}}">{{.Severity}}</td><td>{{.Kind}}</td><td>{{.Region}}</td><td>{{.Resource}}</td><td>{{.Detail}}</td></tr>
{{end}}</table></body></html>
`))

type htmlRow struct {
	Name  string
	Count int
	Share float64
}

// HTML renders the report as one self-contained page.
func (r *Report) HTML(account string, takenAt time.Time) ([]byte, error) {
	var regions, kinds []htmlRow
	for name, n := range r.ByRegion {
		regions = append(regions, htmlRow{name, n, 100 * float64(n) / float64(max(r.Numbers, 1))})
	}
	for name, n := range r.ByKind {
		kinds = append(kinds, htmlRow{Name: name, Count: n})
	}
	sort.Slice(regions, func(i, j int) bool { return regions[i].Name < regions[j].Name })
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].Name < kinds[j].Name })
	type stage struct {
		Name string
		Sum  StageSum
	}
	stages := []stage{{"1 in-region resilience", r.Stages[1]}, {"2 regional traffic isolation", r.Stages[2]}, {"3 cross-region DR (workbook)", r.Stages[3]}}
	var b bytes.Buffer
	err := htmlPage.Execute(&b, map[string]any{"Account": account, "TakenAt": takenAt, "R": r, "Stages": stages, "Regions": regions, "Kinds": kinds})
	return b.Bytes(), err
}
