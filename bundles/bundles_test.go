package bundles_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/internal/testenv"
)

const policyDir = "../policies"

type keyPair struct{ priv, pub string }

func writeKeys(t *testing.T, priv crypto.Signer) keyPair {
	t.Helper()
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	kp := keyPair{priv: filepath.Join(dir, "key.pem"), pub: filepath.Join(dir, "key.pub")}
	if err := os.WriteFile(kp.priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp.pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return kp
}

func ecKeys(t *testing.T) keyPair {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return writeKeys(t, k)
}

func build(t *testing.T, o bundles.BuildOptions) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundle.tar.gz")
	var buf bytes.Buffer
	if err := bundles.Build(context.Background(), policyDir, &buf, o); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func key(t *testing.T, path string) []bundles.PublicKey {
	t.Helper()
	k, err := bundles.ParsePublicKeyFlag(path)
	if err != nil {
		t.Fatal(err)
	}
	return []bundles.PublicKey{k}
}

func TestBuildSignVerify(t *testing.T) {
	kp := ecKeys(t)
	signed := build(t, bundles.BuildOptions{Revision: "r-test", SigningKey: kp.priv})
	b, err := bundles.Read(signed, key(t, kp.pub))
	if err != nil {
		t.Fatalf("own signed bundle does not verify: %v", err)
	}
	if b.Manifest.Revision != "r-test" {
		t.Errorf("revision %q", b.Manifest.Revision)
	}
	p, err := engine.CompilePolicy(b)
	if err != nil {
		t.Fatalf("signed bundle does not load in the engine: %v", err)
	}
	sc, err := bundles.ReadSignatures(signed)
	if err != nil {
		t.Fatal(err)
	}
	signers, err := bundles.Signers(sc)
	if err != nil || len(signers) != 1 || signers[0].KeyID != bundles.DefaultKeyID || signers[0].Algorithm != "ES256" {
		t.Fatalf("signers %+v %v", signers, err)
	}

	// The digest names content: re-signing with another key keeps it.
	other := ecKeys(t)
	resigned := build(t, bundles.BuildOptions{Revision: "r-test", SigningKey: other.priv})
	b2, err := bundles.Read(resigned, key(t, other.pub))
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := bundles.Digest(b2); d2 != p.Digest {
		t.Errorf("re-signing changed the digest: %s vs %s", d2, p.Digest)
	}

	refusals := map[string]func() (string, []bundles.PublicKey){
		"another key": func() (string, []bundles.PublicKey) { return signed, key(t, other.pub) },
		"unsigned":    func() (string, []bundles.PublicKey) { return build(t, bundles.BuildOptions{}), key(t, kp.pub) },
		"a module changed after signing": func() (string, []bundles.PublicKey) {
			return rewriteTarball(t, signed, func(name string, b []byte) []byte {
				if strings.HasSuffix(name, "placement.rego") {
					return append(b, []byte("\n# tampered\n")...)
				}
				return b
			}), key(t, kp.pub)
		},
		"data changed after signing": func() (string, []bundles.PublicKey) {
			return rewriteTarball(t, signed, func(name string, b []byte) []byte {
				if name == "/data.json" {
					return bytes.Replace(b, []byte(`"EEA"`), []byte(`"EEB"`), 1)
				}
				return b
			}), key(t, kp.pub)
		},
	}
	for name, make := range refusals {
		t.Run(name, func(t *testing.T) {
			path, keys := make()
			if _, err := bundles.Read(path, keys); err == nil {
				t.Fatal("bundle accepted")
			}
			if _, err := engine.LoadPolicy(path, keys...); err == nil {
				t.Fatal("engine loaded it")
			}
		})
	}
}

func TestRSAKeyInfersRS256(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kp := writeKeys(t, k)
	signed := build(t, bundles.BuildOptions{SigningKey: kp.priv})
	if _, err := bundles.Read(signed, key(t, kp.pub)); err != nil {
		t.Fatal(err)
	}
	sc, _ := bundles.ReadSignatures(signed)
	if s, _ := bundles.Signers(sc); len(s) != 1 || s[0].Algorithm != "RS256" {
		t.Fatalf("signers %+v", s)
	}
	opaAccepts(t, signed, kp.pub, "RS256")
}

func TestBuildRefusesPolicyThatDoesNotCompile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package sovereign.placement\ndecision := {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bundles.Build(context.Background(), dir, io.Discard, bundles.BuildOptions{}); err == nil {
		t.Fatal("built a bundle that does not compile")
	}
}

func opaPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../bin/opa")
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(p)
	testenv.Need(t, err == nil, "bin/opa (make opa; make test builds it)")
	return p
}

