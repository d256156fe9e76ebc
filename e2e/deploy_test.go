package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/sovereign-engine/sovereign/internal/testenv"
)

// TestDeploy installs deploy/ as docs/admission.md says, as far as a cluster
// without a kubelet, a registry or cert-manager allows: the server's
// kustomization for real (the StatefulSet controller makes its pods and one
// claim per replica), the serving certificate from deploy/webhook-cert.sh, and
// the webhook configurations through deploy/apply-webhooks.sh as a server-side
// dry run (for real they would call pods that never run). TestAdmission
// registers the same webhooks for real against a server on loopback.
func TestDeploy(t *testing.T) {
	c := needCluster(t)
	_, err := exec.LookPath("openssl")
	testenv.Need(t, err == nil, "openssl (deploy/webhook-cert.sh)")
	env := append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "KUBECTL="+filepath.Join(os.Getenv(binEnv), "kubectl"))
	script := func(t *testing.T, name string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(filepath.Join("../deploy", name), args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	t.Run("the server: StatefulSet with a claim per replica", func(t *testing.T) {
		kubectl(t, "apply", "-k", "../deploy")
		var pods corev1.PodList
		waitFor(t, 60*time.Second, "both replicas' pods and claims", func() error {
			getJSON(t, &pods, "pods", "-n", "sovereign", "-l", "app.kubernetes.io/name=sovereign-webhook")
			_, err := c.Kubectl(context.Background(), "get", "pvc", "data-sovereign-webhook-0", "data-sovereign-webhook-1", "-n", "sovereign")
			if err != nil {
				return err
			}
			if len(pods.Items) != 2 {
				return fmt.Errorf("%d pods", len(pods.Items))
			}
			return nil
		})
		for _, i := range []string{"0", "1"} {
			var claim corev1.PersistentVolumeClaim
			getJSON(t, &claim, "pvc", "data-sovereign-webhook-"+i, "-n", "sovereign")
			if len(claim.Spec.AccessModes) != 1 || claim.Spec.AccessModes[0] != corev1.ReadWriteOnce || claim.Spec.StorageClassName != nil {
				t.Errorf("claim %s: want ReadWriteOnce, no storage class assumed: %v %v", claim.Name, claim.Spec.AccessModes, claim.Spec.StorageClassName)
			}
		}
		var sts appsv1.StatefulSet
		getJSON(t, &sts, "statefulset", "sovereign-webhook", "-n", "sovereign")
		if p := sts.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
			t.Errorf("claims must outlive the StatefulSet: %+v", p)
		}
	})

	t.Run("apply-webhooks refuses without a certificate", func(t *testing.T) {
		out, err := script(t, "apply-webhooks.sh", "--no-wait", "--dry-run=server")
		if err == nil || !strings.Contains(out, "sovereign-webhook-tls") {
			t.Fatalf("want a refusal naming the missing Secret: %v %s", err, out)
		}
	})

	var firstCA []byte
	t.Run("webhook-cert.sh issues the serving certificate, keeping its CA", func(t *testing.T) {
		for round := range 2 {
			if out, err := script(t, "webhook-cert.sh"); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var s corev1.Secret
			getJSON(t, &s, "secret", "sovereign-webhook-tls", "-n", "sovereign")
			if s.Type != corev1.SecretTypeTLS {
				t.Errorf("secret type %s", s.Type)
			}
			ca, leaf := parseCert(t, s.Data["ca.crt"]), parseCert(t, s.Data["tls.crt"])
			roots := x509.NewCertPool()
			roots.AddCert(ca)
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "sovereign-webhook.sovereign.svc"}); err != nil {
				t.Errorf("round %d: the serving certificate does not verify for the Service's name: %v", round, err)
			}
			if round == 0 {
				firstCA = s.Data["ca.crt"]
			} else if string(firstCA) != string(s.Data["ca.crt"]) {
				t.Errorf("a renewal changed the CA the webhooks trust")
			}
		}
	})

	t.Run("apply-webhooks.sh: the shipped webhooks with the CA, server-side dry run", func(t *testing.T) {
		out, err := script(t, "apply-webhooks.sh", "--no-wait", "--dry-run=server", "-o", "yaml")
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if strings.Count(out, "caBundle: ") != 2 || strings.Contains(out, `caBundle: ""`) {
			t.Errorf("want both webhooks applied with the CA set:\n%s", out)
		}
		for _, want := range []string{"kind: MutatingWebhookConfiguration", "kind: ValidatingWebhookConfiguration", "failurePolicy: Fail"} {
			if !strings.Contains(out, want) {
				t.Errorf("dry run output lacks %q", want)
			}
		}
		if _, err := c.Kubectl(context.Background(), "get", "validatingwebhookconfiguration", "sovereign"); err == nil {
			t.Errorf("a dry run created the webhooks")
		}
	})

	t.Run("the cert-manager kustomization renders", func(t *testing.T) {
		// No cert-manager here: its CRDs are not installed, so the API server
		// cannot check these; they are rendered and counted.
		out := kubectl(t, "kustomize", "../deploy/cert-manager")
		count := func(kind string) int { return len(regexp.MustCompile(`(?m)^kind: `+kind+`$`).FindAllString(out, -1)) }
		if count("Certificate") != 2 || count("Issuer") != 2 || !strings.Contains(out, "namespace: sovereign") {
			t.Errorf("want two Issuers and two Certificates in sovereign:\n%s", out)
		}
	})
}

func parseCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("not PEM: %q", b)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
