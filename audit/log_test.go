package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

func TestAppendReadBack(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	defer closeTest(t, l)
	ctx := context.Background()

	kinds := []Kind{KindPlacement, KindTransfer, KindAdmission, KindOverride, KindBundleActivation}
	var sent []*Record
	for i, k := range kinds {
		r := testRecord(i)
		r.Kind = k
		if k == KindOverride {
			r.Links = []Link{{Rel: "overrides", ID: sent[0].ID}}
		}
		rec, err := l.Append(ctx, r)
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		if rec.Index != uint64(i) {
			t.Errorf("record %d got index %d", i, rec.Index)
		}
		if u, err := uuid.Parse(r.ID); err != nil || u.Version() != 7 {
			t.Errorf("record id %q is not a UUIDv7", r.ID)
		}
		if len(rec.EntrySHA256) != 64 {
			t.Errorf("entry sha256 %q", rec.EntrySHA256)
		}
		sent = append(sent, r)
	}

	v, err := NoteVerifier(l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParsePublicKeys(l.PublicKeysPEM())
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range sent {
		e, err := l.Entry(ctx, uint64(i))
		if err != nil {
			t.Fatalf("Entry(%d): %v", i, err)
		}
		if e.Record.ID != want.ID || e.Record.Kind != want.Kind || !e.Record.Time.Equal(want.Time) {
			t.Errorf("Entry(%d) record = %+v, want %+v", i, e.Record, want)
		}
		if !bytes.Equal(e.Record.Request, want.Request) || e.Record.RequestSHA256 != want.RequestSHA256 {
			t.Errorf("Entry(%d) request differs", i)
		}
		sum := sha256.Sum256(e.Entry)
		if hex.EncodeToString(sum[:]) != e.EntrySHA256 {
			t.Errorf("Entry(%d) entry sha256 mismatch", i)
		}
		cp, err := ParseCheckpoint(e.Checkpoint, v)
		if err != nil {
			t.Fatalf("Entry(%d) checkpoint: %v", i, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), cp.Size, rfc6962.DefaultHasher.HashLeaf(e.Entry), e.InclusionProof, cp.Root); err != nil {
			t.Errorf("Entry(%d) inclusion proof: %v", i, err)
		}
		if err := ks.Verify(Envelope{KeyID: e.KeyID, RecordJSON: e.RecordJSON, Signature: e.Signature}); err != nil {
			t.Errorf("Entry(%d) signature: %v", i, err)
		}
		p, err := l.InclusionProof(ctx, uint64(i), cp.Size)
		if err != nil || len(p) != len(e.InclusionProof) {
			t.Errorf("InclusionProof(%d, %d) = %d hashes, %v", i, cp.Size, len(p), err)
		}
	}
	if sent[3].Links[0].ID != sent[0].ID {
		t.Error("override link lost")
	}
	if _, err := l.Entry(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("Entry(99) = %v, want ErrNotFound", err)
	}
	if _, err := l.InclusionProof(ctx, 0, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("InclusionProof(0, 99) = %v, want ErrNotFound", err)
	}
	if p, err := l.ConsistencyProof(ctx, 2, uint64(len(sent))); err != nil || len(p) == 0 {
		t.Errorf("ConsistencyProof = %v, %v", p, err)
	}
}

func TestRestartContinues(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	appendN(t, l, 3, 1)
	keyID, vkey := l.KeyID(), l.VerifierKey()
	closeTest(t, l)

	l = openTest(t, dir, func(o *Options) { o.Origin = "" }) // origin comes from the log key
	defer closeTest(t, l)
	if l.KeyID() != keyID || l.VerifierKey() != vkey || l.Origin() != "sovereign/test" {
		t.Errorf("restart changed keys: key %s→%s, vkey %s→%s, origin %s", keyID, l.KeyID(), vkey, l.VerifierKey(), l.Origin())
	}
	for i := 3; i < 5; i++ {
		rec, err := l.Append(context.Background(), testRecord(i))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Index != uint64(i) {
			t.Errorf("after restart got index %d, want %d", rec.Index, i)
		}
	}
	waitPublished(t, l, 5)
	keys, v := auditorKeys(t, dir)
	if len(keys) != 1 {
		t.Errorf("signing.pub holds %d keys, want 1", len(keys))
	}
	src, err := NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := VerifyLog(context.Background(), src, keys, v, nil)
	if err != nil {
		t.Fatalf("VerifyLog: %v", err)
	}
	if sum.TreeSize != 5 || sum.Kinds[KindPlacement] != 5 {
		t.Errorf("summary %+v", sum)
	}
}

func TestOriginIsKept(t *testing.T) {
	dir := t.TempDir()
	closeTest(t, openTest(t, dir))
	_, err := Open(context.Background(), Options{DataDir: dir, Origin: "sovereign/other"})
	if err == nil || !strings.Contains(err.Error(), "keeps its origin") {
		t.Errorf("Open with another origin = %v, want an error", err)
	}
}

func TestKeyFilesModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // Open creates it
	closeTest(t, openTest(t, dir))
	for name, want := range map[string]os.FileMode{
		SigningKeyFile:        0o600,
		LogKeyFile:            0o600,
		SigningPublicKeysFile: 0o644,
		LogVerifierKeyFile:    0o644,
		".":                   0o700,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", name, got, want)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, SigningKeyFile))
	if !bytes.HasPrefix(raw, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("default key without passphrase is not a clear PKCS#8 PEM: %.40q", raw)
	}
}

func TestEncryptedSigningKey(t *testing.T) {
	pass := func(p string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(p), nil } }
	dir := t.TempDir()
	l := openTest(t, dir, func(o *Options) { o.Passphrase = pass("correct horse") })
	keyID := l.KeyID()
	closeTest(t, l)
	raw, _ := os.ReadFile(filepath.Join(dir, SigningKeyFile))
	if !bytes.HasPrefix(raw, []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")) {
		t.Fatalf("key is not encrypted: %.50q", raw)
	}
	if fi, _ := os.Stat(filepath.Join(dir, SigningKeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("encrypted key mode %o", fi.Mode().Perm())
	}

	cases := []struct {
		name    string
		pass    func() ([]byte, error)
		wantErr bool
	}{
		{"right passphrase", pass("correct horse"), false},
		{"wrong passphrase", pass("battery staple"), true},
		{"no passphrase", nil, true},
		{"empty passphrase", pass(""), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Open(context.Background(), Options{DataDir: dir, Passphrase: tc.pass})
			if tc.wantErr {
				if err == nil {
					closeTest(t, l)
					t.Fatal("Open succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closeTest(t, l)
			if l.KeyID() != keyID {
				t.Errorf("reopened with key %s, want %s", l.KeyID(), keyID)
			}
		})
	}
}

// TestSigningKeyFile covers --signing-key with a PEM file, plain and encrypted.
func TestSigningKeyFile(t *testing.T) {
	pass := func() ([]byte, error) { return []byte("s3cret"), nil }
	for _, tc := range []struct {
		name string
		pass func() ([]byte, error)
	}{{"plain", nil}, {"encrypted", pass}} {
		t.Run(tc.name, func(t *testing.T) {
			keyDir := t.TempDir()
			privPEM, pubPEM, err := GenerateSigningKey(tc.pass)
			if err != nil {
				t.Fatal(err)
			}
			keyPath := filepath.Join(keyDir, "k.pem")
			if err := os.WriteFile(keyPath, privPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			l := openTest(t, dir, func(o *Options) { o.SigningKey, o.Passphrase = keyPath, tc.pass })
			appendN(t, l, 3, 3)
			waitPublished(t, l, 3)
			closeTest(t, l)
			if _, err := os.Stat(filepath.Join(dir, SigningKeyFile)); !errors.Is(err, os.ErrNotExist) {
				t.Error("a default key was created although a key file was given")
			}
			pubs, err := ParsePublicKeys(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			_, v := auditorKeys(t, dir)
			src, _ := NewSource(dir)
			if _, err := VerifyLog(context.Background(), src, pubs, v, nil); err != nil {
				t.Fatalf("VerifyLog with the file's public key: %v", err)
			}
		})
	}
}

// TestKeyRotation: a log signed by two keys verifies with signing.pub, which
// lists both.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	appendN(t, l, 2, 1)
	closeTest(t, l)
	privPEM, _, err := GenerateSigningKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "new.pem")
	if err := os.WriteFile(keyPath, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, func(o *Options) { o.SigningKey = keyPath })
	appendN(t, l, 2, 1)
	waitPublished(t, l, 4)
	closeTest(t, l)
	keys, v := auditorKeys(t, dir)
	if len(keys) != 2 {
		t.Fatalf("signing.pub holds %d keys, want 2", len(keys))
	}
	src, _ := NewSource(dir)
	sum, err := VerifyLog(context.Background(), src, keys, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.KeyIDs) != 2 {
		t.Errorf("summary key ids %v, want 2", sum.KeyIDs)
	}
	// Without the old key, the first record is the first failure.
	_, err = VerifyLog(context.Background(), src, keys[1:], v, nil)
	if ve := asVerifyError(t, err); ve.Index != 0 || ve.What != FailSignature {
		t.Errorf("verify without the old key: %v", err)
	}
}

// TestOpenUnwritable: root ignores permission bits, so the data dir is made
// unusable by placing it under a regular file (ENOTDIR), and the log dir by
// making it a regular file.
func TestOpenUnwritable(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), Options{DataDir: filepath.Join(file, "data")}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open under a file = %v, want ErrUnavailable", err)
	}
	dataDir := filepath.Join(base, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, LogDir), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), Options{DataDir: dataDir}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open with log dir a file = %v, want ErrUnavailable", err)
	}
}

