package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/audit/mysqltest"
)

// mysqlBodyLog is a mysql-backed log holding a small record, a record with a
// body of several parts and another small record, served over HTTP as the
// API serves it; it returns the log, its data directory, the server's tile
// URL, the database, the body record's receipt and its canonical result.
func mysqlBodyLog(t *testing.T) (l *Log, dir, url string, db *sql.DB, big Receipt, ref *BodyRef, want []byte) {
	t.Helper()
	dsn := mysqltest.DSN(t)
	dir = t.TempDir()
	l = openTest(t, dir, func(o *Options) { o.Backend, o.DSN = BackendMySQL, dsn })
	t.Cleanup(func() { closeTest(t, l) })
	ctx := context.Background()
	if _, err := l.Append(ctx, testRecord(0)); err != nil {
		t.Fatal(err)
	}
	// Over one part (mysqlBodyPart): parts are put back together in order.
	r := bigRecord(7000)
	want, err := Canonicalize(r.Result)
	if err != nil {
		t.Fatal(err)
	}
	if big, err = l.Append(ctx, r); err != nil {
		t.Fatalf("a record of %d bytes on mysql: %v", len(r.Result), err)
	}
	if r.Body == nil || r.Version != RecordVersionBody || r.Body.Size <= mysqlBodyPart {
		t.Fatalf("Append kept no body of several parts: %+v, version %d", r.Body, r.Version)
	}
	if _, err := l.Append(ctx, testRecord(2)); err != nil {
		t.Fatal(err)
	}
	waitPublished(t, l, 3)
	if db, err = sql.Open("mysql", dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httptest.NewServer(http.StripPrefix("/v1/audit/log", l.Handler()))
	t.Cleanup(srv.Close)
	return l, dir, srv.URL + "/v1/audit/log/", db, big, r.Body, want
}

func bodyParts(t *testing.T, db *sql.DB, sum string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM "+MySQLBodyTable+" WHERE sha256 = ?", sum).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// On the mysql backend a record too large for one entry keeps its body in
// the database: the log serves it, the entry endpoint puts it back, and an
// auditor reading the log through its URL verifies it.
func TestMySQLBodyRecordVerifiesAndReadsBack(t *testing.T) {
	l, dir, url, db, big, ref, want := mysqlBodyLog(t)
	ctx := context.Background()
	if n := bodyParts(t, db, ref.SHA256); n < 2 {
		t.Fatalf("body of %d bytes in %d parts, want several", ref.Size, n)
	}
	e, err := l.Entry(ctx, big.Index)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Entry) > MaxEntrySize || !bytes.Equal(e.Record.Result, want) || e.Record.Body == nil || *e.Record.Body != *ref {
		t.Fatalf("entry %d: %d bytes, body %+v, result %.80s…", big.Index, len(e.Entry), e.Record.Body, e.Record.Result)
	}
	keys, v := auditorKeys(t, dir)
	src, err := NewSource(url)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := VerifyLog(ctx, src, keys, v, nil); err != nil || sum.TreeSize != 3 {
		t.Fatalf("verify: %+v %v", sum, err)
	}
	tl := &TrustedLog{Location: url, Source: src, Keys: keys, Verifier: v}
	cp, err := tl.Checkpoint(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var bodies int
	err = ScanWindow(ctx, tl, cp, 0, cp.Size, func(e *VerifiedEntry) (*Record, error) { return e.Record() },
		func(e *VerifiedEntry, r *Record) error {
			if e.Index == big.Index {
				bodies++
				if r.Body == nil || !bytes.Equal(r.Result, want) || len(r.Request) == 0 {
					t.Errorf("entry %d read back without its body's result", e.Index)
				}
			}
			return nil
		}, nil)
	if err != nil || bodies != 1 {
		t.Fatalf("scan: %v (%d bodies)", err, bodies)
	}
	for path, status := range map[string]int{
		"bodies/" + ref.SHA256:                  200,
		"bodies/" + strings.Repeat("0", 64):     404,
		"bodies/" + strings.ToUpper(ref.SHA256): 404,
		"bodies/" + ref.SHA256[:2] + "/x":       404,
	} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, status)
		}
	}
}

