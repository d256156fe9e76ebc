package admission_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/admission"
)

// A configuration is checked whole against the inventory, and refused with
// every problem named.
func TestConfigChecked(t *testing.T) {
	eng := newDemoEngine(t)
	for name, tc := range map[string]struct {
		mutate func(*admission.Config)
		want   []string
	}{
		"unknown cluster site":       {func(c *admission.Config) { c.ClusterSite = "nowhere-1" }, []string{`site "nowhere-1"`}},
		"unknown spanned site":       {func(c *admission.Config) { c.SpannedSites = []string{"nowhere-1"} }, []string{`site "nowhere-1"`}},
		"bad default mode":           {func(c *admission.Config) { c.DefaultMode = "audit" }, []string{`default_mode "audit"`}},
		"bad unhandled kinds policy": {func(c *admission.Config) { c.UnhandledKinds = "ignore" }, []string{`unhandled_kinds "ignore"`}},
		"unknown namespace dataset": {func(c *admission.Config) {
			c.Namespaces["x"] = admission.NamespaceConfig{Datasets: []string{"ghost"}}
		}, []string{`namespaces.x.datasets: unknown dataset "ghost"`}},
		"every problem at once": {func(c *admission.Config) {
			c.DefaultMode, c.UnhandledKinds = "audit", "ignore"
			c.Namespaces["y"] = admission.NamespaceConfig{Mode: "loud", Workload: "ghost"}
		}, []string{"default_mode", "unhandled_kinds", "namespaces.y.mode", `namespaces.y.workload: unknown workload "ghost"`}},
		"sites without a cluster site": {func(c *admission.Config) { c.ClusterSite = "" }, []string{"cluster_site is required"}},
	} {
		t.Run(name, func(t *testing.T) {
			c := testConfig(t)
			tc.mutate(&c)
			_, err := admission.NewReviewer(eng, c)
			if err == nil {
				t.Fatal("want the configuration refused")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	if _, err := admission.LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"), "", ""); err == nil {
		t.Error("a missing configuration file is an error")
	}
	for name, tc := range map[string]struct{ file, want string }{
		"unknown field":        {"cluster_site: fra-1\nclustr_sites: [par-1]\n", `bad.yaml:2:1: clustr_sites: unknown field "clustr_sites"`},
		"names match exactly":  {"Cluster_Site: fra-1\n", `bad.yaml:1:1: Cluster_Site: unknown field "Cluster_Site" (did you mean "cluster_site"?)`},
		"unknown nested field": {"cluster_site: fra-1\nnamespaces:\n  shop:\n    mode: warn\n    dataset: [a]\n", `bad.yaml:5:5: namespaces[shop].dataset: unknown field "dataset" (did you mean "datasets"?)`},
		"key given twice":      {"cluster_site: fra-1\ncluster_site: par-1\n", `bad.yaml:2:1: cluster_site: duplicate key "cluster_site" (first at line 1)`},
		"wrong shape":          {"cluster_site: fra-1\nnamespaces:\n  shop:\n    datasets: a\n", "bad.yaml:4:15:"},
		"not a mapping":        {"- fra-1\n", "bad.yaml:1:1:"},
		"syntax":               {"cluster_site: [fra-1\n", "bad.yaml:1: malformed YAML"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(bad, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := admission.LoadConfig(bad, "", "")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("want one line naming the place, %q; got %v", tc.want, err)
			}
		})
	}
	for name, tc := range map[string]struct {
		file   string
		exempt []string
	}{
		"exempt namespaces absent: the default": {"cluster_site: fra-1\n", nil},
		"exempt namespaces empty: none":         {"cluster_site: fra-1\nexempt_namespaces: []\n", []string{}},
		"JSON":                                  {`{"cluster_site": "fra-1", "exempt_namespaces": ["ops"]}`, []string{"ops"}},
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "admission.yaml")
			if err := os.WriteFile(f, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := admission.LoadConfig(f, "", "")
			if err != nil || c.ClusterSite != "fra-1" || (c.ExemptNamespaces == nil) != (tc.exempt == nil) || !slices.Equal(c.ExemptNamespaces, tc.exempt) {
				t.Errorf("got %+v %v, want exempt_namespaces %#v", c, err, tc.exempt)
			}
		})
	}
	c, err := admission.LoadConfig(filepath.Join(fixtures, "config.yaml"), "par-1", "example.com/region")
	if err != nil || c.ClusterSite != "par-1" || c.RegionLabel != "example.com/region" {
		t.Errorf("flags override the file: %+v %v", c, err)
	}
}

// A new configuration takes effect as a whole, and one that does not validate
// is refused with the old one kept in force.
func TestConfigSwap(t *testing.T) {
	r := newReviewer(t)
	configMap := loadReview(t, "configmap-create.json")
	allowed := func(t *testing.T) bool {
		t.Helper()
		out, err := review(t, r, "validate", configMap)
		if err != nil {
			t.Fatal(err)
		}
		return out.Response.Allowed
	}
	if !allowed(t) {
		t.Fatal("unhandled kind under the default allow")
	}
	cfg := r.Config()

	bad := cfg
	bad.UnhandledKinds = "deny"
	bad.SpannedSites = append([]string{"atlantis-1"}, cfg.SpannedSites...)
	if err := r.SetConfig(bad); err == nil || !strings.Contains(err.Error(), "atlantis-1") {
		t.Fatalf("a config naming an unknown site: %v", err)
	}
	if !allowed(t) {
		t.Fatal("a refused config was half-applied")
	}

	good := cfg
	good.UnhandledKinds = "deny"
	if err := r.SetConfig(good); err != nil {
		t.Fatal(err)
	}
	if allowed(t) {
		t.Fatal("the new config is not in force")
	}
}
