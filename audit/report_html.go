package audit

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Chart is a bar chart laid out for SVG (the HTML report) and the PDF: bars
// in data order, each split into allowed and denied parts.
type Chart struct {
	ID, Title string
	Bars      []ChartBar
	Max       uint64
}

// ChartBar is one bar of a Chart.
type ChartBar struct {
	Label           string
	Allowed, Denied uint64
}

// ReportCharts are the report's three charts: decisions over time, outcomes
// by site, top violated rules.
func ReportCharts(s *ReportSummary) []Chart {
	timeChart := Chart{ID: "chart-decisions-over-time", Title: "Decisions over time (per " + s.SeriesBucket + ")"}
	layout := "2006-01-02 15:00"
	if s.SeriesBucket != "hour" {
		layout = "2006-01-02"
	}
	for _, p := range s.Series {
		timeChart.Bars = append(timeChart.Bars, ChartBar{Label: p.Start.Format(layout), Allowed: p.Allowed, Denied: p.Denied})
	}
	sites := Chart{ID: "chart-outcomes-by-site", Title: "Outcomes by site"}
	for _, k := range SortedKeys(s.Totals.BySite) {
		c := s.Totals.BySite[k]
		sites.Bars = append(sites.Bars, ChartBar{Label: k, Allowed: c.Allowed, Denied: c.Denied})
	}
	rules := Chart{ID: "chart-top-rules", Title: "Top violated rules"}
	for _, k := range TopRules(s.Totals.ByRule, 10) {
		rules.Bars = append(rules.Bars, ChartBar{Label: k, Denied: s.Totals.ByRule[k].Count})
	}
	charts := []Chart{timeChart, sites, rules}
	for i := range charts {
		for _, b := range charts[i].Bars {
			charts[i].Max = max(charts[i].Max, b.Allowed+b.Denied)
		}
	}
	return charts
}

// svg renders a chart: vertical bars for a time series, horizontal bars
// with labels otherwise.
func (c Chart) svg() template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	const green, red = "#2e7d32", "#c62828"
	if c.ID == "chart-decisions-over-time" {
		w, h, pad := 720.0, 220.0, 30.0
		fmt.Fprintf(&b, `<svg id="%s" data-chart="%s" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g">`,
			c.ID, c.ID, esc(c.Title), w, h, w, h)
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#888"/>`, pad, h-pad, w-5, h-pad)
		if len(c.Bars) == 0 || c.Max == 0 {
			fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="14" fill="#555">no decisions in the period</text></svg>`, w/2-90, h/2)
			return template.HTML(b.String())
		}
		bw := (w - pad - 10) / float64(len(c.Bars))
		scale := (h - 2*pad) / float64(c.Max)
		for i, bar := range c.Bars {
			x := pad + float64(i)*bw
			ha, hd := float64(bar.Allowed)*scale, float64(bar.Denied)*scale
			fmt.Fprintf(&b, `<g class="bar"><title>%s: %d allowed, %d denied</title>`, esc(bar.Label), bar.Allowed, bar.Denied)
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"/>`, x, h-pad-ha, max(bw*0.85, 0.5), ha, green)
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"/></g>`, x, h-pad-ha-hd, max(bw*0.85, 0.5), hd, red)
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" fill="#555">%s</text>`, pad, h-10, esc(c.Bars[0].Label))
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" fill="#555" text-anchor="end">%s</text>`, w-5, h-10, esc(c.Bars[len(c.Bars)-1].Label))
		fmt.Fprintf(&b, `<text x="2" y="%g" font-size="11" fill="#555">%d</text></svg>`, pad-8, c.Max)
		return template.HTML(b.String())
	}
	rowH, labelW, w := 22.0, 260.0, 720.0
	h := rowH*float64(max(len(c.Bars), 1)) + 10
	fmt.Fprintf(&b, `<svg id="%s" data-chart="%s" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g">`,
		c.ID, c.ID, esc(c.Title), w, h, w, h)
	if len(c.Bars) == 0 || c.Max == 0 {
		fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" fill="#555">none in the period</text></svg>`)
		return template.HTML(b.String())
	}
	scale := (w - labelW - 60) / float64(c.Max)
	for i, bar := range c.Bars {
		y := 5 + float64(i)*rowH
		wa, wd := float64(bar.Allowed)*scale, float64(bar.Denied)*scale
		fmt.Fprintf(&b, `<g class="bar"><title>%s: %d allowed, %d denied</title>`, esc(bar.Label), bar.Allowed, bar.Denied)
		fmt.Fprintf(&b, `<text x="%g" y="%.2f" font-size="12" text-anchor="end">%s</text>`, labelW-6, y+14, esc(truncate(bar.Label, 40)))
		fmt.Fprintf(&b, `<rect x="%g" y="%.2f" width="%.2f" height="16" fill="%s"/>`, labelW, y+2, wa, green)
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="16" fill="%s"/>`, labelW+wa, y+2, wd, red)
		fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" font-size="11" fill="#333">%d</text></g>`, labelW+wa+wd+4, y+14, bar.Allowed+bar.Denied)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

