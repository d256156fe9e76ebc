package admission

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sovereign-engine/sovereign/engine"
)

var (
	// ErrNotConfigured means the webhook has no cluster site, so there is
	// nothing to decide against; api answers 503 not_configured.
	ErrNotConfigured = errors.New("admission webhook not configured: no cluster site")
	// ErrMalformedReview means a review that is well-formed JSON but whose
	// object cannot be decoded as its kind; api answers 400 malformed_json,
	// and the API server applies the webhook's failurePolicy.
	ErrMalformedReview = errors.New("malformed AdmissionReview")
)

// Verdicts, as recorded in ResultRecord.Verdict.
const (
	VerdictAllowed      = "allowed"       // every placement the object could get is lawful
	VerdictPatched      = "patched"       // mutate restricted it to lawful regions
	VerdictDenied       = "denied"        // enforce: some placement is forbidden
	VerdictWouldDeny    = "would-deny"    // warn or dryrun: allowed although forbidden somewhere
	VerdictExempt       = "exempt"        // exempt namespace, not evaluated
	VerdictUndeclared   = "undeclared"    // no datasets declared nor defaulted: nothing to decide
	VerdictUnhandled    = "unhandled"     // a kind the webhook does not evaluate
	VerdictNotEvaluated = "not-evaluated" // DELETE/CONNECT or a subresource
	VerdictDeleting     = "deleting"      // UPDATE of an object being deleted (finalizers): never blocked
	VerdictUnchanged    = "unchanged"     // UPDATE that changes nothing the judgement reads
	VerdictUnanswered   = "unanswered"    // voids an earlier record whose admission was not sent (Record.Unanswered)
)

// Reviewer decides AdmissionReviews against an engine, under a configuration
// that is replaced whole: each review decides on the one it started with.
type Reviewer struct {
	engine *engine.Engine
	config atomic.Pointer[Config]
	// generation counts the configurations installed, so that a background
	// audit knows when to judge again.
	generation atomic.Uint64
}

// NewReviewer checks c against the engine's inventory, as SetConfig does.
func NewReviewer(eng *engine.Engine, c Config) (*Reviewer, error) {
	r := &Reviewer{engine: eng}
	if err := r.SetConfig(c); err != nil {
		return nil, err
	}
	return r, nil
}

// SetConfig fills c's defaults and checks it against the inventory in force;
// only if it is valid as a whole does it replace the configuration. Every
// problem is reported at once.
func (r *Reviewer) SetConfig(c Config) error {
	d, err := c.withDefaults(r.engine.Inventory())
	if err != nil {
		return err
	}
	r.config.Store(&d)
	r.generation.Add(1)
	return nil
}

// Generation changes each time a configuration is installed.
func (r *Reviewer) Generation() uint64 { return r.generation.Load() }

// Config is the configuration in force, defaults filled.
func (r *Reviewer) Config() Config { return *r.config.Load() }

// ClusterSite is the inventory site the cluster runs in; empty when the
// webhook is not configured.
func (r *Reviewer) ClusterSite() string { return r.config.Load().ClusterSite }

// Outcome is a decided review.
type Outcome struct {
	// Response answers the review. It is sent only once Record is in the
	// audit log; the caller adds the record's id and index as audit
	// annotations.
	Response *admissionv1.AdmissionResponse
	// Record is what the audit log keeps of the review.
	Record *Record
}

// Answer is the response to send once Record is the entry at index of the
// audit log named log (its origin): Response with the record's id, index and
// log as audit annotations (the API server writes them to its own audit
// log), and a pointer to the full decision as the last warning (when there
// are warnings) and at the end of a refusal's message. The record keeps the
// answer without that pointer: it is the record's own id and place, known
// only once it is appended.
func (o *Outcome) Answer(log string, index uint64) *admissionv1.AdmissionResponse {
	resp := *o.Response
	resp.AuditAnnotations = map[string]string{
		"decision-id": o.Record.ID,
		"audit-index": strconv.FormatUint(index, 10),
		"audit-log":   log,
	}
	where := fmt.Sprintf("entry %d of audit log %s", index, log)
	if len(resp.Warnings) > 0 {
		resp.Warnings = append(slices.Clip(resp.Warnings), cut(fmt.Sprintf("sovereign: full decision %s: %s", o.Record.ID, where), pointerRunes))
	}
	if resp.Result != nil && resp.Result.Message != "" {
		st := *resp.Result
		st.Message += cut(fmt.Sprintf(" (full decision %s: %s)", o.Record.ID, where), pointerRunes)
		resp.Result = &st
	}
	return &resp
}

