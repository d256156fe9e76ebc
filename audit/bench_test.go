package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// envInt reads a benchmark knob from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchOptions applies AUDIT_BENCH_BATCH_SIZE, AUDIT_BENCH_BATCH_AGE_US and
// AUDIT_BENCH_CHECKPOINT_MS,
// for tuning sweeps; unset means the package defaults.
func benchOptions(o *Options) {
	o.BatchMaxSize = uint(envInt("AUDIT_BENCH_BATCH_SIZE", 0))
	o.BatchMaxAge = time.Duration(envInt("AUDIT_BENCH_BATCH_AGE_US", 0)) * time.Microsecond
	o.CheckpointInterval = time.Duration(envInt("AUDIT_BENCH_CHECKPOINT_MS", 0)) * time.Millisecond
}

// benchRecord is testRecord, its result padded to AUDIT_BENCH_RECORD_BYTES
// (a placement over the 21 demo sites makes a record of about 4 KB).
func benchRecord(i int) *Record {
	r := testRecord(i)
	if n := envInt("AUDIT_BENCH_RECORD_BYTES", 0); n > len(r.Result) {
		pad := strings.Repeat("x", n-len(r.Result))
		r.Result = json.RawMessage(`{"allowed": true, "padding": "` + pad + `"}`)
	}
	return r
}

// appendConcurrently appends record(0) ... record(n-1) from writers
// goroutines, writer w on logFor(w), and returns how many failed. With lat
// (len n), it records each append's latency at its record's index.
func appendConcurrently(ctx context.Context, n, writers int, logFor func(w int) *Log, record func(i int) *Record, lat []time.Duration) int64 {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		l := logFor(w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				if _, err := l.Append(ctx, record(int(i))); err != nil {
					failed.Add(1)
				}
				if lat != nil {
					lat[i] = time.Since(t0)
				}
			}
		}()
	}
	wg.Wait()
	return failed.Load()
}

// BenchmarkAppend measures durable appends of signed records (sign, encode,
// sequence, fsync, integrate) with 1, 16 and 256 concurrent writers, and
// reports throughput and per-append latency.
//
//	go test -run '^$' -bench BenchmarkAppend -benchtime 20000x ./audit/
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []string{"journal", "direct"} {
		for _, writers := range []int{1, 16, 256, 1024} {
			benchmarkAppend(b, mode, writers)
		}
	}
}

// benchmarkAppend: mode "journal" is the default; "direct" waits for Tessera's
// own sequencing (NoJournal), for comparison in the same run.
func benchmarkAppend(b *testing.B, mode string, writers int) {
	{
		b.Run(fmt.Sprintf("%s/writers=%d", mode, writers), func(b *testing.B) {
			l := openTest(b, b.TempDir(), benchOptions, func(o *Options) { o.NoJournal = mode == "direct" })
			defer closeTest(b, l)
			ctx := context.Background()
			lat := make([]time.Duration, b.N)
			b.ResetTimer()
			start := time.Now()
			failed := appendConcurrently(ctx, b.N, writers, func(int) *Log { return l }, benchRecord, lat)
			if l.journal != nil { // throughput counts until the tree holds it all
				if err := l.journal.awaitIntegrated(ctx, l.journal.next.Load()); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if failed > 0 {
				b.Fatalf("%d appends failed", failed)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		})
	}
}

// BenchmarkVerifyLog measures VerifyLog over a log of AUDIT_BENCH_VERIFY_N
// records (default 100,000). The log is built first (not timed), in
// AUDIT_BENCH_VERIFY_DIR if set, which is kept and reused by later runs.
//
//	go test -run '^$' -bench BenchmarkVerifyLog -benchtime 1x -timeout 60m ./audit/
func BenchmarkVerifyLog(b *testing.B) {
	n := envInt("AUDIT_BENCH_VERIFY_N", 100_000)
	dir := os.Getenv("AUDIT_BENCH_VERIFY_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	src, err := NewSource(dir)
	size := uint64(0)
	if err == nil {
		if raw, err := src.ReadCheckpoint(context.Background()); err == nil {
			_, v := auditorKeys(b, dir)
			if cp, err := ParseCheckpoint(raw, v); err == nil {
				size = cp.Size
			}
		}
	}
	if size < uint64(n) {
		build := time.Now()
		l := openTest(b, dir, func(o *Options) { o.Origin = "" })
		appendN(b, l, n-int(size), 256)
		closeTest(b, l)
		b.Logf("built %d records in %v", n-int(size), time.Since(build))
		if src, err = NewSource(dir); err != nil {
			b.Fatal(err)
		}
	}
	keys, v := auditorKeys(b, dir)
	b.ResetTimer()
	var sum Summary
	for b.Loop() {
		if sum, err = VerifyLog(context.Background(), src, keys, v, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perRecord := b.Elapsed() / time.Duration(b.N) / time.Duration(sum.TreeSize)
	b.ReportMetric(float64(sum.TreeSize), "records")
	b.ReportMetric(1/perRecord.Seconds(), "records/s")
	b.ReportMetric((perRecord * 1_000_000).Seconds(), "s/1M-records")
}
