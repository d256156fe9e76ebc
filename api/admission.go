package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	admissionv1 "k8s.io/api/admission/v1"
	kjson "sigs.k8s.io/json"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// admissionMinBodyBytes is the smallest body cap of an AdmissionReview: an UPDATE
// carries the object twice, and an object may be up to about 1.5 MiB.
const admissionMinBodyBytes = 4 << 20

// admissionRoutes serves the Kubernetes admission webhook (docs/admission.md):
// package admission decides, this handler records and answers. Mutating
// webhooks run before validating ones: mutate restricts a pod to the regions
// where its data may go, and validate refuses what could not be fixed.
func (s *Server) admissionRoutes(v1 *gin.RouterGroup) error {
	r, err := admission.NewReviewer(s.cfg.Engine, s.cfg.Admission)
	if err != nil {
		return err
	}
	s.admission = r
	v1.POST("/admission/validate", func(c *gin.Context) { s.admit(c, false) })
	v1.POST("/admission/mutate", func(c *gin.Context) { s.admit(c, true) })
	return nil
}

// SetAdmissionConfig validates c against the inventory in force and, only if
// it is valid as a whole, makes it the webhook's configuration; reviews in
// flight finish on the one they started with. `serve` calls it when the
// --admission-config file changes or on SIGHUP.
func (s *Server) SetAdmissionConfig(c admission.Config) error { return s.admission.SetConfig(c) }

// AdmissionReviewer is the webhook's reviewer: the Kubernetes background
// audit (package kubeaudit) judges with it, under the same configuration.
func (s *Server) AdmissionReviewer() *admission.Reviewer { return s.admission }

// AdmissionConfig returns the webhook's configuration in force.
func (s *Server) AdmissionConfig() admission.Config { return s.admission.Config() }

// admit answers one AdmissionReview. A review that cannot be read is a 400 (the
// API server then applies the webhook's failurePolicy); a decision the audit log
// does not take is a 503, never an answer.
//
// The API server waits ?timeout= for the answer (the webhook's timeoutSeconds,
// or what is left of its own request, rounded up to whole seconds); the
// review is decided and recorded within it, less a margin for the way back.
// An admission whose record is not durable in time is not answered: the
// answer is an error (504, so failurePolicy Fail refuses), and a second
// record, unanswered, voids the first should it land after all. A refusal
// late is still answered: the API server refuses either way, as recorded.
// What remains is the race no webhook can close: the API server may give up
// after the record is durable and before the answer reaches it; the record
// then says admitted for a request the API server refused, and its own audit
// log, which has the decision-id annotation only for answers it received,
// tells the two apart (docs/admission.md).
func (s *Server) admit(c *gin.Context, mutate bool) {
	received := time.Now()
	if s.admission.ClusterSite() == "" {
		s.fail(c, "admission", admission.ErrNotConfigured)
		return
	}
	timeout := c.Query("timeout")
	deadline, err := reviewDeadline(timeout, received)
	if err != nil {
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, err.Error(), ErrorDetail{Path: "timeout", Message: err.Error()})
		return
	}
	ctx := c.Request.Context()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	review, ok := s.readReview(c)
	if !ok {
		return
	}
	out, err := s.admission.Review(ctx, review.Request, mutate)
	if err != nil {
		s.fail(c, "admission", pastDeadline(ctx, err))
		return
	}
	out.Record.Request.Timeout = timeout
	tenants := withTenant(admissionTenants(s.cfg.Engine.Inventory(), out.Record), callerTenant(c))
	rec, err := admissionRecord(out.Record, principal(c), tenants)
	if err != nil {
		s.fail(c, "admission", err)
		return
	}
	if err := ctx.Err(); err != nil {
		s.fail(c, "admission", pastDeadline(ctx, err)) // decided too late: nothing recorded
		return
	}
	receipt, err := s.record(ctx, rec)
	if err != nil {
		if out.Response.Allowed && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			// The log stopped waiting, not necessarily appending.
			s.recordUnanswered(out.Record, principal(c), tenants, "the admission's record was not durable before "+whyLate(ctx)+"; the review was answered with an error instead")
		}
		s.fail(c, "admission", pastDeadline(ctx, err))
		return
	}
	if err := ctx.Err(); err != nil && out.Response.Allowed {
		s.recordUnanswered(out.Record, principal(c), tenants, fmt.Sprintf("the admission was recorded (entry %d) only after %s; the review was answered with an error instead", receipt.Index, whyLate(ctx)))
		s.fail(c, "admission", pastDeadline(ctx, err))
		return
	}
	resp := out.Answer(s.cfg.Audit.Origin(), receipt.Index)
	s.metrics.decision("admission", resp.Allowed)
	s.metrics.admission(out.Record.Request.Webhook, out.Record.Result.Mode, out.Record.Result.Verdict)
	c.JSON(http.StatusOK, admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp})
}

// errPastDeadline is a review not decided, or not recorded, within the API
// server's deadline: 504, and the API server applies failurePolicy (it has
// most likely given up already).
var errPastDeadline = errors.New("the review was not decided and recorded within the API server's timeout")

// pastDeadline is errPastDeadline when ctx's deadline is why err happened,
// else err.
func pastDeadline(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errPastDeadline
	}
	return err
}

// whyLate says which end the answer missed.
func whyLate(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.Canceled) {
		return "the API server closed the connection"
	}
	return "the API server's deadline"
}

