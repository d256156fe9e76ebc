package bundles

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/loader/filter"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/util"
)

// ModuleCache keeps the modules of the bundles a server has read, parsed, so
// that a new version of a bundle re-parses only the modules that changed. A
// module is reused only when its path, its exact bytes (SHA-256) and the Rego
// version it is parsed as are the same. Safe for concurrent use.
type ModuleCache struct {
	mu   sync.Mutex
	mods map[moduleKey]*ast.Module
	// reused and parsed count modules over the cache's life.
	reused, parsed atomic.Uint64
}

type moduleKey struct {
	path    string
	sum     [sha256.Size]byte
	version ast.RegoVersion
}

// NewModuleCache returns an empty cache.
func NewModuleCache() *ModuleCache { return &ModuleCache{mods: map[moduleKey]*ast.Module{}} }

// Stats reports how many modules were reused from the cache and how many
// were parsed, over its life.
func (c *ModuleCache) Stats() (reused, parsed uint64) { return c.reused.Load(), c.parsed.Load() }

// parse returns the module, parsed now or copied from the cache. The cache
// keeps only the modules of the latest read (keep), so it never grows past
// one bundle's worth.
func (c *ModuleCache) parse(path string, raw []byte, opts ast.ParserOptions, keep map[moduleKey]*ast.Module) (*ast.Module, error) {
	k := moduleKey{path: path, sum: sha256.Sum256(raw), version: opts.RegoVersion}
	c.mu.Lock()
	m, ok := c.mods[k]
	c.mu.Unlock()
	if ok {
		c.reused.Add(1)
	} else {
		var err error
		if m, err = ast.ParseModuleWithOpts(path, util.ByteSliceToString(raw), opts); err != nil {
			return nil, err
		}
		c.parsed.Add(1)
	}
	keep[k] = m
	// A copy: nothing that reads this bundle may change the cached module.
	return m.Copy(), nil
}

// ReadCached reads a bundle like ReadFrom, to the same result, verified the
// same way, but parses its modules one after another on the calling goroutine,
// reusing those cache holds (nil: no cache).
//
// Why it exists: OPA's reader parses every module on a goroutine of its own.
// In a server answering decisions, a few dozen parse goroutines queue ahead
// of the requests on Go's run queues, and a bundle swap stalled decisions for
// 20-40 ms while the library was parsed. Read on one goroutine (which the
// manager runs on a low-priority thread), with unchanged modules reused, a
// swap costs the decisions nothing measurable at this stage.
//
// How it stays OPA's read: signatures and file hashes are checked with OPA's
// own bundle.VerifyBundleSignature and bundle.VerifyBundleFile, over every
// file as the reader would (a file the signature lists that is missing, or a
// file it does not list, is refused). Everything but the modules (manifest,
// data, roots, wasm) is read by OPA's reader over the same bytes; the modules
// are parsed with the options OPA's reader would use, and their packages
// checked against the manifest's roots as OPA's reader does. A differential
// test holds the two readers to the same bundle and the same refusals.
//
// It is stricter than OPA's reader in four corners, each refused: delta
// bundles (Sovereign serves snapshots), two signature files even when no key
// is given, a package path segment holding a '/' (OPA's exported root check
// splits on it), and files over MaxSize however they are loaded. The module
// cache's key assumes the parser options stay those of this function.
func ReadCached(loader bundle.DirectoryLoader, keys []PublicKey, cache *ModuleCache) (*bundle.Bundle, error) {
	b, err := readCached(loader, keys, cache)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	return b, nil
}

type loadedFile struct {
	url, path string
	data      []byte
}

func readCached(loader bundle.DirectoryLoader, keys []PublicKey, cache *ModuleCache) (*bundle.Bundle, error) {
	var files, modules []loadedFile
	var sigs *loadedFile
	for {
		f, err := loader.NextFile()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bundle read failed: %w", err)
		}
		var c capture
		n, err := f.Read(&c, MaxSize+1)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if n > MaxSize {
			return nil, fmt.Errorf("bundle file '%v' exceeds the maximum size (%d bytes)", strings.TrimPrefix(f.Path(), "/"), MaxSize)
		}
		lf := loadedFile{url: f.URL(), path: f.Path(), data: c.b}
		switch {
		case bundle.IsSignaturesFile(lf.path):
			if sigs != nil {
				return nil, fmt.Errorf("bundle contains multiple signatures files: %q and %q", sigs.path, lf.path)
			}
			sigs = &lf
		case strings.HasSuffix(lf.path, bundle.RegoExt):
			modules = append(modules, lf)
			files = append(files, lf)
		default:
			files = append(files, lf)
		}
	}
	if len(keys) > 0 {
		if err := verifyFiles(files, sigs, keys); err != nil {
			return nil, err
		}
	}

	// Everything but the modules, read by OPA's reader (already verified).
	rest := &memLoader{}
	for _, f := range files {
		if !strings.HasSuffix(f.path, bundle.RegoExt) {
			rest.files = append(rest.files, f)
		}
	}
	r := bundle.NewCustomReader(rest).
		WithSizeLimitBytes(MaxSize + 1).
		WithProcessAnnotations(true).
		// Data parsed into b.Data, whatever activators are registered.
		WithLazyLoadingMode(false).
		WithSkipBundleVerification(true)
	b, err := r.Read()
	if err != nil {
		return nil, err
	}
	if b.Type() != bundle.SnapshotBundleType {
		return nil, errors.New("delta bundles are not supported: serve a snapshot bundle")
	}

	// The modules, as OPA's reader parses them.
	popts := r.ParserOptions()
	popts.RegoVersion = b.RegoVersion(popts.EffectiveRegoVersion())
	if cache == nil {
		cache = NewModuleCache()
	}
	keep := make(map[moduleKey]*ast.Module, len(modules))
	roots := []string{""}
	if b.Manifest.Roots != nil {
		roots = *b.Manifest.Roots
	}
	for _, f := range modules {
		mpopts := popts
		if v, err := b.RegoVersionForFile(f.path, popts.EffectiveRegoVersion()); err != nil {
			return nil, err
		} else if v != ast.RegoUndefined {
			mpopts.RegoVersion = v
		}
		parsed, err := cache.parse(f.path, f.data, mpopts, keep)
		if err != nil {
			return nil, err
		}
		if err := checkRoots(roots, parsed, f.path); err != nil {
			return nil, err
		}
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: f.url, Path: f.path, RelativePath: f.path, Raw: f.data, Parsed: parsed})
	}
	cache.mu.Lock()
	cache.mods = keep
	cache.mu.Unlock()
	return &b, nil
}

