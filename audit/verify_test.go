package audit

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"k8s.io/klog/v2"
)

// fixtureSize spans two entry bundles and a level-1 tile: tile/0/000,
// tile/0/001.p/44, tile/1/000.p/1, tile/entries/000, tile/entries/001.p/44.
const fixtureSize = 300

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureErr  error
)

// fixture builds one closed 300-entry log shared by the read-only tests;
// tests that tamper with it work on a copy.
func fixture(t *testing.T) string {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "audit-fixture-")
		if err != nil {
			fixtureErr = err
			return
		}
		l, err := Open(context.Background(), Options{DataDir: dir, Origin: "sovereign/fixture"})
		if err != nil {
			fixtureErr = err
			return
		}
		appendN(t, l, fixtureSize, 32)
		fixtureErr = l.Close(context.Background())
		fixtureDir = dir
	})
	if fixtureErr != nil {
		t.Fatalf("fixture: %v", fixtureErr)
	}
	return fixtureDir
}

func TestMain(m *testing.M) {
	// Tessera logs through klog; keep test and benchmark output readable.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// copyDir copies a data directory so a test may damage it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "data")
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestFixtureLayout(t *testing.T) {
	dir := fixture(t)
	for _, p := range []string{"checkpoint", "tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1", "tile/entries/000", "tile/entries/001.p/44"} {
		if _, err := os.Stat(filepath.Join(dir, LogDir, p)); err != nil {
			t.Errorf("expected %s: %v", p, err)
		}
	}
}

// TestTesseraClients reads the log with Tessera's own client, from disk and
// over HTTP through Handler.
func TestTesseraClients(t *testing.T) {
	dir := fixture(t)
	keys, v := auditorKeys(t, dir)
	srv := httptest.NewServer(http.StripPrefix("/v1/audit/log", TileHandler(filepath.Join(dir, LogDir))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/v1/audit/log/")
	httpFetcher, err := client.NewHTTPFetcher(u, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, src := range map[string]Source{
		"file": client.FileFetcher{Root: filepath.Join(dir, LogDir)},
		"http": httpFetcher,
	} {
		t.Run(name, func(t *testing.T) {
			cp, _, _, err := client.FetchCheckpoint(ctx, src.ReadCheckpoint, v, v.Name())
			if err != nil {
				t.Fatal(err)
			}
			if cp.Size != fixtureSize {
				t.Fatalf("checkpoint size %d", cp.Size)
			}
			bundle, err := client.GetEntryBundle(ctx, src.ReadEntryBundle, 1, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if len(bundle.Entries) != fixtureSize-256 {
				t.Fatalf("bundle 1 has %d entries", len(bundle.Entries))
			}
			pb, err := client.NewProofBuilder(ctx, cp.Size, src.ReadTile)
			if err != nil {
				t.Fatal(err)
			}
			for _, idx := range []uint64{0, 255, 256, fixtureSize - 1} {
				entry, err := ReadEntry(ctx, src, idx, cp.Size)
				if err != nil {
					t.Fatal(err)
				}
				p, err := pb.InclusionProof(ctx, idx)
				if err != nil {
					t.Fatal(err)
				}
				if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, cp.Size, rfc6962.DefaultHasher.HashLeaf(entry), p, cp.Hash); err != nil {
					t.Errorf("inclusion of %d: %v", idx, err)
				}
			}
			sum, err := VerifyLog(ctx, src, keys, v, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.TreeSize != fixtureSize || sum.Kinds[KindPlacement] != fixtureSize {
				t.Errorf("summary %+v", sum)
			}
			n := 0
			for e, err := range Entries(ctx, src, cp.Size, 250, 260) {
				if err != nil {
					t.Fatal(err)
				}
				if e.Index != uint64(250+n) {
					t.Errorf("Entries yielded index %d, want %d", e.Index, 250+n)
				}
				n++
			}
			if n != 10 {
				t.Errorf("Entries yielded %d entries, want 10", n)
			}
		})
	}
}

func TestTileHandlerServesOnlyTheLayout(t *testing.T) {
	dir := fixture(t)
	srv := httptest.NewServer(TileHandler(filepath.Join(dir, LogDir)))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
		cache        string
	}{
		{"GET", "/checkpoint", 200, "no-cache"},
		{"HEAD", "/checkpoint", 200, "no-cache"},
		{"GET", "/tile/0/000", 200, "immutable"},
		{"GET", "/tile/0/001.p/44", 200, "no-cache"},
		{"GET", "/tile/entries/000", 200, "immutable"},
		{"GET", "/tile/entries/002", 404, ""},
		{"GET", "/.state/treeState", 404, ""},
		{"GET", "/tile/../.state/treeState", 404, ""},
		{"GET", "/tile/0/0", 404, ""},
		{"GET", "/tile/0/000.p/0", 404, ""},
		{"GET", "/tile/64/000", 404, ""},
		{"GET", "/", 404, ""},
		{"POST", "/checkpoint", 405, ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		if tc.cache != "" && !strings.Contains(resp.Header.Get("Cache-Control"), tc.cache) {
			t.Errorf("%s %s Cache-Control %q, want %q", tc.method, tc.path, resp.Header.Get("Cache-Control"), tc.cache)
		}
	}
}

// readBundle returns the entries of a bundle file.
func readBundle(t *testing.T, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := splitBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func writeBundle(t *testing.T, path string, entries [][]byte) {
	t.Helper()
	var raw []byte
	for _, e := range entries {
		raw = binary.BigEndian.AppendUint16(raw, uint16(len(e)))
		raw = append(raw, e...)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// entryOffset is the byte offset of entry i's data in a bundle file.
func entryOffset(entries [][]byte, i int) int {
	off := 0
	for _, e := range entries[:i] {
		off += 2 + len(e)
	}
	return off + 2
}

func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	setByte(t, path, off, func(b byte) byte { return b ^ 0x01 })
}

func setByte(t *testing.T, path string, off int, change func(byte) byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[off] = change(raw[off])
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyTamper damages a copy of the log in one way each and checks that
// VerifyLog names the first failing index and the check that caught it.
func TestVerifyTamper(t *testing.T) {
	base := fixture(t)
	bundle0 := filepath.Join(LogDir, "tile", "entries", "000")
	bundle1 := filepath.Join(LogDir, "tile", "entries", "001.p", "44")
	cases := []struct {
		name      string
		tamper    func(t *testing.T, dir string)
		wantIndex int64
		wantWhat  string
	}{
		{
			name: "byte flipped in an entry's record",
			tamper: func(t *testing.T, dir string) {
				p := filepath.Join(dir, bundle0)
				entries := readBundle(t, p)
				// Inside the record's "principal" value, so the JSON stays valid.
				off := entryOffset(entries, 5) + strings.Index(string(entries[5]), "acme")
				flipByte(t, p, off)
			},
			wantIndex: 5, wantWhat: FailLeafHash + "+" + FailSignature,
		},
		{
			name: "byte flipped in an entry's signature",
			tamper: func(t *testing.T, dir string) {
				p := filepath.Join(dir, bundle1)
				entries := readBundle(t, p)
				off := entryOffset(entries, 10) + strings.Index(string(entries[10]), `"signature":"`) + len(`"signature":"`) + 3
				// Swap in another base64 letter, so the envelope still parses and
				// only the signature check can catch it (a bit flip may leave the
				// base64 alphabet, depending on the random key).
				setByte(t, p, off, func(b byte) byte {
					if b == 'A' {
						return 'B'
					}
					return 'A'
				})
			},
			wantIndex: 266, wantWhat: FailLeafHash + "+" + FailSignature,
		},
		{
			name: "byte flipped in a level-0 tile",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, LogDir, "tile", "0", "000"), 9*32+3)
			},
			wantIndex: 9, wantWhat: FailLeafHash,
		},
		{
			name: "byte flipped in a level-1 tile",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, LogDir, "tile", "1", "000.p", "1"), 17)
			},
			wantIndex: 0, wantWhat: FailTile,
		},
		{
			name: "byte flipped in the checkpoint",
			tamper: func(t *testing.T, dir string) {
				p := filepath.Join(dir, LogDir, "checkpoint")
				raw, _ := os.ReadFile(p)
				lines := strings.SplitN(string(raw), "\n", 4) // origin, size, root, …
				flipByte(t, p, len(lines[0])+1+len(lines[1])+1+5)
			},
			wantIndex: -1, wantWhat: FailCheckpoint,
		},
		{
			name: "entry bundle truncated",
			tamper: func(t *testing.T, dir string) {
				p := filepath.Join(dir, bundle0)
				entries := readBundle(t, p)
				cut := entryOffset(entries, 100) + 10 // mid-entry 100
				raw, _ := os.ReadFile(p)
				if err := os.WriteFile(p, raw[:cut], 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantIndex: 100, wantWhat: FailEntryBundle,
		},
		{
			name: "last entries dropped at an entry boundary",
			tamper: func(t *testing.T, dir string) {
				p := filepath.Join(dir, bundle1)
				writeBundle(t, p, readBundle(t, p)[:40])
			},
			wantIndex: 296, wantWhat: FailEntryBundle,
		},
		{
			name: "entry bundle deleted",
			tamper: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, bundle1)); err != nil {
					t.Fatal(err)
				}
			},
			wantIndex: 256, wantWhat: FailEntryBundle,
		},
		{
			name: "two entries swapped",
			tamper: func(t *testing.T, dir string) {
				p := filepath.Join(dir, bundle0)
				entries := readBundle(t, p)
				entries[3], entries[7] = entries[7], entries[3]
				writeBundle(t, p, entries)
			},
			wantIndex: 3, wantWhat: FailLeafHash,
		},
		{
			name: "entry removed, the rest shifted down",
			tamper: func(t *testing.T, dir string) {
				p := filepath.Join(dir, bundle1)
				entries := readBundle(t, p)
				writeBundle(t, p, append(entries[:20:20], entries[21:]...))
			},
			wantIndex: 256 + 20, wantWhat: FailLeafHash,
		},
		{
			name: "entry replaced by a validly signed one from elsewhere",
			tamper: func(t *testing.T, dir string) {
				p := filepath.Join(dir, bundle0)
				entries := readBundle(t, p)
				entries[42] = entries[41]
				writeBundle(t, p, entries)
			},
			wantIndex: 42, wantWhat: FailLeafHash,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, base)
			keys, v := auditorKeys(t, dir)
			src, err := NewSource(dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyLog(context.Background(), src, keys, v, nil); err != nil {
				t.Fatalf("copy does not verify before tampering: %v", err)
			}
			tc.tamper(t, dir)
			_, err = VerifyLog(context.Background(), src, keys, v, nil)
			if err == nil {
				t.Fatal("tampered log verifies")
			}
			ve := asVerifyError(t, err)
			if ve.Index != tc.wantIndex || ve.What != tc.wantWhat {
				t.Errorf("got index %d %q, want index %d %q: %v", ve.Index, ve.What, tc.wantIndex, tc.wantWhat, err)
			}
			t.Log(err)
		})
	}
}

