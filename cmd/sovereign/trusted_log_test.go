package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-engine/sovereign/audit"
)

// newWitnessKey is the verifier key of a new witness that has cosigned
// nothing.
func newWitnessKey(t *testing.T) string {
	t.Helper()
	_, vkey, err := note.GenerateKey(rand.Reader, "witness.example")
	if err != nil {
		t.Fatal(err)
	}
	cosig, err := f_note.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return cosig
}

// TestTrustedLogFlags: the flags make one trusted log, each key file read
// once into it, --log-key defaulting to log.vkey beside --public-key; a key
// file that cannot be read or parsed is an error naming it.
func TestTrustedLogFlags(t *testing.T) {
	dir := makeLog(t, 2)
	pub := filepath.Join(dir, audit.SigningPublicKeysFile)
	pemBytes, _ := os.ReadFile(pub)
	vkey, _ := os.ReadFile(filepath.Join(dir, audit.LogVerifierKeyFile))
	f := trustedLogFlags{log: dir, publicKey: pub, witnessKeys: []string{newWitnessKey(t)}}
	tl, err := f.open()
	if err != nil {
		t.Fatal(err)
	}
	if tl.Location != dir || string(tl.KeysPEM) != string(pemBytes) || tl.VerifierKey != string(vkey) || len(tl.Keys) != 1 || len(tl.Witnesses) != 1 {
		t.Errorf("trusted log %+v", tl)
	}
	if err := tl.Validate(); err != nil {
		t.Error(err)
	}

	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("not a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name string
		f    trustedLogFlags
		want string
	}{
		{"public key missing", trustedLogFlags{log: dir, publicKey: missing}, "public key: "},
		{"public key unreadable", trustedLogFlags{log: dir, publicKey: garbage}, "public key " + garbage},
		{"log key missing", trustedLogFlags{log: dir, publicKey: pub, logKey: missing}, "log key (--log-key): "},
		{"log key unreadable", trustedLogFlags{log: dir, publicKey: pub, logKey: garbage}, "log key " + garbage},
		{"witness key unreadable", trustedLogFlags{log: dir, publicKey: pub, witnessKeys: []string{"not+a+key"}}, "--witness-key: "},
		{"no log", trustedLogFlags{log: missing, publicKey: pub}, "no checkpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.f.open(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("open: %v, want an error with %q", err, tc.want)
			}
		})
	}

	// For an evidence pack, only the keys given are read.
	if keys, v, err := (&trustedLogFlags{}).auditorKeys(); keys != nil || v != nil || err != nil {
		t.Errorf("no keys given: %v, %v, %v", keys, v, err)
	}
	if keys, v, err := (&trustedLogFlags{publicKey: pub}).auditorKeys(); len(keys) != 1 || v != nil || err != nil {
		t.Errorf("--public-key alone: %v, %v, %v", keys, v, err)
	}
}