// capture takes a file's bytes from a descriptor. A tarball loader (OPA's
// and NewTarballLoader) holds each file in a bytes.Buffer already, and
// Descriptor.Read hands it over as an io.LimitedReader: capture keeps that
// buffer instead of copying it, which halves what reading a bundle holds at
// its peak. Any other reader is copied.
type capture struct{ b []byte }

func (c *capture) Write(p []byte) (int, error) {
	c.b = append(c.b, p...)
	return len(p), nil
}

func (c *capture) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok && c.b == nil {
		if buf, ok := lr.R.(*bytes.Buffer); ok && int64(buf.Len()) <= lr.N {
			c.b = buf.Bytes()
			return int64(len(c.b)), nil
		}
	}
	var buf bytes.Buffer
	buf.Write(c.b)
	n, err := buf.ReadFrom(r)
	c.b = buf.Bytes()
	return n, err
}

// verifyFiles checks the bundle's signature with keys, then every file's hash
// against it, as OPA's reader does.
func verifyFiles(files []loadedFile, sigs *loadedFile, keys []PublicKey) error {
	if sigs == nil {
		return errors.New("bundle missing .signatures.json file")
	}
	var sc bundle.SignaturesConfig
	if err := util.NewJSONDecoder(bytes.NewReader(sigs.data)).Decode(&sc); err != nil {
		return fmt.Errorf("bundle load failed on signatures decode: %w", err)
	}
	if len(sc.Signatures) == 0 && sc.Plugin == "" {
		return errors.New("bundle missing .signatures.json file")
	}
	vc, err := VerificationConfig(keys)
	if err != nil {
		return err
	}
	signed, err := bundle.VerifyBundleSignature(sc, vc)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := bundle.VerifyBundleFile(strings.TrimPrefix(f.path, "/"), *bytes.NewBuffer(f.data), signed); err != nil {
			return err
		}
	}
	if len(signed) != 0 {
		missing := make([]string, 0, len(signed))
		for p := range signed {
			missing = append(missing, p)
		}
		slices.Sort(missing)
		return fmt.Errorf("file(s) %v specified in bundle signatures but not found in the target bundle", missing)
	}
	return nil
}

// checkRoots refuses a module whose package is outside the manifest's roots,
// as OPA's reader does.
func checkRoots(roots []string, m *ast.Module, path string) error {
	p, err := storage.NewPathForRef(m.Package.Path)
	if err == nil {
		for _, seg := range p {
			// A segment with a "/" cannot be compared with OPA's exported
			// root check; no policy has one, so refuse rather than guess.
			if strings.Contains(seg, "/") {
				return fmt.Errorf("module '%s': package %v has a '/' in a path segment", path, m.Package)
			}
		}
		if bundle.RootPathsContain(roots, strings.Join(p, "/")) {
			return nil
		}
	}
	return fmt.Errorf("manifest roots %v do not permit '%v' in module '%s'", roots, m.Package, path)
}

// memLoader serves files already in memory to OPA's reader.
type memLoader struct {
	files []loadedFile
	next  int
}

func (l *memLoader) NextFile() (*bundle.Descriptor, error) {
	if l.next == len(l.files) {
		return nil, io.EOF
	}
	f := l.files[l.next]
	l.next++
	return bundle.NewDescriptor(f.url, f.path, bytes.NewBuffer(f.data)), nil
}

func (l *memLoader) WithFilter(filter.LoaderFilter) bundle.DirectoryLoader   { return l }
func (l *memLoader) WithPathFormat(bundle.PathFormat) bundle.DirectoryLoader { return l }
func (l *memLoader) WithSizeLimitBytes(int64) bundle.DirectoryLoader         { return l }
func (l *memLoader) WithFollowSymlinks(bool) bundle.DirectoryLoader          { return l }
