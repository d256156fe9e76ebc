package report

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
)

// benchReportSpan is how long the benchmark log covers: 1M records over 30
// days is one record every 2.6 s.
const benchReportSpan = 30 * 24 * time.Hour

// buildReportBenchLog appends n records spread evenly over benchReportSpan
// from reportDay0, with 256 writers (so sequencing order differs from time
// order by a few records, as in production).
// benchLogSkew covers how far the bench log's record times are out of
// index order (buildReportBenchLog).
const benchLogSkew = 30 * 24 * time.Hour

func buildReportBenchLog(b testing.TB, dir string, n int) {
	l := openTest(b, dir, func(o *audit.Options) { o.Origin = "" })
	step := benchReportSpan / time.Duration(n)
	failed := appendConcurrently(context.Background(), l, n, 256, func(i int) *audit.Record {
		r := testRecord(i)
		r.Time = reportDay0.Add(time.Duration(i) * step)
		return r
	})
	closeTest(b, l)
	if failed > 0 {
		b.Fatalf("%d appends failed", failed)
	}
}

// BenchmarkReport measures Write over a log of AUDIT_BENCH_REPORT_N
// records (default 100,000) spread over 30 days, built first (not timed) in
// AUDIT_BENCH_REPORT_DIR if set, which is kept and reused.
//
//	AUDIT_BENCH_REPORT_N=1000000 AUDIT_BENCH_REPORT_DIR=/tmp/report1m \
//	  go test -run '^$' -bench BenchmarkReport -benchtime 1x -timeout 60m ./audit/
func BenchmarkReport(b *testing.B) {
	n := envInt("AUDIT_BENCH_REPORT_N", 100_000)
	dir := os.Getenv("AUDIT_BENCH_REPORT_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	if _, err := os.Stat(dir + "/" + audit.LogDir + "/checkpoint"); err != nil {
		start := time.Now()
		buildReportBenchLog(b, dir, n)
		b.Logf("built %d records in %v", n, time.Since(start))
	}
	o := reportOptions(b, dir)
	// The bench log's times are set before 256 concurrent writers append
	// them, so its index order departs from time order by far more than a
	// live log's (whose Append stamps the time); a complete evidence pack
	// of it verifies only with a skew that covers that.
	o.TimeSkew = benchLogSkew
	day := Query{From: reportDay0.Add(15 * 24 * time.Hour), To: reportDay0.Add(16 * 24 * time.Hour)}
	for _, tc := range []struct {
		name   string
		format Format
		q      Query
	}{
		{"csv/all", FormatCSV, Query{}},
		{"evidence/all", FormatEvidence, Query{}},
		{"json/one-day", FormatJSON, day},
		{"html/one-day", FormatHTML, day},
		{"evidence/one-day", FormatEvidence, day},
	} {
		b.Run(tc.name, func(b *testing.B) {
			o := o
			o.Query = tc.q
			var sum *Summary
			for b.Loop() {
				var err error
				cw := &countingWriter{}
				if sum, err = Write(context.Background(), o, tc.format, cw); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(cw.n)/1e6, "MB-out")
			}
			b.ReportMetric(float64(sum.Totals.Records), "records")
			b.ReportMetric(float64(sum.Verification.Records), "entries-read")
		})
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

// BenchmarkParseReportRow: deriving a report row from a placement record's
// canonical JSON (the report's per-record CPU besides the signature check).
func BenchmarkParseReportRow(b *testing.B) {
	var rec []byte
	for _, r := range reportRecords() {
		if r.Kind == audit.KindPlacement && strings.Contains(string(r.Result), "violations") {
			rec = recordBytes(b, r)
			break
		}
	}
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := parseRow(rec); err != nil {
			b.Fatal(err)
		}
	}
}
