package admission_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// readManifests decodes every document of a deploy/ file strictly into the
// Kubernetes type of its kind, so a misspelt field fails here rather than in a
// cluster, and returns the first of each kind.
func readManifests(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../deploy", file))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var v any
		switch head.Kind {
		case "MutatingWebhookConfiguration":
			v = &admissionregistrationv1.MutatingWebhookConfiguration{}
		case "ValidatingWebhookConfiguration":
			v = &admissionregistrationv1.ValidatingWebhookConfiguration{}
		case "StatefulSet":
			v = &appsv1.StatefulSet{}
		case "PodDisruptionBudget":
			v = &policyv1.PodDisruptionBudget{}
		case "Service":
			v = &corev1.Service{}
		case "ConfigMap":
			v = &corev1.ConfigMap{}
		default:
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
			t.Fatalf("%s: %s: %v", file, head.Kind, err)
		}
		if out[head.Kind] == nil { // the first of a kind
			out[head.Kind] = v
		}
	}
	return out
}

func TestDeployManifests(t *testing.T) {
	hooks := readManifests(t, "webhooks/webhooks.yaml")
	m := hooks["MutatingWebhookConfiguration"].(*admissionregistrationv1.MutatingWebhookConfiguration)
	v := hooks["ValidatingWebhookConfiguration"].(*admissionregistrationv1.ValidatingWebhookConfiguration)
	type hook struct {
		path     string
		failure  *admissionregistrationv1.FailurePolicyType
		side     *admissionregistrationv1.SideEffectClass
		timeout  *int32
		versions []string
		ns       []string
		rules    []admissionregistrationv1.RuleWithOperations
		svc      *admissionregistrationv1.ServiceReference
	}
	var all []hook
	for _, w := range m.Webhooks {
		all = append(all, hook{*w.ClientConfig.Service.Path, w.FailurePolicy, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, excluded(w.NamespaceSelector.MatchExpressions), w.Rules, w.ClientConfig.Service})
	}
	for _, w := range v.Webhooks {
		all = append(all, hook{*w.ClientConfig.Service.Path, w.FailurePolicy, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, excluded(w.NamespaceSelector.MatchExpressions), w.Rules, w.ClientConfig.Service})
	}
	if len(all) != 2 || all[0].path != "/v1/admission/mutate" || all[1].path != "/v1/admission/validate" {
		t.Fatalf("want one mutating and one validating webhook on the served paths, got %+v", all)
	}
	for _, h := range all {
		if h.failure == nil || *h.failure != admissionregistrationv1.Fail {
			t.Errorf("%s: failurePolicy must be Fail", h.path)
		}
		if h.side == nil || *h.side != admissionregistrationv1.SideEffectClassNoneOnDryRun {
			t.Errorf("%s: sideEffects must be NoneOnDryRun", h.path)
		}
		if h.timeout == nil || *h.timeout < 1 || *h.timeout > 10 {
			t.Errorf("%s: timeoutSeconds must be set (1-10)", h.path)
		}
		if !slices.Equal(h.versions, []string{"v1"}) {
			t.Errorf("%s: admissionReviewVersions must be [v1], got %v", h.path, h.versions)
		}
		if !slices.Contains(h.ns, "kube-system") || !slices.Contains(h.ns, "sovereign") {
			t.Errorf("%s: namespaceSelector must exclude kube-system and the webhook's own namespace, excludes %v", h.path, h.ns)
		}
		var resources []string
		for _, r := range h.rules {
			if !slices.Equal(r.Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}) {
				t.Errorf("%s: rule %v: want CREATE and UPDATE", h.path, r.Resources)
			}
			resources = append(resources, r.Resources...)
		}
		slices.Sort(resources)
		want := []string{"cronjobs", "daemonsets", "deployments", "jobs", "persistentvolumeclaims", "pods", "replicasets", "statefulsets"}
		if !slices.Equal(resources, want) {
			t.Errorf("%s: resources %v, want %v", h.path, resources, want)
		}
		if h.svc.Name != "sovereign-webhook" || h.svc.Namespace != "sovereign" || h.svc.Port == nil || *h.svc.Port != 443 {
			t.Errorf("%s: service reference %+v", h.path, h.svc)
		}
	}

	// A StatefulSet: each replica keeps its volume, and with it its log and
	// keys, across rollouts; no storage class is assumed, and the claims
	// outlive the StatefulSet (the log is evidence).
	d := readManifests(t, "statefulset.yaml")["StatefulSet"].(*appsv1.StatefulSet)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("want 2 replicas")
	}
	if len(d.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("want one volume claim template per replica, got %d", len(d.Spec.VolumeClaimTemplates))
	}
	vct := d.Spec.VolumeClaimTemplates[0]
	if !slices.Equal(vct.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) || vct.Spec.StorageClassName != nil {
		t.Errorf("claim template: want ReadWriteOnce on the default storage class, got %v class %v", vct.Spec.AccessModes, vct.Spec.StorageClassName)
	}
	if p := d.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType || p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("the replicas' claims must be retained when the StatefulSet is deleted or scaled: %+v", p)
	}
	c := d.Spec.Template.Spec.Containers[0]
	var dataDir string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--data-dir="); ok {
			dataDir = v
		}
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.Name == vct.Name && strings.HasPrefix(dataDir, m.MountPath+"/")
	}
	if !mounted || strings.Contains(dataDir, "$(") {
		t.Errorf("--data-dir=%s must be a fixed directory on the replica's own volume %q", dataDir, vct.Name)
	}
	rp := c.ReadinessProbe
	if rp == nil || rp.HTTPGet == nil || rp.HTTPGet.Path != "/readyz" || rp.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Errorf("want a readiness probe on /readyz over HTTPS, got %+v", rp)
	}
	if !slices.Contains(c.Args, "--tls-cert=/etc/sovereign/tls/tls.crt") || !slices.Contains(c.Args, "--admission-config=/etc/sovereign/admission/admission.yaml") ||
		!slices.Contains(c.Args, "--auth-config=/etc/sovereign/auth/auth.yaml") {
		t.Errorf("container args %v lack TLS or the admission config", c.Args)
	}
	// The webhooks are never applied with the server: failurePolicy Fail
	// webhooks that exist before a replica is Ready and trusted refuse every
	// Pod of the cluster. deploy/apply-webhooks.sh applies them last, with
	// the CA set in the same apply.
	k, err := os.ReadFile("../deploy/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kust struct{ Resources []string }
	if err := yaml.Unmarshal(k, &kust); err != nil {
		t.Fatal(err)
	}
	for _, r := range kust.Resources {
		if strings.Contains(r, "webhooks") || strings.Contains(r, "cert") {
			t.Errorf("deploy/kustomization.yaml includes %s: the server's kustomization must not install the webhooks or need cert-manager", r)
		}
	}
	for _, w := range m.Webhooks {
		if len(w.ClientConfig.CABundle) != 0 {
			t.Errorf("%s: caBundle is set by deploy/apply-webhooks.sh, not shipped", w.Name)
		}
	}
	svc := readManifests(t, "service.yaml")["Service"].(*corev1.Service)
	if svc.Name != "sovereign-webhook" || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("service %+v", svc)
	}
}

