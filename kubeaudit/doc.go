// Package kubeaudit is the background audit of a Kubernetes cluster's
// workloads: it lists and watches the kinds the admission webhook judges
// (Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs,
// PersistentVolumeClaims) with client-go informers, judges each object again
// as the validating webhook would judge its creation (package admission,
// nothing mutated), and writes what it finds as one PolicyReport
// (wgpolicyk8s.io/v1alpha2, the format Kyverno and Policy Reporter read) per
// namespace, with Prometheus gauges beside it.
//
// It judges again when an object changes, when the bundle, the inventory or
// the webhook's configuration in force changes, and when the date changes. A
// full run with findings is a signed audit record of kind drift (source
// kubernetes). The cluster is never required for deciding: an unreachable
// API server leaves the reports as they were and is logged. docs/drift.md,
// "Background audit in a cluster", is the operator's guide.
package kubeaudit
