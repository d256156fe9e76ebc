package report

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Chart is a bar chart laid out for SVG (the HTML report) and the PDF: bars
// in data order, each split into allowed and denied parts.
type Chart struct {
	ID, Title string
	// Note says what a bar counts, under the title.
	Note string
	Bars []ChartBar
	Max  uint64
	// EndLabel, for a time series, is when its last bar ends.
	EndLabel string
}

// ChartBar is one bar of a Chart; Value, if set, is written beside it
// instead of the bar's total.
type ChartBar struct {
	Label           string
	Allowed, Denied uint64
	Value           string
}

// Charts are the report's three charts: decisions over time, outcomes
// by site, top violated rules.
func Charts(s *Summary) []Chart {
	timeChart := Chart{ID: "chart-decisions-over-time", Title: "Decisions over time (per " + s.SeriesBucket + ")",
		Note: "Placement, transfer and admission decisions, allowed and denied; not overrides, nor what-if decisions."}
	layout := "2006-01-02 15:04"
	if len(s.Series) > 0 && (s.SeriesBucket == "day" || strings.HasSuffix(s.SeriesBucket, "week") || strings.HasSuffix(s.SeriesBucket, "weeks")) {
		layout = "2006-01-02"
	}
	for _, p := range s.Series {
		timeChart.Bars = append(timeChart.Bars, ChartBar{Label: p.Start.Format(layout), Allowed: p.Allowed, Denied: p.Denied})
	}
	if !s.SeriesEnd.IsZero() {
		timeChart.EndLabel = s.SeriesEnd.Format(layout)
	}
	sites := Chart{ID: "chart-outcomes-by-site", Title: "Outcomes by site",
		Note: "Per site: a placement is decided at each candidate site, a transfer at its destination."}
	for _, k := range slices.Sorted(maps.Keys(s.Totals.BySite)) {
		c := s.Totals.BySite[k]
		sites.Bars = append(sites.Bars, ChartBar{Label: k, Allowed: c.Allowed, Denied: c.Denied})
	}
	rules := Chart{ID: "chart-top-rules", Title: "Top violated rules",
		Note: "Bars: decisions that violated the rule. Beside them: decisions, and findings (one per site a decision names)."}
	for _, k := range TopRules(s.Totals.ByRule, 10) {
		rc := s.Totals.ByRule[k]
		rules.Bars = append(rules.Bars, ChartBar{Label: k, Denied: rc.Decisions,
			Value: fmt.Sprintf("%d decisions, %d site findings", rc.Decisions, rc.Count)})
	}
	charts := []Chart{timeChart, sites, rules}
	for i := range charts {
		for _, b := range charts[i].Bars {
			charts[i].Max = max(charts[i].Max, b.Allowed+b.Denied)
		}
	}
	return charts
}

