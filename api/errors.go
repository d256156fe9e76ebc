package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// Error codes are stable: clients branch on them, people read the message.
// Each is answered with the status noted beside it.
const (
	CodeMalformedJSON    = engine.CodeMalformedJSON  // 400: the request decoder's codes (engine.DecodeStrict)
	CodeUnknownField     = engine.CodeUnknownField   // 400
	CodeTrailingData     = engine.CodeTrailingData   // 400
	CodeUnauthenticated  = "unauthenticated"         // 401: no, malformed or unknown credentials
	CodeForbidden        = "forbidden"               // 403: authenticated, but no policy permits it (or one forbids it)
	CodeNotFound         = "not_found"               // 404
	CodeMethodNotAllowed = "method_not_allowed"      // 405
	CodeNotOverridable   = "not_overridable"         // 409: not a denied placement or transfer decision
	CodeAuditUnverified  = "audit_unverified"        // 409: the log does not verify, so no report is given
	CodeBodyTooLarge     = "body_too_large"          // 413
	CodeUnsupportedMedia = "unsupported_media"       // 415
	CodeInvalidRequest   = engine.CodeInvalidRequest // 422, details list every field error
	CodeTooManyReports   = "too_many_reports"        // 429: every report slot is taken; retry after Retry-After
	CodePolicyError      = "policy_error"            // 500: the policy gave no well-formed answer
	CodeInternal         = "internal"                // 500
	CodeAuditUnavailable = "audit_unavailable"       // 503: the decision could not be logged, so it is not answered
	CodeNotReady         = "not_ready"               // 503
	CodeBusy             = "busy"                    // 503: every slot for large requests stayed taken; Retry-After
	CodeNotConfigured    = "not_configured"          // 503: the admission webhook has no cluster site
	CodeDeadlineExceeded = "deadline_exceeded"       // 504: an admission review not decided and recorded within the API server's timeout
)

// ErrorBody is the JSON envelope of every error answer but those of the
// admission endpoints, which answer a Kubernetes Status (admissionStatus).
type ErrorBody struct {
	Error ErrorInfo `json:"error"`
}

// ErrorInfo carries a machine code, a human message and, for input, field
// details: at most MaxErrorDetails of them, DetailsOmitted saying how many
// more there were.
type ErrorInfo struct {
	Code           string        `json:"code"`
	Message        string        `json:"message"`
	Details        []ErrorDetail `json:"details,omitempty"`
	DetailsOmitted int           `json:"details_omitted,omitempty"`
}

// Bounds of an error answer. A request can be made of nothing but mistakes:
// uncapped, a 1 MB body of 99,999 bad candidates was answered with a 7.2 MB
// 422 (issue #19 item 7). The first mistakes are what a client fixes first;
// the count says how many more there are.
const (
	// MaxErrorDetails is the most details an error answer lists.
	MaxErrorDetails = 100
	// maxDetailText bounds a detail's path and its message (bytes; longer
	// ones are cut at a character boundary and end in "…").
	maxDetailText = 512
)

// ErrorDetail names one field of the request and what is wrong with it.
type ErrorDetail struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// errorAnswer is what an error is answered with.
type errorAnswer struct {
	status  int
	code    string
	message string
	details []ErrorDetail
	// retryAfter asks the client to try again in a second: the log is busy
	// or failing, the request was sound.
	retryAfter bool
	// unexpected is an error of no known kind: a handler that names its
	// operation answers "<operation> failed" and keeps the cause for the log.
	unexpected bool
	// logged is the server's fault or a record the log refused: an operator
	// should see it.
	logged bool
}

