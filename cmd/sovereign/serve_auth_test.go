package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeWithoutCredentialsListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "10.1.2.3:8181"} {
		cmd := exec.Command(binary, "serve", "--addr", addr, "--inventory", demoInventory, "--data-dir", t.TempDir())
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("serve started on %s without credentials:\n%s", addr, out)
		}
		if !strings.Contains(string(out), "loopback only") || !strings.Contains(string(out), "--auth-config") {
			t.Errorf("%s: the refusal does not say why and what to do:\n%s", addr, out)
		}
	}
}

func TestServeRefusesABadAuthConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "auth.yaml")
	if err := os.WriteFile(cfg, []byte("tokens:\n  - {principal: ci, roles: [admin], sha256: not-hex}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "serve", "--addr", freeAddr(t), "--inventory", demoInventory, "--data-dir", dir, "--auth-config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "tokens[0].sha256") {
		t.Fatalf("serve with a bad auth config: %v\n%s", err, out)
	}
}

func TestServeWithTokens(t *testing.T) {
	dir := t.TempDir()
	sum := sha256.Sum256([]byte("s3cr3t-acme-token"))
	cfg := filepath.Join(dir, "auth.yaml")
	body := "tokens:\n  - principal: acme-ci\n    tenant: acme\n    roles: [tenant]\n    sha256: " + hex.EncodeToString(sum[:]) + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "--auth-config", cfg)
	post := func(token, dataset string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/v1/decisions/placement",
			strings.NewReader(`{"dataset": "`+dataset+`", "operation": "store", "candidates": ["fra-1"]}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		token, dataset string
		want           int
	}{
		{"", "customer-pii-eu", 401},
		{"wrong", "customer-pii-eu", 401},
		{"s3cr3t-acme-token", "customer-pii-eu", 200},
		{"s3cr3t-acme-token", "patient-records-de", 403},
	} {
		if got := post(c.token, c.dataset); got != c.want {
			t.Errorf("token %q on %s: %d, want %d", c.token, c.dataset, got, c.want)
		}
	}
	if strings.Contains(s.stderr.String(), "s3cr3t") {
		t.Error("the token appears in the server's log")
	}
}

// TestBundleWithInvalidAuthzIsRefused: a bundle's Cedar policies travel with
// it (bundle build packs authz/*.cedar); a new bundle whose policies do not
// validate against the schema is refused like one whose Rego does not compile,
// and the last good bundle, with its policies, stays in force.
func TestBundleWithInvalidAuthzIsRefused(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.CopyFS(src, os.DirFS("../../policies")); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"*.go", "internal"} {
		m, _ := filepath.Glob(filepath.Join(src, g))
		for _, f := range m {
			os.RemoveAll(f)
		}
	}
	published := filepath.Join(dir, "policy.tar.gz")
	build := func(revision string) {
		t.Helper()
		tmp := filepath.Join(dir, revision+".tar.gz")
		if code, out, errs := runCLI(t, "", "bundle", "build", src, "-o", tmp, "--revision", revision); code != 0 {
			t.Fatalf("bundle build: %s%s", out, errs)
		}
		if err := os.Rename(tmp, published); err != nil {
			t.Fatal(err)
		}
	}
	build("good")
	s := startBundleServer(t, filepath.Join(dir, "data"), "--bundle", published, "--bundle-unsigned", "--bundle-poll-interval", "100ms")
	if st := getStatus(t, s.addr); st.ActiveRevision != "good" {
		t.Fatalf("status %+v", st)
	}
	bad := `@id("typo") permit (principal, action == Sovereign::Action::"decide", resource) when { resource.owner == "acme" };`
	if err := os.WriteFile(filepath.Join(src, "authz", "typo.cedar"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	build("bad-authz")
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := getStatus(t, s.addr)
		if st.Refusals > 0 {
			if st.ActiveRevision != "good" || !strings.Contains(st.LastError, "typo.cedar") {
				t.Fatalf("after a bundle with invalid authz: %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bundle with invalid authz was not refused: %+v\n%s", st, s.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And a server does not start on one.
	out, err := exec.Command(binary, "serve", "--addr", freeAddr(t), "--inventory", demoInventory, "--data-dir", t.TempDir(),
		"--bundle", published, "--bundle-unsigned").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "typo.cedar") {
		t.Fatalf("serve on a bundle with invalid authz: %v\n%s", err, out)
	}
}

// TestSiteFetchesBundlesWithAToken: a control plane with --auth-config serves
// bundles only to principals allowed bundle.read; a site sends its token from
// --bundle-token-file.
func TestSiteFetchesBundlesWithAToken(t *testing.T) {
	dir := t.TempDir()
	published := filepath.Join(dir, "published")
	os.MkdirAll(published, 0o755)
	if code, out, errs := runCLI(t, "", "bundle", "build", "../../policies", "-o", filepath.Join(published, "policy.tar.gz"), "--revision", "cp-1"); code != 0 {
		t.Fatalf("bundle build: %s%s", out, errs)
	}
	sum := sha256.Sum256([]byte("site-token-fra-1"))
	cfg := filepath.Join(dir, "auth.yaml")
	os.WriteFile(cfg, []byte("tokens:\n  - {principal: site-fra-1, roles: [site], sha256: "+hex.EncodeToString(sum[:])+"}\n"), 0o600)
	cp := startServer(t, filepath.Join(dir, "cp"), "--serve-bundles", published, "--auth-config", cfg)
	url := "http://" + cp.addr + "/v1/bundles/policy.tar.gz"

	out, err := exec.Command(binary, "serve", "--addr", freeAddr(t), "--inventory", demoInventory, "--data-dir", t.TempDir(),
		"--bundle", url, "--bundle-unsigned").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "HTTP 401") {
		t.Fatalf("a site without a token: %v\n%s", err, out)
	}
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("site-token-fra-1\n"), 0o600)
	site := startBundleServer(t, filepath.Join(dir, "site"), "--bundle", url, "--bundle-unsigned", "--bundle-token-file", tokenFile)
	if st := getStatus(t, site.addr); st.ActiveRevision != "cp-1" {
		t.Fatalf("site status %+v", st)
	}
}

// startBundleServer is startServer for a server started on a --bundle: it runs
// the bundle's Rego tests before it is ready, which takes tens of seconds when
// the machine is busy with other test packages (make test), so it is given
// longer than startServer's 20 s.
func startBundleServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	return startServerWith(t, serverStart{dataDir: dataDir, ready: 120 * time.Second}, extra...)
}

// A bundle token goes over https, or in clear to loopback only: the same
// loopback test as the listener's and --bundle's.
func TestBundleTokenLoopbackOnly(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for loc, ok := range map[string]bool{
		"https://cp.example.com/v1/bundles/p.tar.gz": true,
		"http://127.0.0.1:8181/v1/bundles/p.tar.gz":  true,
		"http://127.0.0.1/p.tar.gz":                  true,
		"http://[::1]:8181/p.tar.gz":                 true,
		"http://localhost/p.tar.gz":                  true,
		"http://localhost:8181/p.tar.gz":             true,
		"http://cp.example.com/v1/bundles/p.tar.gz":  false,
		"http://10.0.0.7:8181/p.tar.gz":              false,
	} {
		_, err := bundleClient(loc, tok, 0)
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want ok %v", loc, err, ok)
		}
	}
}
