package catalog

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Negations finds, in every non-test module of the bundle, the negated
// expressions (`not <expr>`) that can be undefined rather than true when an
// input is absent, and so let a deny rule fall silent: allow by omission.
//
// OPA evaluates a reference that is an argument of a call, or a key inside
// another reference, before the negation, outside it: when that reference is
// undefined, the whole `not` expression is undefined, not true. With site.country
// absent, `not allowed[site.country]` and `not is_array(site.personnel_countries)`
// both fail, so a rule built on them never fires (OPA 1.22; checked by
// TestNegationOverAnUndefinedReference). Only a bare reference, `not x.y.z`, with
// variables and constants as keys, is true when undefined.
//
// The library therefore negates only variables, constants and bare references;
// anything that may be undefined is first made total (object.get with a
// default that the negated test rejects) or put behind a named rule
// (`known_chain(site) if is_array(...)`, then `not known_chain(site)`). Calls to
// the builtins in totalBuiltins, with such arguments, are allowed.
func Negations(bundle fs.FS) ([]Problem, error) {
	var out []Problem
	err := fs.WalkDir(bundle, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		src, err := fs.ReadFile(bundle, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return err
		}
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			if !e.Negated {
				for _, t := range inequalities(e) {
					out = append(out, Problem{
						Position: Position{p, e.Location.Row},
						Message:  fmt.Sprintf("`%s`: %s may be undefined, and then the inequality is undefined, not true: an absent value would not count as different (docs/policy-contract.md, 'Nothing by omission'); compare object.get(..., default)", e, t),
					})
				}
				return false
			}
			for _, t := range hazards(e) {
				out = append(out, Problem{
					Position: Position{p, e.Location.Row},
					Message:  fmt.Sprintf("`%s`: %s may be undefined, and then the negation is undefined, not true (docs/policy-contract.md, 'Nothing by omission'); make it total (object.get with a default) or name it in a rule", e, t),
				})
			}
			return false
		})
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out, err
}

// inequalities lists the references compared by `x != y` in e: undefined when
// x is, so "the site is outside C" (site.country != C) would not hold for a
// site that states no country.
func inequalities(e *ast.Expr) []*ast.Term {
	ts, ok := e.Terms.([]*ast.Term)
	if !ok || len(ts) != 3 || ts[0].String() != ast.NotEqual.Name {
		return nil
	}
	var out []*ast.Term
	for _, a := range ts[1:] {
		if _, ok := a.Value.(ast.Ref); ok {
			out = append(out, a)
		}
	}
	return out
}

// totalBuiltins are builtins that are defined for any defined arguments of the
// types the library passes them.
var totalBuiltins = map[string]bool{
	"object.get": true, "object.keys": true, "count": true, "concat": true, "sprintf": true,
	"lower": true, "upper": true, "is_string": true, "is_array": true, "is_object": true,
	"is_set": true, "is_number": true, "is_boolean": true, "is_null": true, "type_name": true,
}

// hazards lists the terms of the negated expression e whose undefinedness
// makes e undefined.
func hazards(e *ast.Expr) []*ast.Term {
	var out []*ast.Term
	switch ts := e.Terms.(type) {
	case *ast.Term:
		// `not ref`: the reference itself may be undefined (then the negation
		// is true), but not a key within it.
		if r, ok := ts.Value.(ast.Ref); ok {
			for _, k := range r[1:] {
				out = append(out, unsafe(k)...)
			}
		} else {
			out = append(out, unsafe(ts)...)
		}
	case []*ast.Term:
		// A call: the operator is a function name, every argument must be safe.
		for _, a := range ts[1:] {
			out = append(out, unsafe(a)...)
		}
	}
	return out
}

// unsafe lists the parts of t, a term used as an argument or key, that may be
// undefined: references, and calls other than to a total builtin with safe
// arguments. Variables, scalars and composites of them are safe.
func unsafe(t *ast.Term) []*ast.Term {
	switch v := t.Value.(type) {
	case ast.Var, ast.Null, ast.Boolean, ast.Number, ast.String:
		return nil
	case ast.Ref:
		return []*ast.Term{t}
	case ast.Call:
		if !totalBuiltins[v[0].String()] {
			return []*ast.Term{t}
		}
		var out []*ast.Term
		for _, a := range v[1:] {
			out = append(out, unsafe(a)...)
		}
		return out
	case *ast.Array:
		var out []*ast.Term
		v.Foreach(func(x *ast.Term) { out = append(out, unsafe(x)...) })
		return out
	case ast.Set:
		var out []*ast.Term
		v.Foreach(func(x *ast.Term) { out = append(out, unsafe(x)...) })
		return out
	case ast.Object:
		var out []*ast.Term
		v.Foreach(func(k, x *ast.Term) { out = append(out, unsafe(k)...); out = append(out, unsafe(x)...) })
		return out
	default:
		// comprehensions are always defined
		return nil
	}
}