// TestAppendUnavailable: storage failing after Open, a context that ends, and a
// closed log all fail closed with ErrUnavailable. Without the journal, a
// broken tree fails the append itself; with it, the record is durable in the
// journal, Ready reports that records are not reaching the log, and they
// reach it once the storage is repaired.
func TestAppendUnavailable(t *testing.T) {
	for _, journaled := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "journal"}[journaled], func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir, func(o *Options) { o.NoJournal = !journaled })
			appendN(t, l, 1, 1)
			waitPublished(t, l, 1)

			// The tiles directory turns into a file: the next batch cannot be written.
			tile := filepath.Join(l.Dir(), "tile")
			if err := os.Rename(tile, tile+".moved"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(tile, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			rec, err := l.Append(ctx, testRecord(1))
			cancel()
			if journaled {
				if err != nil || rec.Index != 1 {
					t.Fatalf("journaled Append with a broken tree = %+v, %v; want index 1 (durable in the journal)", rec, err)
				}
				deadline := time.Now().Add(10 * time.Second)
				for l.Ready() == nil && time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
				}
				if err := l.Ready(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "not reaching the log") {
					t.Errorf("Ready with records stuck in the journal = %v", err)
				}
				if _, err := l.Append(context.Background(), testRecord(1)); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "storage is failing") {
					t.Errorf("Append while the tree cannot be written = %v, want ErrUnavailable", err)
				}
			} else if !errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Append with broken storage = %v, want ErrUnavailable from storage", err)
			}
			t.Logf("broken storage: %v", err)
			if err := os.Remove(tile); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tile+".moved", tile); err != nil {
				t.Fatal(err)
			}
			want := uint64(1)
			if journaled {
				want = 2
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				rec, err = l.Append(context.Background(), testRecord(2))
				if err == nil || !journaled || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond) // until the retry integrates the journaled entry
			}
			if err != nil || rec.Index != want {
				t.Errorf("Append after repair = %+v, %v; want index %d", rec, err, want)
			}
			if journaled {
				waitPublished(t, l, 3)
				for i := range uint64(3) {
					if _, err := l.Entry(context.Background(), i); err != nil {
						t.Errorf("entry %d after repair: %v", i, err)
					}
				}
				time.Sleep(1100 * time.Millisecond) // Ready caches its answer for a second
				if err := l.Ready(); err != nil {
					t.Errorf("Ready after repair = %v", err)
				}
			}

			ctx, cancel = context.WithCancel(context.Background())
			cancel()
			if _, err := l.Append(ctx, testRecord(3)); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
				t.Errorf("Append with a cancelled context = %v", err)
			}
			closeTest(t, l)
			if _, err := l.Append(context.Background(), testRecord(4)); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Append after Close = %v, want ErrUnavailable", err)
			}
			if err := l.Close(context.Background()); err != nil {
				t.Errorf("second Close = %v", err)
			}
		})
	}
}

