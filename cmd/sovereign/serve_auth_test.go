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