// reviewDeadline is when the answer must be sent: received plus the API
// server's timeout, less a tenth of it (at least 100 ms, at most 1 s) for the
// answer's way back. Zero without a timeout; an invalid one is an error.
func reviewDeadline(timeout string, received time.Time) (time.Time, error) {
	if timeout == "" {
		return time.Time{}, nil
	}
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("timeout %q: want a positive duration such as 10s", timeout)
	}
	return received.Add(d - min(max(d/10, 100*time.Millisecond), time.Second)), nil
}

// recordUnanswered appends, in the background, the record that voids r: its
// answer was not sent. It has its own time (LogTimeout): the request's is
// spent.
func (s *Server) recordUnanswered(r *admission.Record, principal string, tenants []string, reason string) {
	u, err := r.Unanswered(reason)
	if err == nil {
		var rec *audit.Record
		if rec, err = admissionRecord(u, principal, tenants); err == nil {
			go func() {
				if _, err := s.record(context.Background(), rec); err != nil {
					s.cfg.Logger.Error("could not record that an admission was not answered", "voids", r.ID, "uid", r.Request.UID, "err", err)
				}
			}()
			return
		}
	}
	s.cfg.Logger.Error("could not record that an admission was not answered", "voids", r.ID, "uid", r.Request.UID, "err", err)
}

// admissionTenants own the datasets and workload a review declared: the
// decision's, from the inventory it was made with, or, for a review the
// policy did not evaluate, from inv.
func admissionTenants(inv *engine.Inventory, r *admission.Record) []string {
	if d := r.Result.Decision; d != nil {
		return d.Tenants
	}
	var tenants []string
	if r.Result.Workload != "" {
		tenants = engine.OwningTenants(inv, nil, &engine.WorkloadRef{ID: r.Result.Workload})
	}
	for _, id := range r.Result.Datasets {
		tenants = withTenant(tenants, engine.OwningTenants(inv, &engine.DatasetRef{ID: id}, nil)...)
	}
	return tenants
}

// admissionRecord is the audit record of a review, as package admission
// decided it should be kept, belonging to tenants.
func admissionRecord(r *admission.Record, principal string, tenants []string) (*audit.Record, error) {
	request, err := json.Marshal(r.Request)
	if err != nil {
		return nil, err
	}
	result, err := json.Marshal(r.Result)
	if err != nil {
		return nil, err
	}
	return &audit.Record{
		ID:                r.ID,
		Kind:              audit.KindAdmission,
		Principal:         principal,
		Tenants:           tenants,
		Request:           request,
		Result:            result,
		Bundle:            audit.BundleRef{Revision: r.Bundle.Revision, Digest: r.Bundle.Digest},
		InventoryRevision: r.InventoryRevision,
		EngineVersion:     engine.Version,
	}, nil
}

// readReview reads an admission.k8s.io/v1 AdmissionReview as the API server
// reads its own objects (sigs.k8s.io/json): keys match field names exactly,
// case included. Syntax, trailing data, size and a key given twice are
// refused; a key given twice would let the review decided differ from the
// one the API server meant, since a decoder keeps only one of them. Unknown
// fields are accepted, since a newer API server may add some and refusing
// them would fail every admission.
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
	strict, err := kjson.UnmarshalStrict(body, &review, kjson.DisallowDuplicateFields)
	if err != nil {
		reviewDecodeError(c, body, err)
		return nil, false
	}
	if len(strict) > 0 {
		details := make([]ErrorDetail, len(strict))
		for i, e := range strict {
			details[i] = ErrorDetail{Path: e.Error(), Message: "given twice"}
			if fe, ok := e.(kjson.FieldError); ok {
				details[i].Path = fe.FieldPath()
			}
		}
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, fmt.Sprintf("malformed AdmissionReview: field %q given twice", details[0].Path), details...)
		return nil, false
	}
	problems := reviewProblems(&review)
	if len(problems) > 0 {
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "malformed AdmissionReview: "+problems[0].Path+" "+problems[0].Message, problems...)
		return nil, false
	}
	return &review, true
}

// reviewDecodeError answers a review that does not decode, worded as the
// decision endpoints word their bodies (engine.ClassifyDecodeError): the
// standard decoder finds the same faults in the same bytes and says where.
func reviewDecodeError(c *gin.Context, body []byte, err error) {
	var review admissionv1.AdmissionReview
	dec := json.NewDecoder(bytes.NewReader(body))
	if derr := dec.Decode(&review); derr != nil {
		status, code, msg, details := classifyDecodeError(derr, dec)
		if status == http.StatusUnprocessableEntity { // a wrong type: still a malformed review
			status, code = http.StatusBadRequest, CodeMalformedJSON
		}
		abortWithError(c, status, code, "malformed AdmissionReview: "+msg, details...)
		return
	}
	if _, terr := dec.Token(); terr != io.EOF {
		abortWithError(c, http.StatusBadRequest, CodeTrailingData, fmt.Sprintf("unexpected data after the AdmissionReview at byte offset %d", dec.InputOffset()))
		return
	}
	abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "malformed AdmissionReview: "+err.Error())
}

// reviewProblems lists what a decoded review lacks to be decided, every
// problem with its field.
func reviewProblems(review *admissionv1.AdmissionReview) []ErrorDetail {
	var problems []ErrorDetail
	if review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" {
		problems = append(problems, ErrorDetail{Path: "apiVersion", Message: fmt.Sprintf("want admission.k8s.io/v1 AdmissionReview, got %q %q", review.APIVersion, review.Kind)})
	}
	r := review.Request
	if r == nil {
		return append(problems, ErrorDetail{Path: "request", Message: "is required"})
	}
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
	return problems
}
