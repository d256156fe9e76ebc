package admission

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/internal/yamlfile"
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

// Config configures the Kubernetes admission webhook (docs/admission.md). The file given to `serve --admission-config` is its YAML
// form; --cluster-site and --region-label override the file.
type Config struct {
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
	Namespaces map[string]NamespaceConfig `json:"namespaces,omitempty"`
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

// NamespaceConfig is the configuration of one namespace.
type NamespaceConfig struct {
	// Mode is enforce, warn or dryrun; empty means the default mode.
	Mode string `json:"mode,omitempty"`
	// Datasets and Workload apply to objects that declare neither.
	Datasets []string `json:"datasets,omitempty"`
	Workload string   `json:"workload,omitempty"`
}

// LoadConfig reads the YAML (or JSON) configuration file, if path is not
// empty, strictly and within bounds: an unknown field (names match exactly),
// a key given twice or a value of the wrong shape is an error naming its file,
// line, column and field, as for every file a person writes (internal/yamlfile).
// clusterSite and regionLabel, when not empty, override the file's.
func LoadConfig(path, clusterSite, regionLabel string) (Config, error) {
	var c Config
	if path != "" {
		doc, err := yamlfile.Read(path, yamlfile.DefaultLimits)
		if err != nil {
			return Config{}, fmt.Errorf("admission config: %w", err)
		}
		if err := doc.Decode(&c); err != nil {
			return Config{}, fmt.Errorf("admission config: %w", err)
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

// Check reports every problem of the configuration against inv, as SetConfig
// would, without installing it: serve checks its flags before it creates
// anything.
func (c Config) Check(inv *engine.Inventory) error {
	_, err := c.withDefaults(inv)
	return err
}

// withDefaults fills defaults and checks the configuration against the
// inventory in force.
func (c Config) withDefaults(inv *engine.Inventory) (Config, error) {
	c.RegionLabel = cmp.Or(c.RegionLabel, DefaultRegionLabel)
	c.DefaultMode = cmp.Or(c.DefaultMode, ModeEnforce)
	c.UnhandledKinds = cmp.Or(c.UnhandledKinds, "allow")
	if c.ExemptNamespaces == nil {
		c.ExemptNamespaces = []string{"kube-system"}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	var errs []error
	if c.ClusterSite == "" && (len(c.SpannedSites) > 0 || len(c.Namespaces) > 0) {
		errs = append(errs, errors.New("cluster_site is required when anything else is configured"))
	}
	for _, id := range append([]string{c.ClusterSite}, c.SpannedSites...) {
		if _, ok := inv.Site(id); id != "" && !ok {
			errs = append(errs, fmt.Errorf("site %q is not in the inventory", id))
		}
	}
	if !validMode(c.DefaultMode) {
		errs = append(errs, fmt.Errorf("default_mode %q: want enforce, warn or dryrun", c.DefaultMode))
	}
	if c.UnhandledKinds != "allow" && c.UnhandledKinds != "deny" {
		errs = append(errs, fmt.Errorf("unhandled_kinds %q: want allow or deny", c.UnhandledKinds))
	}
	for _, ns := range slices.Sorted(maps.Keys(c.Namespaces)) { // problems in a stable order
		n := c.Namespaces[ns]
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
		return c, fmt.Errorf("admission: invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

var _ slog.LogValuer = Config{}

// LogValue lets the configuration be logged at start-up.
func (c Config) LogValue() slog.Value {
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
func (c *Config) mode(namespace string, labels map[string]string) string {
	m := c.DefaultMode
	if n, ok := c.Namespaces[namespace]; ok && n.Mode != "" {
		m = n.Mode
	}
	if l := labels[EnforcementKey]; validMode(l) && strictness(l) > strictness(m) {
		m = l
	}
	return m
}

func (c *Config) exempt(namespace string) bool {
	return slices.Contains(c.ExemptNamespaces, namespace)
}
