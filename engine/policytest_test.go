package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

func TestRunPolicyTestsBuiltin(t *testing.T) {
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep, err := engine.RunPolicyTests(context.Background(), p, time.Minute)
	if err != nil || rep.Passed == 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	t.Logf("%+v in %v", rep.Passed, time.Since(start))
}

func TestRunPolicyTestsRefusesAFailingBundle(t *testing.T) {
	dir := t.TempDir()
	write(t, dir+"/p.rego", "package sovereign.placement\ndecision := {\"violations\": [], \"obligations\": []}\n")
	write(t, dir+"/t.rego", "package sovereign.transfer\ndecision := {\"violations\": [], \"obligations\": []}\n")
	write(t, dir+"/p_test.rego", "package sovereign.placement_test\nimport data.sovereign.placement\ntest_passes if placement.decision.violations == []\ntest_fails if count(placement.decision.violations) == 1\n")
	p, err := engine.LoadPolicy(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := engine.RunPolicyTests(context.Background(), p, time.Minute)
	if err == nil || rep.Failed != 1 || rep.Passed != 1 {
		t.Fatalf("want 1 passed, 1 failed and an error, got %+v %v", rep, err)
	}
}

// BenchmarkActivate is what a new bundle costs before it answers: read and
// compile the full library, run its own Rego tests, prepare the queries on the
// demo inventory and swap.
func BenchmarkActivate(b *testing.B) {
	inv, err := engine.LoadInventory("../testdata/inventory/demo")
	if err != nil {
		b.Fatal(err)
	}
	p0, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(context.Background(), p0, inv)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := engine.LoadPolicyFS(policies.Bundle)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := engine.RunPolicyTests(context.Background(), p, time.Minute); err != nil {
			b.Fatal(err)
		}
		if err := e.Activate(context.Background(), p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// CompilePolicyCheckedElsewhere skips exactly the checking stages: a type
// error passes it and fails CompilePolicy (serve has the child compile with
// every stage before the result is used).
func TestCompilePolicyCheckedElsewhereSkipsOnlyChecks(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "p.rego"), "package sovereign.placement\ndecision := {\"violations\": [], \"obligations\": []}\nx := 1 + \"one\"\n")
	write(t, filepath.Join(dir, "t.rego"), "package sovereign.transfer\ndecision := {\"violations\": [], \"obligations\": []}\n")
	b, err := bundles.Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.CompilePolicy(b); err == nil || !strings.Contains(err.Error(), "plus") {
		t.Fatalf("CompilePolicy: want the type error, got %v", err)
	}
	if _, err := engine.CompilePolicyCheckedElsewhere(b); err != nil {
		t.Fatalf("CompilePolicyCheckedElsewhere: %v", err)
	}
	// Everything else is still compiled: an unsafe variable is refused.
	write(t, filepath.Join(dir, "p.rego"), "package sovereign.placement\ndecision := {\"violations\": [], \"obligations\": []}\ny if z > 1\n")
	if b, err = bundles.Read(dir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.CompilePolicyCheckedElsewhere(b); err == nil || !strings.Contains(err.Error(), "unsafe") {
		t.Fatalf("want the unsafe variable refused, got %v", err)
	}
}
