package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"rsc.io/pdf"

	"github.com/sovereign-engine/sovereign/audit"
)

// contentStart is when the content fixture's records happen: all within
// one hour.
var contentStart = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// Ids of the content fixture's records.
const (
	deniedID   = "0196a000-0000-7000-8000-000000000001"
	overrideID = "0196a000-0000-7000-8000-000000000009"
)

// contentRecords are records shaped as the API writes them: a placement
// denied at two sites (overridden later), a placement allowed at one site
// and refused at another, a transfer denied for its destination, a what-if
// placement, and the break-glass override of the first.
func contentRecords() []*audit.Record {
	bundle := audit.BundleRef{Revision: "rev-1", Digest: "sha256:" + strings.Repeat("1", 64)}
	inv := "sha256:" + strings.Repeat("a", 64)
	at := func(m int) time.Time { return contentStart.Add(time.Duration(m) * time.Minute) }
	gdpr := func(site string) string {
		return `{"site":"` + site + `","allowed":false,"violations":[{"rule":"gdpr.chapter5.no_basis","message":"no transfer basis for personal data to ` + site + `","citation":"GDPR Art. 44, Art. 46(2)(c)","dataset":"customer-pii-eu"}]}`
	}
	recs := []*audit.Record{
		{ID: deniedID, Time: at(1), Kind: audit.KindPlacement, Principal: `Tenant::"acme"`,
			Request: json.RawMessage(`{"dataset":"customer-pii-eu","operation":"store","candidates":["us-east-1","sg-1"]}`),
			Result:  json.RawMessage(`{"allowed":false,"sites":[` + gdpr("us-east-1") + `,` + gdpr("sg-1") + `],"violations":[],"obligations":[]}`)},
		{Time: at(7), Kind: audit.KindPlacement, Principal: `Tenant::"acme"`,
			Request: json.RawMessage(`{"dataset":"customer-pii-eu","operation":"store","candidates":["fra-1","us-east-1"]}`),
			Result:  json.RawMessage(`{"allowed":true,"sites":[{"site":"fra-1","allowed":true},` + gdpr("us-east-1") + `],"violations":[],"obligations":[]}`)},
		{Time: at(13), Kind: audit.KindTransfer, Principal: `Tenant::"globex"`,
			Request: json.RawMessage(`{"dataset":{"id":"inline-hr","tenant":"globex"},"from":"fra-1","to":"lon-1","type":"replicate"}`),
			Result:  json.RawMessage(`{"allowed":false,"violations":[{"rule":"uk.adequacy.missing","message":"the UK adequacy decision does not cover this transfer","citation":"UK GDPR Art. 45"}],"obligations":[]}`)},
		{Time: at(19), Kind: audit.KindPlacement, Principal: `Tenant::"acme"`,
			Request: json.RawMessage(`{"dataset":"customer-pii-eu","operation":"store","candidates":["us-east-1"],"at":"2031-01-01T00:00:00Z"}`),
			Result:  json.RawMessage(`{"allowed":false,"hypothetical":true,"sites":[` + gdpr("us-east-1") + `],"violations":[],"obligations":[]}`)},
		{ID: overrideID, Time: at(31), Kind: audit.KindOverride, Principal: `User::"dpo@acme"`,
			Request: json.RawMessage(`{"justification":"Incident 42: restore the customer database from the US replica","expires":"2026-05-05T10:00:00Z","ticket":"INC-42"}`),
			Result: json.RawMessage(`{"overrides":"` + deniedID + `","original_index":0,"original_kind":"decision.placement","allowed":true,"expires":"2026-05-05T10:00:00Z",` +
				`"resources":["Sovereign::Dataset::\"customer-pii-eu\""]}`),
			Links: []audit.Link{{Rel: "overrides", ID: deniedID}}},
	}
	for _, r := range recs {
		r.Bundle, r.InventoryRevision, r.EngineVersion = bundle, inv, "test"
	}
	return recs
}

