package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// absentInventory has, for each list whose absence means "not stated", a site
// or dataset without it and one with it empty.
const absentInventory = `
sites:
  - {id: de-unknown, kind: on-prem, country: DE, operator: {name: A, country: DE}}
  - {id: de-none, kind: on-prem, country: DE, operator: {name: B, country: DE, parent_countries: []}, personnel_countries: []}
  - {id: de-us, kind: on-prem, country: DE, operator: {name: C, country: DE, parent_countries: [US]}, personnel_countries: [DE]}
datasets:
  - {id: anywhere, classification: internal}
  - {id: nowhere, classification: internal, residency: [], categories: [], subject_jurisdictions: []}
  - {id: sov-default, classification: sovereign}
  - {id: sov-none, classification: sovereign, allowed_jurisdictions: []}
exemptions:
  - {id: EX-none, rules: [dataset.residency], scope: {sites: [], datasets: [nowhere]}, reason: r, expires: "2099-12-31"}
`

// The difference between an absent list and an empty one reaches the policy:
// in the inventory's data, in inline datasets, and so in the decision. Written
// alike (omitempty), residency [] read as "no bound" and allowed the dataset
// everywhere; an exemption scoped to no site waived a refusal at every site.
func TestAbsentAndEmptyListsReachThePolicy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "inv.yaml"), []byte(absentInventory), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(inv.RegoData())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Sites map[string]struct {
			Operator  map[string]any `json:"operator"`
			Personnel *[]string      `json:"personnel_countries"`
		} `json:"sites"`
		Datasets   map[string]map[string]any `json:"datasets"`
		Exemptions map[string]struct {
			Scope map[string]any `json:"scope"`
		} `json:"exemptions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		site             string
		parents, persons bool // present in the data
	}{{"de-unknown", false, false}, {"de-none", true, true}, {"de-us", true, true}} {
		s := doc.Sites[c.site]
		if _, ok := s.Operator["parent_countries"]; ok != c.parents {
			t.Errorf("%s: operator.parent_countries present = %v, want %v", c.site, ok, c.parents)
		}
		if ok := s.Personnel != nil; ok != c.persons {
			t.Errorf("%s: personnel_countries present = %v, want %v", c.site, ok, c.persons)
		}
	}
	for _, field := range []string{"residency", "categories", "subject_jurisdictions"} {
		if _, ok := doc.Datasets["anywhere"][field]; ok {
			t.Errorf("anywhere: %s present, want absent", field)
		}
		if v, ok := doc.Datasets["nowhere"][field].([]any); !ok || len(v) != 0 {
			t.Errorf("nowhere: %s = %v, want []", field, doc.Datasets["nowhere"][field])
		}
	}
	if v, ok := doc.Datasets["sov-none"]["allowed_jurisdictions"].([]any); !ok || len(v) != 0 {
		t.Errorf("sov-none: allowed_jurisdictions = %v, want []", doc.Datasets["sov-none"]["allowed_jurisdictions"])
	}
	if v, ok := doc.Exemptions["EX-none"].Scope["sites"].([]any); !ok || len(v) != 0 {
		t.Errorf("EX-none: scope.sites = %v, want []", doc.Exemptions["EX-none"].Scope["sites"])
	}

	e, err := engine.New(context.Background(), builtin(t), inv)
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(ds *engine.DatasetRef) []string {
		t.Helper()
		d, err := e.Placement(context.Background(), &engine.PlacementRequest{Dataset: ds, Operation: "store", At: "2026-06-01T00:00:00Z"})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range d.Sites {
			if s.Allowed {
				out = append(out, s.Site)
			}
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name string
		ds   *engine.DatasetRef
		want []string
	}{
		{"no residency list bounds nothing", &engine.DatasetRef{ID: "anywhere"}, []string{"de-none", "de-unknown", "de-us"}},
		{"an empty residency list allows nowhere (and an exemption scoped to no site waives nothing)", &engine.DatasetRef{ID: "nowhere"}, nil},
		{"inline: an empty residency list allows nowhere", &engine.DatasetRef{Inline: &engine.Dataset{ID: "inline", Classification: "internal", Residency: []string{}}}, nil},
		{"sovereign data needs a known ownership chain and known personnel", &engine.DatasetRef{ID: "sov-default"}, []string{"de-none"}},
		{"sovereign data with no allowed jurisdiction is allowed nowhere", &engine.DatasetRef{ID: "sov-none"}, nil},
		{"inline: sovereign data with no allowed jurisdiction", &engine.DatasetRef{Inline: &engine.Dataset{ID: "inline", Classification: "sovereign", AllowedJurisdictions: []string{}}}, nil},
	}
	for _, c := range cases {
		if got := allowed(c.ds); !slices.Equal(got, c.want) {
			t.Errorf("%s: allowed at %v, want %v", c.name, got, c.want)
		}
	}
}

// builtin is the built-in policy bundle.
func builtin(t testing.TB) *engine.Policy {
	t.Helper()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
