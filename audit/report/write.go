package report

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
)

// Format is an output format of Write.
type Format string

// The report formats.
const (
	FormatJSON     Format = "json"
	FormatCSV      Format = "csv"
	FormatHTML     Format = "html"
	FormatPDF      Format = "pdf"
	FormatEvidence Format = "evidence"
)

// Formats lists the formats, in a stable order.
var Formats = []Format{FormatJSON, FormatCSV, FormatHTML, FormatPDF, FormatEvidence}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("format %q: want one of %s", s, strings.Join(names, ", "))
}

// ContentType is the media type of a report format.
func (f Format) ContentType() string {
	switch f {
	case FormatJSON:
		return "application/json"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatHTML:
		return "text/html; charset=utf-8"
	case FormatPDF:
		return "application/pdf"
	default:
		return "application/gzip"
	}
}

// Extension is the usual file name extension of a format.
func (f Format) Extension() string {
	if f == FormatEvidence {
		return "tar.gz"
	}
	return string(f)
}

// Options configure Write.
type Options struct {
	// Log is the log reported on and what it must verify against (required).
	// An evidence pack carries its KeysPEM and VerifierKey, so that it can be
	// checked with nothing else.
	Log   *audit.TrustedLog
	Query Query
	// TimeSkew is how far record times may be out of index order; 0 means
	// audit.DefaultTimeSkew.
	TimeSkew time.Duration
	// FullVerify verifies the whole log first (audit.TrustedLog.Verify, as
	// `audit verify` does); otherwise the index window read is verified (see
	// audit.ScanWindow).
	FullVerify bool
	// Progress, if set, is called with entries done and the total to do.
	Progress func(done, total uint64)
	// Now stamps the report; nil means time.Now.
	Now func() time.Time
	// TempDir is where an HTML report spills its lists of records while the
	// log is read (removed before Write returns); "" means os.TempDir.
	TempDir string
}

// Write verifies the log, selects the records of o.Query, and writes the
// report in format to w. It refuses (an error, an *audit.VerifyError when the
// log does not verify or a witness did not cosign its checkpoint) rather than
// report from a log it cannot trust; what it wrote to w by then must be
// discarded, so callers write to a temporary file and keep it only on
// success. Every format is written in bounded memory: csv, json and
// evidence stream their rows; html spills its lists of records to temporary
// files in o.TempDir and copies them after the summary; pdf lists the first
// PDFListLimit records of each list and says where the others are.
func Write(ctx context.Context, o Options, format Format, w io.Writer) (*Summary, error) {
	if err := o.check(format); err != nil {
		return nil, err
	}
	cp, err := o.Log.Checkpoint(ctx, o.FullVerify)
	if err != nil {
		return nil, err
	}
	mode := "window"
	if o.FullVerify {
		mode = "full"
	}
	lo, hi, err := findWindow(ctx, o, cp)
	if err != nil {
		return nil, err
	}

	b := newBuilder(o.Query, o.TimeSkew)
	b.sum.GeneratedAt = o.Now().UTC()
	b.sum.Checkpoint = checkpointOf(cp)
	b.sum.Verification = Verification{Mode: mode, FirstIndex: lo, EndIndex: hi, TimeSkew: o.TimeSkew.String()}
	sink, err := newRowSink(format, w, o, cp, lo, hi)
	if err != nil {
		return nil, err
	}
	// The streamed formats hold their rows; html and pdf list denials,
	// overrides and what-ifs after the summary.
	var spill *htmlSpill
	switch format {
	case FormatHTML:
		if spill, err = newHTMLSpill(o.TempDir); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		defer spill.remove()
		b.lists = spill
	case FormatPDF:
		b.lists = &firstRows{sum: &b.sum, limit: pdfListLimit}
	}
	var progress func(uint64)
	if o.Progress != nil {
		total := hi - lo
		progress = func(done uint64) { o.Progress(done, total) }
	}
	var loTime, lastTime time.Time
	err = audit.ScanWindow(ctx, o.Log, cp, lo, hi, decodeRow, func(e *audit.VerifiedEntry, row *Row) error {
		if e.Index == lo {
			loTime = row.Time
		}
		if e.Index == hi-1 {
			lastTime = row.Time
		}
		selected, err := b.observe(row)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		return sink.row(ctx, e, row, selected)
	}, progress)
	if err != nil {
		return nil, err
	}
	if err := checkEdges(o, cp, lo, hi, loTime, lastTime); err != nil {
		return nil, err
	}
	if n := b.sum.Verification.OutOfOrder; n > 0 && format == FormatEvidence && !o.Query.Filtered() {
		// A complete pack proves that no record of the period is missing
		// only if record times are in index order to within the skew; its
		// verifier refuses one that is not, so it is not written.
		return nil, fmt.Errorf("report: %d records are earlier than a preceding record by more than the time skew %s (the first at index %d): "+
			"a complete evidence pack of them would not verify; export with a larger time skew", n, o.TimeSkew, b.firstOutOfOrder)
	}
	b.sum.Verification.Records = hi - lo
	sum := b.finish()
	switch format {
	case FormatHTML:
		err = writeHTML(w, sum, spill.each)
	case FormatPDF:
		err = WritePDF(w, sum)
	default:
		err = sink.close(sum)
	}
	if err != nil {
		return nil, fmt.Errorf("report: write %s: %w", format, err)
	}
	return sum, nil
}

