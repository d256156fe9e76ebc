package policyci_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
	"github.com/sovereign-engine/sovereign/policyci"
)

// replayDecisions is the size of the benchmark log (the target: a
// diff replaying 10,000 logged decisions in at most 10 s); REPLAY_DECISIONS
// overrides it.
func replayDecisions() int {
	if n, err := strconv.Atoi(os.Getenv("REPLAY_DECISIONS")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

const demoInventory = "../testdata/inventory/demo"

// replayPool is how many distinct requests the benchmark log draws from
// (REPLAY_POOL; 0, the default, draws every request at random, so that
// almost none repeats: the worst case for replay).
func replayPool() int {
	n, _ := strconv.Atoi(os.Getenv("REPLAY_POOL"))
	return max(n, 0)
}

var (
	benchLogOnce sync.Once
	benchLogDir  string
	benchLogKeep bool // REPLAY_LOG_DIR: reuse, and keep, the log there
	benchLogErr  error
)

// benchLog writes, once per process, a log of real decisions of the built-in
// bundle over the demo inventory, recorded as the API records them: 40 %
// placements over three candidates, 20 % over every site, 40 % transfers
// (half of them with an SCC), each decided at the time it was logged.
func benchLog(b *testing.B) string {
	benchLogOnce.Do(func() {
		ctx := context.Background()
		if dir := os.Getenv("REPLAY_LOG_DIR"); dir != "" {
			benchLogDir, benchLogKeep = dir, true
			if _, err := os.Stat(filepath.Join(dir, audit.LogDir, "checkpoint")); err == nil {
				return // written by an earlier run with the same settings
			}
		} else if benchLogDir, benchLogErr = os.MkdirTemp("", "sovereign-replay-bench-*"); benchLogErr != nil {
			return
		}
		l, err := audit.Open(ctx, audit.Options{DataDir: benchLogDir, Origin: "sovereign/replay-bench"})
		if err != nil {
			benchLogErr = err
			return
		}
		p, err := engine.LoadPolicyFS(policies.Bundle)
		if err != nil {
			benchLogErr = err
			return
		}
		inv, err := engine.LoadInventory(demoInventory)
		if err != nil {
			benchLogErr = err
			return
		}
		eng, err := engine.New(ctx, p, inv)
		if err != nil {
			benchLogErr = err
			return
		}
		dlog := api.AuditDecisionLog{Log: l}
		n := replayDecisions()
		var pool [][2]string
		if size := replayPool(); size > 0 {
			rng := rand.New(rand.NewPCG(42, 7))
			for range size {
				kind, body := benchRequest(rng, inv)
				pool = append(pool, [2]string{kind, string(body)})
			}
		}
		const writers = 32
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for i := w; i < n; i += writers {
					kind, body := benchRequest(rng, inv)
					if pool != nil {
						// A few requests are asked often (Zipf, s = 1.1): services
						// placing and moving the same datasets.
						p := pool[zipf(rng, len(pool))]
						kind, body = p[0], []byte(p[1])
					}
					var d *engine.Decision
					var err error
					if kind == engine.KindPlacement {
						var req engine.PlacementRequest
						if err = json.Unmarshal(body, &req); err == nil {
							d, err = eng.Placement(ctx, &req)
						}
					} else {
						var req engine.TransferRequest
						if err = json.Unmarshal(body, &req); err == nil {
							d, err = eng.Transfer(ctx, &req)
						}
					}
					if err == nil {
						_, err = dlog.LogDecision(ctx, api.DecisionEntry{Kind: kind, Principal: `Tenant::"acme"`, Request: body, Decision: d})
					}
					if err != nil {
						errs <- fmt.Errorf("decision %d: %w", i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		benchLogErr = <-errs
		if err := l.Close(ctx); benchLogErr == nil {
			benchLogErr = err
		}
	})
	if benchLogErr != nil {
		b.Fatal(benchLogErr)
	}
	return benchLogDir
}

// zipf draws an index in [0, n) with probability proportional to 1/(i+1)^1.1.
func zipf(rng *rand.Rand, n int) int {
	var total float64
	for i := range n {
		total += 1 / math.Pow(float64(i+1), 1.1)
	}
	x := rng.Float64() * total
	for i := range n {
		x -= 1 / math.Pow(float64(i+1), 1.1)
		if x <= 0 {
			return i
		}
	}
	return n - 1
}

func benchRequest(rng *rand.Rand, inv *engine.Inventory) (string, []byte) {
	ds := inv.DatasetIDs[rng.IntN(len(inv.DatasetIDs))]
	site := func() string { return inv.SiteIDs[rng.IntN(len(inv.SiteIDs))] }
	var v map[string]any
	kind := engine.KindPlacement
	switch x := rng.IntN(10); {
	case x < 4:
		perm := rng.Perm(len(inv.SiteIDs))[:3]
		cands := []string{inv.SiteIDs[perm[0]], inv.SiteIDs[perm[1]], inv.SiteIDs[perm[2]]}
		v = map[string]any{"dataset": ds, "operation": "store", "candidates": cands}
	case x < 6:
		v = map[string]any{"dataset": ds, "operation": "process"}
	default:
		kind = engine.KindTransfer
		from, to := site(), site()
		for to == from {
			to = site()
		}
		v = map[string]any{"dataset": ds, "from": from, "to": to, "type": []string{"replicate", "backup", "migrate", "remote-access"}[rng.IntN(4)]}
		if rng.IntN(2) == 0 {
			v["mechanism"] = map[string]any{"kind": "scc", "module": "C2P"}
		}
	}
	body, _ := json.Marshal(v)
	return kind, body
}

// headBundle is the built-in bundle with one change a pull request might
// make: Switzerland taken off every EU adequacy list.
func headBundle(b *testing.B) string {
	dir := b.TempDir()
	if err := os.CopyFS(dir, policies.Bundle); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "reference", "data.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var ref map[string]any
	if err := json.Unmarshal(raw, &ref); err != nil {
		b.Fatal(err)
	}
	for _, v := range ref["gdpr"].(map[string]any)["adequacy"].(map[string]any)["versions"].([]any) {
		delete(v.(map[string]any)["countries"].(map[string]any), "CH")
	}
	if raw, err = json.Marshal(ref); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkDiffReplay is `sovereign diff --replay` over the benchmark log:
// verify the records read, decide each request under the head bundle (and,
// with reevaluate, under base too), compare. Run it with GOGC=400, the GC
// target `sovereign diff` sets.
func BenchmarkDiffReplay(b *testing.B) {
	logDir := benchLog(b)
	head := headBundle(b)
	base := b.TempDir()
	if err := os.CopyFS(base, policies.Bundle); err != nil {
		b.Fatal(err)
	}
	src, err := audit.NewSource(logDir)
	if err != nil {
		b.Fatal(err)
	}
	pemBytes, err := os.ReadFile(filepath.Join(logDir, audit.SigningPublicKeysFile))
	if err != nil {
		b.Fatal(err)
	}
	vkey, err := os.ReadFile(filepath.Join(logDir, audit.LogVerifierKeyFile))
	if err != nil {
		b.Fatal(err)
	}
	trusted, err := audit.NewTrustedLog(logDir, src, pemBytes, string(vkey))
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().UTC()
	for _, mode := range []struct {
		name       string
		reevaluate bool
		full       bool
		at         time.Time
	}{
		{"base=log", false, false, time.Time{}},
		{"base=log,full-verify", false, true, time.Time{}},
		{"base=reevaluated", true, false, time.Time{}},
		{"at=now", false, false, at},
	} {
		b.Run(mode.name, func(b *testing.B) {
			var res *policyci.DiffResult
			for b.Loop() {
				res, err = policyci.Diff(context.Background(), policyci.DiffOptions{Base: base, Head: head, Replay: &policyci.ReplayOptions{
					Log: trusted, Inventory: demoInventory,
					ReevaluateBase: mode.reevaluate, FullVerify: mode.full, At: mode.at,
				}})
				if err != nil {
					b.Fatal(err)
				}
			}
			rp := res.Replay
			if rp.Decisions != replayDecisions() || (mode.reevaluate && rp.NotReproduced != 0) || res.Counts.RequestsChanged == 0 {
				b.Fatalf("replay: %+v, counts %+v", rp, res.Counts)
			}
			b.ReportMetric(float64(rp.Decisions), "decisions/op")
			b.ReportMetric(float64(rp.Evaluations), "evaluations/op")
			b.ReportMetric(float64(res.Counts.RequestsChanged), "changed/op")
			b.ReportMetric(float64(rp.Decisions)/(b.Elapsed().Seconds()/float64(b.N)), "decisions/s")
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchLogDir != "" && !benchLogKeep {
		os.RemoveAll(benchLogDir)
	}
	os.Exit(code)
}
