package bundles_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/sovereign-engine/sovereign/bundles"
)

type tarFile struct {
	name string
	data []byte
}

// readTar returns a tarball's files in order.
func readTar(tb testing.TB, path string) []tarFile {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return untar(tb, raw)
}

// untar returns the files of a tarball in memory, in order.
func untar(tb testing.TB, raw []byte) []tarFile {
	tb.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []tarFile
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, tarFile{h.Name, b})
	}
}

// tarball lays files out as a bundle tarball in memory.
func tarball(tb testing.TB, files []tarFile) []byte {
	tb.Helper()
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// writeTar writes files as a bundle tarball and returns its path.
func writeTar(tb testing.TB, files []tarFile) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "b.tar.gz")
	if err := os.WriteFile(out, tarball(tb, files), 0o644); err != nil {
		tb.Fatal(err)
	}
	return out
}

func readCachedFile(t *testing.T, path string, keys []bundles.PublicKey, cache *bundles.ModuleCache) (*bundle.Bundle, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return bundles.ReadCached(bundles.NewTarballLoader(f, bundles.DefaultLimits), keys, cache)
}

// readOPA reads a tarball with OPA's own loader and reader: what ReadCached
// and the bounded loader are held to.
func readOPA(t *testing.T, path string, keys []bundles.PublicKey) (*bundle.Bundle, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return bundles.ReadFrom(bundle.NewTarballLoader(f), keys)
}

// sameBundle fails unless the two reads are the same bundle.
func sameBundle(t *testing.T, want, got *bundle.Bundle) {
	t.Helper()
	if !want.Manifest.Equal(got.Manifest) || !reflect.DeepEqual(want.Manifest.Metadata, got.Manifest.Metadata) {
		t.Errorf("manifest differs:\n%v\n%v", want.Manifest, got.Manifest)
	}
	if !reflect.DeepEqual(want.Data, got.Data) {
		t.Errorf("data differs")
	}
	if len(want.Modules) != len(got.Modules) {
		t.Fatalf("%d modules, want %d", len(got.Modules), len(want.Modules))
	}
	for i, w := range want.Modules {
		g := got.Modules[i]
		if w.URL != g.URL || w.Path != g.Path || w.RelativePath != g.RelativePath || !bytes.Equal(w.Raw, g.Raw) {
			t.Errorf("module %d: %s %s %s, want %s %s %s", i, g.URL, g.Path, g.RelativePath, w.URL, w.Path, w.RelativePath)
		}
		if !w.Parsed.Equal(g.Parsed) {
			t.Errorf("module %s parsed differently", w.Path)
		}
		if len(w.Parsed.Annotations) != len(g.Parsed.Annotations) {
			t.Errorf("module %s: %d annotations, want %d", w.Path, len(g.Parsed.Annotations), len(w.Parsed.Annotations))
		}
	}
	dw, err1 := bundles.Digest(want)
	dg, err2 := bundles.Digest(got)
	if err1 != nil || err2 != nil || dw != dg {
		t.Errorf("digest %s (%v), want %s (%v)", dg, err2, dw, err1)
	}
}

