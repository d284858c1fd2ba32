package readiness

import (
	"bytes"
	"html/template"
	"sort"
)

// The HTML view of the package: the checklist, the regional resource map
// side by side, and the gaps with their remediation, in one page an auditor
// or an executive can open without tools. html/template escapes everything
// taken from the account.
var htmlPage = template.Must(template.New("readiness").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Readiness of {{.R.Flow}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
.pass{color:#176f2c;font-weight:600}.fail{color:#b00020;font-weight:600}.warning{color:#8a5a00}
code{font-size:12px;word-break:break-all}
</style></head><body>
<h1>Readiness of flow {{.R.Flow}}: {{if .R.Ready}}<span class="pass">READY</span>{{else}}<span class="fail">NOT READY</span>{{end}}</h1>
<p>Primary {{.R.Primary}}, standby {{range $i, $s := .R.Standbys}}{{if $i}}, {{end}}{{$s}}{{end}};
{{.R.Numbers}} numbers; snapshot taken {{.R.SnapshotAt.Format "2006-01-02 15:04:05 MST"}}, checked {{.R.CheckedAt.Format "2006-01-02 15:04:05 MST"}}.</p>
<h2>Checklist</h2>
<table><tr><th></th><th>Item</th><th>Region</th><th>Failed / checked</th><th>Evidence</th></tr>
{{range .R.Checklist}}<tr><td class="{{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}PASS{{else}}FAIL{{end}}</td>
<td>{{.Title}}</td><td>{{.Region}}</td><td>{{.Failed}} / {{.Checked}}</td><td>{{range .Evidence}}<code>{{.}}</code> {{end}}</td></tr>
{{end}}</table>
<h2>Regional resource map</h2>
<table><tr><th>Region</th><th>Role</th><th>Numbers configured</th><th>TwiML Apps</th><th>Trunks</th><th>SIP domains</th></tr>
{{range .Regions}}<tr><td>{{.Name}}</td><td>{{.Map.Role}}</td><td>{{.Map.NumbersConfigured}} / {{.Map.Numbers}}</td>
<td>{{range .Map.Apps}}{{.}}<br>{{end}}</td><td>{{range .Map.Trunks}}{{.}}<br>{{end}}</td><td>{{range .Map.SIPDomains}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>
<h2>Gaps ({{len .R.Gaps}})</h2>
<table><tr><th>Severity</th><th>Kind</th><th>Region</th><th>Resource</th><th>What is wrong</th><th>Remediation</th></tr>
{{range .R.Gaps}}<tr><td class="{{.Severity}}">{{.Severity}}</td><td>{{.Kind}}</td><td>{{.Region}}</td><td><code>{{.Resource}}</code></td>
<td>{{.Detail}}</td><td><code>{{.Remediation}}</code></td></tr>
{{end}}</table>
<p>Every file of this package is listed with its sha256 in MANIFEST.sha256 (<code>sha256sum -c MANIFEST.sha256</code>).</p>
</body></html>
`))

type regionRow struct {
	Name string
	Map  *RegionMap
}

// HTML renders the report as one self-contained page.
func (r *Report) HTML() ([]byte, error) {
	var rows []regionRow
	for name, m := range r.ResourceMap {
		rows = append(rows, regionRow{name, m})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Map.Role != rows[j].Map.Role {
			return rows[i].Map.Role == "primary"
		}
		return rows[i].Name < rows[j].Name
	})
	var b bytes.Buffer
	err := htmlPage.Execute(&b, struct {
		R       *Report
		Regions []regionRow
	}{r, rows})
	return b.Bytes(), err
}
