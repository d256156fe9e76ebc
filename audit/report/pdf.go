package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/sovereign-engine/sovereign/audit"
)

// PDFListLimit is how many records of each list (denials, overrides and
// exemptions, what-if decisions) a PDF report shows. A PDF is laid out in
// memory: past this, it lists the first ones, says how many there are, and
// points to the formats that hold them all (HTML, CSV, JSON, evidence).
const PDFListLimit = 2000

// pdfListLimit is PDFListLimit, lowered by tests.
var pdfListLimit = PDFListLimit

// Page geometry (A4, millimetres).
const (
	pdfMargin    = 15.0
	pdfWidth     = 210 - 2*pdfMargin
	pdfPageEnd   = 297 - 18.0 // below it, the footer
	pdfLineH     = 3.6
	pdfTableFont = 7.5
)

// WritePDF writes the report as a PDF (A4): the checkpoint and the
// verification on page one, then the charts, the totals, the lists and the
// timeline, with the same content as the HTML report (the lists up to
// PDFListLimit rows each). Table cells wrap; nothing is cut.
func WritePDF(w io.Writer, s *Summary) error {
	p := newPDFWriter(s)
	p.checkpointAndScope(s)
	p.outOfCompliance(s)
	p.h2("Charts")
	for _, c := range Charts(s) {
		p.chart(c)
	}
	p.totals(s)
	p.denials(s)
	p.overrides(s)
	p.hypothetical(s)
	p.timeline(s)
	p.obligations(s)
	p.h2("Signed checkpoint")
	p.pdf.SetFont("Courier", "", 8)
	p.pdf.MultiCell(0, 4, p.tr(s.Checkpoint.Note), "", "L", false)
	return p.pdf.Output(w)
}

// pdfWriter lays out the report's PDF: headings, key-value lines and tables
// in the report's fonts.
type pdfWriter struct {
	pdf *fpdf.Fpdf
	// tr translates UTF-8 to the core fonts' code page.
	tr func(string) string
}

