package audit

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// ReportFormat is an output format of WriteReport.
type ReportFormat string

// The report formats.
const (
	ReportJSON     ReportFormat = "json"
	ReportCSV      ReportFormat = "csv"
	ReportHTML     ReportFormat = "html"
	ReportPDF      ReportFormat = "pdf"
	ReportEvidence ReportFormat = "evidence"
)

// ReportFormats lists the formats, in a stable order.
var ReportFormats = []ReportFormat{ReportJSON, ReportCSV, ReportHTML, ReportPDF, ReportEvidence}

// ParseReportFormat checks a format name.
func ParseReportFormat(s string) (ReportFormat, error) {
	for _, f := range ReportFormats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(ReportFormats))
	for i, f := range ReportFormats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("format %q: want one of %s", s, strings.Join(names, ", "))
}

// ContentType is the media type of a report format.
func (f ReportFormat) ContentType() string {
	switch f {
	case ReportJSON:
		return "application/json"
	case ReportCSV:
		return "text/csv; charset=utf-8"
	case ReportHTML:
		return "text/html; charset=utf-8"
	case ReportPDF:
		return "application/pdf"
	default:
		return "application/gzip"
	}
}

// Extension is the usual file name extension of a format.
func (f ReportFormat) Extension() string {
	if f == ReportEvidence {
		return "tar.gz"
	}
	return string(f)
}

// ReportOptions configure WriteReport; Source, Keys and LogVerifier are
// required, as for VerifyLog.
type ReportOptions struct {
	Source      Source
	Keys        []crypto.PublicKey
	LogVerifier note.Verifier
	// PublicKeysPEM and LogVerifierKey are copied into an evidence pack so
	// that it can be checked with nothing else.
	PublicKeysPEM  []byte
	LogVerifierKey string
	Query          ReportQuery
	// TimeSkew is how far record times may be out of index order; 0 means
	// DefaultTimeSkew.
	TimeSkew time.Duration
	// FullVerify runs VerifyLog over the whole log first (as `audit verify`
	// does); otherwise the index window read is verified (see ScanWindow).
	FullVerify bool
	// Progress, if set, is called with entries done and the total to do.
	Progress func(done, total uint64)
	// Now stamps the report; nil means time.Now.
	Now func() time.Time
}

