package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestCanonicalize(t *testing.T) {
	raw, err := os.ReadFile("testdata/canonical_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name  string `json:"name"`
		In    string `json:"in"`
		Out   string `json:"out"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tc.In))
			if tc.Error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.Error) {
					t.Fatalf("Canonicalize(%q) = %q, %v; want error %q", tc.In, got, err, tc.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Canonicalize(%q): %v", tc.In, err)
			}
			if string(got) != tc.Out {
				t.Errorf("Canonicalize(%q)\n got %s\nwant %s", tc.In, got, tc.Out)
			}
			again, err := Canonicalize(got)
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("not idempotent: %s → %s, %v", got, again, err)
			}
		})
	}
	if _, err := Canonicalize([]byte("\"\xff\"")); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
}

// goldenRecord is a fixed record; its canonical bytes and its envelope under
// a fixed key must never change, or every signed log would stop verifying.
func goldenRecord() *Record {
	r := testRecord(7)
	r.ID = "0193a4f2-7c1e-7d3a-9b5e-2f4c6a8b0d1e"
	r.Time = time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.FixedZone("CET", 3600))
	r.Request = json.RawMessage(`{"dataset":"customer-pii-eu","note":"<é>\u2028","big":12345678901234567890,"ratio":1.50}`)
	r.Links = []Link{{Rel: "overrides", ID: "0193a4f2-0000-7000-8000-000000000000"}}
	return r
}

func TestRecordGolden(t *testing.T) {
	r := goldenRecord()
	if err := r.prepare(time.Now(), []string{"note"}, bytes.Repeat([]byte{9}, 32)); err != nil {
		t.Fatal(err)
	}
	rec, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Canonicalize(rec)
	if err != nil || !bytes.Equal(again, rec) {
		t.Fatalf("record encoding is not canonical:\n%s\n%s", rec, again)
	}
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	sv, err := signature.LoadED25519SignerVerifier(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSealer(sv)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := s.seal(r)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Canonicalize(entry); err != nil || !bytes.Equal(again, entry) {
		t.Fatalf("envelope is not canonical:\n%s\n%s", entry, again)
	}
	golden(t, "record.golden.json", rec)
	golden(t, "envelope.golden.json", entry)

	// And back: the envelope decodes to the same record and verifies.
	env, err := DecodeEnvelope(entry)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet(sv.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Verify(env); err != nil {
		t.Fatal(err)
	}
	back, err := env.Record()
	if err != nil {
		t.Fatal(err)
	}
	reenc, _ := back.MarshalJSON()
	if !bytes.Equal(reenc, rec) {
		t.Errorf("decode/encode round trip differs:\n%s\n%s", reenc, rec)
	}
	env.RecordJSON = bytes.Replace(env.RecordJSON, []byte("fra-1"), []byte("fra-2"), 1)
	if err := ks.Verify(env); err == nil {
		t.Error("altered record verifies")
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create)", err)
	}
	if !bytes.Equal(got, bytes.TrimSuffix(want, []byte("\n"))) {
		t.Errorf("%s changed:\n got %s\nwant %s", name, got, want)
	}
}

func TestRedact(t *testing.T) {
	doc := json.RawMessage(`{"email":"a@b.c","dataset":{"id":"d1","subject_count":5,"owner":{"name":"X"}},
		"sites":[{"id":"s1","operator":{"name":"Op"}},{"id":"s2"}],"n":1}`)
	cases := []struct {
		name  string
		paths []string
		want  string
	}{
		{"none", nil, `{"dataset":{"id":"d1","owner":{"name":"X"},"subject_count":5},"email":"a@b.c","n":1,"sites":[{"id":"s1","operator":{"name":"Op"}},{"id":"s2"}]}`},
		{"top level", []string{"email"}, `{"dataset":{"id":"d1","owner":{"name":"X"},"subject_count":5},"email":"[redacted]","n":1,"sites":[{"id":"s1","operator":{"name":"Op"}},{"id":"s2"}]}`},
		{"dotted", []string{"dataset.owner.name", "dataset.subject_count"}, `{"dataset":{"id":"d1","owner":{"name":"[redacted]"},"subject_count":"[redacted]"},"email":"a@b.c","n":1,"sites":[{"id":"s1","operator":{"name":"Op"}},{"id":"s2"}]}`},
		{"whole object", []string{"dataset"}, `{"dataset":"[redacted]","email":"a@b.c","n":1,"sites":[{"id":"s1","operator":{"name":"Op"}},{"id":"s2"}]}`},
		{"through arrays", []string{"sites.operator.name"}, `{"dataset":{"id":"d1","owner":{"name":"X"},"subject_count":5},"email":"a@b.c","n":1,"sites":[{"id":"s1","operator":{"name":"[redacted]"}},{"id":"s2"}]}`},
		{"absent paths", []string{"nope", "email.inner", "n.x"}, `{"dataset":{"id":"d1","owner":{"name":"X"},"subject_count":5},"email":"a@b.c","n":1,"sites":[{"id":"s1","operator":{"name":"Op"}},{"id":"s2"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Redact(doc, tc.paths)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Redact(%v)\n got %s\nwant %s", tc.paths, got, tc.want)
			}
		})
	}
}