// check checks the options for a report in format and fills in the
// defaults.
func (o *Options) check(format Format) error {
	if err := o.Log.Validate(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := ParseFormat(string(format)); err != nil {
		return err
	}
	if !o.Query.From.IsZero() && !o.Query.To.IsZero() && !o.Query.From.Before(o.Query.To) {
		return fmt.Errorf("report: period from %s to %s is empty", o.Query.From.Format(time.RFC3339), o.Query.To.Format(time.RFC3339))
	}
	if o.Query.Confined && o.Query.Tenant == "" {
		return errors.New("report: a confined report is a tenant's: name the tenant")
	}
	if o.Query.Kind != "" && !o.Query.Kind.Valid() {
		return fmt.Errorf("report: kind %q is not a record kind", o.Query.Kind)
	}
	if o.TimeSkew <= 0 {
		o.TimeSkew = audit.DefaultTimeSkew
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// findWindow is the index window [lo, hi) of the tree of cp that holds the
// period: the entries of the period, the skew on both sides, and one entry
// beyond each end (docs/reports.md). It reads entry times that are not
// verified yet; checkEdges checks them once they are.
func findWindow(ctx context.Context, o Options, cp *audit.Checkpoint) (lo, hi uint64, err error) {
	lo, hi = 0, cp.Size
	if !o.Query.From.IsZero() {
		first, err := audit.FindIndexByTime(ctx, o.Log.Source, cp.Size, o.Query.From.Add(-o.TimeSkew))
		if err != nil {
			return 0, 0, &audit.VerifyError{Index: -1, What: audit.FailEntryBundle, Err: fmt.Errorf("finding %s: %w", o.Query.From, err)}
		}
		if first > 0 {
			lo = first - 1
		}
	}
	if !o.Query.To.IsZero() {
		end, err := audit.FindIndexByTime(ctx, o.Log.Source, cp.Size, o.Query.To.Add(o.TimeSkew))
		if err != nil {
			return 0, 0, &audit.VerifyError{Index: -1, What: audit.FailEntryBundle, Err: fmt.Errorf("finding %s: %w", o.Query.To, err)}
		}
		if end < cp.Size {
			hi = end + 1
		}
	}
	return lo, max(hi, lo), nil
}

// checkEdges checks the verified times of the window's edge entries, loTime
// at lo and lastTime at hi-1. The window was found by reading entries that
// were not verified; the verified edge entries must show they lie outside
// the period (by the skew), or records of the period may sit beyond them.
func checkEdges(o Options, cp *audit.Checkpoint, lo, hi uint64, loTime, lastTime time.Time) error {
	if lo > 0 && !loTime.Before(o.Query.From.Add(-o.TimeSkew)) {
		return &audit.VerifyError{Index: int64(lo), What: audit.FailRecord, Err: fmt.Errorf("the window's first entry, time %s, is not before the period's start %s less the skew %s: the entry times read to find the window do not match the verified ones (a damaged or altered entry bundle); run with full verification", loTime.Format(time.RFC3339Nano), o.Query.From.Format(time.RFC3339), o.TimeSkew)}
	}
	if hi < cp.Size && lastTime.Before(o.Query.To.Add(o.TimeSkew)) {
		return &audit.VerifyError{Index: int64(hi - 1), What: audit.FailRecord, Err: fmt.Errorf("the window's last entry, time %s, is not after the period's end %s plus the skew %s: the entry times read to find the window do not match the verified ones (a damaged or altered entry bundle); run with full verification", lastTime.Format(time.RFC3339Nano), o.Query.To.Format(time.RFC3339), o.TimeSkew)}
	}
	return nil
}

// newRowSink is where the verified rows of a report in format go: streamed
// to w for csv, json and evidence; nowhere for html and pdf, which are
// written from the summary.
func newRowSink(format Format, w io.Writer, o Options, cp *audit.Checkpoint, lo, hi uint64) (rowSink, error) {
	switch format {
	case FormatCSV:
		return newCSVSink(w), nil
	case FormatJSON:
		return newJSONSink(w), nil
	case FormatEvidence:
		return newEvidenceSink(w, o, cp, lo, hi)
	default:
		return discardSink{}, nil
	}
}

// decodeRow derives a verified entry's report row (in audit.ScanWindow's
// workers).
func decodeRow(e *audit.VerifiedEntry) (row *Row, err error) {
	rec, err := e.RecordJSON()
	if err == nil {
		row, err = parseRow(rec)
	}
	if err != nil {
		return nil, &audit.VerifyError{Index: int64(e.Index), What: audit.FailRecord, Err: err}
	}
	row.Index = e.Index
	row.EntrySHA256 = hex.EncodeToString(e.EntrySHA256[:])
	return row, nil
}

// rowSink receives every verified row of the window in index order.
type rowSink interface {
	row(ctx context.Context, e *audit.VerifiedEntry, r *Row, selected bool) error
	close(sum *Summary) error
}

// The sinks of the formats.
var (
	_ rowSink = (*csvSink)(nil)
	_ rowSink = (*jsonSink)(nil)
	_ rowSink = (*evidenceSink)(nil)
	_ rowSink = discardSink{}
)

// firstRows keeps the first limit rows of each list in the summary, for
// the PDF report.
type firstRows struct {
	sum   *Summary
	limit int
}

func (f *firstRows) add(l list, r *Row) error {
	rows := &f.sum.Denials
	switch l {
	case listOverrides:
		rows = &f.sum.Overrides
	case listHypothetical:
		rows = &f.sum.Hypothetical
	}
	if len(*rows) < f.limit {
		*rows = append(*rows, *r)
	}
	return nil
}

// discardSink is html's and pdf's: they are written from the summary.
type discardSink struct{}

func (discardSink) row(context.Context, *audit.VerifiedEntry, *Row, bool) error { return nil }
func (discardSink) close(*Summary) error                                        { return nil }