// newPDFWriter starts an A4 document stamped with the report's time, each
// page's footer naming the checkpoint.
func newPDFWriter(s *Summary) *pdfWriter {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Sovereign audit report", true)
	pdf.SetCreator("sovereign", true)
	pdf.SetCreationDate(s.GeneratedAt)
	pdf.SetModificationDate(s.GeneratedAt)
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(true, 297-pdfPageEnd)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(120, 120, 120)
		pdf.CellFormat(0, 5, tr(fmt.Sprintf("%s · tree size %d · root %s… · page %d", s.Checkpoint.Origin, s.Checkpoint.Size, s.Checkpoint.RootHash[:min(16, len(s.Checkpoint.RootHash))], pdf.PageNo())), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	return &pdfWriter{pdf: pdf, tr: tr}
}

func pdfTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func pdfUint(n uint64) string { return strconv.FormatUint(n, 10) }

// need starts a new page unless h millimetres fit on this one.
func (p *pdfWriter) need(h float64) {
	if p.pdf.GetY()+h > pdfPageEnd {
		p.pdf.AddPage()
	}
}

func (p *pdfWriter) h1(t string) {
	p.pdf.SetFont("Helvetica", "B", 18)
	p.pdf.CellFormat(0, 10, p.tr(t), "", 1, "L", false, 0, "")
}

// h2 is a section heading, kept with the first lines that follow it.
func (p *pdfWriter) h2(t string) {
	p.need(24)
	p.pdf.Ln(3)
	p.pdf.SetFont("Helvetica", "B", 13)
	p.pdf.CellFormat(0, 8, p.tr(t), "B", 1, "L", false, 0, "")
	p.pdf.Ln(1)
}

func (p *pdfWriter) h3(t string) {
	p.need(16)
	p.pdf.Ln(1)
	p.pdf.SetFont("Helvetica", "B", 10)
	p.pdf.CellFormat(0, 6, p.tr(t), "", 1, "L", false, 0, "")
}

// para is wrapped text in the body font.
func (p *pdfWriter) para(t string, size float64) {
	p.pdf.SetFont("Helvetica", "", size)
	p.pdf.MultiCell(0, size*0.45, p.tr(t), "", "L", false)
}

func (p *pdfWriter) kv(k, v string, mono bool) {
	p.pdf.SetFont("Helvetica", "B", 9)
	p.pdf.CellFormat(38, 5, p.tr(k), "", 0, "L", false, 0, "")
	if mono {
		p.pdf.SetFont("Courier", "", 8)
	} else {
		p.pdf.SetFont("Helvetica", "", 9)
	}
	p.pdf.MultiCell(0, 5, p.tr(v), "", "L", false)
}

// table draws a table whose cells wrap: each row is as tall as its
// longest cell, and a row that does not fit starts a new page under the
// header again. Numbers are right-aligned.
func (p *pdfWriter) table(widths []float64, header []string, rows [][]string) {
	pdf := p.pdf
	drawRow := func(cells []string, bold bool) {
		style := ""
		if bold {
			style = "B"
		}
		pdf.SetFont("Helvetica", style, pdfTableFont)
		lines := make([][][]byte, len(cells))
		h := 0.0
		for i, c := range cells {
			lines[i] = pdf.SplitLines([]byte(p.tr(c)), widths[i])
			h = max(h, float64(max(len(lines[i]), 1))*pdfLineH+1)
		}
		if pdf.GetY()+h > pdfPageEnd {
			pdf.AddPage()
			if !bold {
				p.tableHeader(widths, header)
				pdf.SetFont("Helvetica", style, pdfTableFont)
			}
		}
		x0, y0 := pdf.GetX(), pdf.GetY()
		x := x0
		for i, c := range cells {
			if bold {
				pdf.SetFillColor(240, 240, 240)
				pdf.Rect(x, y0, widths[i], h, "FD")
			} else {
				pdf.Rect(x, y0, widths[i], h, "D")
			}
			align := "L"
			if _, err := strconv.ParseUint(c, 10, 64); err == nil {
				align = "R"
			}
			for j, line := range lines[i] {
				pdf.SetXY(x, y0+0.5+float64(j)*pdfLineH)
				pdf.CellFormat(widths[i], pdfLineH, string(line), "", 0, align, false, 0, "")
			}
			x += widths[i]
		}
		pdf.SetXY(x0, y0+h)
	}
	p.need(2 * (pdfLineH + 1))
	drawRow(header, true)
	for _, r := range rows {
		drawRow(r, false)
	}
	if len(rows) == 0 {
		pdf.SetFont("Helvetica", "I", 8)
		pdf.CellFormat(0, 5, "none", "", 1, "L", false, 0, "")
	}
	pdf.Ln(1)
}

// tableHeader repeats a table's header at the top of a page.
func (p *pdfWriter) tableHeader(widths []float64, header []string) {
	pdf := p.pdf
	pdf.SetFont("Helvetica", "B", pdfTableFont)
	pdf.SetFillColor(240, 240, 240)
	for i, h := range header {
		pdf.CellFormat(widths[i], pdfLineH+1, p.tr(h), "1", 0, "L", true, 0, "")
	}
	pdf.Ln(-1)
}

// checkpointAndScope is page one: what was verified, against which
// checkpoint, for which period and scope, and whether this PDF lists every
// record.
func (p *pdfWriter) checkpointAndScope(s *Summary) {
	orAll := func(v string) string { return cmp.Or(v, "all") }
	p.h1("Audit report")
	p.para(fmt.Sprintf("Log %s. Generated %s. Verified (%s verification) against the checkpoint below.", s.Checkpoint.Origin, pdfTime(s.GeneratedAt), s.Verification.Mode), 10)
	if note := pdfSummarised(s); note != "" {
		p.pdf.Ln(1)
		p.pdf.SetFillColor(255, 248, 225)
		p.pdf.SetFont("Helvetica", "B", 9)
		p.pdf.MultiCell(0, 4.5, p.tr(note), "", "L", true)
	}
	p.h2("Checkpoint")
	p.kv("Origin", s.Checkpoint.Origin, true)
	p.kv("Tree size", pdfUint(s.Checkpoint.Size), true)
	p.kv("Root hash", s.Checkpoint.RootHash, true)
	p.kv("Signature", s.Checkpoint.Signature, true)
	p.kv("Entries verified", fmt.Sprintf("%d (indices %d to %d, exclusive; time skew tolerance %s; %d out of order)", s.Verification.Records, s.Verification.FirstIndex, s.Verification.EndIndex, s.Verification.TimeSkew, s.Verification.OutOfOrder), false)
	p.h2("Period and scope")
	p.kv("From", pdfTime(s.Query.From), false)
	p.kv("To", pdfTime(s.Query.To), false)
	p.kv("Tenant", orAll(s.Query.Tenant), false)
	p.kv("Dataset", orAll(s.Query.Dataset), false)
	p.kv("Site", orAll(s.Query.Site), false)
	p.kv("Kind", orAll(string(s.Query.Kind)), false)
	p.kv("Records", pdfUint(s.Totals.Records), false)
	p.kv("First / last", pdfTime(s.FirstTime)+" / "+pdfTime(s.LastTime), false)
}

// pdfSummarised says, when a list of the report is longer than the PDF
// shows, that the PDF summarises and where the rest is; "" otherwise.
func pdfSummarised(s *Summary) string {
	var cut []string
	for _, l := range []struct {
		name   string
		listed int
		total  uint64
	}{
		{"denials", len(s.Denials), s.Totals.Denials},
		{"overrides and exemptions", len(s.Overrides), s.Totals.Overrides + s.Totals.Exempted},
		{"what-if decisions", len(s.Hypothetical), s.Totals.Hypothetical},
	} {
		if uint64(l.listed) < l.total {
			cut = append(cut, fmt.Sprintf("the first %d of %d %s", l.listed, l.total, l.name))
		}
	}
	if len(cut) == 0 {
		return ""
	}
	return "This PDF summarises: it lists " + strings.Join(cut, ", ") + " (in log order). The totals and charts count every record. " +
		"Every record is in the HTML, CSV and JSON reports and the evidence pack of the same query (sovereign audit export --format csv|json|html|evidence)."
}

// listNote says under a list how many of its records the PDF shows.
func (p *pdfWriter) listNote(listed int, total uint64) {
	if uint64(listed) < total {
		p.para(fmt.Sprintf("Listed: the first %d of %d, in log order. All of them are in the HTML, CSV and JSON reports and the evidence pack of the same query.", listed, total), 8)
	}
}

// totals are the counts by kind, outcome, site, dataset and tenant,
// violations by rule, and what is counted apart.
func (p *pdfWriter) totals(s *Summary) {
	p.h2("Totals")
	counts := func(title, name string, m map[string]Count) {
		p.h3(title)
		var rows [][]string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			c := m[k]
			rows = append(rows, []string{cmp.Or(k, "(unknown)"), pdfUint(c.Total), pdfUint(c.Allowed), pdfUint(c.Denied), pdfUint(c.Activated), pdfUint(c.Refused)})
		}
		p.table([]float64{70, 22, 22, 22, 22, 22}, []string{name, "Total", "Allowed", "Denied", "Activated", "Refused"}, rows)
	}
	counts("By kind", "Kind", s.Totals.ByKind)
	p.h3("By outcome")
	p.para("Decisions and system events; overrides and what-if decisions are counted apart (below).", 8)
	var rows [][]string
	for _, k := range slices.Sorted(maps.Keys(s.Totals.ByOutcome)) {
		rows = append(rows, []string{k, pdfUint(s.Totals.ByOutcome[k])})
	}
	p.table([]float64{70, 22}, []string{"Outcome", "Records"}, rows)
	counts("By site", "Site", s.Totals.BySite)
	counts("By dataset", "Dataset", s.Totals.ByDataset)
	counts("By tenant", "Tenant", s.Totals.ByTenant)
	p.h3("By rule")
	p.para("Decisions that violated the rule, and its findings: one per site a decision names (a placement denied at three candidates is one decision, three findings).", 8)
	rows = nil
	for _, k := range TopRules(s.Totals.ByRule, 0) {
		rc := s.Totals.ByRule[k]
		rows = append(rows, []string{k, pdfUint(rc.Decisions), pdfUint(rc.Count), rc.Citation})
	}
	p.table([]float64{70, 20, 20, 70}, []string{"Rule", "Decisions", "Site findings", "Citation"}, rows)
	p.h3("Apart")
	p.table([]float64{80, 22, 78}, []string{"", "Records", ""}, [][]string{
		{"What-if decisions (authorized nothing)", pdfUint(s.Totals.Hypothetical), fmt.Sprintf("%d of them denied", s.Totals.HypotheticalDenied)},
		{"Overrides", pdfUint(s.Totals.Overrides), fmt.Sprintf("%d decisions overridden in the period", len(s.Overridden))},
		{"Decisions that applied an exemption", pdfUint(s.Totals.Exempted), ""},
	})
}

