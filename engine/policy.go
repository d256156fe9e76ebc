package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// DefaultBundleSizeLimit caps how much a bundle may expand to when read.
const DefaultBundleSizeLimit = 64 << 20

// Policy is a compiled policy bundle: compiled once, then shared by every prepared
// query built on it. It is immutable.
type Policy struct {
	Revision string
	Digest   string
	Roots    []string
	bundle   *bundle.Bundle
	compiler *ast.Compiler
}

// Info returns the revision and digest recorded with every decision.
func (p *Policy) Info() BundleInfo { return BundleInfo{Revision: p.Revision, Digest: p.Digest} }

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
	return readPolicy(loader)
}

// LoadPolicy reads a bundle from a directory or an OPA bundle tarball (.tar.gz).
// Signature verification arrives with signed bundles; until then bundles are
// read unverified.
func LoadPolicy(path string) (*Policy, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	if st.IsDir() {
		return readPolicy(bundle.NewDirectoryLoader(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	defer f.Close()
	return readPolicy(bundle.NewTarballLoader(f))
}

func readPolicy(loader bundle.DirectoryLoader) (*Policy, error) {
	b, err := bundle.NewCustomReader(loader).
		WithSizeLimitBytes(DefaultBundleSizeLimit).
		WithProcessAnnotations(true).
		WithSkipBundleVerification(true).
		Read()
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	return CompilePolicy(&b)
}

// CompilePolicy compiles a bundle's modules once and checks that it answers the
// queries the engine asks (docs/policy-contract.md).
func CompilePolicy(b *bundle.Bundle) (*Policy, error) {
	if len(b.Modules) == 0 {
		return nil, errors.New("bundle has no policy modules")
	}
	mods := make(map[string]*ast.Module, len(b.Modules))
	for _, m := range b.Modules {
		mods[m.Path] = m.Parsed
	}
	compiler := ast.NewCompiler().WithEnablePrintStatements(false)
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
	digest, err := bundleDigest(b)
	if err != nil {
		return nil, err
	}
	p := &Policy{Revision: b.Manifest.Revision, Digest: digest, bundle: b, compiler: compiler}
	if b.Manifest.Roots != nil {
		p.Roots = append([]string(nil), *b.Manifest.Roots...)
	}
	return p, nil
}

// bundleDigest is the SHA-256 of the bundle's content, independent of packaging:
// the same files give the same digest from a directory, a tarball or the binary.
// It hashes, in path order, each module's path and raw text, then the canonical
// JSON of the data document and of the manifest.
func bundleDigest(b *bundle.Bundle) (string, error) {
	h := sha256.New()
	mods := append([]bundle.ModuleFile(nil), b.Modules...)
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	for _, m := range mods {
		sum := sha256.Sum256(m.Raw)
		fmt.Fprintf(h, "module %s %s\n", m.Path, hex.EncodeToString(sum[:]))
	}
	data, err := json.Marshal(b.Data) // map keys are sorted by encoding/json
	if err != nil {
		return "", fmt.Errorf("digest bundle data: %w", err)
	}
	sum := sha256.Sum256(data)
	fmt.Fprintf(h, "data %s\n", hex.EncodeToString(sum[:]))
	manifest, err := json.Marshal(b.Manifest)
	if err != nil {
		return "", fmt.Errorf("digest bundle manifest: %w", err)
	}
	sum = sha256.Sum256(manifest)
	fmt.Fprintf(h, "manifest %s\n", hex.EncodeToString(sum[:]))
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