func TestVerifyPin(t *testing.T) {
	dir := copyDir(t, fixture(t))
	keys, v := auditorKeys(t, dir)
	ctx := context.Background()
	cpPath := filepath.Join(dir, LogDir, "checkpoint")
	oldRaw, err := os.ReadFile(cpPath)
	if err != nil {
		t.Fatal(err)
	}
	old, err := ParseCheckpoint(oldRaw, v)
	if err != nil {
		t.Fatal(err)
	}

	// The log grows past the pin.
	l := openTest(t, dir, func(o *Options) { o.Origin = "" })
	appendN(t, l, 20, 4)
	closeTest(t, l)
	src, _ := NewSource(dir)
	sum, err := VerifyLog(ctx, src, keys, v, old)
	if err != nil {
		t.Fatalf("grown log against its earlier checkpoint: %v", err)
	}
	if sum.PinnedSize != fixtureSize || sum.TreeSize != fixtureSize+20 {
		t.Errorf("summary %+v", sum)
	}
	newRaw, _ := os.ReadFile(cpPath)
	newer, err := ParseCheckpoint(newRaw, v)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("rolled back", func(t *testing.T) {
		// The old, validly signed checkpoint is served again: the auditor
		// who pinned the newer one notices.
		rolled := copyDir(t, dir)
		if err := os.WriteFile(filepath.Join(rolled, LogDir, "checkpoint"), oldRaw, 0o644); err != nil {
			t.Fatal(err)
		}
		src, _ := NewSource(rolled)
		_, err := VerifyLog(ctx, src, keys, v, newer)
		ve := asVerifyError(t, err)
		if ve.What != FailPin || ve.Index != fixtureSize {
			t.Errorf("got %v, want pin failure at %d", err, fixtureSize)
		}
	})

	t.Run("history rewritten", func(t *testing.T) {
		// A second log with the same keys but other records: its checkpoint
		// is validly signed, yet this log does not extend it.
		fork := copyDir(t, dir)
		os.RemoveAll(filepath.Join(fork, LogDir))
		l := openTest(t, fork, func(o *Options) { o.Origin = "" })
		appendN(t, l, 10, 1)
		closeTest(t, l)
		forkRaw, _ := os.ReadFile(filepath.Join(fork, LogDir, "checkpoint"))
		forkCP, err := ParseCheckpoint(forkRaw, v)
		if err != nil {
			t.Fatal(err)
		}
		_, err = VerifyLog(ctx, src, keys, v, forkCP)
		ve := asVerifyError(t, err)
		if ve.What != FailPin || ve.Index != -1 {
			t.Errorf("got %v, want pin failure", err)
		}
	})

	t.Run("pin of another log", func(t *testing.T) {
		other := t.TempDir()
		l := openTest(t, other, func(o *Options) { o.Origin = "sovereign/elsewhere" })
		closeTest(t, l)
		_, ov := auditorKeys(t, other)
		raw, _ := os.ReadFile(filepath.Join(other, LogDir, "checkpoint"))
		otherCP, err := ParseCheckpoint(raw, ov)
		if err != nil {
			t.Fatal(err)
		}
		_, err = VerifyLog(ctx, src, keys, v, otherCP)
		if ve := asVerifyError(t, err); ve.What != FailPin {
			t.Errorf("got %v, want pin failure", err)
		}
	})
}