// Review decides one review; mutate is the mutating webhook, which may
// restrict a pod to the regions where its data may go. A refusal is an
// Outcome. The errors are ErrNotConfigured, ErrMalformedReview, the engine's
// (engine.ErrPolicy) and the context's.
func (r *Reviewer) Review(ctx context.Context, req *admissionv1.AdmissionRequest, mutate bool) (*Outcome, error) {
	cfg := r.config.Load()
	if cfg.ClusterSite == "" {
		return nil, ErrNotConfigured
	}
	rv, err := r.decide(ctx, cfg, req, mutate)
	if err != nil {
		return nil, err
	}
	rec, err := rv.record(req, mutate, r.engine)
	if err != nil {
		return nil, err
	}
	return &Outcome{Response: rv.response(req.UID), Record: rec}, nil
}

// review is a review being decided: what will be answered and recorded.
type review struct {
	verdict  string
	mode     string
	allowed  bool
	message  string
	warnings []string
	patch    []PatchOp

	datasets   []string
	workload   string
	candidates []string
	regions    []string // the lawful regions a patch restricts to
	regionKey  string   // the node label the patch selects on
	problems   []string // why the placement cannot be judged (fail closed)
	decision   *engine.Decision
	objectSum  string
	owner      string // the object's controller, Kind/name
}

// decide evaluates one review. Errors are a review that cannot be decided
// (ErrMalformedReview) or a policy failure; a refusal is a review.
func (r *Reviewer) decide(ctx context.Context, cfg *Config, req *admissionv1.AdmissionRequest, mutate bool) (*review, error) {
	rv := &review{mode: cfg.DefaultMode, allowed: true}
	if len(req.Object.Raw) > 0 {
		sum := sha256.Sum256(req.Object.Raw)
		rv.objectSum = hex.EncodeToString(sum[:])
	}
	switch {
	case req.Operation != admissionv1.Create && req.Operation != admissionv1.Update, req.SubResource != "":
		rv.verdict = VerdictNotEvaluated
		return rv, nil
	case cfg.exempt(req.Namespace):
		rv.verdict = VerdictExempt
		return rv, nil
	}
	obj, handled, err := decodeObject(req.Kind, "request.object", req.Object.Raw, string(req.Operation))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedReview, err)
	}
	if !handled {
		rv.unhandled(cfg, req.Kind)
		return rv, nil
	}
	// The version an UPDATE replaces: what it declared still counts.
	var old *admittedObject
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		if old, _, err = decodeObject(req.Kind, "request.oldObject", req.OldObject.Raw, string(req.Operation)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedReview, err)
		}
	}
	rv.mode = cfg.mode(req.Namespace, obj.labels())
	rv.owner = obj.controller()
	rollout := false
	switch {
	case req.Operation != admissionv1.Update:
	case obj.meta.DeletionTimestamp != nil:
		// Finishing a deletion (a finalizer removed, the garbage collector's
		// foreground cascade) starts no placement: refusing it would leave
		// the object stuck Terminating.
		rv.verdict = VerdictDeleting
		return rv, nil
	case old != nil && samePlacement(obj, old, cfg.RegionLabel):
		// Nothing the judgement reads changed: refusing it would block every
		// controller and kubectl update of a running object after a policy
		// or inventory change. What it creates is judged when it is created.
		rv.verdict = VerdictUnchanged
		if !mutate || !obj.patchable || !templateChanged(obj, old) {
			return rv, nil
		}
		// The pod template changes, so its controller rolls out new Pods
		// from it: mutate brings the template up to date (the declaration,
		// the lawful regions in force) but never refuses.
		rollout = true
	}

	inv := r.engine.Inventory()
	rv.datasets, rv.workload = rv.declaredData(cfg, req, obj, old, inv)
	if len(rv.datasets) == 0 && rv.workload == "" && len(rv.problems) == 0 {
		if !rollout {
			rv.verdict = VerdictUndeclared
		}
		return rv, nil
	}
	if mutate {
		rv.carry(obj)
	}
	w := rv.checkInventory(inv)
	rc := regionConstraintOf(obj, cfg)
	rv.findCandidates(cfg, inv, rc)
	if len(rv.problems) > 0 {
		rv.judge(obj, req, nil, rollout)
		return rv, nil
	}

	d, err := r.engine.Placement(ctx, rv.placementRequest(cfg, req, obj, w))
	if err != nil {
		var invalid *engine.ValidationError
		if !errors.As(err, &invalid) {
			return nil, err
		}
		// The inventory changed under the configuration (a site or dataset
		// gone): refuse rather than guess.
		for _, p := range invalid.Problems {
			rv.problems = append(rv.problems, p.Path+": "+p.Message)
		}
		rv.judge(obj, req, nil, rollout)
		return rv, nil
	}
	rv.decision = d

	if mutate && rv.mode == ModeEnforce && obj.patchable && obj.pod != nil {
		rv.restrict(obj, cfg, inv, rc)
	}
	rv.judge(obj, req, d, rollout)
	return rv, nil
}