// WriteReport verifies the log, selects the records of o.Query, and writes
// the report in format to w. It refuses (an error, a *VerifyError when the
// log does not verify) rather than report from a log that does not verify;
// what it wrote to w by then must be discarded, so callers write to a
// temporary file and keep it only on success. csv, json and evidence are
// streamed in bounded memory; html and pdf hold the summary, which lists
// every denial and override.
func WriteReport(ctx context.Context, o ReportOptions, format ReportFormat, w io.Writer) (*ReportSummary, error) {
	if o.Source == nil || o.LogVerifier == nil || len(o.Keys) == 0 {
		return nil, errors.New("report: a log, its public keys and its checkpoint verifier key are required")
	}
	if _, err := ParseReportFormat(string(format)); err != nil {
		return nil, err
	}
	if !o.Query.From.IsZero() && !o.Query.To.IsZero() && !o.Query.From.Before(o.Query.To) {
		return nil, fmt.Errorf("report: period from %s to %s is empty", o.Query.From.Format(time.RFC3339), o.Query.To.Format(time.RFC3339))
	}
	if o.Query.Kind != "" && !o.Query.Kind.Valid() {
		return nil, fmt.Errorf("report: kind %q is not a record kind", o.Query.Kind)
	}
	if o.TimeSkew <= 0 {
		o.TimeSkew = DefaultTimeSkew
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	ks, err := NewKeySet(o.Keys...)
	if err != nil {
		return nil, err
	}
	mode := "window"
	var raw []byte
	if o.FullVerify {
		sum, err := VerifyLog(ctx, o.Source, o.Keys, o.LogVerifier, nil)
		if err != nil {
			return nil, err
		}
		raw, mode = []byte(sum.Checkpoint), "full"
	} else if raw, err = o.Source.ReadCheckpoint(ctx); err != nil {
		return nil, &VerifyError{Index: -1, What: FailCheckpoint, Err: err}
	}
	cp, err := ParseCheckpoint(raw, o.LogVerifier)
	if err != nil {
		return nil, &VerifyError{Index: -1, What: FailCheckpoint, Err: err}
	}

	lo, hi := uint64(0), cp.Size
	if !o.Query.From.IsZero() {
		first, err := FindIndexByTime(ctx, o.Source, cp.Size, o.Query.From.Add(-o.TimeSkew))
		if err != nil {
			return nil, &VerifyError{Index: -1, What: FailEntryBundle, Err: fmt.Errorf("finding %s: %w", o.Query.From, err)}
		}
		if first > 0 {
			lo = first - 1
		}
	}
	if !o.Query.To.IsZero() {
		end, err := FindIndexByTime(ctx, o.Source, cp.Size, o.Query.To.Add(o.TimeSkew))
		if err != nil {
			return nil, &VerifyError{Index: -1, What: FailEntryBundle, Err: fmt.Errorf("finding %s: %w", o.Query.To, err)}
		}
		if end < cp.Size {
			hi = end + 1
		}
	}
	hi = max(hi, lo)

	b := newReportBuilder(o.Query, o.TimeSkew)
	b.sum.GeneratedAt = now().UTC()
	b.sum.Checkpoint = reportCheckpoint(cp)
	b.sum.Verification = Verification{Mode: mode, FirstIndex: lo, EndIndex: hi, TimeSkew: o.TimeSkew.String()}
	var sink rowSink
	switch format {
	case ReportCSV:
		sink, b.noDetail = newCSVSink(w), true
	case ReportJSON:
		sink, b.noDetail = newJSONSink(w), true
	case ReportEvidence:
		b.noDetail = true
		sink, err = newEvidenceSink(w, o, cp, lo, hi)
		if err != nil {
			return nil, err
		}
	default:
		sink = discardSink{}
	}
	var progress func(uint64)
	if o.Progress != nil {
		total := hi - lo
		progress = func(done uint64) { o.Progress(done, total) }
	}
	var loTime, lastTime time.Time
	err = ScanWindow(ctx, o.Source, ks, cp, lo, hi, func(e *VerifiedEntry) error {
		if e.Index == lo {
			loTime = e.Row.Time
		}
		if e.Index == hi-1 {
			lastTime = e.Row.Time
		}
		selected := b.observe(e.Row)
		return sink.row(ctx, e, selected)
	}, progress)
	if err != nil {
		return nil, err
	}
	// The window's edges were found by reading entries that are not
	// verified; the verified edge entries must show they lie outside the
	// period (by the skew), or records of the period may sit beyond them.
	if lo > 0 && !loTime.Before(o.Query.From.Add(-o.TimeSkew)) {
		return nil, &VerifyError{Index: int64(lo), What: FailRecord, Err: fmt.Errorf("the window's first entry, time %s, is not before the period's start %s less the skew %s: the entry times read to find the window do not match the verified ones (a damaged or altered entry bundle); run with full verification", loTime.Format(time.RFC3339Nano), o.Query.From.Format(time.RFC3339), o.TimeSkew)}
	}
	if hi < cp.Size && lastTime.Before(o.Query.To.Add(o.TimeSkew)) {
		return nil, &VerifyError{Index: int64(hi - 1), What: FailRecord, Err: fmt.Errorf("the window's last entry, time %s, is not after the period's end %s plus the skew %s: the entry times read to find the window do not match the verified ones (a damaged or altered entry bundle); run with full verification", lastTime.Format(time.RFC3339Nano), o.Query.To.Format(time.RFC3339), o.TimeSkew)}
	}
	b.sum.Verification.Records = hi - lo
	sum := b.finish()
	switch format {
	case ReportHTML:
		err = WriteReportHTML(w, sum)
	case ReportPDF:
		err = WriteReportPDF(w, sum)
	default:
		err = sink.close(sum)
	}
	if err != nil {
		return nil, fmt.Errorf("report: write %s: %w", format, err)
	}
	return sum, nil
}

// rowSink receives every verified row of the window in index order.
type rowSink interface {
	row(ctx context.Context, e *VerifiedEntry, selected bool) error
	close(sum *ReportSummary) error
}

type discardSink struct{}

func (discardSink) row(context.Context, *VerifiedEntry, bool) error { return nil }
func (discardSink) close(*ReportSummary) error                      { return nil }
