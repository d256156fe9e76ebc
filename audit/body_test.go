package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bigRecord is a placement over n sites, each refused with a message: far
// over one log entry for n in the thousands.
func bigRecord(n int) *Record {
	r := testRecord(n)
	var res strings.Builder
	res.WriteString(`{"allowed": false, "sites": [`)
	for i := range n {
		if i > 0 {
			res.WriteByte(',')
		}
		fmt.Fprintf(&res, `{"site": "edge-%05d", "allowed": false, "violations": [{"rule": "gdpr.chapter5.no_basis", "message": "edge-%05d is in US: no transfer basis for personal data of EU subjects", "citation": "GDPR Art. 44"}]}`, i, i)
	}
	res.WriteString(`]}`)
	r.Result = json.RawMessage(res.String())
	return r
}

// bodyLog is a log holding a small record, a record with a body and another
// small record, closed; it returns the data directory and the body record's
// receipt and canonical result.
func bodyLog(t *testing.T) (dir string, big Receipt, ref *BodyRef, result []byte) {
	t.Helper()
	dir = t.TempDir()
	l := openTest(t, dir)
	ctx := context.Background()
	if _, err := l.Append(ctx, testRecord(0)); err != nil {
		t.Fatal(err)
	}
	r := bigRecord(3000)
	want, err := Canonicalize(r.Result)
	if err != nil {
		t.Fatal(err)
	}
	big, err = l.Append(ctx, r)
	if err != nil {
		t.Fatalf("a record of %d bytes: %v", len(r.Result), err)
	}
	if r.Body == nil || r.Version != RecordVersionBody || r.Body.Size <= int64(len(want)) {
		t.Fatalf("Append did not move the record's request and result into a body: %+v, version %d", r.Body, r.Version)
	}
	if _, err := l.Append(ctx, testRecord(2)); err != nil {
		t.Fatal(err)
	}
	// The entry endpoint shows what was decided, read back from the body.
	e, err := l.Entry(ctx, big.Index)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Entry) > MaxEntrySize || !bytes.Equal(e.Record.Result, want) || e.Record.Body == nil || *e.Record.Body != *r.Body {
		t.Fatalf("entry %d: %d bytes, body %+v, result %.80s…", big.Index, len(e.Entry), e.Record.Body, e.Record.Result)
	}
	closeTest(t, l)
	return dir, big, r.Body, want
}

func TestBodyRecordVerifiesAndReadsBack(t *testing.T) {
	dir, big, ref, want := bodyLog(t)
	keys, v := auditorKeys(t, dir)
	if _, err := os.Stat(filepath.Join(dir, LogDir, BodyDir, ref.SHA256[:2], ref.SHA256)); err != nil {
		t.Fatalf("body file: %v", err)
	}
	srv := httptest.NewServer(http.StripPrefix("/v1/audit/log", TileHandler(filepath.Join(dir, LogDir))))
	defer srv.Close()
	for _, loc := range []string{dir, srv.URL + "/v1/audit/log/"} {
		src, err := NewSource(loc)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := VerifyLog(context.Background(), src, keys, v, nil)
		if err != nil || sum.TreeSize != 3 {
			t.Fatalf("%s: verify: %+v %v", loc, sum, err)
		}
		tl := &TrustedLog{Location: loc, Source: src, Keys: keys, Verifier: v}
		cp, err := tl.Checkpoint(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		var bodies int
		err = ScanWindow(context.Background(), tl, cp, 0, cp.Size, func(e *VerifiedEntry) (*Record, error) { return e.Record() },
			func(e *VerifiedEntry, r *Record) error {
				if e.Index != big.Index {
					if e.Body != nil || r.Body != nil {
						t.Errorf("%s: entry %d has a body", loc, e.Index)
					}
					return nil
				}
				bodies++
				if r.Body == nil || !bytes.Equal(r.Result, want) || len(r.Request) == 0 {
					t.Errorf("%s: entry %d read back without its body's result", loc, e.Index)
				}
				return nil
			}, nil)
		if err != nil || bodies != 1 {
			t.Fatalf("%s: scan: %v (%d bodies)", loc, err, bodies)
		}
	}
	// Over HTTP the body is served at bodies/<hex>, and nothing else is.
	for path, status := range map[string]int{
		"/v1/audit/log/bodies/" + ref.SHA256:                  200,
		"/v1/audit/log/bodies/" + strings.Repeat("0", 64):     404,
		"/v1/audit/log/bodies/" + ref.SHA256[:2] + "/x":       404,
		"/v1/audit/log/bodies/" + strings.ToUpper(ref.SHA256): 404,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, status)
		}
	}
}