// A bundle built and signed by `opa build --signing-key` loads and verifies here.
func TestOPASignedBundleLoadsHere(t *testing.T) {
	opa := opaPath(t)
	kp := ecKeys(t)
	out := filepath.Join(t.TempDir(), "opa.tar.gz")
	cmd := exec.Command(opa, "build", "--bundle", ".", "--signing-key", kp.priv, "--signing-alg", "ES256", "--revision", "from-opa", "-o", out)
	cmd.Dir = policyDir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("opa build: %v\n%s", err, b)
	}
	p, err := engine.LoadPolicy(out, key(t, kp.pub)...)
	if err != nil {
		t.Fatalf("OPA-signed bundle refused: %v", err)
	}
	if p.Revision != "from-opa" {
		t.Errorf("revision %q", p.Revision)
	}
	if _, err := engine.LoadPolicy(out, key(t, ecKeys(t).pub)...); err == nil {
		t.Fatal("OPA-signed bundle verified with the wrong key")
	}
}

// A bundle built here is accepted by `opa build --bundle FILE --verification-key
// KEY` and served by `opa run --server --bundle FILE --verification-key KEY`;
// OPA refuses the same bundle tampered.
func TestBundleBuiltHereLoadsInOPA(t *testing.T) {
	kp := ecKeys(t)
	signed := build(t, bundles.BuildOptions{Revision: "from-sovereign", SigningKey: kp.priv})
	opaAccepts(t, signed, kp.pub, "ES256")

	opa := opaPath(t)
	tampered := rewriteTarball(t, signed, func(name string, b []byte) []byte {
		if strings.HasSuffix(name, "placement.rego") {
			return append(b, []byte("\n# tampered\n")...)
		}
		return b
	})
	if b, err := exec.Command(opa, "build", "--bundle", tampered, "--verification-key", kp.pub, "--signing-alg", "ES256", "-o", filepath.Join(t.TempDir(), "x.tar.gz")).CombinedOutput(); err == nil {
		t.Fatalf("opa build accepted a tampered bundle:\n%s", b)
	}
	addr := freeAddr(t)
	run := exec.Command(opa, "run", "--server", "--addr", addr, "--bundle", tampered, "--verification-key", kp.pub, "--signing-alg", "ES256")
	done := make(chan error, 1)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- run.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("opa run exited 0 on a tampered bundle")
		}
	case <-time.After(15 * time.Second):
		_ = run.Process.Kill()
		t.Fatal("opa run kept serving a tampered bundle")
	}
}

func opaAccepts(t *testing.T, bundlePath, pub, alg string) {
	t.Helper()
	opa := opaPath(t)
	if b, err := exec.Command(opa, "build", "--bundle", bundlePath, "--verification-key", pub, "--signing-alg", alg, "-o", filepath.Join(t.TempDir(), "rebuilt.tar.gz")).CombinedOutput(); err != nil {
		t.Fatalf("opa build --verification-key refused our bundle: %v\n%s", err, b)
	}
	addr := freeAddr(t)
	run := exec.Command(opa, "run", "--server", "--addr", addr, "--bundle", bundlePath, "--verification-key", pub, "--signing-alg", alg)
	var stderr bytes.Buffer
	run.Stderr = &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = run.Process.Kill(); _ = run.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Post("http://"+addr+"/v1/data/sovereign/lib/sector_label", "application/json", strings.NewReader(`{}`))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && bytes.Contains(b, []byte(`"result"`)) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("opa run --bundle --verification-key did not serve our bundle:\n%s", stderr.String())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// rewriteTarball copies a bundle tarball, passing each file through change.
func rewriteTarball(t *testing.T, path string, change func(name string, b []byte) []byte) string {
	t.Helper()
	files := readTar(t, path)
	for i := range files {
		files[i].data = change(files[i].name, files[i].data)
	}
	return writeTar(t, files)
}

// TestDirSourceRefusesLooseAuthz: a directory holding Cedar policies as
// files would run under the built-in authorization policies (OPA's
// directory loader reads no .cedar): it is refused, naming the fix; the
// same directory without them is read.
func TestDirSourceRefusesLooseAuthz(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package sovereign\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := bundles.DirSource{Path: dir}
	if _, err := src.Fetch(context.Background(), ""); err != nil {
		t.Fatalf("a directory without Cedar files: %v", err)
	}
	for _, name := range []string{"tenant.cedar", "schema.cedarschema"} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.MkdirAll(filepath.Join(d, bundles.AuthzDir), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, bundles.AuthzDir, name), []byte("permit(principal, action, resource);\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := bundles.DirSource{Path: d}.Fetch(context.Background(), "")
			if err == nil || !strings.Contains(err.Error(), "authz/"+name) || !strings.Contains(err.Error(), "sovereign bundle build") {
				t.Fatalf("Fetch: %v", err)
			}
		})
	}
}