// carry writes what the object itself declares into the templates its
// controller creates Pods and claims from, in every mode: a declaration is
// metadata, not enforcement, and without it the Pods of a Deployment would be
// judged (and recorded) as declaring nothing. The namespace default is not
// carried: the Pods are in the same namespace and get the default in force
// when they are created. Nothing is carried where the template may not
// change (mutate would be refused, or the owner compares it), nor from an
// object that names two workloads (it is refused or warned about).
func (rv *review) carry(obj *admittedObject) {
	datasets, workload, err := obj.declared()
	if err != nil || len(datasets) == 0 && workload == "" {
		return
	}
	if obj.template != nil && obj.patchable {
		rv.patch = append(rv.patch, carryDeclaration(obj.templateMetaPath(), obj.template, datasets, workload)...)
	}
	if obj.claimsPatchable {
		for i := range obj.claimTemplates {
			rv.patch = append(rv.patch, carryDeclaration(fmt.Sprintf("/spec/volumeClaimTemplates/%d/metadata", i), &obj.claimTemplates[i].ObjectMeta, datasets, workload)...)
		}
	}
}

// unhandled answers a kind the webhook does not evaluate, as configured.
func (rv *review) unhandled(cfg *Config, kind metav1.GroupVersionKind) {
	rv.verdict = VerdictUnhandled
	gvk := gvkString(kind)
	if cfg.UnhandledKinds == "deny" {
		rv.allowed = false
		rv.message = fmt.Sprintf("sovereign: %s is not a kind this webhook evaluates, and unhandled kinds are denied", gvk)
		return
	}
	rv.warnings = []string{fmt.Sprintf("sovereign: %s is not evaluated for data sovereignty", gvk)}
}