func TestCanonicalizeDepth(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)
	if _, err := Canonicalize([]byte(deep)); err == nil {
		t.Error("nesting beyond maxDepth accepted")
	}
	ok := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if got, err := Canonicalize([]byte(ok)); err != nil || string(got) != ok {
		t.Errorf("100 levels: %v", err)
	}
}

// FuzzCanonicalize: whatever encoding/json accepts without duplicate keys,
// Canonicalize accepts, idempotently, with the same meaning.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x\u00e9"]}`, `"\ud83d\ude00"`, `-0.5e+10`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := Canonicalize(doc)
		if err != nil {
			return
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q → %q → %q, %v", doc, out, again, err)
		}
		decode := func(b []byte) (any, error) {
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber() // big numbers are valid JSON
			var v any
			return v, d.Decode(&v)
		}
		a, errA := decode(doc)
		b, errB := decode(out)
		if errA != nil || errB != nil {
			t.Fatalf("canonical output of %q is not JSON: %q (%v, %v)", doc, out, errA, errB)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("meaning changed: %q → %q", doc, out)
		}
		if err := keysAscend(out); err != nil {
			t.Fatalf("%q → %q: %v", doc, out, err)
		}
	})
}

// keysAscend checks, independently of Canonicalize, that every object's keys
// come in strictly ascending byte order.
func keysAscend(doc []byte) error {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	type frame struct {
		object  bool
		wantKey bool
		last    *string
	}
	var stack []frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].wantKey {
			if k, ok := tok.(string); ok {
				if stack[top].last != nil && *stack[top].last >= k {
					return fmt.Errorf("key %q after %q", k, *stack[top].last)
				}
				stack[top].last = &k
				stack[top].wantKey = false
				continue
			}
		}
		if top >= 0 && stack[top].object && !stack[top].wantKey {
			stack[top].wantKey = true // this token is the value (or opens it)
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

func TestScanRecordHead(t *testing.T) {
	rec := `{"bundle":{"digest":"d","revision":"r"},"id":"x-1","kind":"admission","request":{"kind":"fake","a":[1,{"id":"no"}],"s":"}\"{"},"time":"2026-01-01T00:00:00Z","z":-1.5e3}`
	h, err := scanRecordHead([]byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != "x-1" || h.Kind != KindAdmission || h.Time != "2026-01-01T00:00:00Z" {
		t.Errorf("head %+v", h)
	}
	for _, bad := range []string{`[]`, `{"id":1}`, `{"id":"a"`, `{"a":{"b":1}`, `{"id":"a" "kind":"b"}`} {
		if _, err := scanRecordHead([]byte(bad)); err == nil {
			t.Errorf("scanRecordHead(%s) accepted", bad)
		}
	}
}

func TestDecodeEnvelopeStrict(t *testing.T) {
	good := `{"key_id":"ab12","record":{"a":1},"signature":"AAEC"}`
	env, err := DecodeEnvelope([]byte(good))
	if err != nil || env.KeyID != "ab12" || string(env.RecordJSON) != `{"a":1}` || !bytes.Equal(env.Signature, []byte{0, 1, 2}) {
		t.Fatalf("DecodeEnvelope(%s) = %+v, %v", good, env, err)
	}
	for _, bad := range []string{
		`{"record":{"a":1},"key_id":"ab12","signature":"AAEC"}`,
		`{ "key_id":"ab12","record":{"a":1},"signature":"AAEC"}`,
		`{"key_id":"AB12","record":{"a":1},"signature":"AAEC"}`,
		`{"key_id":"ab12","record":{"a":1},"signature":"AAEC"} `,
		`{"key_id":"ab12","record":[1],"signature":"AAEC"}`,
		`{"key_id":"ab12","record":{"a":1},"signature":"!!"}`,
		`{"key_id":"ab12","record":{"a":1}}`,
	} {
		if _, err := DecodeEnvelope([]byte(bad)); err == nil {
			t.Errorf("DecodeEnvelope(%s) accepted", bad)
		}
	}
}

// BenchmarkCanonicalize: a placement decision as the API records it (struct
// fields in declaration order, so most objects need sorting).
func BenchmarkCanonicalize(b *testing.B) {
	type violation struct {
		Rule     string   `json:"rule"`
		Message  string   `json:"message"`
		Citation []string `json:"citations"`
	}
	type site struct {
		Site        string      `json:"site"`
		Allowed     bool        `json:"allowed"`
		Violations  []violation `json:"violations,omitempty"`
		Obligations []string    `json:"obligations"`
	}
	d := struct {
		ID      string            `json:"decision_id"`
		Kind    string            `json:"kind"`
		Allowed bool              `json:"allowed"`
		Sites   []site            `json:"sites"`
		Bundle  map[string]string `json:"bundle"`
	}{ID: "01a21d2d-abec-7426-9a07-b24f2c9cddcb", Kind: "placement", Allowed: true,
		Bundle: map[string]string{"revision": "builtin-0.1.0", "digest": "sha256:cb3d50f1"}}
	for i := range 21 {
		s := site{Site: fmt.Sprintf("site-%02d", i), Allowed: i%3 != 0, Obligations: []string{}}
		if !s.Allowed {
			s.Violations = []violation{{Rule: "gdpr.chapter_v.no_adequacy", Message: "personal data of EEA subjects may not be stored in a third country without adequacy or safeguards", Citation: []string{"GDPR Art. 44", "GDPR Art. 46"}}}
		}
		d.Sites = append(d.Sites, s)
	}
	doc, err := json.Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonicalize(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRecordTenants: a record's tenants are signed inside it, sorted and
// without duplicates, after "result"; none is no member (records without
// them encode as before, so the golden record above is unchanged); an empty
// name is refused; a record without them belongs to its principal's tenant.
func TestRecordTenants(t *testing.T) {
	r := testRecord(1)
	r.Tenants = []string{"klinikum", "acme", "klinikum"}
	if err := r.prepare(time.Now(), nil, nil); err != nil {
		t.Fatal(err)
	}
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Canonicalize(b); err != nil || !bytes.Equal(again, b) {
		t.Fatalf("not canonical:\n%s\n%s", b, again)
	}
	if !bytes.Contains(b, []byte(`,"tenants":["acme","klinikum"],"time":`)) {
		t.Errorf("tenants not sorted, deduplicated, in place: %s", b)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back.Tenants, []string{"acme", "klinikum"}) {
		t.Errorf("decoded tenants %q (%v)", back.Tenants, err)
	}

	none := testRecord(2)
	if err := none.prepare(time.Now(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := none.MarshalJSON(); bytes.Contains(b, []byte("tenants")) {
		t.Errorf("a record of no tenant names tenants: %s", b)
	}

	bad := testRecord(3)
	bad.Tenants = []string{"acme", ""}
	if err := bad.prepare(time.Now(), nil, nil); !errors.Is(err, ErrInvalidRecord) || !strings.Contains(err.Error(), "tenants") {
		t.Errorf("an empty tenant name: %v", err)
	}

	for _, tt := range []struct {
		tenants   []string
		principal string
		want      []string
	}{
		{[]string{"acme"}, `Sovereign::Principal::"root"`, []string{"acme"}},
		{nil, `Sovereign::Principal::"ci" in Sovereign::Tenant::"acme"`, []string{"acme"}},
		{nil, `Sovereign::Principal::"root"`, nil},
		{nil, "system", nil},
	} {
		if got := RecordTenants(tt.tenants, tt.principal); !slices.Equal(got, tt.want) {
			t.Errorf("RecordTenants(%q, %q) = %q, want %q", tt.tenants, tt.principal, got, tt.want)
		}
	}
	if !OnlyTenant([]string{"acme"}, "acme") || OnlyTenant([]string{"acme", "klinikum"}, "acme") || OnlyTenant(nil, "") || OnlyTenant([]string{""}, "") {
		t.Error("OnlyTenant")
	}
}
