package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sovereign-engine/sovereign/engine"
)

// admittedObject is what the webhook needs of an object: its metadata, the pod
// spec it will run (with the JSON pointer to it, for patches) or the claim it
// will store data in.
type admittedObject struct {
	kind     string
	meta     *metav1.ObjectMeta
	template *metav1.ObjectMeta // the pod template's metadata; nil for Pod and PersistentVolumeClaim
	pod      *corev1.PodSpec
	podPath  string
	claim    *corev1.PersistentVolumeClaimSpec
	// operation is the placement operation asked of the engine: store for
	// storage (claims, StatefulSets with volume claim templates), else process.
	operation string
	// patchable is false where the API server would refuse a change to the pod
	// spec (a Pod's or a Job's on update): mutate then only decides.
	patchable bool
}

// decodeObject decodes an object of a handled kind. handled is false for any
// other group, version or kind. Unknown fields are accepted: a newer API server
// may send fields this build does not know, and refusing them would refuse
// every object after an upgrade.
func decodeObject(gvk metav1.GroupVersionKind, raw []byte, operation string) (obj *admittedObject, handled bool, err error) {
	key := gvk.Group + "/" + gvk.Version + "/" + gvk.Kind
	update := operation == "UPDATE"
	decode := func(v any) error {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("request.object is not a valid %s: %w", gvk.Kind, err)
		}
		return nil
	}
	o := &admittedObject{kind: gvk.Kind, operation: engine.OperationProcess, patchable: true}
	switch key {
	case "/v1/Pod":
		var p corev1.Pod
		if err := decode(&p); err != nil {
			return nil, true, err
		}
		o.meta, o.pod, o.podPath, o.patchable = &p.ObjectMeta, &p.Spec, "/spec", !update
	case "/v1/PersistentVolumeClaim":
		var c corev1.PersistentVolumeClaim
		if err := decode(&c); err != nil {
			return nil, true, err
		}
		o.meta, o.claim, o.operation, o.patchable = &c.ObjectMeta, &c.Spec, engine.OperationStore, false
	case "apps/v1/Deployment":
		var d appsv1.Deployment
		if err := decode(&d); err != nil {
			return nil, true, err
		}
		o.meta, o.template, o.pod, o.podPath = &d.ObjectMeta, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec, "/spec/template/spec"
	case "apps/v1/StatefulSet":
		var s appsv1.StatefulSet
		if err := decode(&s); err != nil {
			return nil, true, err
		}
		o.meta, o.template, o.pod, o.podPath = &s.ObjectMeta, &s.Spec.Template.ObjectMeta, &s.Spec.Template.Spec, "/spec/template/spec"
		if len(s.Spec.VolumeClaimTemplates) > 0 {
			o.operation = engine.OperationStore
		}
	case "apps/v1/DaemonSet":
		var d appsv1.DaemonSet
		if err := decode(&d); err != nil {
			return nil, true, err
		}
		o.meta, o.template, o.pod, o.podPath = &d.ObjectMeta, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec, "/spec/template/spec"
	case "apps/v1/ReplicaSet":
		var r appsv1.ReplicaSet
		if err := decode(&r); err != nil {
			return nil, true, err
		}
		o.meta, o.template, o.pod, o.podPath = &r.ObjectMeta, &r.Spec.Template.ObjectMeta, &r.Spec.Template.Spec, "/spec/template/spec"
	case "batch/v1/Job":
		var j batchv1.Job
		if err := decode(&j); err != nil {
			return nil, true, err
		}
		// A Job's pod template is immutable once created.
		o.meta, o.template, o.pod, o.podPath, o.patchable = &j.ObjectMeta, &j.Spec.Template.ObjectMeta, &j.Spec.Template.Spec, "/spec/template/spec", !update
	case "batch/v1/CronJob":
		var c batchv1.CronJob
		if err := decode(&c); err != nil {
			return nil, true, err
		}
		t := &c.Spec.JobTemplate.Spec.Template
		o.meta, o.template, o.pod, o.podPath = &c.ObjectMeta, &t.ObjectMeta, &t.Spec, "/spec/jobTemplate/spec/template/spec"
	default:
		return nil, false, nil
	}
	return o, true, nil
}

// declared returns the datasets and workload an object declares in its own or
// its pod template's labels and annotations. Datasets from every place are
// united (declaring more only restricts more); two different workloads are an
// error.
func (o *admittedObject) declared() (datasets []string, workload string, err error) {
	metas := []*metav1.ObjectMeta{o.meta}
	if o.template != nil {
		metas = append(metas, o.template)
	}
	for _, m := range metas {
		for _, src := range []map[string]string{m.Annotations, m.Labels} {
			for _, d := range strings.Split(src[DatasetsKey], ",") {
				if d = strings.TrimSpace(d); d != "" && !slices.Contains(datasets, d) {
					datasets = append(datasets, d)
				}
			}
			if w := strings.TrimSpace(src[WorkloadKey]); w != "" {
				if workload != "" && workload != w {
					return nil, "", fmt.Errorf("the object names two workloads, %q and %q, in %s", workload, w, WorkloadKey)
				}
				workload = w
			}
		}
	}
	return datasets, workload, nil
}

// labels are the labels that may set the enforcement mode: the object's, then
// its pod template's.
func (o *admittedObject) labels() map[string]string {
	if o.template == nil || o.template.Labels[EnforcementKey] == "" {
		return o.meta.Labels
	}
	if o.meta.Labels[EnforcementKey] == "" {
		return o.template.Labels
	}
	// Both set: the stricter wins.
	if strictness(o.template.Labels[EnforcementKey]) > strictness(o.meta.Labels[EnforcementKey]) {
		return o.template.Labels
	}
	return o.meta.Labels
}

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
func candidateSites(c *AdmissionConfig, inv *engine.Inventory, rc regionConstraint) (sites, unknown []string) {
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

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// restrictToRegions returns the JSON Patch that adds `label In regions` to the
// pod's required node affinity. Every existing term gets the expression (terms
// are ORed, so the result is the intersection of the old constraint with the
// regions); an empty term matches no node and is left alone, since adding an
// expression to it would widen it. With no required affinity one term is added.
func restrictToRegions(podPath string, spec *corev1.PodSpec, label string, regions []string) []jsonPatchOp {
	expr := corev1.NodeSelectorRequirement{Key: label, Operator: corev1.NodeSelectorOpIn, Values: regions}
	required := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{expr}}}}
	a := spec.Affinity
	switch {
	case a == nil:
		return []jsonPatchOp{{Op: "add", Path: podPath + "/affinity", Value: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: required}}}}
	case a.NodeAffinity == nil:
		return []jsonPatchOp{{Op: "add", Path: podPath + "/affinity/nodeAffinity", Value: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: required}}}
	case a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil:
		return []jsonPatchOp{{Op: "add", Path: podPath + "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution", Value: required}}
	}
	base := podPath + "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms"
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		// No term matches no node; the API server refuses it anyway. Keep it so.
		return nil
	}
	var ops []jsonPatchOp
	for i, t := range terms {
		switch {
		case emptyTerm(t):
		case t.MatchExpressions == nil:
			ops = append(ops, jsonPatchOp{Op: "add", Path: fmt.Sprintf("%s/%d/matchExpressions", base, i), Value: []corev1.NodeSelectorRequirement{expr}})
		default:
			ops = append(ops, jsonPatchOp{Op: "add", Path: fmt.Sprintf("%s/%d/matchExpressions/-", base, i), Value: expr})
		}
	}
	return ops
}
