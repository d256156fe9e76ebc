package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Codes of a DecodeError: stable, machine-readable, and the API's error codes
// for a request body it refuses.
const (
	// CodeMalformedJSON: the body is not one well-formed JSON object with
	// distinct keys (400).
	CodeMalformedJSON = "malformed_json"
	// CodeUnknownField: a key that is not exactly the JSON name of a field,
	// case included (400).
	CodeUnknownField = "unknown_field"
	// CodeTrailingData: something follows the JSON object (400).
	CodeTrailingData = "trailing_data"
	// CodeInvalidRequest: a value of the wrong JSON type (422), as for a
	// ValidationError.
	CodeInvalidRequest = "invalid_request"
)

// DecodeError is a request body refused before its request is validated: the
// stable Code says why (the API answers CodeInvalidRequest with 422, the
// others with 400), Message says it in words, and Field names the field at
// fault when there is one.
type DecodeError struct {
	Code    string
	Message string
	Field   *FieldError
}

// Error returns the message.
func (e *DecodeError) Error() string { return e.Message }

// FieldPath is the field the error is about and what is wrong with it, or ""
// and the message when it is about the whole request (yamlfile.FieldError:
// a scenario file places the error at the field's line).
func (e *DecodeError) FieldPath() (path, message string) {
	if e.Field == nil {
		return "", e.Message
	}
	return e.Field.Path, e.Field.Message
}

// DecodePlacementRequest decodes the body of a placement request strictly, as
// the API, `sovereign eval` and the audit replay all read one: exactly one JSON
// object, no unknown, case-variant or duplicate key, nothing after it. It
// returns a *DecodeError on failure; the request's values are checked later,
// when it is decided.
func DecodePlacementRequest(body []byte) (*PlacementRequest, error) {
	var req PlacementRequest
	if err := DecodeStrict(body, &req); err != nil {
		return nil, err
	}
	return &req, nil
}

// DecodeTransferRequest decodes the body of a transfer request strictly, as
// DecodePlacementRequest does a placement's.
func DecodeTransferRequest(body []byte) (*TransferRequest, error) {
	var req TransferRequest
	if err := DecodeStrict(body, &req); err != nil {
		return nil, err
	}
	return &req, nil
}

// DecodeStrict decodes a request body into v (a pointer to a struct) as the
// API reads every request: exactly one JSON value, no unknown field, no key
// that differs from a field's JSON name in case only, no key given twice,
// nothing after the value. It returns a *DecodeError on failure.
func DecodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &DecodeError{Code: CodeMalformedJSON, Message: "request body is empty; a JSON object is required"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ClassifyDecodeError(err, dec)
	}
	// A second value, or any non-space byte, after the object is refused.
	if tok, err := dec.Token(); err != io.EOF {
		msg := fmt.Sprintf("unexpected data after the JSON object at byte offset %d", dec.InputOffset())
		if err == nil {
			msg += fmt.Sprintf(" (%v)", tok)
		}
		return &DecodeError{Code: CodeTrailingData, Message: msg}
	}
	// What was decided must be what the audit record keeps: exact key names,
	// no duplicates.
	var kerr *keyError
	if err := checkExactKeys(body, reflect.TypeOf(v)); errors.As(err, &kerr) {
		code := CodeUnknownField
		if kerr.msg == msgGivenTwice {
			code = CodeMalformedJSON
		}
		return &DecodeError{Code: code, Message: fmt.Sprintf("field %q: %s", kerr.path, kerr.msg), Field: &FieldError{Path: kerr.path, Message: kerr.msg}}
	} else if err != nil {
		return &DecodeError{Code: CodeMalformedJSON, Message: "malformed JSON: " + err.Error()}
	}
	return nil
}

// ClassifyDecodeError words an error of dec.Decode as a *DecodeError: a
// syntax error or an unexpected end with its byte offset, an unknown field
// with its name, a value of the wrong JSON type with its path. The API uses it
// for documents other than requests too (an AdmissionReview).
func ClassifyDecodeError(err error, dec *json.Decoder) *DecodeError {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var ref *refError
	switch {
	case errors.As(err, &ref):
		return invalidValue(ref.field, "must be an id string or an object")
	case errors.As(err, &syntax):
		return &DecodeError{Code: CodeMalformedJSON, Message: fmt.Sprintf("malformed JSON at byte offset %d: %v", syntax.Offset, syntax)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &DecodeError{Code: CodeMalformedJSON, Message: fmt.Sprintf("malformed JSON: unexpected end of input at byte offset %d", dec.InputOffset())}
	case errors.As(err, &typeErr):
		path := typeErr.Field
		if path == "" {
			path = "$"
		}
		return invalidValue(path, fmt.Sprintf("must be %s, got JSON %s", jsonKind(typeErr.Type.Kind()), typeErr.Value))
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &DecodeError{Code: CodeUnknownField, Message: fmt.Sprintf("unknown field %q", name), Field: &FieldError{Path: name, Message: "unknown field"}}
	}
	return &DecodeError{Code: CodeMalformedJSON, Message: "cannot decode request: " + strings.TrimPrefix(msg, "json: ")}
}

// invalidValue is a value of the wrong JSON type, worded as a
// ValidationError of one problem is.
func invalidValue(path, msg string) *DecodeError {
	return &DecodeError{Code: CodeInvalidRequest, Message: "invalid request: " + path + ": " + msg, Field: &FieldError{Path: path, Message: msg}}
}

// jsonKind names the JSON kind a Go kind is decoded from.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	default:
		return "a number"
	}
}
