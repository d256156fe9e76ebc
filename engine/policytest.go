package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/cover"
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
	results, _, err := RunRegoTests(ctx, p, timeout, false)
	if err != nil {
		return rep, err
	}
	for _, r := range results {
		switch r.Status {
		case StatusError:
			rep.Failed++
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s.%s: error: %s", r.Package, r.Name, r.Message))
		case StatusFail:
			rep.Failed++
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s.%s: FAIL", r.Package, r.Name))
		case StatusSkip:
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

// RegoTestResult is one Rego test of a bundle.
type RegoTestResult struct {
	Package string `json:"package"`
	Name    string `json:"name"`
	// File and Line locate the test rule (File as the bundle names it).
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Status   string        `json:"status"` // pass | fail | error | skip
	Message  string        `json:"message,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Test statuses.
const (
	StatusPass  = "pass"
	StatusFail  = "fail"
	StatusError = "error"
	StatusSkip  = "skip"
)

// FileCoverage is the line coverage of one policy file.
type FileCoverage struct {
	File       string  `json:"file"`
	Covered    int     `json:"covered_lines"`
	NotCovered int     `json:"not_covered_lines"`
	Percent    float64 `json:"coverage"`
	// Uncovered lists the first line of every range no test reached.
	Uncovered []int `json:"not_covered,omitempty"`
}

// Coverage is the line coverage of a bundle's policy files (tests excluded)
// by its Rego tests, as `opa test --coverage` measures it.
type Coverage struct {
	Percent    float64        `json:"coverage"`
	Covered    int            `json:"covered_lines"`
	NotCovered int            `json:"not_covered_lines"`
	Files      []FileCoverage `json:"files"`
}

// RunRegoTests runs every Rego test of p and reports each one; with coverage,
// it also measures which lines of the policy the tests reach. An error means
// the tests could not run at all (they do not compile).
func RunRegoTests(ctx context.Context, p *Policy, timeout time.Duration, coverage bool) ([]RegoTestResult, *Coverage, error) {
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return nil, nil, err
	}
	defer store.Abort(ctx, txn)
	runner := tester.NewRunner().
		SetStore(store).
		SetBundles(map[string]*bundle.Bundle{"bundle": p.bundle}).
		SetTimeout(timeout)
	var cov *cover.Cover
	if coverage {
		cov = cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
	}
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		return nil, nil, fmt.Errorf("compile bundle tests: %w", err)
	}
	var out []RegoTestResult
	for r := range ch {
		out = append(out, regoTestResult(r))
	}
	if err := ctx.Err(); err != nil {
		return out, nil, err
	}
	if cov == nil {
		return out, nil, nil
	}
	return out, coverageOf(p, cov), nil
}

// regoTestResult words one result of OPA's tester.
func regoTestResult(r *tester.Result) RegoTestResult {
	res := RegoTestResult{Package: strings.TrimPrefix(r.Package, "data."), Name: r.Name, Duration: r.Duration, Status: StatusPass}
	if r.Location != nil {
		res.File, res.Line = r.Location.File, r.Location.Row
	}
	switch {
	case r.Error != nil:
		res.Status, res.Message = StatusError, r.Error.Error()
	case r.Fail:
		res.Status, res.Message = StatusFail, "test failed"
		if r.FailedAt != nil {
			res.Message = fmt.Sprintf("test failed at %s", r.FailedAt)
			if r.FailedAt.Location != nil {
				res.Message = fmt.Sprintf("test failed at line %d: %s", r.FailedAt.Location.Row, r.FailedAt)
			}
		}
	case r.Skip:
		res.Status = StatusSkip
	}
	return res
}

// coverageOf reports what the tests reached of the policy's modules (tests
// excluded), file by file in name order.
func coverageOf(p *Policy, cov *cover.Cover) *Coverage {
	policyModules := map[string]*ast.Module{}
	for _, m := range p.bundle.Modules {
		if !isTestModule(m.Path) {
			policyModules[m.Path] = m.Parsed
		}
	}
	rep := cov.Report(policyModules)
	c := &Coverage{}
	for _, file := range slices.Sorted(maps.Keys(policyModules)) {
		fr := rep.Files[file]
		fc := FileCoverage{File: file}
		if fr != nil {
			fc.Covered, fc.NotCovered = fr.CoveredLines, fr.NotCoveredLines
			for _, rg := range fr.NotCovered {
				fc.Uncovered = append(fc.Uncovered, rg.Start.Row)
			}
		}
		if total := fc.Covered + fc.NotCovered; total > 0 {
			fc.Percent = 100 * float64(fc.Covered) / float64(total)
		}
		c.Covered += fc.Covered
		c.NotCovered += fc.NotCovered
		c.Files = append(c.Files, fc)
	}
	if total := c.Covered + c.NotCovered; total > 0 {
		c.Percent = 100 * float64(c.Covered) / float64(total)
	}
	return c
}
