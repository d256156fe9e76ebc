package engine

import (
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// isTestModule: a module OPA runs as tests only (*_test.rego), which no
// proof about decisions counts.
func isTestModule(path string) bool { return strings.HasSuffix(path, "_test.rego") }

// policyPaths are the paths of a policy's non-test modules, sorted.
func policyPaths(modules map[string]*ast.Module) []string {
	paths := make([]string, 0, len(modules))
	for p := range modules {
		if !isTestModule(p) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	return paths
}

// separableTests returns the paths of the test modules (*_test.rego) no
// decision can reach, so the copy of a bundle that serves decisions may be
// compiled without them (the copy that runs the tests has them all). A test
// module is separable when its package is no non-test module's package and
// no non-test module refers to data at, inside or above that package: not by
// a reference (data.a.b.c, data.a[x], data), nor by an import. Anything
// else keeps the module in.
func separableTests(mods map[string]*ast.Module) map[string]bool {
	var reach []ast.Ref // ground prefixes of data the decision modules can read
	own := map[string]bool{}
	for path, m := range mods {
		if isTestModule(path) {
			continue
		}
		own[m.Package.Path.String()] = true
		aliases := map[ast.Var]ast.Ref{}
		for _, imp := range m.Imports {
			r, ok := imp.Path.Value.(ast.Ref)
			if !ok || !r.HasPrefix(ast.DefaultRootRef) {
				continue
			}
			name := imp.Alias
			if name == "" {
				last, ok := r[len(r)-1].Value.(ast.String)
				if !ok {
					reach = append(reach, r.GroundPrefix())
					continue
				}
				name = ast.Var(last)
			}
			aliases[name] = r
		}
		for _, rule := range m.Rules {
			reach = append(reach, dataReads(rule, aliases)...)
		}
	}
	out := map[string]bool{}
	for path, m := range mods {
		if !isTestModule(path) || own[m.Package.Path.String()] {
			continue
		}
		pkg := m.Package.Path
		separable := true
		for _, g := range reach {
			if g.HasPrefix(pkg) || pkg.HasPrefix(g) {
				separable = false
				break
			}
		}
		if separable {
			out[path] = true
		}
	}
	return out
}

// dataReads lists the ground prefixes of the data a rule can read: each
// reference rooted at data or at an imported alias of data, and each bare use
// of an alias (the whole imported subtree).
func dataReads(rule *ast.Rule, aliases map[ast.Var]ast.Ref) []ast.Ref {
	var out []ast.Ref
	var vis *ast.GenericVisitor
	vis = ast.NewGenericVisitor(func(x any) bool {
		switch v := x.(type) {
		case ast.Ref:
			head, _ := v[0].Value.(ast.Var)
			switch {
			case v.HasPrefix(ast.DefaultRootRef):
				out = append(out, v.GroundPrefix())
			case aliases[head] != nil:
				out = append(out, aliases[head].Concat(v[1:]).GroundPrefix())
			default:
				vis.Walk(v[0])
			}
			for _, t := range v[1:] {
				vis.Walk(t)
			}
			return true
		case ast.Var:
			if r := aliases[v]; r != nil {
				out = append(out, r.GroundPrefix())
			}
		}
		return false
	})
	vis.Walk(rule)
	return out
}
