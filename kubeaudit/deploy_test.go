package kubeaudit

import (
	"os"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// TestDeployRBAC: the ClusterRole deploy/kube-audit ships lets the audit
// list and watch every kind it judges and write its reports, and nothing
// else (no get of Secrets, no write of any workload).
func TestDeployRBAC(t *testing.T) {
	b, err := os.ReadFile("../deploy/kube-audit/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		var v any = &role
		if head.Kind == "ClusterRoleBinding" {
			v = &binding
		}
		if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
			t.Fatalf("%s: %v", head.Kind, err)
		}
	}
	allowed := map[string][]string{} // group/resource -> verbs
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				allowed[g+"/"+res] = append(allowed[g+"/"+res], r.Verbs...)
			}
		}
	}
	want := map[string][]string{PolicyReportGVR.Group + "/" + PolicyReportGVR.Resource: {"create", "delete", "get", "update"}}
	for _, k := range kinds {
		want[k.gvk.Group+"/"+k.resource] = []string{"list", "watch"}
	}
	for res, verbs := range allowed {
		slices.Sort(verbs)
		if !slices.Equal(verbs, want[res]) {
			t.Errorf("%s: verbs %v, want %v", res, verbs, want[res])
		}
	}
	for res := range want {
		if allowed[res] == nil {
			t.Errorf("%s is not granted", res)
		}
	}
	if binding.RoleRef.Name != role.Name || len(binding.Subjects) != 1 || binding.Subjects[0].Name != "sovereign-webhook" || binding.Subjects[0].Namespace != "sovereign" {
		t.Errorf("binding %+v", binding)
	}
}

// TestDeployCRD: the shipped CRD is of the group, version and resource the
// reports are written to, and its schema keeps every field a result carries
// (the API server prunes fields a schema lacks).
func TestDeployCRD(t *testing.T) {
	b, err := os.ReadFile("../deploy/kube-audit/crd/policyreport-crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type schema struct {
		Properties map[string]*schema `json:"properties"`
		Items      *schema            `json:"items"`
	}
	var crd struct {
		APIVersion string `json:"apiVersion"`
		Spec       struct {
			Group string `json:"group"`
			Names struct {
				Plural string `json:"plural"`
			} `json:"names"`
			Scope    string `json:"scope"`
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema schema `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatal(err)
	}
	if crd.APIVersion != "apiextensions.k8s.io/v1" || crd.Spec.Group != PolicyReportGVR.Group || crd.Spec.Names.Plural != PolicyReportGVR.Resource ||
		crd.Spec.Scope != "Namespaced" || len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != PolicyReportGVR.Version {
		t.Fatalf("crd %+v", crd.Spec)
	}
	root := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	for _, f := range []string{"scope", "summary", "results"} {
		if root.Properties[f] == nil {
			t.Errorf("schema lacks %s", f)
		}
	}
	item := root.Properties["results"].Items
	for _, f := range []string{"source", "policy", "rule", "category", "severity", "timestamp", "result", "scored", "resources", "message", "properties"} {
		if item.Properties[f] == nil {
			t.Errorf("results[] lacks %s", f)
		}
	}
	for _, f := range []string{"apiVersion", "kind", "namespace", "name", "uid"} {
		if item.Properties["resources"].Items.Properties[f] == nil {
			t.Errorf("results[].resources[] lacks %s", f)
		}
	}
}
