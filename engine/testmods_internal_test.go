package engine

import (
	"context"
	"reflect"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sovereign-engine/sovereign/policies"
)

func TestSeparableTests(t *testing.T) {
	parse := func(files map[string]string) map[string]*ast.Module {
		mods := map[string]*ast.Module{}
		for p, src := range files {
			mods[p] = ast.MustParseModule(src)
		}
		return mods
	}
	test := "package a.b_test\ntest_x if true\n"
	for _, c := range []struct {
		name     string
		decision string
		tests    map[string]string
		want     map[string]bool
	}{
		{"unrelated package", "package a.b\nd := 1\n", map[string]string{"b_test.rego": test}, map[string]bool{"b_test.rego": true}},
		{"reference into it", "package a.b\nd := data.a.b_test.x\n", map[string]string{"b_test.rego": test}, map[string]bool{}},
		{"dynamic reference above it", "package a.b\nd := [k | data.a[k]]\n", map[string]string{"b_test.rego": test}, map[string]bool{}},
		{"whole data", "package a.b\nd := count(data)\n", map[string]string{"b_test.rego": test}, map[string]bool{}},
		{"import above it", "package a.b\nimport data.a\nd := a.b_test.x\n", map[string]string{"b_test.rego": test}, map[string]bool{}},
		{"same package as a decision module", "package a.b\nd := 1\n", map[string]string{"b_test.rego": "package a.b\ntest_x if true\n"}, map[string]bool{}},
		{"bare alias above it", "package a.b\nimport data.a\nd := count(a)\n", map[string]string{"b_test.rego": test}, map[string]bool{}},
		{"sibling key is not a prefix", "package a.b\nimport data.a.b\nd := data.a.bb[x]\n", map[string]string{"b_test.rego": test}, map[string]bool{"b_test.rego": true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"b.rego": c.decision}
			for p, s := range c.tests {
				files[p] = s
			}
			if got := separableTests(parse(files)); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// The built-in library's tests are all separable, and the serving copy
// compiled without them decides exactly as the full compile does (the
// engine and scenario tests run on CompilePolicy; this compares the two on
// every demo dataset).
func TestBuiltinLibraryTestsSeparable(t *testing.T) {
	p, err := LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	mods := p.Modules()
	skip := separableTests(mods)
	tests := 0
	for path := range mods {
		if isTestModule(path) {
			tests++
			if !skip[path] {
				t.Errorf("%s is not separable", path)
			}
		}
	}
	if tests == 0 {
		t.Fatal("no test modules found")
	}
	serving, err := CompilePolicyCheckedElsewhere(p.bundle)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := LoadInventory("../testdata/inventory/demo")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	full, err := New(ctx, p, inv, WithDecisionCache(0))
	if err != nil {
		t.Fatal(err)
	}
	lean, err := New(ctx, serving, inv, WithDecisionCache(0))
	if err != nil {
		t.Fatal(err)
	}
	for id := range inv.Datasets {
		req := &PlacementRequest{Dataset: &DatasetRef{ID: id}, Operation: "store", At: "2026-06-01T00:00:00Z"}
		a, errA := full.Placement(ctx, req)
		b, errB := lean.Placement(ctx, req)
		if (errA == nil) != (errB == nil) || (errA == nil && !reflect.DeepEqual(a.Sites, b.Sites)) {
			t.Fatalf("%s: full compile and serving compile differ: %v / %v", id, errA, errB)
		}
		treq := &TransferRequest{Dataset: &DatasetRef{ID: id}, From: "fra-1", To: "us-east-1", Type: "replicate", At: "2026-06-01T00:00:00Z"}
		c, errC := full.Transfer(ctx, treq)
		d, errD := lean.Transfer(ctx, treq)
		if (errC == nil) != (errD == nil) || (errC == nil && !reflect.DeepEqual(c.Violations, d.Violations)) {
			t.Fatalf("%s transfer: full compile and serving compile differ: %v / %v", id, errC, errD)
		}
	}
}
