package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// admissionMinBodyBytes is the smallest body cap of an AdmissionReview: an UPDATE
// carries the object twice, and an object may be up to about 1.5 MiB.
const admissionMinBodyBytes = 4 << 20

// CodeNotConfigured: the admission webhook has no cluster site (503).
const CodeNotConfigured = "not_configured"

// Admission verdicts, as recorded in the audit log.
const (
	verdictAllowed      = "allowed"       // every placement the object could get is lawful
	verdictPatched      = "patched"       // mutate restricted it to lawful regions
	verdictDenied       = "denied"        // enforce: some placement is forbidden
	verdictWouldDeny    = "would-deny"    // warn or dryrun: allowed although forbidden somewhere
	verdictExempt       = "exempt"        // exempt namespace, not evaluated
	verdictUndeclared   = "undeclared"    // no datasets declared nor defaulted: nothing to decide
	verdictUnhandled    = "unhandled"     // a kind the webhook does not evaluate
	verdictNotEvaluated = "not-evaluated" // DELETE/CONNECT or a subresource
)

// admissionRoutes serves the Kubernetes admission webhook (docs/admission.md).
// Mutating webhooks run before validating ones: mutate restricts a pod to the
// regions where its data may go, and validate refuses what could not be fixed.
func (s *Server) admissionRoutes(v1 *gin.RouterGroup) error {
	if err := s.SetAdmissionConfig(s.cfg.Admission); err != nil {
		return err
	}
	v1.POST("/admission/validate", func(c *gin.Context) { s.admit(c, false) })
	v1.POST("/admission/mutate", func(c *gin.Context) { s.admit(c, true) })
	return nil
}

// SetAdmissionConfig validates c against the inventory in force and, only if
// it is valid as a whole, makes it the webhook's configuration; reviews in
// flight finish on the one they started with. `serve` calls it when the
// --admission-config file changes or on SIGHUP.
func (s *Server) SetAdmissionConfig(c AdmissionConfig) error {
	d, err := c.withDefaults(s.cfg.Engine.Inventory())
	if err != nil {
		return err
	}
	s.admission.Store(&d)
	return nil
}

// AdmissionConfig returns the webhook's configuration in force.
func (s *Server) AdmissionConfig() AdmissionConfig { return *s.admission.Load() }

// admit answers one AdmissionReview. A review that cannot be read is a 400 (the
// API server then applies the webhook's failurePolicy); a decision the audit log
// does not take is a 503, never an answer.
func (s *Server) admit(c *gin.Context, mutate bool) {
	cfg := s.admission.Load()
	if cfg.ClusterSite == "" {
		abortWithError(c, http.StatusServiceUnavailable, CodeNotConfigured, "the admission webhook is not configured: serve needs --cluster-site")
		return
	}
	review, ok := s.readReview(c)
	if !ok {
		return
	}
	req := review.Request
	out, err := s.decideAdmission(c.Request.Context(), cfg, req, mutate)
	if err != nil {
		var bad *badReviewError
		switch {
		case errors.As(err, &bad):
			abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, bad.Error())
		case errors.Is(err, engine.ErrPolicy):
			s.cfg.Logger.Error("policy evaluation failed", "kind", "admission", "uid", req.UID, "err", err)
			abortWithError(c, http.StatusInternalServerError, CodePolicyError, err.Error())
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			abortWithError(c, http.StatusServiceUnavailable, CodeInternal, "request cancelled before a decision: "+err.Error())
		default:
			s.cfg.Logger.Error("admission failed", "uid", req.UID, "err", err)
			abortWithError(c, http.StatusInternalServerError, CodeInternal, "admission failed")
		}
		return
	}

	resp := out.response(req.UID)
	rec, err := out.record(req, mutate, principal(c), s.cfg.Engine)
	if err != nil {
		s.cfg.Logger.Error("admission record", "uid", req.UID, "err", err)
		abortWithError(c, http.StatusInternalServerError, CodeInternal, "admission failed")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.LogTimeout)
	defer cancel()
	receipt, err := s.cfg.Audit.Append(ctx, rec)
	if err != nil {
		s.cfg.Logger.Error("audit log refused an admission decision; not answering it", "uid", req.UID, "err", err)
		c.Header("Retry-After", "1")
		abortWithError(c, http.StatusServiceUnavailable, CodeAuditUnavailable, "the admission decision could not be recorded in the audit log, so it is not answered: "+err.Error())
		return
	}
	resp.AuditAnnotations = map[string]string{
		"decision-id": rec.ID,
		"audit-index": strconv.FormatUint(receipt.Index, 10),
	}
	s.metrics.decision("admission", resp.Allowed)
	c.JSON(http.StatusOK, admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp})
}