// answerFor maps an error to its answer. It is the one place where errors
// from the other rooms (engine, audit, admission) and from the record path
// become a status, a stable code and a message, as OPA's
// server/writer.ErrorAuto does; handlers pass what they get to fail and do not
// switch on errors themselves.
//
// Order matters where an error wraps two: the log wraps the context error
// that ended a read in audit.ErrUnavailable, and that is what the client is
// told.
func answerFor(err error) errorAnswer {
	var (
		unrecorded *recordError
		invalid    *engine.ValidationError
	)
	switch {
	case errors.Is(err, ErrDecisionTooLarge):
		// Before a recordError: the log refused the record for its size, not
		// for a fault of its own.
		return errorAnswer{status: http.StatusUnprocessableEntity, code: CodeInvalidRequest,
			message: "the decision is too large for the audit log to record, so it is not answered: ask about fewer candidates per request",
			details: []ErrorDetail{{Path: "candidates", Message: err.Error()}}, logged: true}
	case errors.As(err, &unrecorded):
		return unrecorded.answer()
	case errors.As(err, &invalid):
		details := make([]ErrorDetail, len(invalid.Problems))
		for i, p := range invalid.Problems {
			details[i] = ErrorDetail{Path: p.Path, Message: p.Message}
		}
		return errorAnswer{status: http.StatusUnprocessableEntity, code: CodeInvalidRequest, message: invalid.Error(), details: details}
	case errors.Is(err, errPastDeadline):
		return errorAnswer{status: http.StatusGatewayTimeout, code: CodeDeadlineExceeded, message: err.Error()}
	case errors.Is(err, admission.ErrNotConfigured):
		return errorAnswer{status: http.StatusServiceUnavailable, code: CodeNotConfigured, message: "the admission webhook is not configured: serve needs --cluster-site"}
	case errors.Is(err, admission.ErrMalformedReview):
		return errorAnswer{status: http.StatusBadRequest, code: CodeMalformedJSON, message: err.Error()}
	case errors.Is(err, engine.ErrPolicy):
		return errorAnswer{status: http.StatusInternalServerError, code: CodePolicyError, message: err.Error(), logged: true}
	case errors.Is(err, audit.ErrNotFound):
		return errorAnswer{status: http.StatusNotFound, code: CodeNotFound, message: err.Error()}
	case errors.Is(err, audit.ErrUnavailable):
		return errorAnswer{status: http.StatusServiceUnavailable, code: CodeAuditUnavailable, message: err.Error(), retryAfter: true}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errorAnswer{status: http.StatusServiceUnavailable, code: CodeInternal, message: "request cancelled before a decision: " + err.Error()}
	}
	return errorAnswer{status: http.StatusInternalServerError, code: CodeInternal, message: err.Error(), unexpected: true, logged: true}
}

// fail answers err as answerFor maps it. op names what failed ("decision",
// "admission", ...): an unexpected error is answered "<op> failed" and its
// cause goes to the log only.
func (s *Server) fail(c *gin.Context, op string, err error) {
	a := answerFor(err)
	if a.unexpected {
		a.message = op + " failed"
	}
	if a.logged {
		s.cfg.Logger.Error(op+" failed", "route", c.FullPath(), "status", a.status, "code", a.code, "err", err)
	}
	writeAnswer(c, a)
}

// auditError answers an error of the audit read API as answerFor maps it,
// the cause included: an auditor needs it, and the log's content is theirs to
// read.
func auditError(c *gin.Context, err error) {
	writeAnswer(c, answerFor(err))
}

func writeAnswer(c *gin.Context, a errorAnswer) {
	if a.retryAfter {
		c.Header("Retry-After", "1")
	}
	abortWithError(c, a.status, a.code, a.message, a.details...)
}

// abortWithError answers an error: the JSON envelope (ErrorBody), or on the
// admission endpoints a Kubernetes Status (admissionStatus).
func abortWithError(c *gin.Context, status int, code, message string, details ...ErrorDetail) {
	if strings.HasPrefix(c.Request.URL.Path, admissionPathPrefix) {
		info := errorInfo(code, message, details)
		c.AbortWithStatusJSON(status, admissionStatus(status, code, info.Message, c.Writer.Header().Get("Retry-After") != "", info.Details))
		return
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: errorInfo(code, message, details)})
}

// errorInfo builds an answer's error within the bounds above.
func errorInfo(code, message string, details []ErrorDetail) ErrorInfo {
	info := ErrorInfo{Code: code, Message: message}
	if len(details) > MaxErrorDetails {
		info.DetailsOmitted = len(details) - MaxErrorDetails
		details = details[:MaxErrorDetails]
	}
	if len(details) > 0 {
		info.Details = make([]ErrorDetail, len(details))
		for i, d := range details {
			info.Details[i] = ErrorDetail{Path: clipText(d.Path), Message: clipText(d.Message)}
		}
	}
	return info
}

