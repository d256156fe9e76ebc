package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBundleCommands(t *testing.T) {
	dir := t.TempDir()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	priv := filepath.Join(dir, "k.pem")
	pubPath := filepath.Join(dir, "k.pub")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherPub, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	otherPath := filepath.Join(dir, "other.pub")
	os.WriteFile(otherPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: otherPub}), 0o644)

	out := filepath.Join(dir, "b.tar.gz")
	code, stdout, stderr := runCLI(t, "", "bundle", "build", "../../policies", "-o", out, "--revision", "r7", "--signing-key", priv)
	if code != 0 || !strings.Contains(stdout, `revision "r7"`) {
		t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr = runCLI(t, "", "bundle", "verify", out, "--public-key", pubPath); code != 0 || !strings.Contains(stdout, `ok: `) ||
		!strings.Contains(stdout, `signed by key "default" (ES256)`) {
		t.Fatalf("verify with the right key: exit %d\n%s%s", code, stdout, stderr)
	}
	var verified struct {
		Verified bool `json:"verified"`
		Revision string
		Signers  []struct {
			KeyID string `json:"key_id"`
		}
	}
	if code, stdout, _ = runCLI(t, "", "bundle", "verify", out, "--public-key", pubPath, "--format", "json"); code != 0 ||
		json.Unmarshal([]byte(stdout), &verified) != nil || !verified.Verified || verified.Revision != "r7" || len(verified.Signers) != 1 {
		t.Fatalf("verify --format json: exit %d\n%s", code, stdout)
	}
	if code, _, stderr = runCLI(t, "", "bundle", "verify", out, "--public-key", otherPath); code != 1 || !strings.Contains(stderr, "does not verify") {
		t.Fatalf("verify with another key: exit %d, want 1\n%s", code, stderr)
	}
	if code, _, stderr = runCLI(t, "", "bundle", "verify", out); code != 2 || !strings.Contains(stderr, "--public-key is required") {
		t.Fatalf("verify without a key: exit %d, want 2\n%s", code, stderr)
	}
	if code, stdout, _ = runCLI(t, "", "bundle", "inspect", out); code != 0 || !strings.Contains(stdout, "revision:    r7") ||
		!strings.Contains(stdout, `signed by:   key "default" (ES256)`) || strings.Contains(stdout, "sha256:    sha256:") {
		t.Fatalf("inspect: exit %d\n%s", code, stdout)
	}
	for _, args := range [][]string{{"--format", "json"}, {"--json"}} {
		var info bundleInfo
		if code, stdout, _ = runCLI(t, "", append([]string{"bundle", "inspect", out}, args...)...); code != 0 || json.Unmarshal([]byte(stdout), &info) != nil || info.Revision != "r7" {
			t.Fatalf("inspect %v: exit %d\n%s", args, code, stdout)
		}
	}
	// A directory that does not compile is refused and nothing is written.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "p.rego"), []byte("package sovereign.placement\nx := {\n"), 0o644)
	badOut := filepath.Join(dir, "bad.tar.gz")
	if code, _, _ = runCLI(t, "", "bundle", "build", bad, "-o", badOut); code != 2 {
		t.Fatalf("build of a broken policy: exit %d, want 2", code)
	}
	if _, err := os.Stat(badOut); !os.IsNotExist(err) {
		t.Fatalf("a refused build left %s behind", badOut)
	}
}

// TestBundleSchemeChecked: plain http is for loopback only unless allowed.
func TestBundleSchemeChecked(t *testing.T) {
	for _, tc := range []struct {
		loc   string
		allow bool
		ok    bool
	}{
		{"https://cp.example.com/v1/bundles/policy.tar.gz", false, true},
		{"http://127.0.0.1:8181/v1/bundles/p.tar.gz", false, true},
		{"http://[::1]:8181/v1/bundles/p.tar.gz", false, true},
		{"http://localhost/p.tar.gz", false, true},
		{"http://cp.example.com/v1/bundles/p.tar.gz", false, false},
		{"http://10.0.0.7/p.tar.gz", false, false},
		{"http://cp.example.com/v1/bundles/p.tar.gz", true, true},
		{"policies/", false, true},
	} {
		err := checkBundleScheme(tc.loc, tc.allow)
		if (err == nil) != tc.ok {
			t.Errorf("%s (allow %v): err %v, want ok %v", tc.loc, tc.allow, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--bundle-allow-http") {
			t.Errorf("%s: error %v does not say how to allow it", tc.loc, err)
		}
	}
}