// badReviewError is a review that is well-formed JSON but cannot be decided.
type badReviewError struct{ msg string }

func (e *badReviewError) Error() string { return e.msg }

// readReview reads an admission.k8s.io/v1 AdmissionReview. Syntax, trailing
// data and size are checked strictly; unknown fields are accepted, since a newer
// API server may add some and refusing them would fail every admission.
func (s *Server) readReview(c *gin.Context) (*admissionv1.AdmissionReview, bool) {
	body, ok := readJSONBody(c, max(s.cfg.MaxBodyBytes, admissionMinBodyBytes))
	if !ok {
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "request body is empty; an AdmissionReview is required")
		return nil, false
	}
	var review admissionv1.AdmissionReview
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&review); err != nil {
		status, code, msg, details := classifyDecodeError(err, dec)
		if status == http.StatusUnprocessableEntity { // a wrong type: still a malformed review
			status, code = http.StatusBadRequest, CodeMalformedJSON
		}
		abortWithError(c, status, code, "malformed AdmissionReview: "+msg, details...)
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		abortWithError(c, http.StatusBadRequest, CodeTrailingData, fmt.Sprintf("unexpected data after the AdmissionReview at byte offset %d", dec.InputOffset()))
		return nil, false
	}
	var problems []ErrorDetail
	if review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" {
		problems = append(problems, ErrorDetail{Path: "apiVersion", Message: fmt.Sprintf("want admission.k8s.io/v1 AdmissionReview, got %q %q", review.APIVersion, review.Kind)})
	}
	switch r := review.Request; {
	case r == nil:
		problems = append(problems, ErrorDetail{Path: "request", Message: "is required"})
	default:
		if r.UID == "" {
			problems = append(problems, ErrorDetail{Path: "request.uid", Message: "is required"})
		}
		if r.Kind.Kind == "" || r.Kind.Version == "" {
			problems = append(problems, ErrorDetail{Path: "request.kind", Message: "version and kind are required"})
		}
		if (r.Operation == admissionv1.Create || r.Operation == admissionv1.Update) && len(r.Object.Raw) == 0 {
			problems = append(problems, ErrorDetail{Path: "request.object", Message: "is required for " + string(r.Operation)})
		}
		if r.Operation == "" {
			problems = append(problems, ErrorDetail{Path: "request.operation", Message: "is required"})
		}
	}
	if len(problems) > 0 {
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "malformed AdmissionReview: "+problems[0].Path+" "+problems[0].Message, problems...)
		return nil, false
	}
	return &review, true
}

// admissionOutcome is a decided review: what is answered and what is recorded.
type admissionOutcome struct {
	verdict  string
	mode     string
	allowed  bool
	message  string
	warnings []string
	patch    []jsonPatchOp

	kind       string
	datasets   []string
	workload   string
	candidates []string
	regions    []string // the lawful regions a patch restricts to
	regionKey  string   // the node label the patch selects on
	problems   []string // why the placement cannot be judged (fail closed)
	decision   *engine.Decision
	objectSum  string
}