func TestVerifyWrongKeys(t *testing.T) {
	dir := fixture(t)
	keys, _ := auditorKeys(t, dir)
	other := t.TempDir()
	closeTest(t, openTest(t, other, func(o *Options) { o.Origin = "sovereign/fixture" }))
	otherKeys, otherV := auditorKeys(t, other)
	src, _ := NewSource(dir)

	_, err := VerifyLog(context.Background(), src, keys, otherV, nil)
	if ve := asVerifyError(t, err); ve.What != FailCheckpoint || ve.Index != -1 {
		t.Errorf("checkpoint under another log key: %v", err)
	}
	_, v := auditorKeys(t, dir)
	_, err = VerifyLog(context.Background(), src, otherKeys, v, nil)
	if ve := asVerifyError(t, err); ve.What != FailSignature || ve.Index != 0 {
		t.Errorf("records under another signing key: %v", err)
	}
	if !errors.As(err, new(*VerifyError)) {
		t.Error("not a VerifyError")
	}
}

func TestLayoutAssumptions(t *testing.T) {
	// The tamper cases above rely on these paths.
	if got := layout.EntriesPath(1, 44); got != "tile/entries/001.p/44" {
		t.Fatal(got)
	}
	if got := layout.TilePath(1, 0, 1); got != "tile/1/000.p/1" {
		t.Fatal(got)
	}
}