// reasons is a decision's violations, one a line, or its reason.
func reasons(r *Row) string {
	if len(r.Violations) == 0 {
		return r.Reason
	}
	var b strings.Builder
	for i, v := range r.Violations {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(v.Rule)
		if v.Site != "" {
			b.WriteString(" @ " + v.Site)
		}
		if v.Message != "" {
			b.WriteString(": " + v.Message)
		}
		if v.Citation != "" {
			b.WriteString(" (" + v.Citation + ")")
		}
	}
	return b.String()
}

// denials lists the denials, each with its reasons and whether it was
// allowed elsewhere or overridden.
func (p *pdfWriter) denials(s *Summary) {
	p.h2(fmt.Sprintf("Denials (%d)", s.Totals.Denials))
	p.para("Decisions denied, access denials, and site-level refusals inside decisions allowed at other sites (marked allowed elsewhere). A denial overridden in the period is marked overridden, with the override. What-if decisions are listed apart, below.", 8)
	var rows [][]string
	for i := range s.Denials {
		d := &s.Denials[i]
		var status []string
		if d.Outcome == OutcomeAllowed {
			status = append(status, "allowed elsewhere ("+strings.Join(d.AllowedSites, ", ")+")")
		}
		if by := s.Overridden[d.ID]; len(by) > 0 {
			status = append(status, "overridden by "+strings.Join(by, ", "))
		}
		rows = append(rows, []string{pdfUint(d.Index), pdfTime(d.Time), string(d.Kind), cmp.Or(d.Tenant, "(unknown)"),
			strings.Join(d.Datasets, ", "), strings.Join(d.DeniedSites, ", "), reasons(d), strings.Join(status, "\n")})
	}
	p.table([]float64{11, 19, 20, 16, 20, 17, 52, 25}, []string{"Index", "Time", "Kind", "Tenant", "Datasets", "Denied sites", "Reasons and citations", "Status"}, rows)
	p.listNote(len(s.Denials), s.Totals.Denials)
}

