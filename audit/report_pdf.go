package audit

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// WriteReportPDF writes the report as a PDF (A4): the checkpoint and the
// verification on page one, then the charts and the same tables as the HTML
// report.
func WriteReportPDF(w io.Writer, s *ReportSummary) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Sovereign audit report", true)
	pdf.SetCreator("sovereign", true)
	pdf.SetCreationDate(s.GeneratedAt)
	pdf.SetModificationDate(s.GeneratedAt)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(120, 120, 120)
		pdf.CellFormat(0, 5, tr(fmt.Sprintf("%s · tree size %d · root %s… · page %d", s.Checkpoint.Origin, s.Checkpoint.Size, s.Checkpoint.RootHash[:min(16, len(s.Checkpoint.RootHash))], pdf.PageNo())), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	orAll := func(v string) string {
		if v == "" {
			return "all"
		}
		return v
	}
	h1 := func(t string) {
		pdf.SetFont("Helvetica", "B", 18)
		pdf.CellFormat(0, 10, tr(t), "", 1, "L", false, 0, "")
	}
	h2 := func(t string) {
		if pdf.GetY() > 250 {
			pdf.AddPage()
		}
		pdf.Ln(3)
		pdf.SetFont("Helvetica", "B", 13)
		pdf.CellFormat(0, 8, tr(t), "B", 1, "L", false, 0, "")
		pdf.Ln(1)
	}
	kv := func(k, v string, mono bool) {
		pdf.SetFont("Helvetica", "B", 9)
		pdf.CellFormat(38, 5, tr(k), "", 0, "L", false, 0, "")
		if mono {
			pdf.SetFont("Courier", "", 8)
		} else {
			pdf.SetFont("Helvetica", "", 9)
		}
		pdf.MultiCell(0, 5, tr(v), "", "L", false)
	}
	table := func(widths []float64, header []string, rows [][]string) {
		pdf.SetFont("Helvetica", "B", 8)
		pdf.SetFillColor(240, 240, 240)
		for i, h := range header {
			pdf.CellFormat(widths[i], 6, tr(h), "1", 0, "L", true, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont("Helvetica", "", 8)
		for _, r := range rows {
			if pdf.GetY() > 275 {
				pdf.AddPage()
			}
			for i, c := range r {
				// One line per cell: long values are cut to the column.
				for pdf.GetStringWidth(tr(c)) > widths[i]-2 && len(c) > 1 {
					c = c[:len(c)-2] + "~"
				}
				align := "L"
				if _, err := strconv.ParseUint(c, 10, 64); err == nil {
					align = "R"
				}
				pdf.CellFormat(widths[i], 5, tr(c), "1", 0, align, false, 0, "")
			}
			pdf.Ln(-1)
		}
		if len(rows) == 0 {
			pdf.SetFont("Helvetica", "I", 8)
			pdf.CellFormat(0, 5, "none", "", 1, "L", false, 0, "")
		}
	}
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }

	h1("Audit report")
	pdf.SetFont("Helvetica", "", 10)
	pdf.MultiCell(0, 5, tr(fmt.Sprintf("Log %s. Generated %s. Verified (%s verification) against the checkpoint below.", s.Checkpoint.Origin, ts(s.GeneratedAt), s.Verification.Mode)), "", "L", false)
	h2("Checkpoint")
	kv("Origin", s.Checkpoint.Origin, true)
	kv("Tree size", u(s.Checkpoint.Size), true)
	kv("Root hash", s.Checkpoint.RootHash, true)
	kv("Signature", s.Checkpoint.Signature, true)
	kv("Entries verified", fmt.Sprintf("%d (indices %d to %d, exclusive; time skew tolerance %s; %d out of order)", s.Verification.Records, s.Verification.FirstIndex, s.Verification.EndIndex, s.Verification.TimeSkew, s.Verification.OutOfOrder), false)
	h2("Period and scope")
	kv("From", ts(s.Query.From), false)
	kv("To", ts(s.Query.To), false)
	kv("Tenant", orAll(s.Query.Tenant), false)
	kv("Dataset", orAll(s.Query.Dataset), false)
	kv("Site", orAll(s.Query.Site), false)
	kv("Kind", orAll(string(s.Query.Kind)), false)
	kv("Records", u(s.Totals.Records), false)
	kv("First / last", ts(s.FirstTime)+" / "+ts(s.LastTime), false)
	var outcomes []string
	for _, k := range SortedKeys(s.Totals.ByOutcome) {
		outcomes = append(outcomes, fmt.Sprintf("%s %d", k, s.Totals.ByOutcome[k]))
	}
	kv("Outcomes", strings.Join(outcomes, ", "), false)

	h2("Charts")
	for _, c := range ReportCharts(s) {
		pdfChart(pdf, tr, c)
	}

	counts := func(title, name string, m map[string]Count) {
		h2(title)
		var rows [][]string
		for _, k := range SortedKeys(m) {
			c := m[k]
			if k == "" {
				k = "(unknown)"
			}
			rows = append(rows, []string{k, u(c.Total), u(c.Allowed), u(c.Denied), u(c.Activated), u(c.Refused)})
		}
		table([]float64{70, 22, 22, 22, 22, 22}, []string{name, "Total", "Allowed", "Denied", "Activated", "Refused"}, rows)
	}
	counts("Totals by kind", "Kind", s.Totals.ByKind)
	counts("Totals by site", "Site", s.Totals.BySite)
	counts("Totals by dataset", "Dataset", s.Totals.ByDataset)
	counts("Totals by tenant", "Tenant", s.Totals.ByTenant)
	h2("Totals by rule")
	var rows [][]string
	for _, k := range TopRules(s.Totals.ByRule, 0) {
		rows = append(rows, []string{k, u(s.Totals.ByRule[k].Count), s.Totals.ByRule[k].Citation})
	}
	table([]float64{75, 20, 85}, []string{"Rule", "Violations", "Citation"}, rows)

	h2(fmt.Sprintf("Denials (%d)", len(s.Denials)))
	rows = nil
	for _, d := range s.Denials {
		first := []string{u(d.Index), ts(d.Time), string(d.Kind), d.Tenant, strings.Join(d.Datasets, ",")}
		if len(d.Violations) == 0 {
			rows = append(rows, append(first, "", d.Reason, ""))
		}
		for i, v := range d.Violations {
			if i > 0 {
				first = []string{"", "", "", "", ""}
			}
			rows = append(rows, append(first, v.Site, v.Rule, v.Citation))
		}
	}
	table([]float64{14, 34, 22, 16, 24, 16, 32, 22}, []string{"Index", "Time", "Kind", "Tenant", "Datasets", "Site", "Rule", "Citation"}, rows)

	h2(fmt.Sprintf("Overrides and exemptions (%d)", len(s.Overrides)))
	rows = nil
	for _, o := range s.Overrides {
		var links []string
		for _, l := range o.Links {
			links = append(links, l.Rel+" "+l.ID)
		}
		rows = append(rows, []string{u(o.Index), ts(o.Time), string(o.Kind), o.Principal, strings.Join(o.Exemptions, ","), strings.Join(links, "; ")})
	}
	table([]float64{14, 34, 22, 30, 30, 50}, []string{"Index", "Time", "Kind", "Principal", "Exemptions", "Links"}, rows)

	h2("Policy and inventory timeline")
	rows = nil
	for _, a := range s.Timeline {
		rows = append(rows, []string{u(a.Index), ts(a.Time), string(a.Kind), a.Revision, a.Digest, strings.TrimSpace(a.Source + " " + a.Reason)})
	}
	table([]float64{14, 34, 34, 38, 40, 20}, []string{"Index", "Time", "Event", "Revision", "Digest", "Source"}, rows)
	pdf.Ln(2)
	rows = nil
	for _, f := range s.InForce {
		rows = append(rows, []string{ts(f.From), ts(f.To), f.BundleRevision, f.InventoryRevision, u(f.Decisions)})
	}
	table([]float64{34, 34, 45, 50, 17}, []string{"In force from", "To", "Bundle revision", "Inventory revision", "Decisions"}, rows)

	h2("Obligations raised")
	rows = nil
	for _, k := range TopRules(s.Obligations, 0) {
		rows = append(rows, []string{k, u(s.Obligations[k].Count), s.Obligations[k].Citation})
	}
	table([]float64{75, 20, 85}, []string{"Obligation", "Raised", "Citation"}, rows)

	h2("Signed checkpoint")
	pdf.SetFont("Courier", "", 8)
	pdf.MultiCell(0, 4, tr(s.Checkpoint.Note), "", "L", false)
	return pdf.Output(w)
}

// pdfChart draws a chart as filled rectangles.
func pdfChart(pdf *fpdf.Fpdf, tr func(string) string, c Chart) {
	if pdf.GetY() > 210 {
		pdf.AddPage()
	}
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(0, 6, tr(c.Title), "", 1, "L", false, 0, "")
	x0, y0 := pdf.GetX(), pdf.GetY()
	pdf.SetFont("Helvetica", "", 7)
	if len(c.Bars) == 0 || c.Max == 0 {
		pdf.CellFormat(0, 5, "none in the period", "", 1, "L", false, 0, "")
		return
	}
	if c.ID == "chart-decisions-over-time" {
		w, h := 180.0, 40.0
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
		pdf.SetXY(x0, y0+h+1)
		pdf.CellFormat(w/2, 4, tr(c.Bars[0].Label), "", 0, "L", false, 0, "")
		pdf.CellFormat(w/2, 4, tr(c.Bars[len(c.Bars)-1].Label+fmt.Sprintf("   (max %d per bar)", c.Max)), "", 1, "R", false, 0, "")
		pdf.Ln(3)
		return
	}
	labelW, w, rowH := 60.0, 105.0, 5.0
	for i, b := range c.Bars {
		if i == 25 {
			pdf.CellFormat(0, 4, fmt.Sprintf("… and %d more (see the tables)", len(c.Bars)-25), "", 1, "L", false, 0, "")
			break
		}
		y := pdf.GetY()
		if y > 275 {
			pdf.AddPage()
			y = pdf.GetY()
		}
		pdf.SetXY(x0, y)
		pdf.CellFormat(labelW, rowH, tr(truncate(b.Label, 38)), "", 0, "R", false, 0, "")
		wa := w * float64(b.Allowed) / float64(c.Max)
		wd := w * float64(b.Denied) / float64(c.Max)
		pdf.SetFillColor(46, 125, 50)
		pdf.Rect(x0+labelW+1, y+0.7, wa, rowH-1.4, "F")
		pdf.SetFillColor(198, 40, 40)
		pdf.Rect(x0+labelW+1+wa, y+0.7, wd, rowH-1.4, "F")
		pdf.SetXY(x0+labelW+2+wa+wd, y)
		pdf.CellFormat(15, rowH, strconv.FormatUint(b.Allowed+b.Denied, 10), "", 1, "L", false, 0, "")
	}
	pdf.Ln(3)
}