// A body altered, cut or deleted in the database fails verification as
// "body" at its record's index, read through the log's URL.
func TestMySQLBodyTamper(t *testing.T) {
	_, dir, url, db, big, ref, _ := mysqlBodyLog(t)
	keys, v := auditorKeys(t, dir)
	type row struct {
		part int
		data []byte
	}
	var orig []row
	rows, err := db.Query("SELECT part, data FROM "+MySQLBodyTable+" WHERE sha256 = ? ORDER BY part", ref.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.part, &r.data); err != nil {
			t.Fatal(err)
		}
		orig = append(orig, r)
	}
	rows.Close()
	restore := func(t *testing.T) {
		if _, err := db.Exec("DELETE FROM "+MySQLBodyTable+" WHERE sha256 = ?", ref.SHA256); err != nil {
			t.Fatal(err)
		}
		for _, r := range orig {
			if _, err := db.Exec("INSERT INTO "+MySQLBodyTable+" (sha256, part, data) VALUES (?, ?, ?)", ref.SHA256, r.part, r.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	exec := func(t *testing.T, q string, args ...any) {
		t.Helper()
		if res, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		} else if n, _ := res.RowsAffected(); n == 0 {
			t.Fatalf("%s: no row changed", q)
		}
	}
	verify := func(t *testing.T) error {
		src, err := NewSource(url)
		if err != nil {
			t.Fatal(err)
		}
		_, err = VerifyLog(context.Background(), src, keys, v, nil)
		return err
	}
	if err := verify(t); err != nil {
		t.Fatalf("untampered: %v", err)
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T)
	}{
		{"byte flipped", func(t *testing.T) {
			b := bytes.Clone(orig[0].data)
			i := bytes.Index(b, []byte("no transfer basis"))
			b[i] = 'N'
			exec(t, "UPDATE "+MySQLBodyTable+" SET data = ? WHERE sha256 = ? AND part = 0", b, ref.SHA256)
		}},
		{"deleted", func(t *testing.T) {
			exec(t, "DELETE FROM "+MySQLBodyTable+" WHERE sha256 = ?", ref.SHA256)
		}},
		{"a part deleted", func(t *testing.T) {
			exec(t, "DELETE FROM "+MySQLBodyTable+" WHERE sha256 = ? AND part = 1", ref.SHA256)
		}},
		{"truncated", func(t *testing.T) {
			exec(t, "UPDATE "+MySQLBodyTable+" SET data = LEFT(data, 100) WHERE sha256 = ? AND part = 0", ref.SHA256)
		}},
		{"a part added", func(t *testing.T) {
			exec(t, "INSERT INTO "+MySQLBodyTable+" (sha256, part, data) VALUES (?, 99, ' ')", ref.SHA256)
		}},
		{"replaced by a valid body of the same size", func(t *testing.T) {
			b := bytes.Replace(orig[0].data, []byte(`"allowed":false,"sites"`), []byte(`"allowed":true ,"sites"`), 1)
			if bytes.Equal(b, orig[0].data) {
				t.Fatal("nothing replaced")
			}
			exec(t, "UPDATE "+MySQLBodyTable+" SET data = ? WHERE sha256 = ? AND part = 0", b, ref.SHA256)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer restore(t)
			tc.tamper(t)
			err := verify(t)
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Index != int64(big.Index) || ve.What != FailBody {
				t.Fatalf("verify: %v; want a %q failure at %d", err, FailBody, big.Index)
			}
		})
	}
	if err := verify(t); err != nil {
		t.Fatalf("restored: %v", err)
	}
}

