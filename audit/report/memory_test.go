package report

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/internal/rss"
)

// memoryLogEnv names, for the child processes of TestReportMemoryIsBounded,
// the log their parent built.
const memoryLogEnv = "SOVEREIGN_REPORT_MEMORY_LOG"

// TestReportMemoryIsBounded writes a whole-log report in every format, each
// in a child process whose peak RSS growth it measures: all formats stream,
// so memory does not grow with the log. The log has AUDIT_BENCH_REPORT_N
// records (default 20,000) every one of which is listed as a (site-level)
// denial, in AUDIT_BENCH_REPORT_DIR if set (kept and reused, as
// BenchmarkReport's). For the 1,000,000-record figures in BENCHMARKS.md:
//
//	AUDIT_BENCH_REPORT_N=1000000 AUDIT_BENCH_REPORT_DIR=/tmp/report1m GOGC=400 \
//	  go test -run TestReportMemoryIsBounded -v -timeout 60m ./audit/report/
func TestReportMemoryIsBounded(t *testing.T) {
	dir := os.Getenv(memoryLogEnv)
	if dir == "" {
		dir = os.Getenv("AUDIT_BENCH_REPORT_DIR")
		if dir == "" {
			dir = t.TempDir()
		}
		if _, err := os.Stat(filepath.Join(dir, audit.LogDir, "checkpoint")); err != nil {
			buildReportBenchLog(t, dir, envInt("AUDIT_BENCH_REPORT_N", 20_000))
		}
		t.Setenv(memoryLogEnv, dir)
	}
	o := reportOptions(t, dir)
	// The bench log's times are set before 256 concurrent writers append
	// them, so its index order departs from time order by far more than a
	// live log's (whose Append stamps the time); a complete evidence pack
	// of it verifies only with a skew that covers that.
	o.TimeSkew = benchLogSkew
	// Peak RSS growth allowed: 512 MB is the target at any size; the
	// default log is checked against far less, what a streamed report of
	// it holds (measured: 17–40 MiB; before, HTML and PDF grew with the log).
	limit := int64(512 << 20)
	if os.Getenv("AUDIT_BENCH_REPORT_DIR") == "" {
		limit = 64 << 20
	}
	for _, format := range Formats {
		t.Run(string(format), func(t *testing.T) {
			start := time.Now()
			var records uint64
			res := rss.Measure(t, func() error {
				out, err := os.Create(filepath.Join(t.TempDir(), "report"))
				if err != nil {
					return err
				}
				defer out.Close()
				bw := bufio.NewWriter(out)
				sum, err := Write(context.Background(), o, format, bw)
				if err == nil {
					err = bw.Flush()
				}
				if err != nil {
					return err
				}
				st, _ := out.Stat()
				var ru syscall.Rusage
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
				cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
				return fmt.Errorf("ok: %d records, %d bytes, CPU time %v", sum.Totals.Records, st.Size(), cpu.Round(100*time.Millisecond))
			})
			_, _ = fmt.Sscanf(res.Err, "ok: %d records", &records)
			if records == 0 {
				t.Fatalf("report: %s", res.Err)
			}
			t.Logf("%s: %s in %v (child process, start-up included); peak RSS %d MiB above %d MiB at start",
				format, res.Err[len("ok: "):], time.Since(start).Round(100*time.Millisecond), res.PeakGrowth>>20, res.Before>>20)
			// The target is the whole process's peak; the default run checks
			// the growth, which the log's size drives.
			peak := res.PeakGrowth
			if os.Getenv("AUDIT_BENCH_REPORT_DIR") != "" {
				peak += res.Before
			}
			if peak > limit {
				t.Errorf("%s report of %d records: peak RSS %d MiB (growth %d MiB), want at most %d MiB", format, records, (res.Before+res.PeakGrowth)>>20, res.PeakGrowth>>20, limit>>20)
			}
		})
	}
}
