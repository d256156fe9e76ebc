package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// decodeStrict reads the whole body (at most limit bytes) and decodes it into v,
// refusing unknown fields and trailing data. It returns the body as received, for
// the audit record. On failure it answers the request and returns false.
func decodeStrict(c *gin.Context, limit int64, v any) ([]byte, bool) {
	body, ok := readJSONBody(c, limit)
	if !ok {
		return nil, false
	}
	if rerr := DecodeJSON(body, v); rerr != nil {
		abortWithError(c, rerr.Status, rerr.Code, rerr.Message, rerr.Details...)
		return nil, false
	}
	return body, true
}

// readJSONBody checks the content type and reads the body, at most limit bytes
// (413 past it). On failure it answers the request and returns false.
func readJSONBody(c *gin.Context, limit int64) ([]byte, bool) {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			abortWithError(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, fmt.Sprintf("Content-Type must be application/json, got %q", ct))
			return nil, false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			abortWithError(c, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("request body exceeds %d bytes", tooLarge.Limit))
			return nil, false
		}
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "cannot read request body: "+err.Error())
		return nil, false
	}
	return body, true
}

// RequestError is a request refused before evaluation: its HTTP status, stable
// code, message and field details.
type RequestError struct {
	Status  int
	Code    string
	Message string
	Details []ErrorDetail
}

func (e *RequestError) Error() string { return e.Message }

// DecodeJSON decodes exactly one JSON value into v, refusing unknown fields and
// trailing data, as the API does; the CLI uses it too so both refuse alike.
func DecodeJSON(body []byte, v any) *RequestError {
	status, code, msg, details := decodeJSON(body, v)
	if status == 0 {
		return nil
	}
	return &RequestError{Status: status, Code: code, Message: msg, Details: details}
}

// decodeJSON decodes one JSON value strictly and classifies any failure.
func decodeJSON(body []byte, v any) (status int, code, message string, details []ErrorDetail) {
	if len(bytes.TrimSpace(body)) == 0 {
		return http.StatusBadRequest, CodeMalformedJSON, "request body is empty; a JSON object is required", nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return classifyDecodeError(err, dec)
	}
	// A second value, or any non-space byte, after the object is refused.
	if tok, err := dec.Token(); err != io.EOF {
		off := dec.InputOffset()
		if err == nil {
			return http.StatusBadRequest, CodeTrailingData, fmt.Sprintf("unexpected data after the JSON object at byte offset %d (%v)", off, tok), nil
		}
		return http.StatusBadRequest, CodeTrailingData, fmt.Sprintf("unexpected data after the JSON object at byte offset %d", off), nil
	}
	// What was decided must be what the audit record keeps: exact key names,
	// no duplicates, and a body the log's canonical encoding accepts (valid
	// UTF-8, no lone surrogate escapes).
	var kerr *keyError
	if err := checkExactKeys(body, reflect.TypeOf(v)); errors.As(err, &kerr) {
		code := CodeUnknownField
		if kerr.msg == "given twice" {
			code = CodeMalformedJSON
		}
		return http.StatusBadRequest, code, fmt.Sprintf("field %q: %s", kerr.path, kerr.msg), []ErrorDetail{{Path: kerr.path, Message: kerr.msg}}
	} else if err != nil {
		return http.StatusBadRequest, CodeMalformedJSON, "malformed JSON: " + err.Error(), nil
	}
	if _, err := audit.Canonicalize(body); err != nil {
		return http.StatusBadRequest, CodeMalformedJSON, "request is not canonical-JSON-safe: " + err.Error(), nil
	}
	return 0, "", "", nil
}

func classifyDecodeError(err error, dec *json.Decoder) (int, string, string, []ErrorDetail) {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var refErr *engine.RefError
	switch {
	case errors.As(err, &refErr):
		msg := "must be an id string or an object"
		return http.StatusUnprocessableEntity, CodeInvalidRequest, "invalid request: " + refErr.Field + ": " + msg, []ErrorDetail{{Path: refErr.Field, Message: msg}}
	case errors.As(err, &syntax):
		return http.StatusBadRequest, CodeMalformedJSON, fmt.Sprintf("malformed JSON at byte offset %d: %v", syntax.Offset, syntax), nil
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return http.StatusBadRequest, CodeMalformedJSON, fmt.Sprintf("malformed JSON: unexpected end of input at byte offset %d", dec.InputOffset()), nil
	case errors.As(err, &typeErr):
		path := typeErr.Field
		if path == "" {
			path = "$"
		}
		msg := fmt.Sprintf("must be %s, got JSON %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
		return http.StatusUnprocessableEntity, CodeInvalidRequest, "invalid request: " + path + ": " + msg, []ErrorDetail{{Path: path, Message: msg}}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return http.StatusBadRequest, CodeUnknownField, fmt.Sprintf("unknown field %q", name), []ErrorDetail{{Path: name, Message: "unknown field"}}
	}
	return http.StatusBadRequest, CodeMalformedJSON, "cannot decode request: " + strings.TrimPrefix(msg, "json: "), nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}
