package admission

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PatchOp is one RFC 6902 JSON Patch operation, as mutate answers and the
// record keeps.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// restrictToRegions returns the JSON Patch that adds `label In regions` to the
// pod's required node affinity. Every existing term gets the expression (terms
// are ORed, so the result is the intersection of the old constraint with the
// regions); an empty term matches no node and is left alone, since adding an
// expression to it would widen it. With no required affinity one term is added.
func restrictToRegions(podPath string, spec *corev1.PodSpec, label string, regions []string) []PatchOp {
	expr := corev1.NodeSelectorRequirement{Key: label, Operator: corev1.NodeSelectorOpIn, Values: regions}
	required := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{expr}}}}
	a := spec.Affinity
	switch {
	case a == nil:
		return []PatchOp{{Op: "add", Path: podPath + "/affinity", Value: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: required}}}}
	case a.NodeAffinity == nil:
		return []PatchOp{{Op: "add", Path: podPath + "/affinity/nodeAffinity", Value: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: required}}}
	case a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil:
		return []PatchOp{{Op: "add", Path: podPath + "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution", Value: required}}
	}
	base := podPath + "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms"
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		// No term matches no node; the API server refuses it anyway. Keep it so.
		return nil
	}
	var ops []PatchOp
	for i, t := range terms {
		switch {
		case emptyTerm(t):
		case t.MatchExpressions == nil:
			ops = append(ops, PatchOp{Op: "add", Path: fmt.Sprintf("%s/%d/matchExpressions", base, i), Value: []corev1.NodeSelectorRequirement{expr}})
		default:
			ops = append(ops, PatchOp{Op: "add", Path: fmt.Sprintf("%s/%d/matchExpressions/-", base, i), Value: expr})
		}
	}
	return ops
}

// carryDeclaration returns the JSON Patch that writes a declaration into the
// metadata at metaPath (a pod template's, a claim template's), so that what
// a controller creates from the template declares it too and is judged on
// it: a Deployment's annotation is not on its Pods. Only what the template
// lacks is added; what it declares already stays (declaring more only
// restricts more). Nil when it lacks nothing.
func carryDeclaration(metaPath string, m *metav1.ObjectMeta, datasets []string, workload string) []PatchOp {
	add := map[string]string{}
	have := declaredIn(m.Annotations[DatasetsKey])
	all := append(slices.Clone(have), declaredIn(m.Labels[DatasetsKey])...)
	var missing []string
	for _, d := range datasets {
		if !slices.Contains(all, d) && !slices.Contains(missing, d) {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		add[DatasetsKey] = strings.Join(append(have, missing...), ",")
	}
	if workload != "" && strings.TrimSpace(m.Annotations[WorkloadKey]) == "" && strings.TrimSpace(m.Labels[WorkloadKey]) == "" {
		add[WorkloadKey] = workload
	}
	switch {
	case len(add) == 0:
		return nil
	case m.Annotations == nil:
		return []PatchOp{{Op: "add", Path: metaPath + "/annotations", Value: add}}
	}
	var ops []PatchOp
	for _, k := range []string{DatasetsKey, WorkloadKey} {
		if v, ok := add[k]; ok {
			// add replaces a member that exists (RFC 6902 4.1).
			ops = append(ops, PatchOp{Op: "add", Path: metaPath + "/annotations/" + pointerEscape(k), Value: v})
		}
	}
	return ops
}

// declaredIn splits a comma-separated list of datasets.
func declaredIn(v string) []string {
	var out []string
	for _, d := range strings.Split(v, ",") {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// pointerEscape escapes a JSON Pointer reference token (RFC 6901).
func pointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