// overrides lists override records, with who granted them, why, until
// when and on what, and decisions that applied an exemption.
func (p *pdfWriter) overrides(s *Summary) {
	p.h2(fmt.Sprintf("Overrides and exemptions (%d)", s.Totals.Overrides+s.Totals.Exempted))
	p.para("Break-glass overrides, with who granted them, why, until when and on what; and decisions that applied an exemption.", 8)
	var rows [][]string
	for i := range s.Overrides {
		o := &s.Overrides[i]
		g := o.Override
		if g == nil {
			g = &OverrideGrant{}
		}
		over := g.Overrides
		if g.OriginalIndex != nil {
			over += fmt.Sprintf(" (index %d)", *g.OriginalIndex)
		}
		rows = append(rows, []string{pdfUint(o.Index), pdfTime(o.Time), string(o.Kind), o.Principal, over, g.Justification, g.Expires, g.Ticket,
			strings.Join(append(slices.Clone(o.Datasets), o.Exemptions...), ", ")})
	}
	p.table([]float64{11, 19, 15, 22, 27, 38, 19, 14, 15}, []string{"Index", "Time", "Kind", "Granted by / principal", "Overrides", "Justification", "Expires", "Ticket", "Datasets / exemptions"}, rows)
	p.listNote(len(s.Overrides), s.Totals.Overrides+s.Totals.Exempted)
}

