package policyci

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sovereign-engine/sovereign/engine"
)

// TestOptions configure Test.
type TestOptions struct {
	// Dir is the policy directory (or an OPA bundle .tar.gz).
	Dir string
	// Scenarios are directories of golden scenario files; empty means
	// Dir/scenarios when it exists.
	Scenarios []string
	// InventoryRoot holds the inventories scenarios name; empty means the
	// "inventory" directory beside each scenario directory.
	InventoryRoot string
	// Coverage measures which policy lines the Rego tests reach; Threshold
	// (percent) fails the run below it.
	Coverage  bool
	Threshold float64
	// Timeout bounds the Rego tests (default one minute).
	Timeout time.Duration
}

// Test runs every Rego test and every golden scenario of a policy directory.
// The error is for what stops the run before any policy is looked at (a bad
// option); a policy that does not compile is a Broken report.
func Test(ctx context.Context, o TestOptions) (*Report, error) {
	if o.Threshold < 0 || o.Threshold > 100 {
		return nil, fmt.Errorf("--threshold %v: want a percentage between 0 and 100", o.Threshold)
	}
	if o.Threshold > 0 && !o.Coverage {
		return nil, errors.New("--threshold needs --coverage")
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	rep := &Report{Command: "test", Dir: o.Dir, Threshold: o.Threshold}
	p, err := engine.LoadPolicy(o.Dir)
	if err != nil {
		rep.Broken = true
		rep.add(compileResults(o.Dir, err)...)
		return rep, nil
	}
	tests, cov, err := engine.RunRegoTests(ctx, p, o.Timeout, o.Coverage)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		rep.Broken = true
		rep.add(compileResults(o.Dir, err)...)
		return rep, nil
	}
	for _, t := range tests {
		rep.add(Result{Suite: SuiteRego, Name: t.Package + "." + t.Name, File: modulePath(o.Dir, t.File), Line: t.Line,
			Status: t.Status, Message: t.Message, Duration: t.Duration})
	}

	dirs := o.Scenarios
	if len(dirs) == 0 {
		if st, err := os.Stat(filepath.Join(o.Dir, "scenarios")); err == nil && st.IsDir() {
			dirs = []string{filepath.Join(o.Dir, "scenarios")}
		}
	}
	runner := engine.NewScenarioRunner(p, engine.ScenarioOptions{InventoryRoot: o.InventoryRoot})
	for _, dir := range dirs {
		files, err := engine.LoadScenarios(dir)
		if err != nil {
			rep.Broken = true
			rep.add(Result{Suite: SuiteScenario, Name: dir, File: dir, Status: engine.StatusError, Message: err.Error()})
			continue
		}
		for _, sf := range files {
			for i := range sf.Scenarios {
				start := time.Now()
				r := runner.Run(ctx, sf, &sf.Scenarios[i])
				res := Result{Suite: SuiteScenario, Name: r.Name, File: r.File, Line: r.Line, Status: engine.StatusPass, Duration: time.Since(start)}
				switch {
				case r.Err != nil:
					res.Status, res.Message = engine.StatusError, r.Err.Error()
				case len(r.Failures) > 0:
					res.Status, res.Message = engine.StatusFail, strings.Join(r.Failures, "\n")
				}
				rep.add(res)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	if cov != nil {
		for i := range cov.Files {
			cov.Files[i].File = modulePath(o.Dir, cov.Files[i].File)
		}
		rep.Coverage = cov
		if o.Threshold > 0 && cov.Percent < o.Threshold {
			msg := fmt.Sprintf("coverage %.1f%% is below the threshold %.1f%%; least covered:", cov.Percent, o.Threshold)
			for _, f := range leastCovered(cov.Files, 5) {
				msg += fmt.Sprintf("\n%s %.1f%% (not covered from lines %s)", f.File, f.Percent, joinInts(f.Uncovered, 10))
			}
			rep.add(Result{Suite: SuiteCoverage, Name: "threshold", Status: engine.StatusFail, Message: msg})
		}
	}
	return rep, nil
}

func leastCovered(files []engine.FileCoverage, n int) []engine.FileCoverage {
	var out []engine.FileCoverage
	for _, f := range files {
		if f.NotCovered > 0 {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b engine.FileCoverage) int { return cmp.Compare(a.Percent, b.Percent) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func joinInts(xs []int, n int) string {
	var parts []string
	for i, x := range xs {
		if i == n {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprint(x))
	}
	return strings.Join(parts, ", ")
}

// compileResults turns a load or compile error into results, one per OPA
// error with its file and line where OPA gives them.
func compileResults(dir string, err error) []Result {
	var astErrs ast.Errors
	if errors.As(err, &astErrs) && len(astErrs) > 0 {
		out := make([]Result, 0, len(astErrs))
		for _, e := range astErrs {
			r := Result{Suite: SuiteCompile, Name: e.Code, Status: engine.StatusError, Message: e.Message}
			if e.Location != nil {
				r.File, r.Line = modulePath(dir, e.Location.File), e.Location.Row
			}
			out = append(out, r)
		}
		return out
	}
	var astErr *ast.Error
	if errors.As(err, &astErr) {
		r := Result{Suite: SuiteCompile, Name: astErr.Code, Status: engine.StatusError, Message: astErr.Message}
		if astErr.Location != nil {
			r.File, r.Line = modulePath(dir, astErr.Location.File), astErr.Location.Row
		}
		return []Result{r}
	}
	return []Result{{Suite: SuiteCompile, Name: "load", File: dir, Status: engine.StatusError, Message: err.Error()}}
}

// modulePath is a file as the user named it: OPA names a directory bundle's
// files by their path under the directory (sometimes with a leading "/"),
// and a tarball's by their path inside it.
func modulePath(dir, file string) string {
	if file == "" {
		return ""
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return strings.TrimPrefix(file, "/")
	}
	clean := filepath.Clean(dir)
	if strings.HasPrefix(file, clean+string(filepath.Separator)) || file == clean {
		return file
	}
	return filepath.Join(clean, strings.TrimPrefix(file, "/"))
}
