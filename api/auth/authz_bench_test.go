package auth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// benchInventory writes an inventory of 50 tenants, 20 sites, 800 datasets and
// 130 workloads: 1,000 entities with the tenants.
func benchInventory(b *testing.B) *engine.Inventory {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("sites:\n")
	for i := range 20 {
		fmt.Fprintf(&sb, "  - {id: site-%d, kind: cloud-region, country: DE, operator: {name: Op, country: DE}}\n", i)
	}
	sb.WriteString("datasets:\n")
	for i := range 800 {
		fmt.Fprintf(&sb, "  - {id: ds-%d, tenant: t-%d, classification: confidential}\n", i, i%50)
	}
	sb.WriteString("workloads:\n")
	for i := range 130 {
		fmt.Fprintf(&sb, "  - {id: wl-%d, tenant: t-%d, datasets: [ds-%d]}\n", i, i%50, i)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "inv.yaml"), []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	inv, err := engine.LoadInventory(dir)
	if err != nil {
		b.Fatal(err)
	}
	if n := len(InventoryEntities(inv)); n != 1000 {
		b.Fatalf("%d entities, want 1000", n)
	}
	return inv
}

// benchPolicies is the built-in set plus generated per-tenant policies, 50 in
// all, half of them with conditions that read entity attributes.
func benchPolicies(b testing.TB) Documents {
	return padPolicies(b, func(i int) string {
		if i%2 == 0 {
			return fmt.Sprintf("@id(\"svc-%d-read\")\npermit (principal == Sovereign::Principal::\"svc-%d\", action == Sovereign::Action::\"inventory.read\", resource in Sovereign::Tenant::\"t-%d\");\n", i, i, i%50)
		}
		return fmt.Sprintf("@id(\"guest-%d-no-restricted\")\nforbid (principal in Sovereign::Role::\"guest-%d\", action == Sovereign::Action::\"decide\", resource is Sovereign::Dataset)\nwhen { resource.classification == \"restricted\" || resource.classification == \"sovereign\" };\n", i, i)
	})
}

// benchPoliciesDense is the worst case for the action and principal shares:
// the built-in set plus policies that all apply to a tenant deciding, so all
// of them are evaluated on every request.
func benchPoliciesDense(b testing.TB) Documents {
	return padPolicies(b, func(i int) string {
		return fmt.Sprintf("@id(\"dense-%d\")\nforbid (principal in Sovereign::Role::\"tenant\", action == Sovereign::Action::\"decide\", resource is Sovereign::Dataset)\nwhen { resource in Sovereign::Tenant::\"t-%d\" && resource.classification == \"sovereign\" };\n", i, i%50)
	})
}

// padPolicies is the built-in set plus generated policies (gen(0), gen(1),
// ...) up to 50 in all.
func padPolicies(b testing.TB, gen func(i int) string) Documents {
	b.Helper()
	docs := builtinDocs(b)
	n := 0
	for _, p := range docs.Policies {
		n += strings.Count(p, "@id(")
	}
	var sb strings.Builder
	for i := 0; n < 50; i++ {
		sb.WriteString(gen(i))
		n++
	}
	docs.Policies["generated.cedar"] = sb.String()
	return docs
}

// BenchmarkAuthorize measures one authorization with the built-in policies
// grown to 50 over 1,000 inventory entities: a tenant deciding on its own
// dataset (allowed) and on another tenant's (denied). p99-ns is the 99th
// percentile of single calls.
func BenchmarkAuthorize(b *testing.B) {
	inv := benchInventory(b)
	docs := benchPolicies(b)
	set, err := Compile(docs, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if len(set.IDs()) != 50 {
		b.Fatalf("%d policies, want 50", len(set.IDs()))
	}
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(context.Background(), p, inv)
	if err != nil {
		b.Fatal(err)
	}
	// "whole-set" evaluates all 50 policies for an identity made on the spot,
	// as cedar.Authorize on the whole set would; the others evaluate the
	// share of a configured identity (partitionByAction, forRequest).
	whole := &PolicySet{set: set.set, ids: set.ids, Source: set.Source}
	dense, err := Compile(benchPoliciesDense(b), "bench")
	if err != nil {
		b.Fatal(err)
	}
	configured := (&Identity{ID: "ci", Tenant: "t-7", Roles: []string{"tenant"}}).withEntity()
	adHoc := &Identity{ID: "ci", Tenant: "t-7", Roles: []string{"tenant"}}
	for _, c := range []struct {
		name string
		set  *PolicySet
		who  *Identity
		res  Resource
		want bool
	}{
		{"own-dataset", set, configured, Ref(TypeDataset, "ds-7"), true},
		{"own-dataset/whole-set", whole, adHoc, Ref(TypeDataset, "ds-7"), true},
		{"other-tenant", set, configured, Ref(TypeDataset, "ds-8"), false},
		{"workload", set, configured, Ref(TypeWorkload, "wl-57"), true},
		{"own-dataset/all-50-apply", dense, configured, Ref(TypeDataset, "ds-7"), true},
	} {
		a := &Authorizer{eng: eng}
		a.policies.Store(&policyCache{policy: eng.Policy(), set: c.set})
		who := c.who
		b.Run(c.name, func(b *testing.B) {
			if d := a.Authorize(who, ActionDecide, nil, c.res); d.Allowed != c.want {
				b.Fatalf("allowed %v: %s", d.Allowed, d.Reason())
			}
			// Wall time per call, and the calling thread's CPU time per call:
			// on a shared machine the wall-time tail is mostly time spent
			// waiting for a core, which CPU time leaves out.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			wall := make([]time.Duration, 0, b.N)
			cpu := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c0 := threadCPU()
				start := time.Now()
				a.Authorize(who, ActionDecide, nil, c.res)
				wall = append(wall, time.Since(start))
				cpu = append(cpu, threadCPU()-c0)
			}
			b.StopTimer()
			slices.Sort(wall)
			slices.Sort(cpu)
			b.ReportMetric(float64(wall[len(wall)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(wall[len(wall)*99/100].Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(cpu[len(cpu)*99/100].Nanoseconds()), "p99-cpu-ns")
		})
	}
}

// threadCPU is the CPU time the calling OS thread has used (it includes the
// clock read itself, so it errs high).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}