func newContentFixture(t testing.TB) *reportFixture {
	t.Helper()
	dir := t.TempDir()
	l := openTest(t, dir)
	recs := contentRecords()
	for _, r := range recs {
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	closeTest(t, l)
	return &reportFixture{dir: dir, n: len(recs), opts: reportOptions(t, dir)}
}

// htmlSection is the HTML of the section with heading id, up to the next.
func htmlSection(t *testing.T, page []byte, id string) string {
	t.Helper()
	s := string(page)
	i := strings.Index(s, `<h2 id="`+id+`">`)
	if i < 0 {
		t.Fatalf("no section %s in the html report", id)
	}
	rest := s[i+1:]
	if j := strings.Index(rest, "<h2 "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// pdfPage is the text of one page of a PDF: its runs (the strings drawn,
// in order: one a table cell line) and how low its body text goes.
type pdfPage struct {
	runs []string
	// lowest is the least Y (points from the bottom) of text above the
	// footer.
	lowest float64
}

// readPDF extracts the text of a PDF with a PDF reader, page by page.
func readPDF(t *testing.T, doc []byte) []pdfPage {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatalf("read pdf: %v", err)
	}
	var pages []pdfPage
	for i := 1; i <= r.NumPage(); i++ {
		pg := pdfPage{lowest: math.Inf(1)}
		var run strings.Builder
		var prev pdf.Text
		for k, x := range r.Page(i).Content().Text {
			same := k > 0 && x.Y == prev.Y && (x.X == prev.X || math.Abs(x.X-(prev.X+prev.W)) < 0.5)
			if !same && run.Len() > 0 {
				pg.runs = append(pg.runs, run.String())
				run.Reset()
			}
			run.WriteString(x.S)
			prev = x
			if x.Y > 40 { // the footer is 12 mm (34 pt) from the bottom
				pg.lowest = min(pg.lowest, x.Y)
			}
		}
		if run.Len() > 0 {
			pg.runs = append(pg.runs, run.String())
		}
		pages = append(pages, pg)
	}
	return pages
}

// pdfText is every run of the document, one a line.
func pdfText(pages []pdfPage) string {
	var b strings.Builder
	for _, p := range pages {
		for _, r := range p.runs {
			b.WriteString(r)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

var spaces = regexp.MustCompile(`\s+`)

// containsWrapped reports whether text holds want, whatever lines it was
// wrapped over.
func containsWrapped(text, want string) bool {
	return strings.Contains(spaces.ReplaceAllString(text, ""), spaces.ReplaceAllString(want, ""))
}

func TestReportShowsOverrides(t *testing.T) {
	f := newContentFixture(t)
	out, sum := f.write(t, f.opts, FormatJSON)
	var doc struct {
		Records []Row `json:"records"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	var ov *Row
	for i := range doc.Records {
		if doc.Records[i].Kind == audit.KindOverride {
			ov = &doc.Records[i]
		}
	}
	if ov == nil || ov.Override == nil {
		t.Fatalf("no override row with its grant: %+v", ov)
	}
	g := ov.Override
	if g.Justification == "" || g.Expires != "2026-05-05T10:00:00Z" || g.Ticket != "INC-42" || g.Overrides != deniedID || g.OriginalIndex == nil || *g.OriginalIndex != 0 ||
		!slices.Contains(ov.Datasets, "customer-pii-eu") || ov.Principal != `User::"dpo@acme"` || ov.Outcome != "" {
		t.Errorf("override row: %+v, grant %+v", ov, g)
	}
	if by := sum.Overridden[deniedID]; len(by) != 1 || by[0] != overrideID || sum.Totals.Overrides != 1 {
		t.Errorf("overridden %v, overrides %d", sum.Overridden, sum.Totals.Overrides)
	}
	// An override is no decision: not an allowed outcome, not on the chart.
	if sum.Totals.ByOutcome[OutcomeAllowed] != 1 {
		t.Errorf("by outcome %v: only the placement allowed at fra-1 is allowed", sum.Totals.ByOutcome)
	}

	csvOut, _ := f.write(t, f.opts, FormatCSV)
	rows, err := csv.NewReader(bytes.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	last := rows[len(rows)-1]
	if last[col("kind")] != "override" || last[col("override_justification")] != g.Justification || last[col("override_expires")] != g.Expires ||
		last[col("override_ticket")] != "INC-42" || last[col("datasets")] != "customer-pii-eu" || last[col("principal")] != `User::"dpo@acme"` {
		t.Errorf("csv override row: %v", last)
	}

	page, _ := f.write(t, f.opts, FormatHTML)
	overrides := htmlSection(t, page, "overrides")
	for _, want := range []string{"Incident 42: restore the customer database from the US replica", "INC-42", "2026-05-05T10:00:00Z", "customer-pii-eu", `User::&#34;dpo@acme&#34;`, deniedID, "Granted by"} {
		if !strings.Contains(overrides, want) {
			t.Errorf("html overrides section lacks %q:\n%s", want, overrides)
		}
	}
	denials := htmlSection(t, page, "denials")
	row := regexp.MustCompile(`<tr id="r-0" data-record="` + deniedID + `">.*</tr>`).FindString(denials)
	if !strings.Contains(row, "overridden by <code>"+overrideID+"</code>") {
		t.Errorf("the overridden denial is not marked so: %s", row)
	}
	if n := strings.Count(denials, "overridden by"); n != 1 || strings.Contains(denials, overriddenMark) {
		t.Errorf("%d denials marked overridden, want 1; marks left: %t", n, strings.Contains(denials, overriddenMark))
	}

	doc2, _ := f.write(t, f.opts, FormatPDF)
	text := pdfText(readPDF(t, doc2))
	for _, want := range []string{"Incident 42: restore the customer database from the US replica", "INC-42", "2026-05-05T10:00:00Z",
		`User::"dpo@acme"`, "overridden by " + overrideID, deniedID} {
		if !containsWrapped(text, want) {
			t.Errorf("pdf lacks %q:\n%s", want, text)
		}
	}
}

func TestReportWhatIfApart(t *testing.T) {
	f := newContentFixture(t)
	page, sum := f.write(t, f.opts, FormatHTML)
	if sum.Totals.Hypothetical != 1 || sum.Totals.HypotheticalDenied != 1 {
		t.Fatalf("what-ifs %d (%d denied), want 1 (1)", sum.Totals.Hypothetical, sum.Totals.HypotheticalDenied)
	}
	// Real denials: the placement denied at two sites, the refusal at
	// us-east-1 of the placement allowed at fra-1, the transfer.
	if sum.Totals.Denials != 3 || sum.Totals.SiteDenials != 1 || sum.Totals.ByOutcome[OutcomeDenied] != 2 {
		t.Errorf("denials %d (site-level %d), by outcome %v", sum.Totals.Denials, sum.Totals.SiteDenials, sum.Totals.ByOutcome)
	}
	if c := sum.Totals.BySite["us-east-1"]; c.Denied != 2 {
		t.Errorf("us-east-1 %+v: the what-if is not a denial there", c)
	}
	if rc := sum.Totals.ByRule["gdpr.chapter5.no_basis"]; rc.Decisions != 2 || rc.Count != 3 {
		t.Errorf("rule %+v: want 2 decisions, 3 site findings (the what-if not counted)", rc)
	}
	denials, whatIf := htmlSection(t, page, "denials"), htmlSection(t, page, "hypothetical")
	if strings.Contains(denials, `id="r-3"`) || !strings.Contains(whatIf, `id="r-3"`) || !strings.Contains(whatIf, "What-if decisions (1)") {
		t.Errorf("the what-if decision is not apart:\n%s\n%s", denials, whatIf)
	}
	if !strings.Contains(denials, "Denials (3)") || !strings.Contains(denials, "allowed elsewhere (fra-1)") {
		t.Errorf("denials section:\n%s", denials)
	}

	doc, _ := f.write(t, f.opts, FormatPDF)
	text := pdfText(readPDF(t, doc))
	for _, want := range []string{"Denials (3)", "What-if decisions (1)", "allowed elsewhere (fra-1)"} {
		if !containsWrapped(text, want) {
			t.Errorf("pdf lacks %q", want)
		}
	}
	// In the PDF, what-ifs are listed only in their section.
	squash := func(s string) string { return strings.ReplaceAll(s, " ", "") }
	from, to := strings.Index(squash(text), squash("Denials (3)")), strings.Index(squash(text), squash("Overrides and exemptions (1)"))
	if from < 0 || to < from {
		t.Fatalf("no denials section in the pdf:\n%s", text)
	}
	den := squash(text)[from:to]
	if strings.Contains(den, "\n3\n") {
		t.Errorf("the what-if (index 3) is among the PDF's denials:\n%s", den)
	}
}

// TestReportPDFContent: the PDF holds what the HTML does, wrapped, not cut:
// whole citations and rule ids, violation messages, the site of a
// transfer's findings; and no page ends far above its bottom.
func TestReportPDFContent(t *testing.T) {
	f := newContentFixture(t)
	doc, sum := f.write(t, f.opts, FormatPDF)
	pages := readPDF(t, doc)
	text := pdfText(pages)
	for _, want := range []string{
		"gdpr.chapter5.no_basis @ us-east-1: no transfer basis for personal data to us-east-1 (GDPR Art. 44, Art. 46(2)(c))",
		"uk.adequacy.missing @ lon-1: the UK adequacy decision does not cover this transfer (UK GDPR Art. 45)",
		sum.Checkpoint.RootHash, "2 decisions, 3 site findings", "decision.placement",
	} {
		if !containsWrapped(text, want) {
			t.Errorf("pdf lacks %q:\n%s", want, text)
		}
	}
	for _, p := range pages {
		for _, r := range p.runs {
			if strings.HasSuffix(r, "~") {
				t.Errorf("a cut cell: %q", r)
			}
		}
	}
	if !strings.Contains(text, "lon-1") {
		t.Errorf("no site for the transfer")
	}

	// A longer report: pages are filled before a new one starts (a
	// section or chart that does not fit moves on; nothing leaves half a
	// page blank).
	big := newReportFixture(t)
	doc, _ = big.write(t, big.opts, FormatPDF)
	pages = readPDF(t, doc)
	if len(pages) < 5 {
		t.Fatalf("%d pages", len(pages))
	}
	for i, p := range pages[:len(pages)-1] {
		// A4 is 842 pt high; the body ends 18 mm (51 pt) above the bottom.
		if gap := p.lowest - 51; gap > 120 {
			t.Errorf("page %d ends %0.f pt above the body's bottom", i+1, gap)
		}
	}
}

func TestReportSeriesBuckets(t *testing.T) {
	f := newContentFixture(t)
	_, sum := f.write(t, f.opts, FormatJSON)
	var allowed, denied uint64
	for _, p := range sum.Series {
		allowed += p.Allowed
		denied += p.Denied
	}
	// Three decisions: the what-if and the override are not.
	if allowed != 1 || denied != 2 {
		t.Errorf("series counts %d allowed, %d denied; want 1, 2", allowed, denied)
	}
	if sum.SeriesBucket != "minute" || len(sum.Series) != 13 || !sum.Series[0].Start.Equal(contentStart.Add(time.Minute)) {
		t.Errorf("series of %d %s buckets from %v", len(sum.Series), sum.SeriesBucket, sum.Series[0].Start)
	}
	c := Charts(sum)[0]
	if c.Bars[0].Label == c.EndLabel || c.EndLabel != "2026-05-04 10:14" {
		t.Errorf("time chart from %q to %q", c.Bars[0].Label, c.EndLabel)
	}

	for _, tc := range []struct {
		span   time.Duration
		n      int
		bucket string
	}{
		{0, 1, "minute"},
		{59 * time.Minute, 60, "minute"},
		{3 * time.Hour, 37, "5 minutes"},
		{20 * time.Hour, 81, "15 minutes"},
		{3 * 24 * time.Hour, 73, "hour"},
		{30 * 24 * time.Hour, 31, "day"},
		{400 * 24 * time.Hour, 58, "week"},
		{10 * 365 * 24 * time.Hour, 131, "4 weeks"},
	} {
		t.Run(tc.span.String(), func(t *testing.T) {
			s := series{points: map[int64]*SeriesPoint{}}
			start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
			for i := range 20_000 {
				s.add(start.Add(tc.span/20_000*time.Duration(i)), i%3 == 0)
			}
			s.add(start.Add(tc.span), false)
			points, bucket, end := s.finish()
			var n uint64
			for _, p := range points {
				n += p.Allowed + p.Denied
			}
			if bucket != tc.bucket || len(points) != tc.n || n != 20_001 || !end.After(start.Add(tc.span)) {
				t.Errorf("%d %s buckets holding %d decisions, ending %v", len(points), bucket, n, end)
			}
		})
	}
}

// TestReportPDFSummarises: a PDF lists the first records of a long list,
// and says so on page one and under the list, naming the formats that hold
// them all; the totals still count every one.
func TestReportPDFSummarises(t *testing.T) {
	f := newReportFixture(t)
	defer func(n int) { pdfListLimit = n }(pdfListLimit)
	pdfListLimit = 10
	doc, sum := f.write(t, f.opts, FormatPDF)
	if len(sum.Denials) != 10 || sum.Totals.Denials <= 10 || len(sum.Overrides) != 10 || len(sum.Hypothetical) != 1 {
		t.Fatalf("listed %d of %d denials, %d overrides, %d what-ifs", len(sum.Denials), sum.Totals.Denials, len(sum.Overrides), len(sum.Hypothetical))
	}
	pages := readPDF(t, doc)
	first := pdfText(pages[:1])
	for _, want := range []string{fmt.Sprintf("the first 10 of %d denials", sum.Totals.Denials), "This PDF summarises", "HTML, CSV and JSON reports and the evidence pack"} {
		if !containsWrapped(first, want) {
			t.Errorf("page one lacks %q:\n%s", want, first)
		}
	}
	all := pdfText(pages)
	if !containsWrapped(all, fmt.Sprintf("Listed: the first 10 of %d, in log order.", sum.Totals.Denials)) {
		t.Errorf("no note under the denials")
	}
	// Without a cut, no such note.
	pdfListLimit = PDFListLimit
	doc, _ = f.write(t, f.opts, FormatPDF)
	if text := pdfText(readPDF(t, doc)); containsWrapped(text, "This PDF summarises") || containsWrapped(text, "Listed: the first") {
		t.Errorf("a whole PDF says it summarises")
	}
}

// TestReportHTMLSpill: an HTML report's lists are spilled to files in
// Options.TempDir, removed when the report is written; a TempDir that
// cannot be written refuses the report with a clear error, not half of it.
func TestReportHTMLSpill(t *testing.T) {
	f := newContentFixture(t)
	o := f.opts
	o.TempDir = t.TempDir()
	page, _ := f.write(t, o, FormatHTML)
	if left, _ := os.ReadDir(o.TempDir); len(left) != 0 {
		t.Errorf("spill files left behind: %v", left)
	}
	if !bytes.HasSuffix(page, []byte("</html>\n")) {
		t.Errorf("page ends %q", page[max(0, len(page)-40):])
	}
	o.TempDir = filepath.Join(o.TempDir, "missing")
	var buf bytes.Buffer
	_, err := Write(context.Background(), o, FormatHTML, &buf)
	if err == nil || !strings.Contains(err.Error(), "spill the report's lists") || buf.Len() != 0 {
		t.Errorf("report with an unwritable temporary directory: %v, %d bytes written", err, buf.Len())
	}
}

// TestHTMLSpillLongRows: a row longer than the spill's read buffer (a
// placement over hundreds of sites) comes back whole.
func TestHTMLSpillLongRows(t *testing.T) {
	sp, err := newHTMLSpill(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.remove()
	long := &Row{Index: 1, ID: "a", Kind: audit.KindPlacement, Outcome: OutcomeDenied}
	for i := range 3000 {
		long.Violations = append(long.Violations, Finding{Rule: "r", Site: fmt.Sprintf("site-%d", i), Message: "no"})
	}
	rows := []*Row{{Index: 0, ID: "z", Kind: audit.KindTransfer, Outcome: OutcomeDenied}, long, {Index: 2, ID: "b", Kind: audit.KindTransfer, Outcome: OutcomeDenied}}
	for _, r := range rows {
		if err := sp.add(listDenials, r); err != nil {
			t.Fatal(err)
		}
	}
	var got [][]byte
	if err := sp.each(listDenials, func(line []byte) error { got = append(got, bytes.Clone(line)); return nil }); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		var want bytes.Buffer
		htmlRow(&want, listDenials, r)
		if i >= len(got) || !bytes.Equal(got[i], want.Bytes()) {
			t.Fatalf("row %d (%d bytes) did not come back whole", i, want.Len())
		}
	}
	if len(got) != 3 || len(got[1]) < 64<<10 {
		t.Errorf("%d rows, the long one %d bytes", len(got), len(got[1]))
	}
}
