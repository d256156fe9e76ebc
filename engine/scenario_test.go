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
		{"unknown field", "scenarios:\n  - name: a\n    placment: {datasets: [x]}\n    expect: {allowed: []}\n", []string{`s.yaml:3: scenarios[0].placment: unknown field`}},
		{"no scenarios", "inventory: demo\n", []string{"scenarios: none"}},
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