func TestAppendInvalid(t *testing.T) {
	l := openTest(t, t.TempDir())
	defer closeTest(t, l)
	// A large request and result go to a body (body_test.go); what stays in
	// the record must still fit one entry.
	big := testRecord(0)
	big.Links = []Link{{Rel: "overrides", ID: strings.Repeat("x", MaxEntrySize)}}
	for name, r := range map[string]*Record{
		"unknown kind":      {Kind: "decision.teleport", EngineVersion: "t"},
		"request not json":  {Kind: KindPlacement, Request: json.RawMessage(`{"a":`)},
		"duplicate key":     {Kind: KindPlacement, Request: json.RawMessage(`{"a":1,"a":2}`)},
		"link without id":   {Kind: KindOverride, Links: []Link{{Rel: "overrides"}}},
		"bad request hash":  {Kind: KindPlacement, RequestSHA256: "abc"},
		"entry too large":   big,
		"result not json":   {Kind: KindPlacement, Result: json.RawMessage(`nope`)},
		"id is not an uuid": {ID: "42", Kind: KindPlacement},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := l.Append(context.Background(), r); !errors.Is(err, ErrInvalidRecord) {
				t.Errorf("Append = %v, want ErrInvalidRecord", err)
			}
		})
	}
}

func TestOptionsValidated(t *testing.T) {
	for name, o := range map[string]Options{
		"no data dir":          {},
		"checkpoint too often": {DataDir: t.TempDir(), CheckpointInterval: 10 * time.Millisecond},
		"empty redact path":    {DataDir: t.TempDir(), Redact: []string{"a..b"}},
	} {
		t.Run(name, func(t *testing.T) {
			if l, err := Open(context.Background(), o); err == nil {
				closeTest(t, l)
				t.Error("Open accepted invalid options")
			}
		})
	}
}

