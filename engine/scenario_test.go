package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// TestReadScenarioFileErrors: a malformed scenario file is refused whole, each
// problem named with its file, line and field.
func TestReadScenarioFileErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", "scenarios:\n  - name: a\n    placment: {datasets: [x]}\n    expect: {allowed: []}\n", []string{`s.yaml:3:5: scenarios[0].placment: unknown field "placment" (did you mean "placement"?)`}},
		{"unknown field of a site", "sites:\n  - {id: s, kind: edge, country: DE, colour: red}\nscenarios:\n  - name: a\n    placement: {datasets: [x]}\n    expect: {allowed: []}\n",
			[]string{`s.yaml:2:38: sites[0].colour: unknown field "colour"`}},
		{"unknown field of an inline dataset, as the API says it", "scenarios:\n  - name: a\n    placement: {datasets: [{id: x, classification: public, colour: red}]}\n    expect: {allowed: []}\n",
			[]string{`s.yaml:3:16: scenarios[0].placement: unknown field "colour"`}},
		{"a request key in another case", "scenarios:\n  - name: a\n    placement:\n      workload: {id: w, Datasets: [a]}\n    expect: {allowed: []}\n",
			[]string{`s.yaml:4:35: scenarios[0].placement.workload.Datasets: unknown field (field names are case-sensitive)`}},
		{"a mechanism key in another case", "scenarios:\n  - name: a\n    transfer:\n      dataset: x\n      from: a\n      to: b\n      mechanism: {kind: scc, Module: C2P}\n    expect: {permitted: true}\n",
			[]string{`s.yaml:7:38: scenarios[0].transfer.mechanism.Module: unknown field (field names are case-sensitive)`}},
		{"a request value of the wrong type", "scenarios:\n  - name: a\n    placement:\n      datasets: [x]\n      operation: 5\n    expect: {allowed: []}\n",
			[]string{`s.yaml:5:18: scenarios[0].placement.operation: must be a string, got JSON number`}},
		{"numbers where strings are expected", "at: 5\nsites: [{id: s, kind: edge, country: DE, operator: {name: 5, country: DE}}]\nscenarios:\n  - name: 2024\n    placement: {datasets: [x]}\n    expect: {allowed: [1]}\n",
			[]string{`s.yaml:1:5: at: must be a string, got a number 5`, `s.yaml:2:59: sites[0].operator.name: must be a string`, `s.yaml:4:11: scenarios[0].name: must be a string`, `s.yaml:6:24: scenarios[0].expect.allowed[0]: must be a string`}},
		{"a key given twice", "scenarios:\n  - name: a\n    placement: {datasets: [x]}\n    expect: {allowed: [], allowed: [b]}\n", []string{`s.yaml:4:27: scenarios[0].expect.allowed: duplicate key "allowed" (first at line 4)`}},
		{"two documents", "scenarios:\n  - name: a\n    placement: {datasets: [x]}\n    expect: {allowed: []}\n---\nscenarios: []\n", []string{`s.yaml:5: holds 2 YAML documents`}},
		{"not a mapping", "- a\n", []string{`s.yaml:1:1: must be a mapping, got a list`}},
		{"no scenarios", "inventory: demo\n", []string{"s.yaml:1:1: scenarios: none"}},
		{"several datasets, which no request places", "scenarios:\n  - name: a\n    placement: {datasets: [a, b]}\n    expect: {allowed: []}\n",
			[]string{"s.yaml:2: scenarios[0].placement.datasets: name one dataset; a request places several together as a workload"}},
		{"every problem at once", `scenarios:
  - name: a
    placement: {datasets: [x]}
    expect: {allowed: []}
  - name: a
    placement: {datasets: [x]}
    transfer: {dataset: x, from: a, to: b}
    expect: {violations: []}
  - placement: {datasets: [x]}
    expect: {}
  - name: c
    transfer: {dataset: x, from: a, to: b}
    expect: {allowed: [a]}
`, []string{
			`:5: scenarios[1].name: "a" is used twice`,
			":5: scenarios[1]: give exactly one of placement and transfer",
			":9: scenarios[2].name: is required",
			":9: scenarios[2].expect: expects nothing",
			":11: scenarios[3].expect: allowed and at are for placements; a transfer expects permitted",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.yaml")
			if err := os.WriteFile(path, []byte(c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := engine.ReadScenarioFile(path)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestScenarioRunnerErrors: a scenario that cannot be decided is an error of
// that scenario, not a pass.
func TestScenarioRunnerErrors(t *testing.T) {
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	err = os.WriteFile(path, []byte(`inventory: demo
scenarios:
  - name: unknown dataset
    placement: {datasets: [nope]}
    expect: {allowed: []}
  - name: bad time
    at: yesterday
    placement: {datasets: [customer-pii-eu]}
    expect: {allowed: []}
  - name: bad inline site
    sites: [{id: x-1, kind: moon, country: DE, operator: {name: X, country: DE}}]
    placement: {datasets: [customer-pii-eu], candidates: [x-1]}
    expect: {allowed: []}
  - name: wrong expectation
    placement: {datasets: [customer-pii-eu], candidates: [fra-1]}
    expect: {allowed: [], at: {us-east-1: []}}
  - name: a request the server refuses
    placement: {datasets: [{id: x, classification: secret}], workload: billing-api, candidates: [fra-1, fra-1]}
    expect: {allowed: []}
  - name: a transfer the server refuses
    transfer: {dataset: customer-pii-eu, from: fra-1, to: fra-1, mechanism: {kind: derogation}}
    expect: {permitted: false}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := engine.ReadScenarioFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := engine.NewScenarioRunner(p, engine.ScenarioOptions{InventoryRoot: filepath.Join("..", "testdata", "inventory")})
	res := r.RunAll(context.Background(), []*engine.ScenarioFile{sf})
	want := []string{
		`placement.datasets[0]: unknown dataset "nope"`,
		`at: must be an RFC 3339 time, got "yesterday"`,
		"inventory:",
		"allowed = [fra-1], want []\nexpect.at names us-east-1, which is not a candidate",
		`invalid request: placement.workload: give either dataset or workload, not both; placement.candidates[1]: site "fra-1" is listed twice`,
		`invalid request: transfer.mechanism.derogation: is required when kind is "derogation"`,
	}
	for i, w := range want {
		got := ""
		if res[i].Err != nil {
			got = res[i].Err.Error()
		} else {
			got = strings.Join(res[i].Failures, "\n")
		}
		if res[i].Passed() || !strings.Contains(got, w) {
			t.Errorf("%s: got %q, want %q", res[i].Name, got, w)
		}
	}
}

// TestReadScenarioFileYAML12: scenario files are YAML 1.2, as inventories are:
// NO is Norway, not false.
func TestReadScenarioFileYAML12(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.yaml")
	src := "sites: [{id: s, kind: edge, country: NO, operator: {name: n, country: NO}}]\nscenarios:\n  - name: a\n    placement: {datasets: [{id: x, classification: public, origin_country: NO}], candidates: [s]}\n    expect: {allowed: [s]}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sf, err := engine.ReadScenarioFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sf.Sites[0].Country != "NO" || sf.Scenarios[0].Placement.Datasets[0].Inline.OriginCountry != "NO" || sf.Scenarios[0].Line != 3 {
		t.Errorf("got %+v, %+v, line %d", sf.Sites[0], sf.Scenarios[0].Placement.Datasets[0].Inline, sf.Scenarios[0].Line)
	}
}
