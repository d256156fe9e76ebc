package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit/mysqltest"
)

// copyKeys makes dst a replica of src: the same record signing key and log
// key, as docs/operations.md tells operators to do.
func copyKeys(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{SigningKeyFile, SigningPublicKeysFile, LogKeyFile, LogVerifierKeyFile} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Two replicas on one database append concurrently: every record lands once,
// at the index its replica was told, and either replica serves every entry,
// tile and proof of the one log, which verifies as a whole.
func TestMySQLReplicasShareOneLog(t *testing.T) {
	dsn := mysqltest.DSN(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	mysqlOpts := func(o *Options) { o.Backend, o.DSN = BackendMySQL, dsn }
	a := openTest(t, dirA, mysqlOpts)
	defer closeTest(t, a)
	copyKeys(t, dirA, dirB)
	b := openTest(t, dirB, mysqlOpts)
	defer closeTest(t, b)

	const perReplica = 150
	var wg sync.WaitGroup
	receipts := make([][]Receipt, 2)
	for i, l := range []*Log{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			receipts[i] = appendN(t, l, perReplica, 8)
		}()
	}
	wg.Wait()
	seen := map[uint64]string{}
	for _, rs := range receipts {
		for _, r := range rs {
			if prev, dup := seen[r.Index]; dup {
				t.Fatalf("index %d given to two records (%s, %s)", r.Index, prev, r.EntrySHA256)
			}
			seen[r.Index] = r.EntrySHA256
		}
	}
	if len(seen) != 2*perReplica {
		t.Fatalf("%d distinct indexes for %d appends", len(seen), 2*perReplica)
	}
	for _, l := range []*Log{a, b} {
		if n, err := l.Size(context.Background()); err != nil || n != 2*perReplica {
			t.Fatalf("Size = %d, %v; want %d", n, err, 2*perReplica)
		}
	}
	cp := waitPublished(t, b, 2*perReplica)

	// Each replica answers for the other's records, with a proof to the
	// shared checkpoint.
	ctx := context.Background()
	for idx, sum := range seen {
		if idx%37 != 0 {
			continue
		}
		for _, l := range []*Log{a, b} {
			e, err := l.Entry(ctx, idx)
			if err != nil {
				t.Fatalf("Entry(%d): %v", idx, err)
			}
			if e.EntrySHA256 != sum {
				t.Fatalf("entry %d: sha %s, receipt said %s", idx, e.EntrySHA256, sum)
			}
		}
	}
	keys, v := auditorKeys(t, dirA)
	sum, err := VerifyLog(ctx, a.Source(), keys, v, nil)
	if err != nil {
		t.Fatalf("VerifyLog: %v", err)
	}
	if sum.TreeSize < 2*perReplica {
		t.Fatalf("verified %d entries, want at least %d", sum.TreeSize, 2*perReplica)
	}
	// The tile API of both replicas serves the same bytes, and a standard
	// tiles client verifies the log through it.
	srvA, srvB := httptest.NewServer(a.Handler()), httptest.NewServer(b.Handler())
	defer srvA.Close()
	defer srvB.Close()
	for _, p := range []string{"/tile/0/000", "/tile/entries/000", "/tile/1/000.p/1"} {
		ga, gb := get(t, srvA.URL+p), get(t, srvB.URL+p)
		if !bytes.Equal(ga, gb) {
			t.Fatalf("%s differs between replicas", p)
		}
	}
	src, err := NewSource(srvB.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyLog(ctx, src, keys, v, cp); err != nil {
		t.Fatalf("VerifyLog over HTTP: %v", err)
	}
}

func get(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// A replica started with keys of its own must not append to the shared log:
// Open fails before anything is written, and says which files to copy.
func TestMySQLReplicaWithOtherKeysRefused(t *testing.T) {
	dsn := mysqltest.DSN(t)
	mysqlOpts := func(o *Options) { o.Backend, o.DSN = BackendMySQL, dsn }
	a := openTest(t, t.TempDir(), mysqlOpts)
	appendN(t, a, 3, 1)
	waitPublished(t, a, 3)
	closeTest(t, a)

	_, err := Open(context.Background(), Options{DataDir: t.TempDir(), Origin: "sovereign/test", Backend: BackendMySQL, DSN: dsn})
	if err == nil || !strings.Contains(err.Error(), LogKeyFile) {
		t.Fatalf("Open with foreign keys: %v, want a refusal naming %s", err, LogKeyFile)
	}
}

// Bad backend options are refused at Open, naming the field, before any key
// or file is created.
func TestBackendOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"unknown backend", Options{Backend: "sqlite"}, "Backend"},
		{"mysql without DSN", Options{Backend: BackendMySQL}, "DSN is required"},
		{"bad DSN", Options{Backend: BackendMySQL, DSN: "user:pw@tcp(127.0.0.1:1"}, "DSN"},
		{"DSN on posix", Options{DSN: "u:p@tcp(127.0.0.1:3306)/db"}, "DSN is set"},
		{"mysql interval", Options{Backend: BackendMySQL, DSN: "u:p@tcp(127.0.0.1:3306)/db", CheckpointInterval: 500 * time.Millisecond}, "CheckpointInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			tc.o.DataDir = dir
			_, err := Open(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want an error with %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("data dir created by a refused Open: %v", err)
			}
		})
	}
}

// The DSN holds the database password: the options log without it.
func TestOptionsLogValueHidesDSNPassword(t *testing.T) {
	var buf bytes.Buffer
	o := Options{DataDir: "d", Backend: BackendMySQL, DSN: "sovereign:s3cret-pw@tcp(db:3306)/log"}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "options", o)
	if strings.Contains(buf.String(), "s3cret-pw") || !strings.Contains(buf.String(), "db:3306") {
		t.Fatalf("logged options: %s", buf.String())
	}
}

// When the database stops taking writes, Append fails closed: an error
// wrapping ErrUnavailable (503), no receipt, and the log's size unchanged.
func TestMySQLFailureFailsClosed(t *testing.T) {
	dsn := mysqltest.DSN(t)
	l := openTest(t, t.TempDir(), func(o *Options) { o.Backend, o.DSN = BackendMySQL, dsn })
	defer closeTest(t, l)
	appendN(t, l, 3, 1)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP TABLE TiledLeaves"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec, err := l.Append(ctx, testRecord(99))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Append with the entries table gone: %+v, %v; want ErrUnavailable", rec, err)
	}
	if n, err := l.Size(ctx); err != nil || n != 3 {
		t.Fatalf("Size after a failed append = %d, %v; want 3", n, err)
	}
}