// deployFiles writes the ConfigMaps of deploy/config.yaml out as serve reads
// them: the inventory files in one directory, the admission and auth
// configuration beside it.
func deployFiles(t *testing.T) (invDir, admissionFile, authFile string) {
	t.Helper()
	dir := t.TempDir()
	invDir = filepath.Join(dir, "inventory")
	if err := os.Mkdir(invDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, cm := range readManifestList(t, "config.yaml") {
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
	return invDir, admissionFile, authFile
}

// The shipped admission configuration is valid against the shipped
// inventory, and its exempt namespaces are those the webhooks' namespaceSelector
// keeps from the webhook.
func TestDeployConfigValid(t *testing.T) {
	invDir, admissionFile, _ := deployFiles(t)
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
	r, err := admission.NewReviewer(eng, cfg)
	if err != nil {
		t.Fatalf("shipped admission config: %v", err)
	}
	cfg = r.Config()
	hooks := readManifests(t, "webhooks/webhooks.yaml")
	// Exemption by name only: any other label on a namespace can be set by
	// whoever may label namespaces, and would switch the webhook off there.
	var selectors []metav1.LabelSelectorRequirement
	for _, h := range hooks["ValidatingWebhookConfiguration"].(*admissionregistrationv1.ValidatingWebhookConfiguration).Webhooks {
		selectors = append(selectors, h.NamespaceSelector.MatchExpressions...)
		if len(h.NamespaceSelector.MatchLabels) > 0 {
			t.Errorf("webhook %s: namespaceSelector matchLabels %v: exempt by name only", h.Name, h.NamespaceSelector.MatchLabels)
		}
	}
	for _, h := range hooks["MutatingWebhookConfiguration"].(*admissionregistrationv1.MutatingWebhookConfiguration).Webhooks {
		selectors = append(selectors, h.NamespaceSelector.MatchExpressions...)
		if len(h.NamespaceSelector.MatchLabels) > 0 {
			t.Errorf("webhook %s: namespaceSelector matchLabels %v: exempt by name only", h.Name, h.NamespaceSelector.MatchLabels)
		}
	}
	for _, e := range selectors {
		if e.Key != "kubernetes.io/metadata.name" {
			t.Errorf("namespaceSelector uses the label %q: a namespace label others may set must not exempt from the webhook", e.Key)
		}
	}
	ns := excluded(hooks["ValidatingWebhookConfiguration"].(*admissionregistrationv1.ValidatingWebhookConfiguration).Webhooks[0].NamespaceSelector.MatchExpressions)
	for _, e := range cfg.ExemptNamespaces {
		if !slices.Contains(ns, e) {
			t.Errorf("exempt namespace %s is still sent to the webhook (namespaceSelector excludes %v)", e, ns)
		}
	}
}

func readManifestList(t *testing.T, file string) []corev1.ConfigMap {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../deploy", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.ConfigMap
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var cm corev1.ConfigMap
		if err := yaml.UnmarshalStrict([]byte(doc), &cm); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, cm)
	}
	return out
}

// excluded lists the namespace names a selector's NotIn on
// kubernetes.io/metadata.name excludes.
func excluded(exprs []metav1.LabelSelectorRequirement) []string {
	for _, e := range exprs {
		if e.Key == "kubernetes.io/metadata.name" && e.Operator == "NotIn" {
			return e.Values
		}
	}
	return nil
}