// clipText cuts s to maxDetailText bytes at a character boundary.
func clipText(s string) string {
	if len(s) <= maxDetailText {
		return s
	}
	cut := maxDetailText - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// admissionPathPrefix is where the admission webhook is served: every error
// answered there is a Status.
const admissionPathPrefix = "/v1/admission/"

// admissionStatus is an error of the admission endpoints as the API server
// reads it: a v1 Status with status Failure. The API server's webhook client
// decodes a non-2xx body that is a Status and shows its message to the user
// (kubectl: `failed calling webhook "validate.sovereign.dev": failed to call
// webhook: sovereign: ...`); any other body it reduces to "the server is
// currently unable to handle the request". The HTTP status is kept, so the
// webhook's failurePolicy still applies. The stable code is the first cause's
// type; field problems follow as FieldValueInvalid causes.
func admissionStatus(status int, code, message string, retry bool, details []ErrorDetail) *metav1.Status {
	causes := make([]metav1.StatusCause, 0, 1+len(details))
	causes = append(causes, metav1.StatusCause{Type: metav1.CauseType(code), Message: message})
	for _, d := range details {
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: d.Path, Message: d.Message})
	}
	st := &metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure,
		Message:  "sovereign: " + message,
		Reason:   statusReason(status),
		Code:     int32(status),
		Details:  &metav1.StatusDetails{Causes: causes},
	}
	if retry {
		st.Details.RetryAfterSeconds = 1
	}
	return st
}

// statusReason is the Kubernetes reason of an HTTP status, as the API server
// itself words it.
func statusReason(status int) metav1.StatusReason {
	switch status {
	case http.StatusBadRequest:
		return metav1.StatusReasonBadRequest
	case http.StatusUnauthorized:
		return metav1.StatusReasonUnauthorized
	case http.StatusForbidden:
		return metav1.StatusReasonForbidden
	case http.StatusNotFound:
		return metav1.StatusReasonNotFound
	case http.StatusMethodNotAllowed:
		return metav1.StatusReasonMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return metav1.StatusReasonRequestEntityTooLarge
	case http.StatusUnsupportedMediaType:
		return metav1.StatusReasonUnsupportedMediaType
	case http.StatusUnprocessableEntity:
		return metav1.StatusReasonInvalid
	case http.StatusTooManyRequests:
		return metav1.StatusReasonTooManyRequests
	case http.StatusServiceUnavailable:
		return metav1.StatusReasonServiceUnavailable
	case http.StatusGatewayTimeout:
		return metav1.StatusReasonTimeout
	}
	return metav1.StatusReasonInternalError
}

func notFound(c *gin.Context) {
	abortWithError(c, http.StatusNotFound, CodeNotFound, "no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path)
}

func methodNotAllowed(c *gin.Context) {
	abortWithError(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method "+c.Request.Method+" is not allowed on "+c.Request.URL.Path)
}

// auditLogPrefix is where the log's tiles are served by audit's own handler
// (C2SP tlog-tiles), which answers errors as plain text.
const auditLogPrefix = "/v1/audit/log/"

// tileErrorsAsJSON gives the errors of the tile handler the JSON envelope
// every other route answers with (unknown paths under /v1/audit/log/ were
// plain text: issue #19 item 7). The handler's own status is kept; its body
// is dropped.
func tileErrorsAsJSON(c *gin.Context) {
	if !strings.HasPrefix(c.Request.URL.Path, auditLogPrefix) {
		c.Next()
		return
	}
	w := &errorStatusWriter{ResponseWriter: c.Writer}
	c.Writer = w
	c.Next()
	c.Writer = w.ResponseWriter
	if w.status == 0 {
		return
	}
	h := c.Writer.Header()
	h.Del("Content-Type")
	h.Del("Content-Length")
	switch w.status {
	case http.StatusNotFound:
		abortWithError(c, w.status, CodeNotFound, "no such log resource: "+c.Request.URL.Path)
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", "1")
		abortWithError(c, w.status, CodeAuditUnavailable, "the audit log cannot be read now")
	case http.StatusMethodNotAllowed:
		abortWithError(c, w.status, CodeMethodNotAllowed, "method "+c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	default:
		abortWithError(c, w.status, CodeInternal, http.StatusText(w.status))
	}
}

// errorStatusWriter holds back an error status (4xx, 5xx) and its body.
type errorStatusWriter struct {
	gin.ResponseWriter
	status int
}

func (w *errorStatusWriter) WriteHeader(code int) {
	if code >= 400 && !w.Written() {
		w.status = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *errorStatusWriter) Write(b []byte) (int, error) {
	if w.status != 0 {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *errorStatusWriter) WriteString(s string) (int, error) {
	if w.status != 0 {
		return len(s), nil
	}
	return w.ResponseWriter.WriteString(s)
}