func TestRedactionInLog(t *testing.T) {
	l := openTest(t, t.TempDir(), func(o *Options) { o.Redact = []string{"dataset.subject_count", "contact"} })
	defer closeTest(t, l)
	req := json.RawMessage(`{"contact":"dpo@example.com","dataset":{"id":"d1","subject_count":120000},"to":"bom-1"}`)
	r := &Record{Kind: KindTransfer, Request: req, EngineVersion: "t"}
	if _, err := l.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e, err := l.Entry(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"contact":"[redacted]","dataset":{"id":"d1","subject_count":"[redacted]"},"to":"bom-1"}`
	if string(e.Record.Request) != want {
		t.Errorf("logged request %s, want %s", e.Record.Request, want)
	}
	if bytes.Contains(e.Entry, []byte("dpo@example.com")) {
		t.Error("redacted value reached the log")
	}
	// No plain digest of the unredacted request: it would let anyone confirm
	// a guess of the redacted values. The keyed digest proves the request to
	// whoever holds the request key, and only to them.
	if e.Record.RequestSHA256 != "" {
		t.Errorf("redacted record carries a plain request_sha256 %s", e.Record.RequestSHA256)
	}
	keyHex, err := os.ReadFile(filepath.Join(l.opts.DataDir, RequestKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(l.opts.DataDir, RequestKeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("request key mode %o, want 0600", fi.Mode().Perm())
	}
	key, _ := hex.DecodeString(strings.TrimSpace(string(keyHex)))
	c, _ := Canonicalize(req)
	mac := hmac.New(sha256.New, key)
	mac.Write(c)
	if want := hex.EncodeToString(mac.Sum(nil)); e.Record.RequestHMACSHA256 != want {
		t.Errorf("request_hmac_sha256 %s, want the keyed digest of the unredacted request %s", e.Record.RequestHMACSHA256, want)
	}

	// A request the redaction leaves as it is keeps the plain digest, which
	// anyone can recompute from the record.
	plain := json.RawMessage(`{"dataset":{"id":"d2"},"to":"fra-1"}`)
	if _, err := l.Append(context.Background(), &Record{Kind: KindTransfer, Request: plain, EngineVersion: "t"}); err != nil {
		t.Fatal(err)
	}
	e, err = l.Entry(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := RequestDigest(e.Record.Request)
	if e.Record.RequestSHA256 != digest || e.Record.RequestHMACSHA256 != "" {
		t.Errorf("unredacted request: request_sha256 %q (want %q), request_hmac_sha256 %q", e.Record.RequestSHA256, digest, e.Record.RequestHMACSHA256)
	}
}

// TestKeyFileModeRefused: a private key its group or others can read is
// treated as leaked, so Open refuses it and names the file and its mode; the
// data directory's own keys are checked the same way on every start.
func TestKeyFileModeRefused(t *testing.T) {
	privPEM, _, err := GenerateSigningKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		keyPath := filepath.Join(t.TempDir(), "k.pem")
		if err := os.WriteFile(keyPath, privPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(keyPath, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Open(context.Background(), Options{DataDir: t.TempDir(), SigningKey: keyPath})
		if err == nil || !strings.Contains(err.Error(), keyPath) || !strings.Contains(err.Error(), fmt.Sprintf("mode %04o", mode)) {
			t.Errorf("key file mode %04o: Open error = %v, want a refusal naming the file and mode", mode, err)
		}
	}

	// The data directory's keys: loosened after the first start.
	for _, name := range []string{SigningKeyFile, LogKeyFile} {
		dir := t.TempDir()
		closeTest(t, openTest(t, dir))
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
		if l, err := Open(context.Background(), Options{DataDir: dir}); err == nil {
			l.Close(context.Background())
			t.Errorf("%s with mode 0644: Open succeeded", name)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s with mode 0644: error %v does not name the file", name, err)
		}
	}
}