// The body is committed before the record naming it is appended: with the
// body table not writable, a record needing a body fails closed
// (ErrUnavailable) and nothing is appended. A body no record names (a crash between the
// commit and the append) is ignored, and writing a digest again is
// idempotent and drops stale parts.
func TestMySQLBodyOrderingAndOrphans(t *testing.T) {
	l, dir, url, db, _, _, _ := mysqlBodyLog(t)
	ctx := context.Background()
	store := mysqlBodies{db: db}
	orphan := encodeBody([]byte(`{"a":1}`), []byte(`{"b":2}`))
	sum := strings.Repeat("ab", 32)
	for range 2 {
		if err := store.put(ctx, sum, orphan); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO "+MySQLBodyTable+" (sha256, part, data) VALUES (?, 5, 'stale')", sum); err != nil {
		t.Fatal(err)
	}
	if err := store.put(ctx, sum, orphan); err != nil {
		t.Fatal(err)
	}
	if got, err := store.ReadBody(ctx, sum); err != nil || !bytes.Equal(got, orphan) || bodyParts(t, db, sum) != 1 {
		t.Fatalf("body written three times: %q, %v, %d parts", got, err, bodyParts(t, db, sum))
	}
	if err := store.put(ctx, "../x", orphan); err == nil {
		t.Fatal("a body named ../x was stored")
	}

	keys, v := auditorKeys(t, dir)
	verify := func(url string, size uint64) {
		t.Helper()
		src, err := NewSource(url)
		if err != nil {
			t.Fatal(err)
		}
		if sum, err := VerifyLog(ctx, src, keys, v, nil); err != nil || sum.TreeSize != size {
			t.Fatalf("verify: %+v, %v; want %d entries", sum, err, size)
		}
	}
	verify(url, 3)

	// The table moved away: bodies cannot be written.
	if _, err := db.Exec("RENAME TABLE " + MySQLBodyTable + " TO away"); err != nil {
		t.Fatal(err)
	}
	if rc, err := l.Append(ctx, bigRecord(2000)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a record needing a body with the body table gone: %+v, %v; want ErrUnavailable", rc, err)
	}
	if rc, err := l.Append(ctx, testRecord(3)); err != nil || rc.Index != 3 {
		t.Fatalf("a small record after the refused one: %+v, %v; want index 3", rc, err)
	}
	closeTest(t, l)
	if _, err := db.Exec("RENAME TABLE away TO " + MySQLBodyTable); err != nil {
		t.Fatal(err)
	}
	// After a restart the log goes on keeping bodies, the orphan ignored.
	l2 := openTest(t, dir, func(o *Options) { o.Backend, o.DSN = BackendMySQL, l.opts.DSN })
	defer closeTest(t, l2)
	r := bigRecord(2000)
	if rc, err := l2.Append(ctx, r); err != nil || rc.Index != 4 || r.Body == nil {
		t.Fatalf("a record with a body after the restart: %+v, %v", rc, err)
	}
	waitPublished(t, l2, 5)
	srv := httptest.NewServer(http.StripPrefix("/v1/audit/log", l2.Handler()))
	defer srv.Close()
	verify(srv.URL+"/v1/audit/log/", 5)
}

// Replicas sharing one database share its bodies: a body one replica wrote
// is served, and put back into its entry, by another.
func TestMySQLReplicasShareBodies(t *testing.T) {
	dsn := mysqltest.DSN(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	mysqlOpts := func(o *Options) { o.Backend, o.DSN = BackendMySQL, dsn }
	a := openTest(t, dirA, mysqlOpts)
	defer closeTest(t, a)
	copyKeys(t, dirA, dirB)
	b := openTest(t, dirB, mysqlOpts)
	defer closeTest(t, b)
	ctx := context.Background()
	r := bigRecord(2000)
	rc, err := a.Append(ctx, r)
	if err != nil || r.Body == nil {
		t.Fatalf("append on a: %+v %v", rc, err)
	}
	want, err := Canonicalize(bigRecord(2000).Result)
	if err != nil {
		t.Fatal(err)
	}
	e, err := b.Entry(ctx, rc.Index)
	if err != nil {
		t.Fatal(err)
	}
	if e.Record.Body == nil || *e.Record.Body != *r.Body || !bytes.Equal(e.Record.Result, want) {
		t.Fatalf("entry %d read on b: body %+v, result %.80s…", rc.Index, e.Record.Body, e.Record.Result)
	}
	srv := httptest.NewServer(http.StripPrefix("/v1/audit/log", b.Handler()))
	defer srv.Close()
	keys, v := auditorKeys(t, dirB)
	src, err := NewSource(srv.URL + "/v1/audit/log/")
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := VerifyLog(ctx, src, keys, v, nil); err != nil || sum.TreeSize != 1 {
		t.Fatalf("verify through b: %+v %v", sum, err)
	}
}
