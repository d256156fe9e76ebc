package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit/mysqltest"
)

// BenchmarkAppendReplicas measures the log alone (sign, sequence, integrate,
// commit; no policy evaluation, no HTTP): durable appends/s of one Log on
// POSIX against 1, 2 and 3 Logs (replicas, in one process) sharing one log
// on MySQL/MariaDB, with AUDIT_BENCH_WRITERS concurrent writers in total
// (default 64) split over the replicas. Run all in one go so the ratios hold:
//
//	eval "$(scripts/mariadb.sh start)"
//	go test -run '^$' -bench BenchmarkAppendReplicas -benchtime 4000x ./audit/
func BenchmarkAppendReplicas(b *testing.B) {
	writers := envInt("AUDIT_BENCH_WRITERS", 64)
	for _, c := range []struct {
		backend  string
		replicas int
	}{{BackendPOSIX, 1}, {BackendMySQL, 1}, {BackendMySQL, 2}, {BackendMySQL, 3}} {
		b.Run(fmt.Sprintf("%s/replicas=%d", c.backend, c.replicas), func(b *testing.B) {
			var mod func(*Options)
			if c.backend == BackendMySQL {
				dsn := mysqltest.DSN(b)
				mod = func(o *Options) { o.Backend, o.DSN = BackendMySQL, dsn }
			} else {
				mod = func(*Options) {}
			}
			first := b.TempDir()
			logs := []*Log{openTest(b, first, mod)}
			for range c.replicas - 1 {
				dir := b.TempDir()
				copyKeys(b, first, dir)
				logs = append(logs, openTest(b, dir, mod))
			}
			defer func() {
				for _, l := range logs {
					closeTest(b, l)
				}
			}()
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			failed := appendConcurrently(ctx, b.N, writers, func(w int) *Log { return logs[w%len(logs)] }, benchRecord, nil)
			elapsed := time.Since(start)
			b.StopTimer()
			if failed > 0 {
				b.Fatalf("%d appends failed", failed)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
		})
	}
}