// hypothetical lists the what-if decisions, apart from real ones.
func (p *pdfWriter) hypothetical(s *Summary) {
	p.h2(fmt.Sprintf("What-if decisions (%d)", s.Totals.Hypothetical))
	p.para("Answers for another time (the request's at), which authorized nothing; not counted among the decisions and denials above.", 8)
	var rows [][]string
	for i := range s.Hypothetical {
		h := &s.Hypothetical[i]
		rows = append(rows, []string{pdfUint(h.Index), pdfTime(h.Time), string(h.Kind), cmp.Or(h.Tenant, "(unknown)"), strings.Join(h.Datasets, ", "),
			h.Outcome, strings.Join(h.AllowedSites, ", ") + " / " + strings.Join(h.DeniedSites, ", "), reasons(h)})
	}
	p.table([]float64{11, 19, 20, 16, 22, 14, 26, 52}, []string{"Index", "Time", "Kind", "Tenant", "Datasets", "Outcome", "Allowed / denied sites", "Reasons and citations"}, rows)
	p.listNote(len(s.Hypothetical), s.Totals.Hypothetical)
}

// timeline lists activations and refusals, then what was in force when.
func (p *pdfWriter) timeline(s *Summary) {
	p.h2("Policy and inventory timeline")
	var rows [][]string
	for _, a := range s.Timeline {
		rows = append(rows, []string{pdfUint(a.Index), pdfTime(a.Time), string(a.Kind), a.Revision, a.Digest, strings.TrimSpace(a.Source + " " + a.Reason)})
	}
	p.table([]float64{11, 19, 26, 38, 46, 40}, []string{"Index", "Time", "Event", "Revision", "Digest", "Source / reason"}, rows)
	p.h3("In force (as the decisions record it)")
	rows = nil
	for _, f := range s.InForce {
		rows = append(rows, []string{pdfTime(f.From), pdfTime(f.To), f.BundleRevision, f.InventoryRevision, pdfUint(f.Decisions)})
	}
	p.table([]float64{24, 24, 50, 62, 20}, []string{"From", "To", "Bundle revision", "Inventory revision", "Decisions"}, rows)
}

// outOfCompliance is the newest drift run of each scope (the HTML's
// "Out of compliance now").
func (p *pdfWriter) outOfCompliance(s *Summary) {
	p.h2("Out of compliance now")
	if len(s.OutOfCompliance) == 0 {
		p.para("No drift run in this period: the log does not say whether what is stored or moving today is in compliance. "+
			"Run \"sovereign drift\" or GET /v1/drift (docs/drift.md); each run is a signed record and appears here.", 9)
		return
	}
	items := func(list []audit.DriftItem, date func(audit.DriftItem) string) [][]string {
		var rows [][]string
		for _, it := range list {
			rows = append(rows, []string{it.Dataset, it.Tenant, DriftWhat(it), strings.Join(it.Rules, ", "), date(it)})
		}
		return rows
	}
	widths := []float64{34, 22, 44, 58, 22}
	for _, d := range s.OutOfCompliance {
		p.h3(fmt.Sprintf("%s: drift run of %s (record %d)", d.Scope(), pdfTime(d.Time), d.Index))
		r := d.Result
		note := fmt.Sprintf("Asked by %s on bundle %s, inventory %s: %d datasets, %d stored copies and %d flows judged; %d out of compliance",
			d.Principal, d.BundleRevision, d.InventoryRevision, r.Datasets, r.Stored, r.Flows, r.OutOfCompliance)
		if r.Until != "" {
			note += fmt.Sprintf(", %d more by %s", r.Forecast, r.Until)
		}
		note += ". Digest of the report as answered: " + r.ResultSHA256 + "."
		if d.Filtered > 0 {
			note += fmt.Sprintf(" %d findings outside this report's dataset or site are left out.", d.Filtered)
		}
		p.para(note, 8)
		switch {
		case r.ItemsOmitted:
			p.para("The record holds the counts and the digest only (too many findings for one log entry); the findings are in the drift report as answered, which the digest binds.", 8)
		case len(d.Now) > 0:
			p.table(widths, []string{"Dataset", "Tenant", "What", "Rules", "Since"}, items(d.Now, func(it audit.DriftItem) string { return it.Since }))
		default:
			p.para("Nothing out of compliance.", 9)
		}
		if len(d.Forecast) > 0 {
			p.para("Out of compliance by "+r.Until+" (forecast):", 9)
			p.table(widths, []string{"Dataset", "Tenant", "What", "Rules", "On"}, items(d.Forecast, func(it audit.DriftItem) string { return it.On }))
		}
	}
}