// decideAdmission evaluates one review. Errors are a review that cannot be
// decided (*badReviewError) or a policy failure; a refusal is an outcome.
func (s *Server) decideAdmission(ctx context.Context, cfg *AdmissionConfig, req *admissionv1.AdmissionRequest, mutate bool) (*admissionOutcome, error) {
	out := &admissionOutcome{mode: cfg.DefaultMode, allowed: true, kind: req.Kind.Kind}
	if len(req.Object.Raw) > 0 {
		sum := sha256.Sum256(req.Object.Raw)
		out.objectSum = hex.EncodeToString(sum[:])
	}
	switch {
	case req.Operation != admissionv1.Create && req.Operation != admissionv1.Update, req.SubResource != "":
		out.verdict = verdictNotEvaluated
		return out, nil
	case cfg.exempt(req.Namespace):
		out.verdict = verdictExempt
		return out, nil
	}
	obj, handled, err := decodeObject(req.Kind, req.Object.Raw, string(req.Operation))
	if err != nil {
		return nil, &badReviewError{msg: "malformed AdmissionReview: " + err.Error()}
	}
	if !handled {
		out.verdict = verdictUnhandled
		gvk := gvkString(req.Kind)
		if cfg.UnhandledKinds == "deny" {
			out.allowed = false
			out.message = fmt.Sprintf("sovereign: %s is not a kind this webhook evaluates, and unhandled kinds are denied", gvk)
		} else {
			out.warnings = []string{fmt.Sprintf("sovereign: %s is not evaluated for data sovereignty", gvk)}
		}
		return out, nil
	}
	out.mode = cfg.mode(req.Namespace, obj.labels())

	// The data an object touches is everything anyone declared for it: its own
	// labels and annotations, its namespace's defaults and, on UPDATE, what the
	// object it replaces declared. Declaring more can only restrict more: a
	// declaration never replaces the namespace default, and dropping one on
	// UPDATE does not free the running pods.
	declared := []declaration{{source: "object"}}
	declared[0].datasets, declared[0].workload, err = obj.declared()
	if err != nil {
		out.problems = append(out.problems, err.Error())
	}
	if ns := cfg.Namespaces[req.Namespace]; len(ns.Datasets) > 0 || ns.Workload != "" {
		declared = append(declared, declaration{source: "namespace default", datasets: ns.Datasets, workload: ns.Workload})
	}
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		if old, ok, oerr := decodeObject(req.Kind, req.OldObject.Raw, string(req.Operation)); oerr == nil && ok {
			d := declaration{source: "previous version"}
			if d.datasets, d.workload, oerr = old.declared(); oerr == nil {
				declared = append(declared, d)
			}
		}
	}
	datasets, workload, extra := mergeDeclarations(declared)
	for _, w := range extra {
		ew, ok := s.cfg.Engine.Inventory().Workload(w)
		if !ok {
			out.problems = append(out.problems, fmt.Sprintf("unknown workload %q (%s): it is not in the inventory", w, WorkloadKey))
			continue
		}
		for _, d := range ew.Datasets {
			if !slices.Contains(datasets, d) {
				datasets = append(datasets, d)
			}
		}
	}
	out.datasets, out.workload = datasets, workload
	if len(datasets) == 0 && workload == "" && len(out.problems) == 0 {
		out.verdict = verdictUndeclared
		return out, nil
	}

	inv := s.cfg.Engine.Inventory()
	for _, d := range datasets {
		if _, ok := inv.Dataset(d); !ok {
			out.problems = append(out.problems, fmt.Sprintf("unknown dataset %q (%s): it is not in the inventory, so where it may go cannot be decided", d, DatasetsKey))
		}
	}
	var w engine.Workload
	if workload != "" {
		var ok bool
		if w, ok = inv.Workload(workload); !ok {
			out.problems = append(out.problems, fmt.Sprintf("unknown workload %q (%s): it is not in the inventory", workload, WorkloadKey))
		}
	}

	var rc regionConstraint
	if obj.pod != nil {
		rc = podRegionConstraint(obj.pod, cfg.RegionLabel)
	} else {
		rc = regionConstraint{label: cfg.RegionLabel}
		if sc := obj.claim.StorageClassName; sc != nil {
			if regions, ok := cfg.StorageClassRegions[*sc]; ok {
				rc.regions = regions
			}
		}
	}
	candidates, unknown := candidateSites(cfg, inv, rc)
	out.candidates = candidates
	for _, r := range unknown {
		out.problems = append(out.problems, fmt.Sprintf("region %q (%s) is not the region of any inventory site, so a placement there cannot be judged", r, cfg.RegionLabel))
	}
	if len(candidates) == 0 && len(unknown) == 0 {
		out.problems = append(out.problems, fmt.Sprintf("no site of this cluster satisfies the object's %s constraint", cfg.RegionLabel))
	}
	if len(out.problems) > 0 {
		out.judge(obj, req, nil)
		return out, nil
	}

	preq := &engine.PlacementRequest{
		Operation:  obj.operation,
		Candidates: candidates,
		At:         cfg.Clock().UTC().Format(time.RFC3339Nano),
	}
	switch {
	case workload != "" && len(datasets) == 0:
		preq.Workload = &engine.WorkloadRef{ID: workload}
	case workload == "" && len(datasets) == 1:
		preq.Dataset = &engine.DatasetRef{ID: datasets[0]}
	default:
		id := workload
		if id == "" {
			id = "k8s/" + req.Namespace + "/" + obj.kind + "/" + objectName(req, obj)
		}
		all := slices.Clone(w.Datasets)
		for _, d := range datasets {
			if !slices.Contains(all, d) {
				all = append(all, d)
			}
		}
		preq.Workload = &engine.WorkloadRef{Inline: &engine.Workload{ID: id, Tenant: w.Tenant, Datasets: all}}
	}
	d, err := s.cfg.Engine.Placement(ctx, preq)
	if err != nil {
		var invalid *engine.ValidationError
		if !errors.As(err, &invalid) {
			return nil, err
		}
		// The inventory changed under the configuration (a site or dataset
		// gone): refuse rather than guess.
		for _, p := range invalid.Problems {
			out.problems = append(out.problems, p.Path+": "+p.Message)
		}
		out.judge(obj, req, nil)
		return out, nil
	}
	out.decision = d

	if mutate && out.mode == ModeEnforce && obj.patchable && obj.pod != nil {
		out.restrict(obj, cfg, inv, rc)
	}
	out.judge(obj, req, d)
	return out, nil
}

