package api

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/sovereign-engine/sovereign/engine"
)

// Enforcement modes of the admission webhook, from the most to the least strict.
const (
	ModeEnforce = "enforce" // a forbidden placement is denied; mutate restricts the pod to lawful regions
	ModeWarn    = "warn"    // allowed, with the violations as warnings; nothing is patched
	ModeDryRun  = "dryrun"  // allowed silently; only the audit record says what would have happened
)

// Object labels and annotations the webhook reads.
const (
	// DatasetsKey (label or annotation) lists the datasets a workload touches,
	// comma separated. A label value cannot hold a comma: use the annotation
	// for more than one dataset.
	DatasetsKey = "sovereign.dev/datasets"
	// WorkloadKey (label or annotation) names an inventory workload.
	WorkloadKey = "sovereign.dev/workload"
	// EnforcementKey (label) makes an object's mode stricter than its
	// namespace's; it never relaxes it.
	EnforcementKey = "sovereign.dev/enforcement"
	// DefaultRegionLabel is the node label that maps nodes to sites.
	DefaultRegionLabel = "topology.kubernetes.io/region"
)

// AdmissionConfig configures the Kubernetes admission webhook
// (docs/admission.md). The file given to `serve --admission-config` is its YAML
// form; --cluster-site and --region-label override the file.
type AdmissionConfig struct {
	// ClusterSite is the inventory site the cluster runs in. Without it the
	// admission endpoints answer 503: there is nothing to decide against.
	ClusterSite string `json:"cluster_site,omitempty"`
	// SpannedSites are further sites the cluster's nodes run in, for a cluster
	// spanning sites: a pod that does not constrain its region may land in any.
	SpannedSites []string `json:"spanned_sites,omitempty"`
	// RegionLabel is the node label whose value is a site's
	// labels[RegionLabel] in the inventory; default DefaultRegionLabel.
	RegionLabel string `json:"region_label,omitempty"`
	// DefaultMode applies where no namespace entry sets one; default enforce.
	DefaultMode string `json:"default_mode,omitempty"`
	// Namespaces holds per-namespace defaults.
	Namespaces map[string]NamespaceAdmission `json:"namespaces,omitempty"`
	// ExemptNamespaces are allowed without evaluation; nil means
	// [kube-system], an empty list exempts none.
	ExemptNamespaces []string `json:"exempt_namespaces"`
	// UnhandledKinds says what happens to a kind the webhook does not
	// understand: "allow" (default, with a warning) or "deny".
	UnhandledKinds string `json:"unhandled_kinds,omitempty"`
	// StorageClassRegions maps a StorageClass to the regions its volumes can
	// be provisioned in. A PersistentVolumeClaim of an unlisted class may land
	// at any site of the cluster.
	StorageClassRegions map[string][]string `json:"storage_class_regions,omitempty"`

	// Clock gives the time decisions are evaluated at; default time.Now. Tests
	// pin it so that dated reference data gives the same answers.
	Clock func() time.Time `json:"-"`
}

// NamespaceAdmission is the configuration of one namespace.
type NamespaceAdmission struct {
	// Mode is enforce, warn or dryrun; empty means the default mode.
	Mode string `json:"mode,omitempty"`
	// Datasets and Workload apply to objects that declare neither.
	Datasets []string `json:"datasets,omitempty"`
	Workload string   `json:"workload,omitempty"`
}

// LoadAdmissionConfig reads the YAML (or JSON) configuration file, if path is
// not empty, strictly (unknown fields are errors); clusterSite and regionLabel,
// when not empty, override the file's.
func LoadAdmissionConfig(path, clusterSite, regionLabel string) (AdmissionConfig, error) {
	var c AdmissionConfig
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("admission config: %w", err)
		}
		if err := yaml.UnmarshalStrict(b, &c); err != nil {
			return c, fmt.Errorf("admission config %s: %w", path, err)
		}
	}
	if clusterSite != "" {
		c.ClusterSite = clusterSite
	}
	if regionLabel != "" {
		c.RegionLabel = regionLabel
	}
	return c, nil
}