// TestReadCachedIsOPAsRead holds ReadCached and the bounded tarball loader to
// OPA's loader and reader: the same bundle from the same bytes, and a refusal
// wherever OPA refuses.
func TestReadCachedIsOPAsRead(t *testing.T) {
	kp := ecKeys(t)
	other := ecKeys(t)
	signed := build(t, bundles.BuildOptions{Revision: "r-diff", SigningKey: kp.priv})
	files := readTar(t, signed)
	change := func(f func([]tarFile) []tarFile) string {
		return writeTar(t, f(append([]tarFile(nil), files...)))
	}
	isModule := func(f tarFile) bool { return strings.HasSuffix(f.name, ".rego") }

	accepted := map[string]struct {
		path string
		keys []bundles.PublicKey
	}{
		"signed, verified":   {signed, key(t, kp.pub)},
		"signed, unverified": {signed, nil},
		"rego v0 by manifest": {writeTar(t, []tarFile{
			{"/.manifest", []byte(`{"revision":"v0","roots":["legacy"],"rego_version":0}`)},
			{"/legacy/p.rego", []byte("package legacy\n\n# METADATA\n# title: old\nallow { input.x == 1 }\n")},
			{"/legacy/data.json", []byte(`{"k":[1,2]}`)},
		}), nil},
		"rego version per file": {writeTar(t, []tarFile{
			{"/.manifest", []byte(`{"revision":"mixed","roots":["a","b"],"file_rego_versions":{"/a/*.rego":0}}`)},
			{"/a/p.rego", []byte("package a\nallow { true }\n")},
			{"/b/p.rego", []byte("package b\nallow if { true }\n")},
		}), nil},
	}
	for name, c := range accepted {
		t.Run("accepts/"+name, func(t *testing.T) {
			want, err := readOPA(t, c.path, c.keys)
			if err != nil {
				t.Fatalf("OPA's reader refused it: %v", err)
			}
			got, err := readCachedFile(t, c.path, c.keys, bundles.NewModuleCache())
			if err != nil {
				t.Fatalf("ReadCached refused it: %v", err)
			}
			sameBundle(t, want, got)
		})
	}

	refused := map[string]struct {
		path string
		keys []bundles.PublicKey
		want string // in ReadCached's error
	}{
		"another key":    {signed, key(t, other.pub), "verify"},
		"unsigned, keys": {build(t, bundles.BuildOptions{}), key(t, kp.pub), "missing .signatures.json"},
		"module tampered": {change(func(fs []tarFile) []tarFile {
			for i := range fs {
				if isModule(fs[i]) {
					fs[i].data = append(bytes.Clone(fs[i].data), '\n')
					break
				}
			}
			return fs
		}), key(t, kp.pub), "digest mismatch"},
		"manifest tampered": {change(func(fs []tarFile) []tarFile {
			for i := range fs {
				if fs[i].name == "/.manifest" {
					fs[i].data = bytes.Replace(fs[i].data, []byte("r-diff"), []byte("r-evil"), 1)
				}
			}
			return fs
		}), key(t, kp.pub), "digest mismatch"},
		"signed module missing": {change(func(fs []tarFile) []tarFile {
			for i := range fs {
				if isModule(fs[i]) {
					return append(fs[:i], fs[i+1:]...)
				}
			}
			return fs
		}), key(t, kp.pub), "not found in the target bundle"},
		"unsigned module added": {change(func(fs []tarFile) []tarFile {
			return append(fs, tarFile{"/sovereign/extra.rego", []byte("package sovereign.extra\nx := 1\n")})
		}), key(t, kp.pub), "not included in bundle signature"},
		"two signature files": {change(func(fs []tarFile) []tarFile {
			for _, f := range fs {
				if strings.HasSuffix(f.name, ".signatures.json") {
					return append(fs, tarFile{"/x/.signatures.json", f.data})
				}
			}
			return fs
		}), key(t, kp.pub), "multiple signatures files"},
		"module outside the roots": {writeTar(t, []tarFile{
			{"/.manifest", []byte(`{"revision":"r","roots":["sovereign"]}`)},
			{"/other/p.rego", []byte("package other\nx := 1\n")},
		}), nil, "do not permit"},
		"syntax error": {writeTar(t, []tarFile{
			{"/.manifest", []byte(`{"revision":"r"}`)},
			{"/p.rego", []byte("package p\nx := \n")},
		}), nil, "rego_parse_error"},
		"bad data": {writeTar(t, []tarFile{
			{"/.manifest", []byte(`{"revision":"r"}`)},
			{"/d/data.json", []byte(`{"a":`)},
		}), nil, "data.json"},
		"data outside the roots": {writeTar(t, []tarFile{
			{"/.manifest", []byte(`{"revision":"r","roots":["a"]}`)},
			{"/b/data.json", []byte(`{"x":1}`)},
		}), nil, "roots"},
	}
	for name, c := range refused {
		t.Run("refuses/"+name, func(t *testing.T) {
			if _, err := readOPA(t, c.path, c.keys); err == nil {
				t.Fatal("test case is wrong: OPA's reader accepts it")
			}
			_, err := readCachedFile(t, c.path, c.keys, bundles.NewModuleCache())
			if err == nil {
				t.Fatal("ReadCached accepted it")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// TestReadCachedReusesUnchangedModules: a second version re-parses only what
// changed, and what a reader does to a bundle it got does not reach the next.
func TestReadCachedReusesUnchangedModules(t *testing.T) {
	first := writeTar(t, []tarFile{
		{"/.manifest", []byte(`{"revision":"1"}`)},
		{"/a.rego", []byte("package a\nx := 1\n")},
		{"/b.rego", []byte("package b\ny := 2\n")},
	})
	second := writeTar(t, []tarFile{
		{"/.manifest", []byte(`{"revision":"2"}`)},
		{"/a.rego", []byte("package a\nx := 1\n")},
		{"/b.rego", []byte("package b\ny := 3\n")},
	})
	cache := bundles.NewModuleCache()
	b1, err := readCachedFile(t, first, nil, cache)
	if err != nil {
		t.Fatal(err)
	}
	// A caller rewriting its copy must not change what the cache gives next.
	b1.Modules[0].Parsed.Rules[0].Head.Value = ast.IntNumberTerm(99)
	b2, err := readCachedFile(t, second, nil, cache)
	if err != nil {
		t.Fatal(err)
	}
	want, err := bundles.Read(second, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameBundle(t, want, b2)
	names := []string{}
	for _, m := range b2.Modules {
		names = append(names, m.Path+"="+m.Parsed.Rules[0].Head.Value.String())
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "/a.rego=1,/b.rego=3" {
		t.Errorf("modules %s", got)
	}
	if reused, parsed := cache.Stats(); reused != 1 || parsed != 3 {
		t.Errorf("reused %d, parsed %d modules; want 1 reused (a.rego) and 3 parsed", reused, parsed)
	}
}

// BenchmarkReadBundle: what reading the full library costs the server, with
// OPA's reader (every module parsed on its own goroutine) and with ReadCached
// (one goroutine), cold, and warm with one module changed as in a swap.
func BenchmarkReadBundle(b *testing.B) {
	var buf bytes.Buffer
	if err := bundles.Build(context.Background(), policyDir, &buf, bundles.BuildOptions{}); err != nil {
		b.Fatal(err)
	}
	raw := buf.Bytes()
	// OPAReader is OPA's loader and reader; the cached reads go through the
	// bounded loader, as the server's do.
	loader := func() bundle.DirectoryLoader {
		return bundles.NewTarballLoader(bytes.NewReader(raw), bundles.DefaultLimits)
	}
	b.Run("OPAReader", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bundles.ReadFrom(bundle.NewTarballLoader(bytes.NewReader(raw)), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Cached/Cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bundles.ReadCached(loader(), nil, bundles.NewModuleCache()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Cached/OneModuleChanged", func(b *testing.B) {
		cache := bundles.NewModuleCache()
		if _, err := bundles.ReadCached(loader(), nil, cache); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			b.StopTimer()
			files := append(untar(b, raw), tarFile{"/sovereign/swapmark.rego", fmt.Appendf(nil, "package sovereign.swapmark\n\nrevision := \"swap-%d\"\n", i)})
			swapped := tarball(b, files)
			b.StartTimer()
			if _, err := bundles.ReadCached(bundles.NewTarballLoader(bytes.NewReader(swapped), bundles.DefaultLimits), nil, cache); err != nil {
				b.Fatal(err)
			}
		}
	})
}
