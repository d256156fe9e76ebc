package admission

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"

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
	// claimTemplates are a StatefulSet's volumeClaimTemplates: the claims its
	// controller creates.
	claimTemplates []corev1.PersistentVolumeClaim
	// operation is the placement operation asked of the engine: store for
	// storage (claims, StatefulSets with volume claim templates), else process.
	operation string
	// patchable is false where mutate must not change the pod template: the
	// API server would refuse the change (a Pod's or a Job's spec on update),
	// or the object's controller owns the template (a ReplicaSet a Deployment
	// made). Mutate then only decides.
	patchable bool
	// claimsPatchable is false on UPDATE: a StatefulSet's volumeClaimTemplates
	// are immutable.
	claimsPatchable bool
}

// templateMetaPath is the JSON pointer of the pod template's metadata.
func (o *admittedObject) templateMetaPath() string {
	return strings.TrimSuffix(o.podPath, "/spec") + "/metadata"
}

// controller names the object's controller ("ReplicaSet/web-7d4b9c6f5"), or
// is empty.
func (o *admittedObject) controller() string {
	for _, r := range o.meta.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			return r.Kind + "/" + r.Name
		}
	}
	return ""
}

// ownedByDeployment: the deployment controller finds a Deployment's
// ReplicaSets by comparing their pod template with its own, so a ReplicaSet
// whose template mutate changed would never be found, and the controller
// would create ReplicaSet after ReplicaSet. The Pods it creates are patched
// instead.
func ownedByDeployment(m *metav1.ObjectMeta) bool {
	for _, r := range m.OwnerReferences {
		if r.Controller != nil && *r.Controller && r.Kind == "Deployment" && strings.HasPrefix(r.APIVersion, "apps/") {
			return true
		}
	}
	return false
}

// decodeObject decodes an object of a handled kind (field is where it is in
// the review: request.object or request.oldObject). handled is false for any
// other group, version or kind. It reads as the API server does
// (sigs.k8s.io/json): keys match field names exactly, case included. A key
// given twice is refused, since which of the two a decoder keeps decides
// what is judged. Unknown fields are accepted: a newer API server may send
// fields this build does not know, and refusing them would refuse every
// object after an upgrade.
func decodeObject(gvk metav1.GroupVersionKind, field string, raw []byte, operation string) (obj *admittedObject, handled bool, err error) {
	key := gvk.Group + "/" + gvk.Version + "/" + gvk.Kind
	update := operation == "UPDATE"
	decode := func(v any) error {
		strict, err := kjson.UnmarshalStrict(raw, v, kjson.DisallowDuplicateFields)
		if err != nil {
			return fmt.Errorf("%s is not a valid %s: %w", field, gvk.Kind, err)
		}
		if len(strict) > 0 {
			path := strict[0].Error()
			if fe, ok := strict[0].(kjson.FieldError); ok {
				path = fe.FieldPath()
			}
			return fmt.Errorf("%s: field %q given twice", field, path)
		}
		return nil
	}
	o := &admittedObject{kind: gvk.Kind, operation: engine.OperationProcess, patchable: true, claimsPatchable: !update}
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
		if o.claimTemplates = s.Spec.VolumeClaimTemplates; len(o.claimTemplates) > 0 {
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
		o.patchable = !ownedByDeployment(&r.ObjectMeta)
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
	for _, m := range o.metas() {
		for _, src := range []map[string]string{m.Annotations, m.Labels} {
			for _, d := range declaredIn(src[DatasetsKey]) {
				if !slices.Contains(datasets, d) {
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

// metas are the metadata that may declare what an object touches: its own,
// its pod template's and its claim templates'.
func (o *admittedObject) metas() []*metav1.ObjectMeta {
	metas := []*metav1.ObjectMeta{o.meta}
	if o.template != nil {
		metas = append(metas, o.template)
	}
	for i := range o.claimTemplates {
		metas = append(metas, &o.claimTemplates[i].ObjectMeta)
	}
	return metas
}

// placementInputs is everything about an object that its judgement reads:
// what it declares, the label that may make its mode stricter, whether it
// stores or processes, and the node selection and storage classes that say
// where it may land. An UPDATE that leaves them as they were changes nothing
// the webhook would judge.
type placementInputs struct {
	Datasets       []string
	Workload       string
	Invalid        string // a declaration that cannot be judged (two workloads)
	Enforcement    string
	Operation      string
	RegionSelector *string
	Required       *corev1.NodeSelector
	StorageClass   *string
	ClaimClasses   []*string
}

func (o *admittedObject) placementInputs(regionLabel string) placementInputs {
	in := placementInputs{Enforcement: o.labels()[EnforcementKey], Operation: o.operation}
	var err error
	if in.Datasets, in.Workload, err = o.declared(); err != nil {
		in.Invalid = err.Error()
	}
	slices.Sort(in.Datasets)
	if o.pod != nil {
		if v, ok := o.pod.NodeSelector[regionLabel]; ok {
			in.RegionSelector = &v
		}
		if a := o.pod.Affinity; a != nil && a.NodeAffinity != nil {
			in.Required = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		}
	}
	if o.claim != nil {
		in.StorageClass = o.claim.StorageClassName
	}
	for _, c := range o.claimTemplates {
		in.ClaimClasses = append(in.ClaimClasses, c.Spec.StorageClassName)
	}
	return in
}

// templateChanged reports whether an UPDATE changes the pod template: its
// controller then rolls it out, creating new Pods from it.
func templateChanged(obj, old *admittedObject) bool {
	return obj.pod != nil && (!equality.Semantic.DeepEqual(obj.template, old.template) || !equality.Semantic.DeepEqual(obj.pod, old.pod))
}

// samePlacement reports whether an UPDATE leaves everything the webhook
// judges as it was: a change of finalizers, owner references, status,
// replicas, images or of labels and annotations it does not read.
func samePlacement(obj, old *admittedObject, regionLabel string) bool {
	return equality.Semantic.DeepEqual(obj.placementInputs(regionLabel), old.placementInputs(regionLabel))
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
