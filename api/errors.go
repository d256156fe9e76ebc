package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Error codes are stable: clients branch on them, people read the message.
const (
	CodeMalformedJSON    = "malformed_json"     // 400
	CodeUnknownField     = "unknown_field"      // 400
	CodeTrailingData     = "trailing_data"      // 400
	CodeBodyTooLarge     = "body_too_large"     // 413
	CodeUnsupportedMedia = "unsupported_media"  // 415
	CodeInvalidRequest   = "invalid_request"    // 422, details list every field error
	CodeNotFound         = "not_found"          // 404
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodePolicyError      = "policy_error"       // 500: the policy gave no well-formed answer
	CodeInternal         = "internal"           // 500
	CodeAuditUnavailable = "audit_unavailable"  // 503: the decision could not be logged, so it is not answered
	CodeNotReady         = "not_ready"          // 503
)

// ErrorBody is the JSON envelope of every error answer.
type ErrorBody struct {
	Error ErrorInfo `json:"error"`
}

// ErrorInfo carries a machine code, a human message and, for input, field details.
type ErrorInfo struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Details []ErrorDetail `json:"details,omitempty"`
}

// ErrorDetail names one field of the request and what is wrong with it.
type ErrorDetail struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func abortWithError(c *gin.Context, status int, code, message string, details ...ErrorDetail) {
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorInfo{Code: code, Message: message, Details: details}})
}

func notFound(c *gin.Context) {
	abortWithError(c, http.StatusNotFound, CodeNotFound, "no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path)
}

func methodNotAllowed(c *gin.Context) {
	abortWithError(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method "+c.Request.Method+" is not allowed on "+c.Request.URL.Path)
}
