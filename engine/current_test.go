package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const currentBase = `sites:
  - {id: fra-1, kind: cloud-region, country: DE, operator: {name: X GmbH, country: DE}}
  - {id: par-1, kind: cloud-region, country: FR, operator: {name: Y SAS, country: FR}}
  - {id: us-1, kind: cloud-region, country: US, operator: {name: Z Inc, country: US}}
datasets:
  - {id: crm, tenant: acme, classification: confidential, categories: [personal], subject_jurisdictions: [EU]}
`

// TestCurrentStateRefused: a current state that names what the inventory
// does not have, or contradicts itself, refuses the inventory with every
// problem at file:line:col and its field path.
func TestCurrentStateRefused(t *testing.T) {
	cases := map[string]struct {
		current string
		want    []string
	}{
		"unknown dataset": {`current:
  - dataset: erp
    stored_at: [{site: fra-1}]
`, []string{`current.yaml:2:14: current[0].dataset: unknown dataset "erp"`}},
		"unknown site": {`current:
  - dataset: crm
    stored_at:
      - {site: fra-1}
      - {site: mars-1}
`, []string{`current.yaml:5:16: current[0].stored_at[1].site: unknown site "mars-1"`}},
		"unknown flow sites": {`current:
  - dataset: crm
    stored_at: [{site: fra-1}]
    flows:
      - {from: fra-9, to: us-9, type: replicate}
`, []string{`current.yaml:5:16: current[0].flows[0].from: unknown site "fra-9"`, `current.yaml:5:27: current[0].flows[0].to: unknown site "us-9"`}},
		"no stored_at": {`current:
  - dataset: crm
`, []string{"current[0].stored_at: is required"}},
		"bad since and type": {`current:
  - dataset: crm
    stored_at: [{site: fra-1, since: "2024-13-01"}]
    flows: [{from: fra-1, to: us-1, type: teleport}]
`, []string{"current[0].stored_at[0].since:", "current[0].flows[0].type:"}},
		"unknown field": {`current:
  - dataset: crm
    stored_at: [{site: fra-1, sinse: "2024-01-01"}]
`, []string{"current.yaml:3:", "sinse"}},
		"site twice": {`current:
  - dataset: crm
    stored_at: [{site: fra-1}, {site: fra-1}]
`, []string{`current[0].stored_at[1].site: site "fra-1" is listed twice`}},
		"dataset twice": {`current:
  - dataset: crm
    stored_at: [{site: fra-1}]
  - dataset: crm
    stored_at: [{site: par-1}]
`, []string{`current.yaml:4:14: current[1].dataset: current state of dataset "crm" given twice, first at current.yaml:2`}},
		"flow from a site that does not store it": {`current:
  - dataset: crm
    stored_at: [{site: fra-1}]
    flows: [{from: par-1, to: us-1, type: remote-access}]
`, []string{`current[0].flows[0].from: site "par-1" does not store the dataset`}},
		"replica not listed as stored": {`current:
  - dataset: crm
    stored_at: [{site: fra-1}]
    flows: [{from: fra-1, to: us-1, type: replicate}]
`, []string{`current[0].flows[0].to: a replicate flow stores a copy at "us-1": list the site in stored_at`}},
		"flow to itself": {`current:
  - dataset: crm
    stored_at: [{site: fra-1}]
    flows: [{from: fra-1, to: fra-1, type: backup}]
`, []string{`current[0].flows[0].to: must differ from "from"`}},
		"derogation unnamed": {`current:
  - dataset: crm
    stored_at: [{site: fra-1}]
    flows: [{from: fra-1, to: us-1, type: remote-access, mechanism: {kind: derogation}}]
`, []string{"current[0].flows[0].mechanism.derogation: is required"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(currentBase), 0o644)
			os.WriteFile(filepath.Join(dir, "current.yaml"), []byte(tc.current), 0o644)
			inv, err := LoadInventory(dir)
			if err == nil {
				t.Fatalf("accepted: %+v", inv.Current)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nwant it to say %q", err, w)
				}
			}
		})
	}
}

// TestCurrentStateLoaded: a good current state is kept, sorted by dataset,
// changes the revision, and stays out of what the policy sees.
func TestCurrentStateLoaded(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(currentBase), 0o644)
	without, err := LoadInventory(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "current.yaml"), []byte(`current:
  - dataset: crm
    stored_at: [{site: fra-1, since: "2024-01-02"}, {site: par-1}]
    flows:
      - {from: fra-1, to: par-1, type: replicate, frequency: continuous}
      - {from: fra-1, to: us-1, type: remote-access, mechanism: {kind: scc, module: C2P}}
`), 0o644)
	inv, err := LoadInventory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Current) != 1 || len(inv.Current[0].StoredAt) != 2 || len(inv.Current[0].Flows) != 2 ||
		inv.Current[0].StoredAt[0].Since != "2024-01-02" || inv.Current[0].Flows[1].Mechanism.Kind != "scc" {
		t.Fatalf("current state %+v", inv.Current)
	}
	if inv.Revision == without.Revision {
		t.Error("the current state does not change the revision")
	}
	if _, ok := inv.RegoData()["current"]; ok {
		t.Error("the current state is in the policy's data")
	}
}

// TestDemoCurrentState: the demo inventory states where its data is.
func TestDemoCurrentState(t *testing.T) {
	inv, err := LoadInventory(filepath.Join("..", "testdata", "inventory", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Current) == 0 {
		t.Fatal("the demo inventory has no current state")
	}
}
