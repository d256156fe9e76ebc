package admission

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/sovereign-engine/sovereign/engine"
)

// regionConstraint is what a pod says about the region of its node: its
// nodeSelector and the terms of its required node affinity. Only expressions
// on the region label count; every other expression is taken as satisfiable,
// which can only add candidates, so the webhook errs towards refusing.
type regionConstraint struct {
	label    string
	selector *string                   // nodeSelector[label]
	terms    []corev1.NodeSelectorTerm // required node affinity; nil when there is none
	// regions is an allow-list from elsewhere (a storage class); nil when none.
	regions []string
}

// regionConstraintOf is where an object's data may land by its own account: a
// pod's node selection, or the regions a claim's storage class provisions in
// (StorageClassRegions; any site of the cluster when its class is not listed).
func regionConstraintOf(obj *admittedObject, cfg *Config) regionConstraint {
	if obj.pod != nil {
		return podRegionConstraint(obj.pod, cfg.RegionLabel)
	}
	rc := regionConstraint{label: cfg.RegionLabel}
	if sc := obj.claim.StorageClassName; sc != nil {
		if regions, ok := cfg.StorageClassRegions[*sc]; ok {
			rc.regions = regions
		}
	}
	return rc
}

func podRegionConstraint(spec *corev1.PodSpec, label string) regionConstraint {
	rc := regionConstraint{label: label}
	if v, ok := spec.NodeSelector[label]; ok {
		rc.selector = &v
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		rc.terms = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		if rc.terms == nil {
			rc.terms = []corev1.NodeSelectorTerm{}
		}
	}
	return rc
}

// allows reports whether a node whose region label is value (has: the label is
// set at all) satisfies the constraint.
func (rc regionConstraint) allows(value string, has bool) bool {
	if rc.selector != nil && (!has || value != *rc.selector) {
		return false
	}
	if rc.regions != nil && (!has || !slices.Contains(rc.regions, value)) {
		return false
	}
	if rc.terms == nil {
		return true
	}
	for _, t := range rc.terms { // terms are ORed
		if termAllows(t, rc.label, value, has) {
			return true
		}
	}
	return false
}

// termAllows: the expressions of a term are ANDed; an empty term matches no node.
func termAllows(t corev1.NodeSelectorTerm, label, value string, has bool) bool {
	if emptyTerm(t) {
		return false
	}
	for _, e := range t.MatchExpressions {
		if e.Key != label {
			continue
		}
		switch e.Operator {
		case corev1.NodeSelectorOpIn:
			if !has || !slices.Contains(e.Values, value) {
				return false
			}
		case corev1.NodeSelectorOpNotIn:
			if has && slices.Contains(e.Values, value) {
				return false
			}
		case corev1.NodeSelectorOpExists:
			if !has {
				return false
			}
		case corev1.NodeSelectorOpDoesNotExist:
			if has {
				return false
			}
		}
		// Gt and Lt compare integers: not a region; taken as satisfiable.
	}
	return true
}

func emptyTerm(t corev1.NodeSelectorTerm) bool {
	return len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0
}

// named lists the region values the constraint names as acceptable.
func (rc regionConstraint) named() []string {
	var out []string
	add := func(v string) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if rc.selector != nil {
		add(*rc.selector)
	}
	for _, r := range rc.regions {
		add(r)
	}
	for _, t := range rc.terms {
		for _, e := range t.MatchExpressions {
			if e.Key == rc.label && e.Operator == corev1.NodeSelectorOpIn {
				for _, v := range e.Values {
					add(v)
				}
			}
		}
	}
	return out
}

// candidates are the sites an object could land at: the cluster's sites that
// satisfy its constraint, plus any inventory site whose region the object
// names and allows (it asked for it: a node there would take it). unknown
// lists allowed region values that no inventory site has: a placement that
// cannot be judged.
func candidateSites(c *Config, inv *engine.Inventory, rc regionConstraint) (sites, unknown []string) {
	region := func(id string) (string, bool) {
		s, _ := inv.Site(id)
		v, ok := s.Labels[c.RegionLabel]
		return v, ok
	}
	add := func(id string) {
		if !slices.Contains(sites, id) {
			sites = append(sites, id)
		}
	}
	for _, id := range append([]string{c.ClusterSite}, c.SpannedSites...) {
		if v, has := region(id); rc.allows(v, has) {
			add(id)
		}
	}
	for _, v := range rc.named() {
		if !rc.allows(v, true) {
			continue
		}
		found := false
		for _, id := range inv.SiteIDs {
			if r, has := region(id); has && r == v {
				found = true
				add(id)
			}
		}
		if !found {
			unknown = append(unknown, v)
		}
	}
	return sites, unknown
}