// obligations lists the obligations raised, most first.
func (p *pdfWriter) obligations(s *Summary) {
	p.h2("Obligations raised")
	var rows [][]string
	for _, k := range TopRules(s.Obligations, 0) {
		rc := s.Obligations[k]
		rows = append(rows, []string{k, pdfUint(rc.Decisions), pdfUint(rc.Count), rc.Citation})
	}
	p.table([]float64{70, 20, 20, 70}, []string{"Obligation", "Decisions", "Times raised (per site)", "Citation"}, rows)
}

// chart draws a chart as filled rectangles, on a new page only if it does
// not fit on this one.
func (p *pdfWriter) chart(c Chart) {
	pdf, tr := p.pdf, p.tr
	const shown = 25
	bars := min(len(c.Bars), shown)
	h := 6 + 4 + 3.0
	switch {
	case len(c.Bars) == 0 || c.Max == 0:
		h += 5
	case c.ID == "chart-decisions-over-time":
		h += 40 + 5
	default:
		h += 5 * float64(bars+1)
	}
	p.need(h)
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(0, 6, tr(c.Title), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 7)
	pdf.SetTextColor(85, 85, 85)
	pdf.CellFormat(0, 4, tr(c.Note), "", 1, "L", false, 0, "")
	pdf.SetTextColor(0, 0, 0)
	x0, y0 := pdf.GetX(), pdf.GetY()
	if len(c.Bars) == 0 || c.Max == 0 {
		pdf.CellFormat(0, 5, "none in the period", "", 1, "L", false, 0, "")
		pdf.Ln(3)
		return
	}
	if c.ID == "chart-decisions-over-time" {
		w, h := pdfWidth, 40.0
		bw := w / float64(len(c.Bars))
		for i, b := range c.Bars {
			ha := h * float64(b.Allowed) / float64(c.Max)
			hd := h * float64(b.Denied) / float64(c.Max)
			x := x0 + float64(i)*bw
			pdf.SetFillColor(46, 125, 50)
			pdf.Rect(x, y0+h-ha, max(bw*0.85, 0.2), ha, "F")
			pdf.SetFillColor(198, 40, 40)
			pdf.Rect(x, y0+h-ha-hd, max(bw*0.85, 0.2), hd, "F")
		}
		pdf.SetDrawColor(136, 136, 136)
		pdf.Line(x0, y0+h, x0+w, y0+h)
		pdf.SetDrawColor(0, 0, 0)
		pdf.SetXY(x0, y0+h+1)
		pdf.CellFormat(w/2, 4, tr(c.Bars[0].Label), "", 0, "L", false, 0, "")
		pdf.CellFormat(w/2, 4, tr(fmt.Sprintf("(max %d per bar)   %s", c.Max, c.EndLabel)), "", 1, "R", false, 0, "")
		pdf.Ln(3)
		return
	}
	labelW, w, rowH := 60.0, 70.0, 5.0
	for i, b := range c.Bars[:bars] {
		y := y0 + float64(i)*rowH
		pdf.SetXY(x0, y)
		pdf.CellFormat(labelW, rowH, tr(truncate(b.Label, 38)), "", 0, "R", false, 0, "")
		wa := w * float64(b.Allowed) / float64(c.Max)
		wd := w * float64(b.Denied) / float64(c.Max)
		pdf.SetFillColor(46, 125, 50)
		pdf.Rect(x0+labelW+1, y+0.7, wa, rowH-1.4, "F")
		pdf.SetFillColor(198, 40, 40)
		pdf.Rect(x0+labelW+1+wa, y+0.7, wd, rowH-1.4, "F")
		pdf.SetXY(x0+labelW+2+wa+wd, y)
		pdf.CellFormat(50, rowH, tr(b.value()), "", 1, "L", false, 0, "")
	}
	if len(c.Bars) > shown {
		pdf.SetX(x0)
		pdf.CellFormat(0, 4, tr(fmt.Sprintf("… and %d more (see the tables)", len(c.Bars)-shown)), "", 1, "L", false, 0, "")
	}
	pdf.Ln(3)
}