// restrict patches the pod to the regions where every candidate site is
// allowed, when some candidate is forbidden and at least one region is lawful.
func (out *admissionOutcome) restrict(obj *admittedObject, cfg *AdmissionConfig, inv *engine.Inventory, rc regionConstraint) {
	allowed := map[string]bool{}
	for _, sd := range out.decision.Sites {
		allowed[sd.Site] = sd.Allowed
	}
	var lawful, unlawful []string
	for _, id := range out.candidates {
		s, _ := inv.Site(id)
		r, has := s.Labels[cfg.RegionLabel]
		switch {
		case !has:
			// A site without a region label cannot be selected by region;
			// restricting by region excludes it.
		case allowed[id]:
			if !slices.Contains(lawful, r) {
				lawful = append(lawful, r)
			}
		default:
			unlawful = append(unlawful, r)
		}
	}
	// A region shared by an allowed and a forbidden site is not lawful.
	lawful = slices.DeleteFunc(lawful, func(r string) bool { return slices.Contains(unlawful, r) })
	if len(unlawful) == 0 && len(lawful) == len(out.candidates) || len(lawful) == 0 {
		return
	}
	slices.Sort(lawful)
	ops := restrictToRegions(obj.podPath, obj.pod, cfg.RegionLabel, lawful)
	if len(ops) == 0 {
		return
	}
	// Check what the patch achieves before claiming it: every site the patched
	// pod could get must be an allowed one.
	rc.regions = lawful
	after, unknown := candidateSites(cfg, inv, rc)
	if len(unknown) > 0 || len(after) == 0 {
		return
	}
	for _, id := range after {
		if !allowed[id] {
			return
		}
	}
	out.patch, out.regions, out.candidates, out.regionKey = ops, lawful, after, cfg.RegionLabel
}

// judge turns the evaluation into the answer, by mode.
func (out *admissionOutcome) judge(obj *admittedObject, req *admissionv1.AdmissionRequest, d *engine.Decision) {
	var reasons []string
	reasons = append(reasons, out.problems...)
	if d != nil {
		for _, sd := range d.Sites {
			if !slices.Contains(out.candidates, sd.Site) {
				continue // excluded by the patch
			}
			if !sd.Allowed {
				for _, v := range sd.Violations {
					reasons = append(reasons, fmt.Sprintf("site %s: %s: %s [%s]", sd.Site, v.Rule, v.Message, v.Citation))
				}
			}
			for _, o := range sd.Obligations {
				w := fmt.Sprintf("sovereign: obligation at site %s: %s: %s [%s]", sd.Site, o.Rule, o.Message, o.Citation)
				if !slices.Contains(out.warnings, w) {
					out.warnings = append(out.warnings, w)
				}
			}
		}
	}
	if len(out.patch) > 0 {
		out.warnings = append(out.warnings, fmt.Sprintf("sovereign: required node affinity added: %s in [%s], where its data may go", out.regionKey, strings.Join(out.regions, ", ")))
	}
	if len(reasons) == 0 {
		out.verdict, out.allowed = verdictAllowed, true
		if len(out.patch) > 0 {
			out.verdict = verdictPatched
		}
		return
	}
	subject := fmt.Sprintf("%s %s/%s", obj.kind, req.Namespace, objectName(req, obj))
	switch out.mode {
	case ModeEnforce:
		out.verdict, out.allowed = verdictDenied, false
		out.message = fmt.Sprintf("sovereign: %s may be placed where its data may not go: %s", subject, strings.Join(reasons, "; "))
	case ModeWarn:
		out.verdict, out.allowed = verdictWouldDeny, true
		for _, r := range reasons {
			out.warnings = append(out.warnings, "sovereign (warn mode, would deny): "+r)
		}
	default:
		out.verdict, out.allowed = verdictWouldDeny, true
	}
}

// response is the AdmissionResponse for the outcome.
func (out *admissionOutcome) response(uid types.UID) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: uid, Allowed: out.allowed, Warnings: out.warnings}
	if !out.allowed {
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: out.message}
	}
	if len(out.patch) > 0 {
		b, err := json.Marshal(out.patch)
		if err == nil {
			pt := admissionv1.PatchTypeJSONPatch
			resp.Patch, resp.PatchType = b, &pt
		}
	}
	return resp
}

