package auth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	b.Helper()
	docs := builtinDocs(b)
	n := 0
	for _, p := range docs.Policies {
		n += strings.Count(p, "@id(")
	}
	var sb strings.Builder
	for i := 0; n < 50; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&sb, "@id(\"svc-%d-read\")\npermit (principal == Sovereign::Principal::\"svc-%d\", action == Sovereign::Action::\"inventory.read\", resource in Sovereign::Tenant::\"t-%d\");\n", i, i, i%50)
		} else {
			fmt.Fprintf(&sb, "@id(\"guest-%d-no-restricted\")\nforbid (principal in Sovereign::Role::\"guest-%d\", action == Sovereign::Action::\"decide\", resource is Sovereign::Dataset)\nwhen { resource.classification == \"restricted\" || resource.classification == \"sovereign\" };\n", i, i)
		}
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
	// "whole-set" evaluates all 50 policies, as cedar.Authorize on the set
	// would; the default evaluates the action's share (partitionByAction).
	whole := *set
	whole.byAction = nil
	who := &Identity{ID: "ci", Tenant: "t-7", Roles: []string{"tenant"}}
	for _, c := range []struct {
		name string
		set  *PolicySet
		res  Resource
		want bool
	}{
		{"own-dataset", set, Ref(TypeDataset, "ds-7"), true},
		{"own-dataset/whole-set", &whole, Ref(TypeDataset, "ds-7"), true},
		{"other-tenant", set, Ref(TypeDataset, "ds-8"), false},
		{"workload", set, Ref(TypeWorkload, "wl-57"), true},
	} {
		a := &Authorizer{eng: eng}
		a.policies.Store(&policyCache{policy: eng.Policy(), set: c.set})
		b.Run(c.name, func(b *testing.B) {
			if d := a.Authorize(who, ActionDecide, nil, c.res); d.Allowed != c.want {
				b.Fatalf("allowed %v: %s", d.Allowed, d.Reason())
			}
			samples := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				a.Authorize(who, ActionDecide, nil, c.res)
				samples = append(samples, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
