// Command genrequests writes varied placement requests for an inventory, for
// scripts/scalecurve.sh: datasets and workloads of the inventory, both
// operations, candidate sets of several sizes (every site, or a random
// subset), and dates across a year. For each request it writes the body
// Sovereign takes (N.sovereign.json) and the Rego input the engine builds
// for it, wrapped for OPA's REST API (N.opa.json), so that both servers are
// asked the same questions. The same seed gives the same requests.
//
//	go run ./scripts/genrequests -inventory DIR -n 60 -out DIR
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

func main() {
	invDir := flag.String("inventory", "", "inventory directory (required)")
	n := flag.Int("n", 60, "number of requests")
	all := flag.Float64("all-candidates", 0.5, "share of requests that ask about every site (the rest name a random subset)")
	out := flag.String("out", "", "output directory (required)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *invDir == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "genrequests: -inventory and -out are required")
		os.Exit(2)
	}
	if err := run(*invDir, *out, *n, *all, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "genrequests:", err)
		os.Exit(1)
	}
}

func run(invDir, out string, n int, all float64, seed uint64) error {
	inv, err := engine.LoadInventory(invDir)
	if err != nil {
		return err
	}
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		return err
	}
	e, err := engine.New(context.Background(), p, inv, engine.WithDecisionCache(0))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	year := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		req := map[string]any{"operation": []string{"store", "process"}[rng.IntN(2)],
			"at": year.AddDate(0, 0, rng.IntN(365)).Format(time.RFC3339)}
		if len(inv.WorkloadIDs) > 0 && rng.IntN(4) == 0 {
			req["workload"] = inv.WorkloadIDs[rng.IntN(len(inv.WorkloadIDs))]
		} else {
			req["dataset"] = inv.DatasetIDs[rng.IntN(len(inv.DatasetIDs))]
		}
		if rng.Float64() >= all {
			k := 1 + rng.IntN(len(inv.SiteIDs))
			perm := rng.Perm(len(inv.SiteIDs))[:k]
			cands := make([]string, k)
			for j, x := range perm {
				cands[j] = inv.SiteIDs[x]
			}
			req["candidates"] = cands
		}
		body, err := json.Marshal(req)
		if err != nil {
			return err
		}
		var pr engine.PlacementRequest
		if err := json.Unmarshal(body, &pr); err != nil {
			return err
		}
		input, err := e.PolicyInput(&pr)
		if err != nil {
			return fmt.Errorf("request %d %s: %w", i, body, err)
		}
		for name, data := range map[string][]byte{
			fmt.Sprintf("%03d.sovereign.json", i): body,
			fmt.Sprintf("%03d.opa.json", i):       append(append([]byte(`{"input":`), input...), '}'),
		} {
			if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
