package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/internal/rss"
)

// bundleServer serves dir's bundle files alone (no engine, no log).
func bundleServer(t testing.TB, dir string) (*httptest.Server, *bundleFiles) {
	t.Helper()
	b, err := newBundleFiles(dir, make(chan struct{}))
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/v1/bundles/:name", b.serve)
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	return ts, b
}

func getBundle(t testing.TB, url string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Only regular files inside the directory are served: a symlink out of it
// (one served /etc/passwd), a FIFO (it blocked the handler and the
// shutdown), a directory and a device are "no such bundle"; a symlink that
// stays inside is followed.
func TestBundleFilesServesRegularFilesInsideOnly(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(outside, []byte("root:x:0:0"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "site.tar.gz"), []byte("bundle v1"), 0o644))
	must(t, os.Symlink(outside, filepath.Join(dir, "escape.tar.gz")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")))
	must(t, os.Symlink("site.tar.gz", filepath.Join(dir, "latest.tar.gz")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo.tar.gz"), 0o644))
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.tar.gz")))
	ts, _ := bundleServer(t, dir)

	for _, name := range []string{"escape.tar.gz", "passwd", "fifo.tar.gz", "sub", "zero.tar.gz", "missing.tar.gz", "..", ".hidden"} {
		status, _, body := getBundle(t, ts.URL+"/v1/bundles/"+name)
		if status != http.StatusNotFound {
			t.Errorf("%s: %d %q, want 404", name, status, body)
		}
	}
	for _, name := range []string{"site.tar.gz", "latest.tar.gz"} {
		status, hdr, body := getBundle(t, ts.URL+"/v1/bundles/"+name)
		if status != http.StatusOK || string(body) != "bundle v1" || hdr.Get("ETag") != strconv.Quote(sha(body)) {
			t.Errorf("%s: %d %q ETag %s", name, status, body, hdr.Get("ETag"))
		}
		if ct := hdr.Get("Content-Type"); ct != "application/vnd.openpolicyagent.bundles" {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
	}
}

// A file is hashed once per change, not per request; 304 answers an
// If-None-Match of the current version; a held poll answers with the new
// version once the file is replaced, and 304 when its wait ends unchanged.
func TestBundleFilesETagAndLongPoll(t *testing.T) {
	defer func(d time.Duration) { longPollInterval = d }(longPollInterval)
	longPollInterval = 10 * time.Millisecond
	dir := t.TempDir()
	path := filepath.Join(dir, "site.tar.gz")
	must(t, os.WriteFile(path, []byte("bundle v1"), 0o644))
	ts, b := bundleServer(t, dir)
	url := ts.URL + "/v1/bundles/site.tar.gz"
	v1 := sha([]byte("bundle v1"))
	for range 5 {
		if status, _, _ := getBundle(t, url, "If-None-Match", strconv.Quote(v1)); status != http.StatusNotModified {
			t.Fatalf("If-None-Match of the current version: %d, want 304", status)
		}
	}
	if status, _, _ := getBundle(t, url, "If-None-Match", strconv.Quote(v1), "Prefer", "wait=1"); status != http.StatusNotModified {
		t.Fatalf("held poll, unchanged: %d, want 304", status)
	}
	if n := b.hashed.Load(); n != 1 {
		t.Fatalf("hashed %d times for one version, want 1", n)
	}

	type answer struct {
		status int
		hdr    http.Header
		body   []byte
	}
	held := make(chan answer, 1)
	go func() {
		s, h, body := getBundle(t, url, "If-None-Match", strconv.Quote(v1), "Prefer", "wait=30")
		held <- answer{s, h, body}
	}()
	time.Sleep(100 * time.Millisecond) // let the poll be held
	tmp := filepath.Join(dir, ".new")
	must(t, os.WriteFile(tmp, []byte("bundle v2"), 0o644))
	must(t, os.Rename(tmp, path))
	a := <-held
	if a.status != http.StatusOK || string(a.body) != "bundle v2" || a.hdr.Get("ETag") != strconv.Quote(sha([]byte("bundle v2"))) {
		t.Fatalf("held poll after the change: %d %q %s", a.status, a.body, a.hdr.Get("ETag"))
	}
	if n := b.hashed.Load(); n != 2 {
		t.Fatalf("hashed %d times for two versions, want 2", n)
	}
}

// Shutting the server down releases held polls (with 304) instead of waiting
// out their Prefer: wait.
func TestBundleLongPollEndsAtShutdown(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "site.tar.gz"), []byte("bundle v1"), 0o644))
	b, err := newBundleFiles(dir, make(chan struct{}))
	must(t, err)
	s := &Server{stopping: make(chan struct{})}
	b.stopping = s.stopping
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/v1/bundles/:name", b.serve)
	s.router = r
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 10*time.Second) }()
	got := make(chan int, 1)
	go func() {
		status, _, _ := getBundle(t, "http://"+ln.Addr().String()+"/v1/bundles/site.tar.gz",
			"If-None-Match", strconv.Quote(sha([]byte("bundle v1"))), "Prefer", "wait=50")
		got <- status
	}()
	time.Sleep(200 * time.Millisecond) // let the poll be held
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve with a held poll: %v (the poll held the shutdown past its drain)", err)
	}
	if status := <-got; status != http.StatusNotModified {
		t.Fatalf("held poll at shutdown: %d, want 304", status)
	}
}

// Many long polls and downloads of a large bundle hold a bounded amount of
// memory: a stat per held poll and a copy buffer per download, not a copy of
// the file each (30 held polls of a 50 MB bundle took 1.56 GB before).
func TestBundleServingMemoryIsBounded(t *testing.T) {
	const size = 64 << 20
	const polls, downloads = 30, 10
	res := rss.Measure(t, func() error {
		dir, err := os.MkdirTemp("", "bundles")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		f, err := os.Create(filepath.Join(dir, "big.tar.gz"))
		if err != nil {
			return err
		}
		// A sparse file: its size costs no memory to make.
		if err := f.Truncate(size); err != nil {
			return err
		}
		f.Close()
		ts, _ := bundleServer(t, dir)
		url := ts.URL + "/v1/bundles/big.tar.gz"
		_, hdr, _ := getBundleDiscard(url)
		etag := hdr.Get("ETag")
		var wg sync.WaitGroup
		errs := make(chan error, polls+downloads)
		for i := range polls + downloads {
			wg.Go(func() {
				h := []string{"If-None-Match", etag, "Prefer", "wait=2"}
				if i >= polls {
					h = nil
				}
				status, _, n := getBundleDiscard(url, h...)
				switch {
				case i < polls && status != http.StatusNotModified:
					errs <- fmt.Errorf("held poll: %d", status)
				case i >= polls && (status != http.StatusOK || n != size):
					errs <- fmt.Errorf("download: %d, %d bytes", status, n)
				}
			})
		}
		wg.Wait()
		close(errs)
		return <-errs
	})
	if res.Err != "" {
		t.Fatal(res.Err)
	}
	t.Logf("%d held polls and %d downloads of a %d MiB bundle: peak RSS growth %d MiB", polls, downloads, size>>20, res.PeakGrowth>>20)
	if res.PeakGrowth > 32<<20 {
		t.Errorf("peak RSS growth %d MiB, want under 32 MiB (one copy of the bundle is %d MiB)", res.PeakGrowth>>20, size>>20)
	}
}

// getBundleDiscard is getBundle without keeping the body (the child of an
// RSS measurement must not hold what it checks).
func getBundleDiscard(url string, hdr ...string) (int, http.Header, int64) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, 0
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, 0
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header, n
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