// admissionRequestRecord is what the audit log keeps of a review: who asked for
// what, never the object itself (it may hold secrets); its digest ties the
// record to it.
type admissionRequestRecord struct {
	UID          string                  `json:"uid"`
	Webhook      string                  `json:"webhook"`
	Kind         metav1.GroupVersionKind `json:"kind"`
	Namespace    string                  `json:"namespace,omitempty"`
	Name         string                  `json:"name,omitempty"`
	Operation    string                  `json:"operation"`
	SubResource  string                  `json:"sub_resource,omitempty"`
	DryRun       bool                    `json:"dry_run"`
	UserInfo     admissionUser           `json:"user_info"`
	ObjectSHA256 string                  `json:"object_sha256,omitempty"`
}

type admissionUser struct {
	Username string   `json:"username"`
	UID      string   `json:"uid,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

type admissionResultRecord struct {
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
	Patch      []jsonPatchOp    `json:"patch,omitempty"`
	Problems   []string         `json:"problems,omitempty"`
	Decision   *engine.Decision `json:"decision,omitempty"`
}

// record is the audit record of the outcome: kind admission, id the engine's
// decision id when there is one.
func (out *admissionOutcome) record(req *admissionv1.AdmissionRequest, mutate bool, principal string, eng *engine.Engine) (*audit.Record, error) {
	dryRun := req.DryRun != nil && *req.DryRun
	webhook := "validate"
	if mutate {
		webhook = "mutate"
	}
	request, err := json.Marshal(admissionRequestRecord{
		UID: string(req.UID), Webhook: webhook, Kind: req.Kind, Namespace: req.Namespace, Name: req.Name,
		Operation: string(req.Operation), SubResource: req.SubResource, DryRun: dryRun,
		UserInfo:     admissionUser{Username: req.UserInfo.Username, UID: req.UserInfo.UID, Groups: req.UserInfo.Groups},
		ObjectSHA256: out.objectSum,
	})
	if err != nil {
		return nil, err
	}
	result, err := json.Marshal(admissionResultRecord{
		Allowed: out.allowed, Verdict: out.verdict, Mode: out.mode, DryRun: dryRun, Message: out.message,
		Warnings: out.warnings, Datasets: out.datasets, Workload: out.workload, Candidates: out.candidates,
		Regions: out.regions, Patch: out.patch, Problems: out.problems, Decision: out.decision,
	})
	if err != nil {
		return nil, err
	}
	r := &audit.Record{Kind: audit.KindAdmission, Principal: principal, Request: request, Result: result, EngineVersion: engine.Version}
	if d := out.decision; d != nil {
		r.ID = d.DecisionID
		r.Bundle = audit.BundleRef{Revision: d.Bundle.Revision, Digest: d.Bundle.Digest}
		r.InventoryRevision = d.InventoryRevision
	} else {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		r.ID = id.String()
		info := eng.Policy().Info()
		r.Bundle = audit.BundleRef{Revision: info.Revision, Digest: info.Digest}
		r.InventoryRevision = eng.Inventory().Revision
	}
	return r, nil
}

func objectName(req *admissionv1.AdmissionRequest, obj *admittedObject) string {
	switch {
	case req.Name != "":
		return req.Name
	case obj.meta.Name != "":
		return obj.meta.Name
	case obj.meta.GenerateName != "":
		return obj.meta.GenerateName + "*"
	}
	return "(unnamed)"
}

func gvkString(k metav1.GroupVersionKind) string {
	if k.Group == "" {
		return k.Version + "/" + k.Kind
	}
	return k.Group + "/" + k.Version + "/" + k.Kind
}

// declaration is the datasets and workload one source declares for an object.
type declaration struct {
	source   string
	datasets []string
	workload string
}

// mergeDeclarations unites declarations: every dataset once, the first workload
// named as the workload, and any other workloads returned to be expanded into
// their datasets.
func mergeDeclarations(ds []declaration) (datasets []string, workload string, extra []string) {
	for _, d := range ds {
		for _, id := range d.datasets {
			if !slices.Contains(datasets, id) {
				datasets = append(datasets, id)
			}
		}
		switch {
		case d.workload == "":
		case workload == "":
			workload = d.workload
		case d.workload != workload && !slices.Contains(extra, d.workload):
			extra = append(extra, d.workload)
		}
	}
	return datasets, workload, extra
}
