package engine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// TestDecisionTenants: a decision knows the tenants owning what it decided
// on, from the inventory it was made with (the audit record names them,
// docs/audit.md); they are not part of the answer.
func TestDecisionTenants(t *testing.T) {
	inv, err := engine.LoadInventory("../testdata/inventory/demo")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ds   *engine.DatasetRef
		wl   *engine.WorkloadRef
		want []string
	}{
		{"dataset by id", &engine.DatasetRef{ID: "patient-records-de"}, nil, []string{"klinikum"}},
		{"workload by id", nil, &engine.WorkloadRef{ID: "billing-api"}, []string{"acme"}},
		{"inline workload over two tenants' data", nil, &engine.WorkloadRef{Inline: &engine.Workload{ID: "w", Datasets: []string{"patient-records-de", "customer-pii-eu"}}}, []string{"acme", "klinikum"}},
		{"inline dataset names its own", &engine.DatasetRef{Inline: &engine.Dataset{ID: "x", Tenant: "zeta"}}, nil, []string{"zeta"}},
		{"inline dataset of no tenant", &engine.DatasetRef{Inline: &engine.Dataset{ID: "x"}}, nil, nil},
		{"unknown id", &engine.DatasetRef{ID: "nope"}, nil, nil},
	}
	for _, tt := range tests {
		if got := engine.OwningTenants(inv, tt.ds, tt.wl); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}

	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	d, err := eng.Placement(context.Background(), &engine.PlacementRequest{Workload: &engine.WorkloadRef{ID: "patient-portal"}, Operation: "process", Candidates: []string{"fra-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Tenants, []string{"klinikum"}) {
		t.Errorf("placement tenants %q", d.Tenants)
	}
	d, err = eng.Transfer(context.Background(), &engine.TransferRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, From: "fra-1", To: "par-1", Type: "replicate"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Tenants, []string{"acme"}) {
		t.Errorf("transfer tenants %q", d.Tenants)
	}
}