// value is what is written beside a bar.
func (b ChartBar) value() string {
	return cmp.Or(b.Value, strconv.FormatUint(b.Allowed+b.Denied, 10))
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
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" fill="#555" text-anchor="end">%s</text>`, w-5, h-10, esc(c.EndLabel))
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
	scale := (w - labelW - 200) / float64(c.Max)
	for i, bar := range c.Bars {
		y := 5 + float64(i)*rowH
		wa, wd := float64(bar.Allowed)*scale, float64(bar.Denied)*scale
		fmt.Fprintf(&b, `<g class="bar"><title>%s: %s</title>`, esc(bar.Label), esc(bar.title()))
		fmt.Fprintf(&b, `<text x="%g" y="%.2f" font-size="12" text-anchor="end">%s</text>`, labelW-6, y+14, esc(truncate(bar.Label, 40)))
		fmt.Fprintf(&b, `<rect x="%g" y="%.2f" width="%.2f" height="16" fill="%s"/>`, labelW, y+2, wa, green)
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="16" fill="%s"/>`, labelW+wa, y+2, wd, red)
		fmt.Fprintf(&b, `<text x="%.2f" y="%.2f" font-size="11" fill="#333">%s</text></g>`, labelW+wa+wd+4, y+14, esc(bar.value()))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// title is a bar's tooltip.
func (b ChartBar) title() string {
	if b.Value != "" {
		return b.Value
	}
	return fmt.Sprintf("%d allowed, %d denied", b.Allowed, b.Denied)
}

// truncate cuts a chart label to n characters (the tables hold it whole).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var templateFuncs = template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format(time.RFC3339)
	},
	"keys":      func(m map[string]Count) []string { return slices.Sorted(maps.Keys(m)) },
	"topRules":  func(m map[string]RuleCount) []string { return TopRules(m, 0) },
	"join":      func(l []string) string { return strings.Join(l, ", ") },
	"orAll":     func(s string) string { return cmp.Or(s, "all") },
	"orUnknown": func(s string) string { return cmp.Or(s, "(unknown)") },
	"driftWhat": DriftWhat,
}

var htmlTemplate = template.Must(template.New("report").Funcs(templateFuncs).Parse(`{{define "top"}}<!DOCTYPE html>
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
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}.note{color:#555;font-size:.85em;margin:.2em 0}
.overridden{color:#8a5a00;font-weight:600}.elsewhere{color:#555}.limit{background:#fff8e1;padding:.4em}
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

<h2 id="drift">Out of compliance now</h2>
{{range .S.OutOfCompliance}}
<h3>{{.Scope}}: drift run of {{ts .Time}} (record {{.Index}})</h3>
<p class="note">Asked by <code>{{.Principal}}</code> on bundle <code>{{.BundleRevision}}</code>, inventory <code>{{.InventoryRevision}}</code>: {{.Result.Datasets}} datasets, {{.Result.Stored}} stored copies and {{.Result.Flows}} flows judged; {{.Result.OutOfCompliance}} out of compliance{{if .Result.Until}}, {{.Result.Forecast}} more by {{.Result.Until}}{{end}}. Digest of the report as answered: <code>{{.Result.ResultSHA256}}</code>.{{if .Filtered}} {{.Filtered}} findings outside this report's dataset or site are left out.{{end}}</p>
{{if .Result.ItemsOmitted}}<p class="limit">The record holds the counts and the digest only (too many findings for one log entry); the findings are in the drift report as answered, which the digest binds.</p>
{{else if .Now}}<table><tr><th>Dataset</th><th>Tenant</th><th>What</th><th>Rules</th><th>Since</th></tr>
{{range .Now}}<tr><td>{{.Dataset}}</td><td>{{.Tenant}}</td><td>{{driftWhat .}}</td><td><code>{{join .Rules}}</code></td><td>{{.Since}}</td></tr>
{{end}}</table>
{{else}}<p>Nothing out of compliance{{if $.S.Query.Filtered}} in this report's scope{{end}}.</p>
{{end}}{{if .Forecast}}<h4>Out of compliance by {{.Result.Until}} (forecast)</h4>
<table><tr><th>Dataset</th><th>Tenant</th><th>What</th><th>Rules</th><th>On</th></tr>
{{range .Forecast}}<tr><td>{{.Dataset}}</td><td>{{.Tenant}}</td><td>{{driftWhat .}}</td><td><code>{{join .Rules}}</code></td><td>{{.On}}</td></tr>
{{end}}</table>{{end}}
{{else}}<p class="limit">No drift run in this period: the log does not say whether what is stored or moving today is in compliance. Run <code>sovereign drift</code> or <code>GET /v1/drift</code> (docs/drift.md); each run is a signed record and appears here.</p>
{{end}}

<h2 id="charts">Charts</h2>
<p class="legend"><span style="background:#2e7d32"></span>allowed<span style="background:#c62828"></span>denied / violations</p>
{{range .Charts}}<figure><figcaption>{{.Title}}</figcaption><p class="note">{{.Note}}</p>{{.SVG}}</figure>
{{end}}

<h2 id="totals">Totals</h2>

<h3>By kind</h3>{{template "counts" (.Counts "Kind" .S.Totals.ByKind)}}
<h3>By outcome</h3><p class="note">Decisions and system events; overrides and what-if decisions are counted apart (below).</p><table><tr><th>Outcome</th><th>Records</th></tr>{{range $k, $v := .S.Totals.ByOutcome}}<tr><td>{{$k}}</td><td class="n">{{$v}}</td></tr>{{end}}</table>
<h3>By site</h3>{{template "counts" (.Counts "Site" .S.Totals.BySite)}}
<h3>By dataset</h3>{{template "counts" (.Counts "Dataset" .S.Totals.ByDataset)}}
<h3>By tenant</h3>{{template "counts" (.Counts "Tenant" .S.Totals.ByTenant)}}
<h3>By rule</h3><p class="note">Decisions that violated the rule, and its findings: one per site a decision names (a placement denied at three candidates is one decision, three findings).</p>
<table><tr><th>Rule</th><th>Decisions</th><th>Site findings</th><th>Citation</th></tr>{{range $k := topRules .S.Totals.ByRule}}{{with index $.S.Totals.ByRule $k}}<tr><td><code>{{$k}}</code></td><td class="n">{{.Decisions}}</td><td class="n">{{.Count}}</td><td>{{.Citation}}</td></tr>{{end}}{{end}}</table>
<h3>Apart</h3><table>
<tr><th>What-if decisions (authorized nothing)</th><td class="n">{{.S.Totals.Hypothetical}}</td><td>{{.S.Totals.HypotheticalDenied}} of them denied</td></tr>
<tr><th>Overrides</th><td class="n">{{.S.Totals.Overrides}}</td><td>{{len .S.Overridden}} decisions overridden in the period</td></tr>
<tr><th>Decisions that applied an exemption</th><td class="n">{{.S.Totals.Exempted}}</td><td></td></tr>
</table>
{{end}}
{{define "bottom"}}
<h2 id="timeline">Policy and inventory timeline</h2>
<table><tr><th>Index</th><th>Time</th><th>Event</th><th>Revision</th><th>Digest</th><th>Source / reason</th></tr>
{{range .S.Timeline}}<tr><td class="n">{{.Index}}</td><td>{{ts .Time}}</td><td>{{.Kind}}</td><td><code>{{.Revision}}</code></td><td><code>{{.Digest}}</code></td><td>{{.Source}} {{.Reason}}</td></tr>
{{end}}</table>
<h3>In force (as the decisions record it)</h3>
<table><tr><th>From</th><th>To</th><th>Bundle revision</th><th>Inventory revision</th><th>Decisions</th></tr>
{{range .S.InForce}}<tr><td>{{ts .From}}</td><td>{{ts .To}}</td><td><code>{{.BundleRevision}}</code></td><td><code>{{.InventoryRevision}}</code></td><td class="n">{{.Decisions}}</td></tr>
{{end}}</table>

<h2 id="obligations">Obligations raised</h2>
<table><tr><th>Obligation</th><th>Decisions</th><th>Times raised (per site)</th><th>Citation</th></tr>
{{range $k := topRules .S.Obligations}}{{with index $.S.Obligations $k}}<tr><td><code>{{$k}}</code></td><td class="n">{{.Decisions}}</td><td class="n">{{.Count}}</td><td>{{.Citation}}</td></tr>{{end}}{{end}}</table>

<h2 id="note">Signed checkpoint</h2>
<pre>{{.S.Checkpoint.Note}}</pre>
</body>
</html>
{{end}}
{{define "counts"}}<table><tr><th>{{.Name}}</th><th>Total</th><th>Allowed</th><th>Denied</th><th>Activated</th><th>Refused</th></tr>
{{range $k := keys .M}}{{with index $.M $k}}<tr><td>{{orUnknown $k}}</td><td class="n">{{.Total}}</td><td class="n">{{.Allowed}}</td><td class="n">{{.Denied}}</td><td class="n">{{.Activated}}</td><td class="n">{{.Refused}}</td></tr>
{{end}}{{end}}</table>{{end}}`))

type htmlView struct {
	S      *Summary
	Charts []htmlChart
}

type htmlChart struct {
	Title, Note string
	SVG         template.HTML
}

type countsView struct {
	Name string
	M    map[string]Count
}

// Counts pairs a count table's name with its counts, for the "counts"
// template.
func (htmlView) Counts(name string, m map[string]Count) countsView { return countsView{name, m} }

// WriteHTML writes the report as one self-contained HTML page: no
// script, no external asset (a Content-Security-Policy forbids them), charts
// as inline SVG. Its lists are s.Denials, s.Overrides and s.Hypothetical.
func WriteHTML(w io.Writer, s *Summary) error {
	lists := [...][]Row{listDenials: s.Denials, listOverrides: s.Overrides, listHypothetical: s.Hypothetical}
	var b bytes.Buffer
	return writeHTML(w, s, func(l list, fn func([]byte) error) error {
		for i := range lists[l] {
			b.Reset()
			htmlRow(&b, l, &lists[l][i])
			if err := fn(b.Bytes()); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeHTML writes the page: the summary, then each list's rows as each
// gives them (one line of HTML a row), then the timeline.
func writeHTML(w io.Writer, s *Summary, each func(l list, fn func(line []byte) error) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	v := htmlView{S: s}
	for _, c := range Charts(s) {
		v.Charts = append(v.Charts, htmlChart{Title: c.Title, Note: c.Note, SVG: c.svg()})
	}
	if err := htmlTemplate.ExecuteTemplate(bw, "top", v); err != nil {
		return err
	}
	counts := [...]uint64{listDenials: s.Totals.Denials, listOverrides: s.Totals.Overrides + s.Totals.Exempted, listHypothetical: s.Totals.Hypothetical}
	for l, h := range htmlLists {
		fmt.Fprintf(bw, "\n<h2 id=%q>%s (%d)</h2>\n<p class=\"note\">%s</p>\n<table><tr>", h.id, h.title, counts[l], h.intro)
		for _, c := range h.columns {
			bw.WriteString("<th>" + c + "</th>")
		}
		bw.WriteString("</tr>\n")
		err := each(list(l), func(line []byte) error {
			if list(l) == listDenials {
				return writeDenial(bw, line, s.Overridden)
			}
			_, err := bw.Write(line)
			return err
		})
		if err != nil {
			return err
		}
		bw.WriteString("</table>\n")
	}
	if err := htmlTemplate.ExecuteTemplate(bw, "bottom", v); err != nil {
		return err
	}
	return bw.Flush()
}

// The lists of an HTML report: heading, columns, and the line that marks a
// denial overridden (filled in when the list is copied out).
var htmlLists = [...]struct {
	id, title, intro string
	columns          []string
}{
	listDenials: {"denials", "Denials", "Decisions denied, access denials, and site-level refusals inside decisions allowed at other sites (marked <em>allowed elsewhere</em>). A denial overridden in the period is marked <em>overridden</em>, with the override. What-if decisions are listed apart, below.",
		[]string{"Index", "Time", "Kind", "Tenant", "Datasets", "Denied sites", "Reasons and citations", "Status"}},
	listOverrides: {"overrides", "Overrides and exemptions", "Break-glass overrides, with who granted them, why, until when and on what; and decisions that applied an exemption.",
		[]string{"Index", "Time", "Kind", "Granted by / principal", "Overrides", "Justification", "Expires", "Ticket", "Datasets", "Exemptions"}},
	listHypothetical: {"hypothetical", "What-if decisions", "Answers for another time (the request's <code>at</code>), which authorized nothing; not counted among the decisions and denials above.",
		[]string{"Index", "Time", "Kind", "Tenant", "Datasets", "Outcome", "Allowed / denied sites", "Reasons and citations"}},
}

// overriddenMark is where a denial row is marked overridden.
const overriddenMark = "<!--overridden-->"

// htmlRow writes r as one line of HTML: a table row of list l.
func htmlRow(b *bytes.Buffer, l list, r *Row) {
	esc := template.HTMLEscapeString
	cell := func(s string) {
		b.WriteString("<td>")
		b.WriteString(esc(s))
		b.WriteString("</td>")
	}
	code := func(s string) {
		b.WriteString("<td><code>")
		b.WriteString(esc(s))
		b.WriteString("</code></td>")
	}
	reasons := func() {
		b.WriteString("<td>")
		for _, v := range r.Violations {
			b.WriteString("<div><code>" + esc(v.Rule) + "</code>")
			if v.Site != "" {
				b.WriteString(" @ " + esc(v.Site))
			}
			b.WriteString(": " + esc(v.Message))
			if v.Citation != "" {
				b.WriteString(" <em>" + esc(v.Citation) + "</em>")
			}
			b.WriteString("</div>")
		}
		if len(r.Violations) == 0 {
			b.WriteString(esc(r.Reason))
		}
		b.WriteString("</td>")
	}
	fmt.Fprintf(b, `<tr id="r-%d" data-record="%s"><td class="n">%d</td>`, r.Index, esc(r.ID), r.Index)
	cell(r.Time.UTC().Format(time.RFC3339))
	cell(string(r.Kind))
	switch l {
	case listDenials:
		cell(cmp.Or(r.Tenant, "(unknown)"))
		cell(strings.Join(r.Datasets, ", "))
		cell(strings.Join(r.DeniedSites, ", "))
		reasons()
		b.WriteString("<td>")
		if r.Outcome == OutcomeAllowed {
			b.WriteString(`<div class="elsewhere">allowed elsewhere (` + esc(strings.Join(r.AllowedSites, ", ")) + `)</div>`)
		}
		b.WriteString(overriddenMark + "</td>")
	case listOverrides:
		code(r.Principal)
		g := r.Override
		if g == nil {
			g = &OverrideGrant{}
		}
		b.WriteString("<td>")
		if g.Overrides != "" {
			b.WriteString("<code>" + esc(g.Overrides) + "</code>")
			if g.OriginalIndex != nil {
				fmt.Fprintf(b, ` (<a href="#r-%d">index %d</a>)`, *g.OriginalIndex, *g.OriginalIndex)
			}
		}
		b.WriteString("</td>")
		cell(g.Justification)
		cell(g.Expires)
		cell(g.Ticket)
		cell(strings.Join(r.Datasets, ", "))
		cell(strings.Join(r.Exemptions, ", "))
	case listHypothetical:
		cell(cmp.Or(r.Tenant, "(unknown)"))
		cell(strings.Join(r.Datasets, ", "))
		cell(r.Outcome)
		cell(strings.Join(r.AllowedSites, ", ") + " / " + strings.Join(r.DeniedSites, ", "))
		reasons()
	}
	b.WriteString("</tr>\n")
}

// htmlSpill holds the lists of an HTML report in temporary files while the
// log is read, one rendered row a line.
type htmlSpill struct {
	files [len(htmlLists)]*os.File
	bw    [len(htmlLists)]*bufio.Writer
	buf   bytes.Buffer
}

func newHTMLSpill(dir string) (*htmlSpill, error) {
	s := &htmlSpill{}
	for i := range s.files {
		f, err := os.CreateTemp(dir, "sovereign-report-list-*")
		if err != nil {
			s.remove()
			return nil, fmt.Errorf("spill the report's lists: %w", err)
		}
		s.files[i], s.bw[i] = f, bufio.NewWriterSize(f, 64<<10)
	}
	return s, nil
}

func (s *htmlSpill) add(l list, r *Row) error {
	s.buf.Reset()
	htmlRow(&s.buf, l, r)
	_, err := s.bw[l].Write(s.buf.Bytes())
	return err
}

// each calls fn with each line of list l, in order.
func (s *htmlSpill) each(l list, fn func(line []byte) error) error {
	if err := s.bw[l].Flush(); err != nil {
		return err
	}
	if _, err := s.files[l].Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(s.files[l], 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A row longer than the buffer: read the rest of it.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			if ferr := fn(line); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *htmlSpill) remove() {
	for _, f := range s.files {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
}

// writeDenial writes a denial line, its mark filled in with the overrides
// of the decision it shows, or removed.
func writeDenial(w *bufio.Writer, line []byte, overridden map[string][]string) error {
	i := bytes.Index(line, []byte(overriddenMark))
	if i < 0 {
		_, err := w.Write(line)
		return err
	}
	w.Write(line[:i])
	if by := overridesOf(line, overridden); len(by) > 0 {
		w.WriteString(`<div class="overridden">overridden by `)
		for k, o := range by {
			if k > 0 {
				w.WriteString(", ")
			}
			w.WriteString("<code>" + template.HTMLEscapeString(o) + "</code>")
		}
		w.WriteString("</div>")
	}
	_, err := w.Write(line[i+len(overriddenMark):])
	return err
}

// overridesOf is the ids of the overrides of the record a line shows.
func overridesOf(line []byte, overridden map[string][]string) []string {
	if len(overridden) == 0 {
		return nil
	}
	const attr = `data-record="`
	i := bytes.Index(line, []byte(attr))
	if i < 0 {
		return nil
	}
	rest := line[i+len(attr):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	// The id is escaped in the line.
	return overridden[htmlUnescapeID(string(rest[:j]))]
}

// htmlUnescapeID undoes template.HTMLEscapeString.
func htmlUnescapeID(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return strings.NewReplacer("&#34;", `"`, "&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
}
