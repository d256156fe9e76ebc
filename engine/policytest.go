package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestReport is the outcome of a bundle's own Rego tests (its *_test.rego).
type TestReport struct {
	Passed, Failed, Skipped int
	Failures                []string // "package.test: FAIL" or "package.test: error: ..."
}

// RunPolicyTests runs the Rego tests a bundle carries; a bundle whose tests fail
// or error is not activated. A bundle without tests passes with zero counts.
func RunPolicyTests(ctx context.Context, p *Policy, timeout time.Duration) (TestReport, error) {
	var rep TestReport
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return rep, err
	}
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().
		SetStore(store).
		SetBundles(map[string]*bundle.Bundle{"bundle": p.bundle}).
		SetTimeout(timeout).
		RunTests(ctx, txn)
	if err != nil {
		return rep, fmt.Errorf("compile bundle tests: %w", err)
	}
	for r := range ch {
		switch {
		case r.Error != nil:
			rep.Failed++
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s.%s: error: %v", r.Package, r.Name, r.Error))
		case r.Fail:
			rep.Failed++
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s.%s: FAIL", r.Package, r.Name))
		case r.Skip:
			rep.Skipped++
		default:
			rep.Passed++
		}
	}
	if rep.Failed > 0 {
		shown := rep.Failures
		if len(shown) > 5 {
			shown = shown[:5]
		}
		return rep, fmt.Errorf("%d of %d bundle tests failed: %s", rep.Failed, rep.Failed+rep.Passed, strings.Join(shown, "; "))
	}
	return rep, nil
}
