package admission

import (
	"github.com/google/uuid"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sovereign-engine/sovereign/engine"
)

// Record is what the audit log keeps of a review, as a record of kind
// admission. api adds who asked (the principal) and the engine version, and
// signs it.
type Record struct {
	// ID is the engine's decision id when the policy was evaluated, else a
	// new UUIDv7.
	ID      string
	Request RequestRecord
	Result  ResultRecord
	// Bundle and InventoryRevision are what the review was decided on: the
	// decision's, or for a review the policy did not evaluate, those in
	// force.
	Bundle            engine.BundleInfo
	InventoryRevision string
}

// RequestRecord is the request of a review's record: who asked for what, never
// the object itself (it may hold secrets); its digest ties the record to it.
type RequestRecord struct {
	UID         string                  `json:"uid"`
	Webhook     string                  `json:"webhook"`
	Kind        metav1.GroupVersionKind `json:"kind"`
	Namespace   string                  `json:"namespace,omitempty"`
	Name        string                  `json:"name,omitempty"`
	Operation   string                  `json:"operation"`
	SubResource string                  `json:"sub_resource,omitempty"`
	// Timeout is how long the API server waits for the answer (its ?timeout=):
	// the answer is sent within it, less a margin, or not at all.
	Timeout string `json:"timeout,omitempty"`
	// Owner is the object's controller (Kind/name, from its owner
	// references) when it has one: a Pod a ReplicaSet made, a claim a
	// StatefulSet made. UserInfo is then the controller's identity.
	Owner        string     `json:"owner,omitempty"`
	DryRun       bool       `json:"dry_run"`
	UserInfo     UserRecord `json:"user_info"`
	ObjectSHA256 string     `json:"object_sha256,omitempty"`
}

// UserRecord is the Kubernetes user who asked.
type UserRecord struct {
	Username string   `json:"username"`
	UID      string   `json:"uid,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

// ResultRecord is the result of a review's record: the answer and why.
type ResultRecord struct {
	Allowed    bool             `json:"allowed"`
	Verdict    string           `json:"verdict"`
	Mode       string           `json:"mode"`
	DryRun     bool             `json:"dry_run"`
	Message    string           `json:"message,omitempty"`
	Warnings   []string         `json:"warnings,omitempty"`
	Datasets   []string         `json:"datasets,omitempty"`
	Workload   string           `json:"workload,omitempty"`
	Candidates []string         `json:"candidates,omitempty"`
	Regions    []string         `json:"regions,omitempty"`
	Patch      []PatchOp        `json:"patch,omitempty"`
	Problems   []string         `json:"problems,omitempty"`
	Decision   *engine.Decision `json:"decision,omitempty"`
	// Voids is, in an unanswered record, the id of the record whose answer
	// was not sent.
	Voids string `json:"voids,omitempty"`
}

// Unanswered is the record that voids r: r was appended, or may yet be, but
// its answer, an admission, was not sent, because the API server's deadline
// passed or it went away before r was durable. The API server refused the
// request (failurePolicy Fail) or never heard; an auditor reading r must
// read this one too. reason says which.
func (r *Record) Unanswered(reason string) (*Record, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	return &Record{
		ID:      id.String(),
		Request: r.Request,
		Result: ResultRecord{
			Allowed: false, Verdict: VerdictUnanswered, Mode: r.Result.Mode, DryRun: r.Result.DryRun,
			Message: reason, Voids: r.ID,
		},
		Bundle:            r.Bundle,
		InventoryRevision: r.InventoryRevision,
	}, nil
}

// record is what the audit log keeps of the review: id the engine's decision
// id when there is one.
func (rv *review) record(req *admissionv1.AdmissionRequest, mutate bool, eng *engine.Engine) (*Record, error) {
	dryRun := req.DryRun != nil && *req.DryRun
	webhook := "validate"
	if mutate {
		webhook = "mutate"
	}
	r := &Record{
		Request: RequestRecord{
			UID: string(req.UID), Webhook: webhook, Kind: req.Kind, Namespace: req.Namespace, Name: req.Name,
			Operation: string(req.Operation), SubResource: req.SubResource, Owner: rv.owner, DryRun: dryRun,
			UserInfo:     UserRecord{Username: req.UserInfo.Username, UID: req.UserInfo.UID, Groups: req.UserInfo.Groups},
			ObjectSHA256: rv.objectSum,
		},
		Result: ResultRecord{
			Allowed: rv.allowed, Verdict: rv.verdict, Mode: rv.mode, DryRun: dryRun, Message: rv.message,
			Warnings: rv.warnings, Datasets: rv.datasets, Workload: rv.workload, Candidates: rv.candidates,
			Regions: rv.regions, Patch: rv.patch, Problems: rv.problems, Decision: rv.decision,
		},
	}
	if d := rv.decision; d != nil {
		r.ID, r.Bundle, r.InventoryRevision = d.DecisionID, d.Bundle, d.InventoryRevision
		return r, nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	r.ID, r.Bundle, r.InventoryRevision = id.String(), eng.Policy().Info(), eng.Inventory().Revision
	return r, nil
}
