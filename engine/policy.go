package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/sovereign-engine/sovereign/bundles"
)

// Policy is a compiled policy bundle: compiled once, then shared by every prepared
// query built on it. It is immutable.
type Policy struct {
	Revision string
	Digest   string
	Roots    []string
	bundle   *bundle.Bundle
	compiler *ast.Compiler
	floor    *Floor // nil: the bundle names none
	// memo: the policy's answers may be memoised by date (cache.go);
	// memoWhy says why not otherwise.
	memo    bool
	memoWhy string
}

// Info returns the revision and digest recorded with every decision.
func (p *Policy) Info() BundleInfo { return BundleInfo{Revision: p.Revision, Digest: p.Digest} }

// Floor returns the earliest decision date the bundle models
// (data.reference.modelled_from), or nil when it names none.
func (p *Policy) Floor() *Floor { return p.floor }

// Data returns the bundle's data document (data.json files), read-only.
func (p *Policy) Data() map[string]any { return p.bundle.Data }

// Modules returns the bundle's parsed modules, keyed by path.
func (p *Policy) Modules() map[string]*ast.Module {
	mods := make(map[string]*ast.Module, len(p.bundle.Modules))
	for _, m := range p.bundle.Modules {
		mods[m.Path] = m.Parsed
	}
	return mods
}

// LoadPolicyFS reads a bundle from a file system (the embedded default bundle).
func LoadPolicyFS(fsys fs.FS) (*Policy, error) {
	loader, err := bundle.NewFSLoader(fsys)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	b, err := bundles.ReadFrom(loader, nil)
	if err != nil {
		return nil, err
	}
	return CompilePolicy(b)
}

// LoadPolicy reads a bundle from a directory or an OPA bundle tarball (.tar.gz).
// With keys, the bundle must carry a valid signature by one of them; without,
// it is read unverified (the caller chose to allow unsigned bundles).
func LoadPolicy(path string, keys ...bundles.PublicKey) (*Policy, error) {
	b, err := bundles.Read(path, keys)
	if err != nil {
		return nil, err
	}
	return CompilePolicy(b)
}

// CompilePolicy compiles a bundle's modules once and checks that it answers the
// queries the engine asks (docs/policy-contract.md).
func CompilePolicy(b *bundle.Bundle) (*Policy, error) {
	return compilePolicy(b, false)
}

// CompilePolicyCheckedElsewhere is CompilePolicy without the compiler's two
// checking stages, type checking and the recursion check, which transform
// nothing and cost half of the compile's CPU and a third of its allocation,
// and without the test modules no decision can reach (separableTests). It is
// only for a bundle whose very bytes are compiled with every stage
// before the result is used: serve runs each new bundle's tests in a child
// process that does (cmd/sovereign/bundle_test_cmd.go), and refuses the
// bundle when that fails. Anything else uses CompilePolicy.
func CompilePolicyCheckedElsewhere(b *bundle.Bundle) (*Policy, error) {
	return compilePolicy(b, true)
}

func compilePolicy(b *bundle.Bundle, checkedElsewhere bool) (*Policy, error) {
	if len(b.Modules) == 0 {
		return nil, errors.New("bundle has no policy modules")
	}
	mods := make(map[string]*ast.Module, len(b.Modules))
	for _, m := range b.Modules {
		mods[m.Path] = m.Parsed
	}
	all := mods
	compiler := ast.NewCompiler().WithEnablePrintStatements(false)
	if checkedElsewhere {
		compiler = compiler.WithSkipStages(ast.StageCheckTypes, ast.StageCheckRecursion)
		// Test modules no decision can reach are compiled by the child only.
		if skip := separableTests(mods); len(skip) > 0 {
			mods = make(map[string]*ast.Module, len(all)-len(skip))
			for p, m := range all {
				if !skip[p] {
					mods[p] = m
				}
			}
		}
	}
	compiler.Compile(mods)
	if compiler.Failed() {
		return nil, fmt.Errorf("compile bundle: %w", compiler.Errors)
	}
	for _, q := range []string{placementQuery, transferQuery} {
		ref := ast.MustParseRef(q)
		if len(compiler.GetRulesExact(ref)) == 0 {
			return nil, fmt.Errorf("bundle does not define %s (see docs/policy-contract.md)", q)
		}
	}
	// A bundle may own the whole data namespace (root "", OPA's default when a
	// manifest names no roots) as long as its data leaves data.inventory alone;
	// naming inventory as a root is a claim the engine refuses.
	if b.Manifest.Roots != nil {
		for _, r := range *b.Manifest.Roots {
			if r == "inventory" || strings.HasPrefix(r, "inventory/") {
				return nil, fmt.Errorf("bundle manifest root %q overlaps data.inventory, which the engine owns", r)
			}
		}
	}
	if _, ok := b.Data["inventory"]; ok {
		return nil, errors.New("bundle data defines data.inventory, which the engine owns")
	}
	floor, err := readFloor(b.Data, b.Manifest.Revision)
	if err != nil {
		return nil, err
	}
	digest, err := bundles.Digest(b)
	if err != nil {
		return nil, err
	}
	p := &Policy{Revision: b.Manifest.Revision, Digest: digest, bundle: b, compiler: compiler, floor: floor}
	p.memo, p.memoWhy = memoisable(all)
	if b.Manifest.Roots != nil {
		p.Roots = append([]string(nil), *b.Manifest.Roots...)
	}
	return p, nil
}
