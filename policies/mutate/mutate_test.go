package mutate

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

const rules = `package p.rules.r

violations contains x if {
	input.a
	input.b > 1
	x := "v"
}

helper if input.a
`

// The tests kill every mutant but dropping input.b > 1 (no test has a small b).
const tests = `package p.rules.r_test

import data.p.rules.r

test_both if r.violations == {"v"} with input as {"a": true, "b": 2}

test_not_a if count(r.violations) == 0 with input as {"a": false, "b": 2}
`

func testBundle(t *testing.T, mods map[string]string) *bundle.Bundle {
	t.Helper()
	b := &bundle.Bundle{Data: map[string]any{}}
	b.Manifest.Init() // one root: everything
	for _, p := range slices.Sorted(maps.Keys(mods)) {
		m, err := ast.ParseModuleWithOpts(p, mods[p], ast.ParserOptions{ProcessAnnotation: true})
		if err != nil {
			t.Fatal(err)
		}
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: p, Path: p, Raw: []byte(mods[p]), Parsed: m})
	}
	return b
}

func TestListAndRun(t *testing.T) {
	b := testBundle(t, map[string]string{
		"/p/rules/r.rego":      rules,
		"/p/rules/r_test.rego": tests,
		"/p/other/o.rego":      "package p.other\n\nviolations contains 1 if input.a\n",
	})
	var names []string
	all := List(b)
	for _, m := range all {
		names = append(names, m.String())
	}
	want := []string{
		"p/rules/r.rego:3 violations delete",
		"p/rules/r.rego:3 violations drop `input.a`",
		"p/rules/r.rego:3 violations negate `input.a`",
		"p/rules/r.rego:3 violations drop `gt(input.b, 1)`",
		"p/rules/r.rego:3 violations negate `gt(input.b, 1)`",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("mutants:\n%s\nwant (helper, tests and modules outside rules/ and lib/ are not mutated):\n%s",
			strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if got := Sample(all, 2); len(got) != 2 || got[0].String() != want[0] || got[1].String() != want[2] {
		t.Errorf("Sample(2) = %v", got)
	}

	score, outcomes, err := Run(context.Background(), b, all, nil, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	var survived []string
	for _, o := range outcomes {
		if o.Status == StatusSurvived {
			survived = append(survived, o.Mutant.String())
		}
	}
	if !slices.Equal(survived, []string{want[3]}) || score.Killed != 4 || score.Percent != 80 {
		t.Errorf("survived %v, score %+v; want only %q, 80%%", survived, score, want[3])
	}

	score, _, err = Run(context.Background(), b, all, Equivalents{want[3]: "for the test"}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if score.Equivalent != 1 || score.Survived != 0 || score.Percent != 100 {
		t.Errorf("with the survivor documented: %+v", score)
	}
}

func TestReadEquivalents(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ body, err string }{
		"ok":    {`{"a:1 r delete": "why"}`, ""},
		"empty": {`{"a:1 r delete": "  "}`, "the reason is empty"},
		"array": {`["a:1 r delete"]`, "want a JSON object of mutant to reason"},
	} {
		f := filepath.Join(dir, name+".json")
		if err := os.WriteFile(f, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		eq, err := ReadEquivalents(f)
		switch {
		case c.err == "" && (err != nil || eq["a:1 r delete"] != "why"):
			t.Errorf("%s: %v, %v", name, eq, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", name, err, c.err)
		}
	}
}