// declaredData is the data an object touches: everything anyone declared for
// it, its own labels and annotations, its namespace's defaults and, on UPDATE,
// what the object it replaces declared. Declaring more can only restrict
// more: a declaration never replaces the namespace default, and dropping one
// on UPDATE does not free the running pods. Workloads beyond the first are
// expanded into their datasets.
func (rv *review) declaredData(cfg *Config, req *admissionv1.AdmissionRequest, obj, old *admittedObject, inv *engine.Inventory) (datasets []string, workload string) {
	declared := []declaration{{source: "object"}}
	var err error
	declared[0].datasets, declared[0].workload, err = obj.declared()
	if err != nil {
		rv.problems = append(rv.problems, err.Error())
	}
	if ns := cfg.Namespaces[req.Namespace]; len(ns.Datasets) > 0 || ns.Workload != "" {
		declared = append(declared, declaration{source: "namespace default", datasets: ns.Datasets, workload: ns.Workload})
	}
	if old != nil {
		d := declaration{source: "previous version"}
		if d.datasets, d.workload, err = old.declared(); err == nil {
			declared = append(declared, d)
		}
	}
	datasets, workload, extra := mergeDeclarations(declared)
	for _, w := range extra {
		ew, ok := inv.Workload(w)
		if !ok {
			rv.problems = append(rv.problems, fmt.Sprintf("unknown workload %q (%s): it is not in the inventory", w, WorkloadKey))
			continue
		}
		for _, d := range ew.Datasets {
			if !slices.Contains(datasets, d) {
				datasets = append(datasets, d)
			}
		}
	}
	return datasets, workload
}

// checkInventory notes the declared datasets and workload the inventory
// lacks (where they may go cannot be decided: fail closed), and returns the
// workload's inventory entry.
func (rv *review) checkInventory(inv *engine.Inventory) engine.Workload {
	for _, d := range rv.datasets {
		if _, ok := inv.Dataset(d); !ok {
			rv.problems = append(rv.problems, fmt.Sprintf("unknown dataset %q (%s): it is not in the inventory, so where it may go cannot be decided", d, DatasetsKey))
		}
	}
	if rv.workload == "" {
		return engine.Workload{}
	}
	w, ok := inv.Workload(rv.workload)
	if !ok {
		rv.problems = append(rv.problems, fmt.Sprintf("unknown workload %q (%s): it is not in the inventory", rv.workload, WorkloadKey))
	}
	return w
}

// findCandidates sets the sites the object could land at, and notes the
// placements that cannot be judged: a region no inventory site has, or no
// site at all.
func (rv *review) findCandidates(cfg *Config, inv *engine.Inventory, rc regionConstraint) {
	candidates, unknown := candidateSites(cfg, inv, rc)
	rv.candidates = candidates
	for _, r := range unknown {
		rv.problems = append(rv.problems, fmt.Sprintf("region %q (%s) is not the region of any inventory site, so a placement there cannot be judged", r, cfg.RegionLabel))
	}
	if len(candidates) == 0 && len(unknown) == 0 {
		rv.problems = append(rv.problems, fmt.Sprintf("no site of this cluster satisfies the object's %s constraint", cfg.RegionLabel))
	}
}

// placementRequest asks the engine about the object's data at its candidate
// sites: the declared dataset or workload by id when there is one, else an
// inline workload of everything declared (w is the declared workload's
// inventory entry).
func (rv *review) placementRequest(cfg *Config, req *admissionv1.AdmissionRequest, obj *admittedObject, w engine.Workload) *engine.PlacementRequest {
	preq := &engine.PlacementRequest{
		Operation:  obj.operation,
		Candidates: rv.candidates,
		At:         cfg.Clock().UTC().Format(time.RFC3339Nano),
	}
	switch {
	case rv.workload != "" && len(rv.datasets) == 0:
		preq.Workload = &engine.WorkloadRef{ID: rv.workload}
	case rv.workload == "" && len(rv.datasets) == 1:
		preq.Dataset = &engine.DatasetRef{ID: rv.datasets[0]}
	default:
		id := rv.workload
		if id == "" {
			id = "k8s/" + req.Namespace + "/" + obj.kind + "/" + objectName(req, obj)
		}
		all := slices.Clone(w.Datasets)
		for _, d := range rv.datasets {
			if !slices.Contains(all, d) {
				all = append(all, d)
			}
		}
		preq.Workload = &engine.WorkloadRef{Inline: &engine.Workload{ID: id, Tenant: w.Tenant, Datasets: all}}
	}
	return preq
}

