package engine_test

import (
	"context"
	"testing"
	"time"

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
