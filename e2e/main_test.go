// Package e2e drives Sovereign as its real clients do: a kube-apiserver and
// kube-controller-manager built from Go modules (scripts/k8s-build.sh) calling
// the admission webhook of a running `sovereign serve`. `make e2e` builds what
// it needs and runs it; .ci/run calls it.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/e2e/kube"
	"github.com/sovereign-engine/sovereign/internal/testenv"
)

// binEnv names the directory holding kube-apiserver, kube-controller-manager
// and kubectl (scripts/k8s-build.sh prints it).
const binEnv = "SOVEREIGN_K8S_BIN"

var (
	cluster  *kube.Cluster
	startErr error
	// sovereignBin is the binary under test, built once.
	sovereignBin string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	bin := os.Getenv(binEnv)
	if bin == "" {
		startErr = fmt.Errorf("%s unset: the Kubernetes binaries are built by scripts/k8s-build.sh (make e2e does it)", binEnv)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "sovereign-e2e-")
	if err != nil {
		startErr = err
		return m.Run()
	}
	sovereignBin = filepath.Join(dir, "sovereign")
	build := exec.Command("go", "build", "-o", sovereignBin, "../cmd/sovereign")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		startErr = fmt.Errorf("build sovereign: %w", err)
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cluster, startErr = kube.Start(ctx, kube.Options{BinDir: bin, Dir: filepath.Join(dir, "cluster"), Logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, f+"\n", a...)
	}})
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "e2e: cluster and webhook files kept in %s\n", dir)
	}
	return code
}

// needCluster skips (or fails, under SOVEREIGN_REQUIRE_ALL=1) without a
// control plane.
func needCluster(t *testing.T) *kube.Cluster {
	t.Helper()
	if startErr != nil {
		if cluster == nil && os.Getenv(binEnv) != "" {
			t.Fatalf("the control plane did not start: %v", startErr)
		}
		testenv.Need(t, false, "Kubernetes control plane: "+startErr.Error())
	}
	return cluster
}

func TestControlPlaneStarts(t *testing.T) {
	c := needCluster(t)
	ctx := context.Background()
	if _, err := c.Kubectl(ctx, "create", "namespace", "smoke"); err != nil {
		t.Fatal(err)
	}
	out, err := c.Kubectl(ctx, "get", "namespace", "smoke", "-o", "jsonpath={.metadata.name}")
	if err != nil || out != "smoke" {
		t.Fatalf("%q %v", out, err)
	}
}