// restrict patches the pod to the regions where every candidate site is
// allowed, when some candidate is forbidden and at least one region is lawful.
func (rv *review) restrict(obj *admittedObject, cfg *Config, inv *engine.Inventory, rc regionConstraint) {
	allowed := map[string]bool{}
	for _, sd := range rv.decision.Sites {
		allowed[sd.Site] = sd.Allowed
	}
	var lawful, unlawful []string
	for _, id := range rv.candidates {
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
	if len(unlawful) == 0 && len(lawful) == len(rv.candidates) || len(lawful) == 0 {
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
	rv.patch = append(rv.patch, ops...)
	rv.regions, rv.candidates, rv.regionKey = lawful, after, cfg.RegionLabel
}

// judge turns the evaluation into the answer, by mode.
// judge turns the evaluation into the answer, by mode. Violations and
// obligations are grouped by rule, one line each naming its sites, datasets
// and citation, within the API server's limits (message.go). rollout is an
// unchanged UPDATE whose template mutate brought up to date: whatever the
// evaluation found, it is admitted as unchanged.
func (rv *review) judge(obj *admittedObject, req *admissionv1.AdmissionRequest, d *engine.Decision, rollout bool) {
	var violations, obligations []finding
	if d != nil {
		violations = groupByRule(d, rv.candidates, func(sd engine.SiteDecision) []engine.Violation {
			if sd.Allowed {
				return nil
			}
			return sd.Violations
		})
		obligations = groupByRule(d, rv.candidates, func(sd engine.SiteDecision) []engine.Violation { return sd.Obligations })
	}
	var restricted string
	if len(rv.regions) > 0 {
		restricted = fmt.Sprintf("sovereign: required node affinity added: %s in [%s], where its data may go", rv.regionKey, strings.Join(rv.regions, ", "))
	}
	var warnings []string
	switch {
	case rollout:
		rv.verdict, rv.allowed = VerdictUnchanged, true
	case len(rv.problems) == 0 && len(violations) == 0:
		rv.verdict, rv.allowed = VerdictAllowed, true
		if len(rv.regions) > 0 {
			rv.verdict = VerdictPatched
		}
	case rv.mode == ModeEnforce:
		rv.verdict, rv.allowed, rv.patch = VerdictDenied, false, nil
		var reasons []string
		for _, p := range rv.problems {
			reasons = append(reasons, cut(p, 2*MaxWarningRunes))
		}
		for _, f := range violations {
			reasons = append(reasons, f.line("", 2*MaxWarningRunes))
		}
		rv.message = refusal(fmt.Sprintf("%s %s/%s", obj.kind, req.Namespace, objectName(req, obj)), reasons)
		return
	case rv.mode == ModeWarn:
		rv.verdict, rv.allowed = VerdictWouldDeny, true
		const wouldDeny = "sovereign (warn mode, would deny): "
		for _, p := range rv.problems {
			warnings = append(warnings, wouldDeny+p)
		}
		for _, f := range violations {
			warnings = append(warnings, f.line(wouldDeny, MaxWarningRunes))
		}
	default:
		rv.verdict, rv.allowed = VerdictWouldDeny, true
	}
	if restricted != "" {
		warnings = append(warnings, restricted)
	}
	if !rollout && rv.mode != ModeDryRun {
		for _, f := range obligations {
			warnings = append(warnings, f.line("sovereign: obligation ", MaxWarningRunes))
		}
	}
	// dryrun observes: nothing is refused nor warned, the record says it all.
	rv.warnings = fitWarnings(warnings, MaxWarningsRunes-pointerRunes)
}

// response is the AdmissionResponse for the review.
func (rv *review) response(uid types.UID) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: uid, Allowed: rv.allowed, Warnings: rv.warnings}
	if !rv.allowed {
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: rv.message}
	}
	if len(rv.patch) > 0 {
		b, err := json.Marshal(rv.patch)
		if err == nil {
			pt := admissionv1.PatchTypeJSONPatch
			resp.Patch, resp.PatchType = b, &pt
		}
	}
	return resp
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
