// Package admission decides Kubernetes AdmissionReviews for data
// sovereignty: for a Pod, a workload (Deployment, StatefulSet, DaemonSet,
// ReplicaSet, Job, CronJob) or a PersistentVolumeClaim, the sites it could
// land at, whether the data it declares may go there, and, for the mutating
// webhook, the JSONPatch of node affinity that keeps it where it may.
//
// It reads the engine and nothing else. A Reviewer answers a review with an
// Outcome: the AdmissionResponse to send and the Record the audit log must
// keep first. Package api serves the two webhook endpoints: it decodes the
// review, records the Record, adds its audit index to the response and
// answers. docs/admission.md is the operator's guide: the labels read, the
// modes, the configuration file and the record's fields.
package admission