var reportFuncs = template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format(time.RFC3339)
	},
	"keys":     SortedKeys[Count],
	"topRules": func(m map[string]RuleCount) []string { return TopRules(m, 0) },
	"join":     func(l []string) string { return strings.Join(l, ", ") },
	"orAll": func(s string) string {
		if s == "" {
			return "all"
		}
		return s
	},
	"orUnknown": func(s string) string {
		if s == "" {
			return "(unknown)"
		}
		return s
	},
}

var reportHTML = template.Must(template.New("report").Funcs(reportFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Sovereign audit report — {{.S.Checkpoint.Origin}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1000px;color:#1b1b1b;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}
.ok{color:#2e7d32;font-weight:600}.legend span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}
pre{background:#f7f7f7;padding:.6em;white-space:pre-wrap;word-break:break-all;font-size:.8em}
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}
</style>
</head>
<body>
<h1>Audit report</h1>
<p>Log <code>{{.S.Checkpoint.Origin}}</code>, generated {{ts .S.GeneratedAt}}.
<span class="ok">Verified</span> ({{.S.Verification.Mode}} verification) against the checkpoint below.</p>

<h2 id="checkpoint">Checkpoint</h2>
<table>
<tr><th>Origin</th><td><code>{{.S.Checkpoint.Origin}}</code></td></tr>
<tr><th>Tree size</th><td class="mono">{{.S.Checkpoint.Size}}</td></tr>
<tr><th>Root hash</th><td><code>{{.S.Checkpoint.RootHash}}</code></td></tr>
<tr><th>Signature</th><td><code>{{.S.Checkpoint.Signature}}</code></td></tr>
<tr><th>Entries verified</th><td>{{.S.Verification.Records}} (indices {{.S.Verification.FirstIndex}} to {{.S.Verification.EndIndex}}, exclusive; time skew tolerance {{.S.Verification.TimeSkew}}; {{.S.Verification.OutOfOrder}} out of order)</td></tr>
</table>

<h2 id="scope">Period and scope</h2>
<table>
<tr><th>From</th><td>{{ts .S.Query.From}}</td><th>To</th><td>{{ts .S.Query.To}}</td></tr>
<tr><th>Tenant</th><td>{{orAll .S.Query.Tenant}}</td><th>Dataset</th><td>{{orAll .S.Query.Dataset}}</td></tr>
<tr><th>Site</th><td>{{orAll .S.Query.Site}}</td><th>Kind</th><td>{{orAll (printf "%s" .S.Query.Kind)}}</td></tr>
<tr><th>Records</th><td>{{.S.Totals.Records}}</td><th>First / last</th><td>{{ts .S.FirstTime}} / {{ts .S.LastTime}}</td></tr>
</table>

<h2 id="charts">Charts</h2>
<p class="legend"><span style="background:#2e7d32"></span>allowed<span style="background:#c62828"></span>denied / violations</p>
{{range .Charts}}<figure><figcaption>{{.Title}}</figcaption>{{.SVG}}</figure>
{{end}}

<h2 id="totals">Totals</h2>
{{define "counts"}}<table><tr><th>{{.Name}}</th><th>Total</th><th>Allowed</th><th>Denied</th><th>Activated</th><th>Refused</th></tr>
{{range $k := keys .M}}{{with index $.M $k}}<tr><td>{{orUnknown $k}}</td><td class="n">{{.Total}}</td><td class="n">{{.Allowed}}</td><td class="n">{{.Denied}}</td><td class="n">{{.Activated}}</td><td class="n">{{.Refused}}</td></tr>
{{end}}{{end}}</table>{{end}}
<h3>By kind</h3>{{template "counts" (.Counts "Kind" .S.Totals.ByKind)}}
<h3>By outcome</h3><table><tr><th>Outcome</th><th>Records</th></tr>{{range $k, $v := .S.Totals.ByOutcome}}<tr><td>{{$k}}</td><td class="n">{{$v}}</td></tr>{{end}}</table>
<h3>By site</h3>{{template "counts" (.Counts "Site" .S.Totals.BySite)}}
<h3>By dataset</h3>{{template "counts" (.Counts "Dataset" .S.Totals.ByDataset)}}
<h3>By tenant</h3>{{template "counts" (.Counts "Tenant" .S.Totals.ByTenant)}}
<h3>By rule</h3><table><tr><th>Rule</th><th>Violations</th><th>Citation</th></tr>{{range $k := topRules .S.Totals.ByRule}}{{with index $.S.Totals.ByRule $k}}<tr><td><code>{{$k}}</code></td><td class="n">{{.Count}}</td><td>{{.Citation}}</td></tr>{{end}}{{end}}</table>

<h2 id="denials">Denials ({{len .S.Denials}})</h2>
<table><tr><th>Index</th><th>Time</th><th>Kind</th><th>Tenant</th><th>Datasets</th><th>Denied sites</th><th>Reasons and citations</th></tr>
{{range .S.Denials}}<tr><td class="n">{{.Index}}</td><td>{{ts .Time}}</td><td>{{.Kind}}</td><td>{{orUnknown .Tenant}}</td><td>{{join .Datasets}}</td><td>{{join .DeniedSites}}</td><td>{{range .Violations}}<div><code>{{.Rule}}</code>{{if .Site}} @ {{.Site}}{{end}}: {{.Message}} <em>{{.Citation}}</em></div>{{else}}{{.Reason}}{{end}}</td></tr>
{{end}}</table>

<h2 id="overrides">Overrides and exemptions ({{len .S.Overrides}})</h2>
<table><tr><th>Index</th><th>Time</th><th>Kind</th><th>Principal</th><th>Exemptions</th><th>Links</th></tr>
{{range .S.Overrides}}<tr><td class="n">{{.Index}}</td><td>{{ts .Time}}</td><td>{{.Kind}}</td><td><code>{{.Principal}}</code></td><td>{{join .Exemptions}}</td><td>{{range .Links}}<div>{{.Rel}} <code>{{.ID}}</code></div>{{end}}</td></tr>
{{end}}</table>

<h2 id="timeline">Policy and inventory timeline</h2>
<table><tr><th>Index</th><th>Time</th><th>Event</th><th>Revision</th><th>Digest</th><th>Source / reason</th></tr>
{{range .S.Timeline}}<tr><td class="n">{{.Index}}</td><td>{{ts .Time}}</td><td>{{.Kind}}</td><td><code>{{.Revision}}</code></td><td><code>{{.Digest}}</code></td><td>{{.Source}} {{.Reason}}</td></tr>
{{end}}</table>
<h3>In force (as the decisions record it)</h3>
<table><tr><th>From</th><th>To</th><th>Bundle revision</th><th>Inventory revision</th><th>Decisions</th></tr>
{{range .S.InForce}}<tr><td>{{ts .From}}</td><td>{{ts .To}}</td><td><code>{{.BundleRevision}}</code></td><td><code>{{.InventoryRevision}}</code></td><td class="n">{{.Decisions}}</td></tr>
{{end}}</table>

<h2 id="obligations">Obligations raised</h2>
<table><tr><th>Obligation</th><th>Times raised</th><th>Citation</th></tr>
{{range $k := topRules .S.Obligations}}{{with index $.S.Obligations $k}}<tr><td><code>{{$k}}</code></td><td class="n">{{.Count}}</td><td>{{.Citation}}</td></tr>{{end}}{{end}}</table>

<h2 id="note">Signed checkpoint</h2>
<pre>{{.S.Checkpoint.Note}}</pre>
</body>
</html>
`))

type htmlView struct {
	S      *ReportSummary
	Charts []htmlChart
}

type htmlChart struct {
	Title string
	SVG   template.HTML
}

type countsView struct {
	Name string
	M    map[string]Count
}

func (htmlView) Counts(name string, m map[string]Count) countsView { return countsView{name, m} }

// WriteReportHTML writes the report as one self-contained HTML page: no
// script, no external asset (a Content-Security-Policy forbids them), charts
// as inline SVG.
func WriteReportHTML(w io.Writer, s *ReportSummary) error {
	v := htmlView{S: s}
	for _, c := range ReportCharts(s) {
		v.Charts = append(v.Charts, htmlChart{Title: c.Title, SVG: c.svg()})
	}
	return reportHTML.Execute(w, v)
}
