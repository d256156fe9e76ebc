package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRefusedStartLeavesNothingBehind: every start refused for a flag, a
// file or a busy port fails before the data directory, keys, witness key or
// audit log exist (issue #20: a site started on a busy port, or with --bundle
// and no key, left a new log behind).
func TestRefusedStartLeavesNothingBehind(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bundleDir := filepath.Join("..", "..", "policies")
	admissionCfg := filepath.Join(t.TempDir(), "admission.yaml")
	if err := os.WriteFile(admissionCfg, []byte("cluster_site: atlantis-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		addr string // default a free port
		args []string
		want string
	}{
		{"busy port", busy.Addr().String(), nil, "address already in use"},
		{"bundle without a key", "", []string{"--bundle", bundleDir}, "--bundle-public-key"},
		{"bundle key that does not exist", "", []string{"--bundle", bundleDir, "--bundle-public-key", "/nonexistent/key.pem"}, "/nonexistent/key.pem"},
		{"bundle source that does not exist", "", []string{"--bundle", "/nonexistent/bundle.tar.gz", "--bundle-unsigned"}, "--bundle"},
		{"key without a bundle", "", []string{"--bundle-unsigned"}, "--bundle, which is not set"},
		{"TLS cert without key", "", []string{"--tls-cert", "/nonexistent/cert.pem"}, "--tls-key"},
		{"TLS files that do not exist", "", []string{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"}, "/nonexistent/cert.pem"},
		{"policy directory with Cedar files", "", []string{"--bundle", "../../policies", "--bundle-unsigned"}, "sovereign bundle build ../../policies"},
		{"drift interval too short", "", []string{"--drift-interval", "5s"}, "drift-interval 5s"},
		{"drift events without a schedule", "", []string{"--drift-events-url", "https://u:secret@hooks.example/x"}, "drift-events-url: drift events need a drift-interval"},
		{"admission site not in the inventory", "", []string{"--admission-config", admissionCfg}, "atlantis-1"},
		{"bundles to serve that do not exist", "", []string{"--serve-bundles", "/nonexistent/dir"}, "--serve-bundles"},
		{"pprof off loopback", "", []string{"--pprof-addr", "0.0.0.0:6060"}, "--pprof-addr"},
		{"witness name without logs", "", []string{"--witness-name", "w"}, "--witness-logs"},
		{"missing inventory", "", []string{"--inventory", "/nonexistent/inventory"}, "/nonexistent/inventory"},
		{"kube audit without a cluster site", "", []string{"--kube-audit", "--kubeconfig", "/nonexistent/kubeconfig"}, "--cluster-site"},
		{"kubeconfig that does not exist", "", []string{"--kube-audit", "--cluster-site", "fra-1", "--kubeconfig", "/nonexistent/kubeconfig"}, "/nonexistent/kubeconfig"},
		{"kube audit outside a cluster without a kubeconfig", "", []string{"--kube-audit", "--cluster-site", "fra-1"}, "in-cluster"},
		{"kubeconfig without kube audit", "", []string{"--kubeconfig", "/nonexistent/kubeconfig"}, "--kube-audit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			addr := tc.addr
			if addr == "" {
				addr = freeAddr(t)
			}
			args := append([]string{"serve", "--addr", addr, "--inventory", demoInventory, "--data-dir", dataDir}, tc.args...)
			out, err := exec.Command(binary, args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("serve %v: %v, want a refusal naming %q\n%s", tc.args, err, tc.want, out)
			}
			if strings.Contains(string(out), "u:secret@") {
				t.Errorf("a URL's credentials in the output:\n%s", out)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				entries, _ := os.ReadDir(dataDir)
				t.Fatalf("a refused start created %s (%v): %v", dataDir, err, entries)
			}
		})
	}
}