func TestBodyTamper(t *testing.T) {
	base, big, ref, _ := bodyLog(t)
	rel := filepath.Join(LogDir, BodyDir, ref.SHA256[:2], ref.SHA256)
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, body string)
	}{
		{"byte flipped", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			i := bytes.Index(b, []byte("no transfer basis"))
			b[i] = 'N'
			os.WriteFile(p, b, 0o644)
		}},
		{"removed", func(t *testing.T, p string) { os.Remove(p) }},
		{"truncated", func(t *testing.T, p string) { os.Truncate(p, 100) }},
		{"replaced by a valid body of the same size", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte(`"allowed":false,"sites"`), []byte(`"allowed":true ,"sites"`), 1)
			os.WriteFile(p, b, 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, base)
			tc.tamper(t, filepath.Join(dir, rel))
			keys, v := auditorKeys(t, dir)
			src, err := NewSource(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = VerifyLog(context.Background(), src, keys, v, nil)
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Index != int64(big.Index) || ve.What != FailBody {
				t.Fatalf("verify: %v; want a %q failure at %d", err, FailBody, big.Index)
			}
			tl := &TrustedLog{Source: src, Keys: keys, Verifier: v}
			cp, err := tl.Checkpoint(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			err = ScanWindow(context.Background(), tl, cp, 0, cp.Size, func(*VerifiedEntry) (int, error) { return 0, nil },
				func(*VerifiedEntry, int) error { return nil }, nil)
			if !errors.As(err, &ve) || ve.Index != int64(big.Index) || ve.What != FailBody {
				t.Fatalf("scan: %v; want a %q failure at %d", err, FailBody, big.Index)
			}
		})
	}
}

// A body is on disk before the record naming it is appended; a body whose
// record never made it (a crash in between) is ignored, and the log
// continues after a restart with its bodies.
func TestBodyOrphanAndRestart(t *testing.T) {
	dir, _, _, _ := bodyLog(t)
	orphan := encodeBody([]byte(`{"a":1}`), []byte(`{"b":2}`))
	if err := (bodyStore{logDir: filepath.Join(dir, LogDir)}).put(context.Background(), strings.Repeat("ab", 32), orphan); err != nil {
		t.Fatal(err)
	}
	l := openTest(t, dir)
	r := bigRecord(2000)
	rc, err := l.Append(context.Background(), r)
	if err != nil || rc.Index != 3 || r.Body == nil {
		t.Fatalf("append after restart: %+v %v", rc, err)
	}
	closeTest(t, l)
	keys, v := auditorKeys(t, dir)
	src, _ := NewSource(dir)
	if sum, err := VerifyLog(context.Background(), src, keys, v, nil); err != nil || sum.TreeSize != 4 {
		t.Fatalf("verify: %+v %v", sum, err)
	}
}

func TestBodyRecordRules(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	defer closeTest(t, l)
	r := testRecord(1)
	r.Body = &BodyRef{SHA256: strings.Repeat("a", 64), Size: 10}
	r.Version = RecordVersionBody
	if _, err := l.Append(context.Background(), r); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("a caller's body reference: %v, want ErrInvalidRecord", err)
	}
	for _, rec := range []string{
		`{"body":{"sha256":"` + strings.Repeat("a", 64) + `","size":3},"id":"x","kind":"decision.placement","result":{},"time":"t"}`,
		`{"body":{"sha256":"zz","size":3},"id":"x","kind":"decision.placement","time":"t"}`,
		`{"body":{"sha256":"` + strings.Repeat("a", 64) + `","size":0},"id":"x","kind":"decision.placement","time":"t"}`,
		`{"body":{"sha256":"` + strings.Repeat("a", 64) + `","size":3,"more":1},"id":"x","kind":"decision.placement","time":"t"}`,
	} {
		if _, err := RecordBody([]byte(rec)); err == nil {
			t.Errorf("%s: accepted", rec)
		}
	}
	for _, body := range []string{`{"request":{"a":1},"other":1}`, `{"result":{},"result":{}}`, `[]`, `{"result":{}} x`, `{"result":{}}{}`} {
		h := sha256.Sum256([]byte(body))
		sum := hex.EncodeToString(h[:])
		if err := CheckBody(&BodyRef{SHA256: sum, Size: int64(len(body))}, []byte(body)); err == nil {
			t.Errorf("body %s: accepted", body)
		}
	}
}
