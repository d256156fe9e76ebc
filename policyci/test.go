package policyci

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies/mutate"
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
	// Mutate runs the Rego tests against every mutant of the policy
	// (policies/mutate) once they pass on the policy itself; the run fails
	// when the mutation score is below MinScore (percent). Mutants > 0 tries
	// that many, spread evenly, instead of all. Equivalents is the file of
	// mutants documented as equivalent (default: DIR/equivalent-mutants.json
	// when DIR is a directory holding one).
	Mutate      bool
	MinScore    float64
	Mutants     int
	Equivalents string
	// Progress, if not nil, is told of each mutant's outcome as it comes (a
	// mutation run takes minutes).
	Progress func(mutate.Outcome)
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
	if o.MinScore < 0 || o.MinScore > 100 {
		return nil, fmt.Errorf("--min-score %v: want a percentage between 0 and 100", o.MinScore)
	}
	if o.Mutants < 0 {
		return nil, fmt.Errorf("--mutants %d: want a positive number, or 0 for all", o.Mutants)
	}
	if !o.Mutate && (o.Mutants > 0 || o.Equivalents != "") {
		return nil, errors.New("--mutants and --equivalents need --mutate")
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
	if o.Mutate {
		if err := runMutants(ctx, o, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// DefaultEquivalents is the file, in a policy directory, of the mutants
// documented as equivalent.
const DefaultEquivalents = "equivalent-mutants.json"

// runMutants adds the mutation run's results to rep: each surviving mutant as
// a warning on its file and line, and the score, failing under o.MinScore. It
// runs only on a policy whose tests pass (a failing test would kill every
// mutant).
func runMutants(ctx context.Context, o TestOptions, rep *Report) error {
	if rep.Counts.Failed > 0 || rep.Counts.Errors > 0 || rep.Broken {
		rep.add(Result{Suite: SuiteMutation, Name: "score", Status: engine.StatusError,
			Message: "mutation testing not run: the tests must pass on the policy itself first"})
		return nil
	}
	eqFile := o.Equivalents
	if eqFile == "" {
		if st, err := os.Stat(filepath.Join(o.Dir, DefaultEquivalents)); err == nil && st.Mode().IsRegular() {
			eqFile = filepath.Join(o.Dir, DefaultEquivalents)
		}
	}
	var eq mutate.Equivalents
	if eqFile != "" {
		var err error
		if eq, err = mutate.ReadEquivalents(eqFile); err != nil {
			rep.Broken = true
			rep.add(Result{Suite: SuiteMutation, Name: "equivalents", File: eqFile, Status: engine.StatusError, Message: err.Error()})
			return nil
		}
	}
	b, err := bundles.Read(o.Dir, nil)
	if err != nil {
		rep.Broken = true
		rep.add(compileResults(o.Dir, err)...)
		return nil
	}
	all := mutate.List(b)
	known := map[string]bool{}
	for _, m := range all {
		known[m.String()] = true
	}
	for _, m := range slices.Sorted(maps.Keys(eq)) {
		if !known[m] {
			rep.add(Result{Suite: SuiteMutation, Name: m, File: eqFile, Status: StatusWarn,
				Message: "listed as equivalent but no mutant of the policy: the rule moved or changed, check it again"})
		}
	}
	start := time.Now()
	score, outcomes, err := mutate.Run(ctx, b, mutate.Sample(all, o.Mutants), eq, o.Timeout, o.Progress)
	if err != nil {
		return err
	}
	for _, x := range outcomes {
		file := modulePath(o.Dir, x.Mutant.File)
		switch x.Status {
		case mutate.StatusSurvived:
			rep.add(Result{Suite: SuiteMutation, Name: x.Mutant.String(), File: file, Line: x.Mutant.Line, Status: StatusWarn,
				Message: "mutant survived: no Rego test fails with this change"})
		case mutate.StatusInvalid:
			rep.add(Result{Suite: SuiteMutation, Name: x.Mutant.String(), File: file, Line: x.Mutant.Line, Status: engine.StatusSkip,
				Message: "not a valid mutant (it does not compile): " + x.Reason})
		}
	}
	rep.Mutation = &MutationScore{Score: score, Total: len(all), MinScore: o.MinScore, Duration: time.Since(start)}
	res := Result{Suite: SuiteMutation, Name: "score", Status: engine.StatusPass, Duration: time.Since(start),
		Message: rep.Mutation.String()}
	if score.Percent < o.MinScore {
		res.Status = engine.StatusFail
		res.Message += fmt.Sprintf(": below --min-score %.1f%%", o.MinScore)
	}
	rep.add(res)
	return nil
}

// MutationScore is a report's mutation run.
type MutationScore struct {
	mutate.Score
	Total    int           `json:"total"` // mutants of the policy (Tried of them tried)
	MinScore float64       `json:"min_score"`
	Duration time.Duration `json:"duration_ns"`
}

func (m *MutationScore) String() string {
	return fmt.Sprintf("mutation score %.1f%%: %d of %d valid mutants killed (%d of them documented equivalent), %d survived; %d tried of %d, %d not valid",
		m.Percent, m.Killed+m.Equivalent, m.Valid(), m.Equivalent, m.Survived, m.Tried, m.Total, m.Invalid)
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