func TestVerifyEmptyLog(t *testing.T) {
	dir := t.TempDir()
	closeTest(t, openTest(t, dir))
	keys, v := auditorKeys(t, dir)
	src, err := NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := VerifyLog(context.Background(), src, keys, v, nil)
	if err != nil || sum.TreeSize != 0 {
		t.Errorf("empty log: %+v, %v", sum, err)
	}
}

// TestVerifyProgress: VerifyLog reports its progress up to the whole tree.
func TestVerifyProgress(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	appendN(t, l, 600, 8)
	closeTest(t, l)
	pubs, v := auditorKeys(t, dir)
	src, err := NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	var last, total uint64
	ctx := WithProgress(context.Background(), func(done, tot uint64) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		calls, last, total = calls+1, done, tot
	})
	if _, err := VerifyLog(ctx, src, pubs, v, nil); err != nil {
		t.Fatal(err)
	}
	if calls < 3 || last != 600 || total != 600 {
		t.Errorf("progress: %d calls, last %d of %d; want several, ending at 600 of 600", calls, last, total)
	}
}

// preTenantLog is a data directory written before records named their
// tenants (testdata/audit/prechange-log/README.md).
const preTenantLog = "../testdata/audit/prechange-log"

// TestVerifyPreTenantLog: a log written before records carried "tenants"
// verifies as it did, with the keys it was written with.
func TestVerifyPreTenantLog(t *testing.T) {
	keys, v := auditorKeys(t, preTenantLog)
	src, err := NewSource(preTenantLog)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := VerifyLog(context.Background(), src, keys, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.TreeSize != 12 || sum.Kinds[KindPlacement] != 6 || sum.Kinds[KindAccessDenied] != 2 {
		t.Errorf("summary %+v", sum)
	}
}
