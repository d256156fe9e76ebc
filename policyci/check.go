package policyci

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies/catalog"
)

// requiredMetadata are the fields every rule's METADATA must have for check to
// pass; the catalog's other fields (title, source, example) are warnings.
var requiredMetadata = map[string]bool{"id": true, "effect": true, "citation": true}

// Check compiles a policy directory strictly (as `opa check --strict`: unused
// imports, unused local variables and arguments, deprecated built-ins fail),
// lints its rule METADATA (every rule has an id, an effect and a citation;
// ids are unique; every rule id the policy uses is documented) and validates
// its reference data (every data.json / data.yaml: see CheckReference).
func Check(ctx context.Context, dir string) (*Report, error) {
	rep := &Report{Command: "check", Dir: dir}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("check %s: want a policy directory", dir)
	}
	// The engine's own load: the bundle must parse, compile and keep the
	// contract before anything else is worth saying.
	p, err := engine.LoadPolicy(dir)
	if err != nil {
		rep.Broken = true
		rep.add(compileResults(dir, err)...)
		return rep, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	strict := ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(false)
	if strict.Compile(p.Modules()); strict.Failed() {
		for _, e := range strict.Errors {
			r := Result{Suite: SuiteStrict, Name: e.Code, Status: engine.StatusFail, Message: e.Message}
			if e.Location != nil {
				r.File, r.Line = modulePath(dir, e.Location.File), e.Location.Row
			}
			rep.add(r)
		}
	} else {
		rep.add(Result{Suite: SuiteStrict, Name: "strict compile", File: dir, Status: engine.StatusPass})
	}

	pkgs, literals, err := catalog.Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("check %s: metadata: %w", dir, err)
	}
	rules := 0
	for _, pkg := range pkgs {
		rules += len(pkg.Rules)
	}
	problems := catalog.Check(pkgs, literals)
	for _, pr := range problems {
		status := engine.StatusFail
		if pr.Field != "" && !requiredMetadata[pr.Field] {
			status = StatusWarn
		}
		rep.add(Result{Suite: SuiteMetadata, Name: cmpStr(pr.Rule, "metadata"), File: filepath.Join(dir, pr.File), Line: pr.Line, Status: status, Message: pr.Message})
	}
	if len(problems) == 0 {
		rep.add(Result{Suite: SuiteMetadata, Name: fmt.Sprintf("%d rules documented", rules), File: dir, Status: engine.StatusPass})
	}

	formats, err := CheckFormat(dir)
	if err != nil {
		return nil, err
	}
	rep.add(formats...)

	hazards, err := catalog.Negations(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("check %s: negations: %w", dir, err)
	}
	for _, h := range hazards {
		rep.add(Result{Suite: SuiteOmission, Name: "undefined negation", File: filepath.Join(dir, h.File), Line: h.Line, Status: engine.StatusFail, Message: h.Message})
	}
	if len(hazards) == 0 {
		rep.add(Result{Suite: SuiteOmission, Name: "no negation over an undefined input", File: dir, Status: engine.StatusPass})
	}

	refs, err := CheckReference(dir)
	if err != nil {
		return nil, err
	}
	rep.add(refs...)
	return rep, nil
}

// CheckFormat fails every .rego file of dir that `opa fmt` would change (the
// OPA format package, Rego v1), naming the first line that differs; one
// passing result when all are formatted.
func CheckFormat(dir string) ([]Result, error) {
	var results []Result
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		formatted, err := format.SourceWithOpts(path, raw, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil // a parse error: the compile check reports it
		}
		if !bytes.Equal(raw, formatted) {
			results = append(results, Result{Suite: SuiteFormat, Name: "opa fmt", File: path, Line: firstDifferentLine(raw, formatted),
				Status: engine.StatusFail, Message: "not formatted as opa fmt formats it: run opa fmt -w " + path})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check %s: format: %w", dir, err)
	}
	if len(results) == 0 {
		results = append(results, Result{Suite: SuiteFormat, Name: fmt.Sprintf("%d files formatted", files), File: dir, Status: engine.StatusPass})
	}
	return results, nil
}

// firstDifferentLine is the 1-based line where a and b first differ.
func firstDifferentLine(a, b []byte) int {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(al), len(bl)) {
		if !bytes.Equal(al[i], bl[i]) {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// dataFileNames are the files OPA loads as data documents from a bundle.
var dataFileNames = map[string]bool{"data.json": true, "data.yaml": true, "data.yml": true}

// CheckReference validates every data document of a policy directory as
// reference data: one result per problem (failures, and warnings for gaps
// between dated versions), or one passing result per file.
func CheckReference(dir string) ([]Result, error) {
	var out []Result
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !dataFileNames[d.Name()] {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		problems, err := ValidateReference(raw, strings.HasSuffix(path, ".json"))
		if err != nil {
			out = append(out, Result{Suite: SuiteReference, Name: "parse", File: path, Status: engine.StatusFail, Message: err.Error()})
			return nil
		}
		for _, p := range problems {
			status := engine.StatusFail
			if p.Warning {
				status = StatusWarn
			}
			out = append(out, Result{Suite: SuiteReference, Name: p.Path, File: path, Line: p.Line, Status: status, Message: p.Path + ": " + p.Message})
		}
		if len(problems) == 0 {
			out = append(out, Result{Suite: SuiteReference, Name: "reference data", File: path, Status: engine.StatusPass})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check %s: reference data: %w", dir, err)
	}
	return out, nil
}
