package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// The shipped configuration (deploy/config.yaml) starts a server, and the
// API server, sending no credential, may admit and nothing else. (The
// manifests and the admission configuration alone are checked in package
// admission.)
func TestDeployConfigStarts(t *testing.T) {
	dir := t.TempDir()
	invDir := filepath.Join(dir, "inventory")
	if err := os.Mkdir(invDir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../deploy/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var admissionFile, authFile string
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var cm corev1.ConfigMap
		if err := yaml.UnmarshalStrict([]byte(doc), &cm); err != nil {
			t.Fatalf("deploy/config.yaml: %v", err)
		}
		for name, data := range cm.Data {
			target := filepath.Join(invDir, name)
			switch cm.Name {
			case "sovereign-admission":
				target = filepath.Join(dir, name)
				admissionFile = target
			case "sovereign-auth":
				target = filepath.Join(dir, name)
				authFile = target
			}
			if err := os.WriteFile(target, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	inv, err := engine.LoadInventory(invDir)
	if err != nil {
		t.Fatalf("shipped inventory: %v", err)
	}
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := admission.LoadConfig(admissionFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(context.Background(), audit.Options{DataDir: t.TempDir(), Origin: "sovereign/test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	// The deployment listens on :8443, which serve allows only with credentials.
	authCfg, err := auth.LoadConfig(authFile)
	if err != nil {
		t.Fatalf("shipped auth config: %v", err)
	}
	authn, err := auth.NewAuthenticator(authCfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(api.Config{Engine: eng, Audit: l, Admission: cfg, Auth: authn, DefaultAuthz: builtinAuthz(t)})
	if err != nil {
		t.Fatalf("shipped admission config: %v", err)
	}
	review := mustReadFixture(t, "pod-create-undeclared.json")
	for path, want := range map[string]int{"/v1/admission/validate": 200, "/v1/admission/mutate": 200, "/v1/audit/checkpoint": 403, "/v1/bundles/status": 403} {
		method, body := http.MethodPost, review
		if want == 403 {
			method, body = http.MethodGet, nil
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest(method, path, bytes.NewReader(body)))
		if w.Code != want {
			t.Errorf("%s without credentials: %d, want %d: %s", path, w.Code, want, w.Body)
		}
	}
}
