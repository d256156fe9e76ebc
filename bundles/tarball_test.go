package bundles_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/internal/rss"
)

// member is one tar entry of a hostile archive: size bytes of zeros (which
// gzip shrinks a thousandfold), or body when given; declared overrides the
// size the header claims.
type member struct {
	name     string
	typ      byte
	size     int64
	body     []byte
	declared int64
}

// bomb writes members as a gzipped tar, streaming the zeros so that building
// a bomb costs the test no memory.
func bomb(tb testing.TB, members ...member) []byte {
	tb.Helper()
	var buf bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gw)
	for _, m := range members {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := m.size
		if m.body != nil {
			size = int64(len(m.body))
		}
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: size, Typeflag: typ}
		if m.declared > 0 {
			h.Size = m.declared
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		var r io.Reader = io.LimitReader(zeros{}, size)
		if m.body != nil {
			r = bytes.NewReader(m.body)
		}
		if _, err := io.Copy(tw, r); err != nil && m.declared == 0 {
			tb.Fatal(err)
		}
	}
	if err := tw.Flush(); err != nil && !errors.Is(err, tar.ErrWriteTooLong) {
		// A header that declares more than was written leaves the archive
		// short: that is the point of the case.
		tb.Log(err)
	}
	gw.Close()
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

const mib = 1 << 20

var manifest = member{name: "/.manifest", body: []byte(`{"revision":"bomb"}`)}

// TestTarballLoaderRefusesBombs: each hostile archive is refused with
// ErrTooLarge (or a read error), by the loader every bundle read goes through.
func TestTarballLoaderRefusesBombs(t *testing.T) {
	over := bundles.DefaultLimits.MaxTotalBytes + mib
	cases := map[string]struct {
		archive []byte
		want    string
	}{
		"one file over the limit": {bomb(t, manifest, member{name: "/data.json", size: over}), "declares"},
		"files that add up over the limit": {bomb(t, manifest,
			member{name: "/a/data.json", size: 30 * mib}, member{name: "/b/data.json", size: 30 * mib},
			member{name: "/c/data.json", size: 30 * mib}), "inflate to more than"},
		"too many files": {bomb(t, func() []member {
			ms := []member{manifest}
			for i := range bundles.DefaultLimits.MaxFiles + 1 {
				ms = append(ms, member{name: fmt.Sprintf("/f%d/data.json", i), body: []byte("{}")})
			}
			return ms
		}()...), "more than 10000 files"},
		"a skipped member that inflates": {bomb(t, manifest,
			member{name: "/x", typ: 'Z', size: 2 * over}), "the archive inflates to more than"},
		"a header that claims more than the body": {bomb(t, manifest,
			member{name: "/data.json", body: []byte("{}"), declared: 40 * mib}), "unexpected EOF"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := bundles.ReadCached(bundles.NewTarballLoader(bytes.NewReader(c.archive), bundles.DefaultLimits), nil, nil)
			if err == nil {
				t.Fatal("read a hostile bundle")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			// The CLI's reader and the test child's go through the same loader.
			path := filepath.Join(t.TempDir(), "b.tar.gz")
			if err := os.WriteFile(path, c.archive, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := bundles.Read(path, nil); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("bundles.Read: %v, want an error saying %q", err, c.want)
			}
		})
	}
}

// TestBundleBombMemoryIsBounded feeds a manager gzip bombs from a file source
// and measures the child's peak memory: unsigned, to a server that requires
// signatures (refused before any file is held), and to one that accepts
// unsigned bundles (refused at the inflated limit). OPA's own loader took a
// server from 82 MB to 3.3 GB on a 600 KB bomb.
func TestBundleBombMemoryIsBounded(t *testing.T) {
	cases := map[string]struct {
		signed bool
		limit  int64
	}{
		"signatures required": {signed: true, limit: 24 * mib},
		"unsigned accepted":   {signed: false, limit: bundles.DefaultLimits.MaxTotalBytes + 32*mib},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			res := rss.Measure(t, func() error {
				// 8 members of 60 MiB: 480 MiB inflated, about 500 KB on disk.
				ms := []member{manifest}
				for i := range 8 {
					ms = append(ms, member{name: fmt.Sprintf("/d%d/data.json", i), size: 60 * mib})
				}
				src := filepath.Join(t.TempDir(), "bomb.tar.gz")
				if err := os.WriteFile(src, bomb(t, ms...), 0o644); err != nil {
					return err
				}
				o := bundles.ManagerOptions{
					Source:   bundles.FileSource{Path: src},
					Activate: (&activations{}).activate,
				}
				if c.signed {
					o.Keys = key(t, ecKeys(t).pub)
				} else {
					o.AllowUnsigned = true
				}
				m, err := bundles.NewManager(o)
				if err != nil {
					return err
				}
				return m.Start(context.Background())
			})
			t.Logf("peak growth %d MiB, error: %s", res.PeakGrowth/mib, res.Err)
			if res.Err == "" {
				t.Fatal("the bomb was activated")
			}
			if !strings.Contains(res.Err, "too large") {
				t.Errorf("refused for another reason: %s", res.Err)
			}
			if res.PeakGrowth > c.limit {
				t.Errorf("peak memory grew %d MiB, limit %d MiB", res.PeakGrowth/mib, c.limit/mib)
			}
		})
	}
}

// TestDirSourceReadsRegularFilesOnly: a bundle directory's version is the
// files OPA's directory loader reads — regular files only — so a FIFO or a
// symbolic link to /dev/zero is skipped, never read or waited on, as the
// loader skips it; a file over the limit refuses the bundle.
func TestDirSourceReadsRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".manifest"), []byte(`{"revision":"d"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package p\nx := 1\n"), 0o644)
	src := bundles.DirSource{Path: dir}
	v0, err := src.Fetch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.json")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := src.Fetch(context.Background(), v0.ETag); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, bundles.ErrNotModified) {
			t.Errorf("a FIFO and a symlink changed the version: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Fetch blocked on a FIFO or read /dev/zero")
	}
	b, err := bundles.ReadCached(v0.Loader(), nil, nil)
	if err != nil || len(b.Modules) != 1 {
		t.Fatalf("the loader read %v, %v", b, err)
	}
	f, _ := os.Create(filepath.Join(dir, "big.json"))
	f.Truncate(bundles.DefaultLimits.MaxFileBytes + 1)
	f.Close()
	if _, err := src.Fetch(context.Background(), ""); !errors.Is(err, bundles.ErrTooLarge) {
		t.Errorf("a file over the limit: %v", err)
	}
}