// withDefaults fills defaults and checks the configuration against the
// inventory the server starts with.
func (c AdmissionConfig) withDefaults(inv *engine.Inventory) (AdmissionConfig, error) {
	if c.RegionLabel == "" {
		c.RegionLabel = DefaultRegionLabel
	}
	if c.DefaultMode == "" {
		c.DefaultMode = ModeEnforce
	}
	if c.ExemptNamespaces == nil {
		c.ExemptNamespaces = []string{"kube-system"}
	}
	if c.UnhandledKinds == "" {
		c.UnhandledKinds = "allow"
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	var errs []error
	if c.ClusterSite == "" && (len(c.SpannedSites) > 0 || len(c.Namespaces) > 0) {
		errs = append(errs, errors.New("cluster_site is required when anything else is configured"))
	}
	for _, id := range append([]string{c.ClusterSite}, c.SpannedSites...) {
		if id != "" && !hasSite(inv, id) {
			errs = append(errs, fmt.Errorf("site %q is not in the inventory", id))
		}
	}
	if !validMode(c.DefaultMode) {
		errs = append(errs, fmt.Errorf("default_mode %q: want enforce, warn or dryrun", c.DefaultMode))
	}
	if c.UnhandledKinds != "allow" && c.UnhandledKinds != "deny" {
		errs = append(errs, fmt.Errorf("unhandled_kinds %q: want allow or deny", c.UnhandledKinds))
	}
	for ns, n := range c.Namespaces {
		if n.Mode != "" && !validMode(n.Mode) {
			errs = append(errs, fmt.Errorf("namespaces.%s.mode %q: want enforce, warn or dryrun", ns, n.Mode))
		}
		for _, d := range n.Datasets {
			if _, ok := inv.Dataset(d); !ok {
				errs = append(errs, fmt.Errorf("namespaces.%s.datasets: unknown dataset %q", ns, d))
			}
		}
		if _, ok := inv.Workload(n.Workload); n.Workload != "" && !ok {
			errs = append(errs, fmt.Errorf("namespaces.%s.workload: unknown workload %q", ns, n.Workload))
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("api: invalid admission config: %w", errors.Join(errs...))
	}
	return c, nil
}

// LogValue lets the configuration be logged at start-up.
func (c AdmissionConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("cluster_site", c.ClusterSite),
		slog.Any("spanned_sites", c.SpannedSites),
		slog.String("region_label", c.RegionLabel),
		slog.String("default_mode", c.DefaultMode),
		slog.Int("namespaces", len(c.Namespaces)),
		slog.Any("exempt_namespaces", c.ExemptNamespaces),
		slog.String("unhandled_kinds", c.UnhandledKinds),
	)
}

func hasSite(inv *engine.Inventory, id string) bool {
	_, ok := inv.Site(id)
	return ok
}

func validMode(m string) bool { return m == ModeEnforce || m == ModeWarn || m == ModeDryRun }

// strictness orders the modes: an object label may only move up.
func strictness(m string) int {
	switch m {
	case ModeEnforce:
		return 2
	case ModeWarn:
		return 1
	default:
		return 0
	}
}

// mode is the enforcement for an object in a namespace: the namespace's (or
// the default), made stricter, never looser, by the object's label; an invalid
// label value is ignored.
func (c *AdmissionConfig) mode(namespace string, labels map[string]string) string {
	m := c.DefaultMode
	if n, ok := c.Namespaces[namespace]; ok && n.Mode != "" {
		m = n.Mode
	}
	if l := labels[EnforcementKey]; validMode(l) && strictness(l) > strictness(m) {
		m = l
	}
	return m
}

func (c *AdmissionConfig) exempt(namespace string) bool {
	return slices.Contains(c.ExemptNamespaces, namespace)
}
