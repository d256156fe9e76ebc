package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// decodeStrict reads the whole body (at most limit bytes) and decodes it into v
// with the engine's strict decoder (engine.DecodeStrict). It returns the body
// as received, for the audit record. On failure it answers the request and
// returns false.
func decodeStrict(c *gin.Context, limit int64, v any) ([]byte, bool) {
	body, ok := readJSONBody(c, limit)
	if !ok {
		return nil, false
	}
	if err := engine.DecodeStrict(body, v); err != nil {
		var derr *engine.DecodeError
		if !errors.As(err, &derr) {
			derr = &engine.DecodeError{Code: engine.CodeMalformedJSON, Message: "cannot decode request: " + err.Error()}
		}
		status, code := decodeStatus(derr.Code)
		abortWithError(c, status, code, derr.Message, decodeDetails(derr)...)
		return nil, false
	}
	// The body is what the audit record keeps: the log's canonical encoding
	// must accept it (valid UTF-8, no lone surrogate escapes), which
	// encoding/json does not check.
	if _, err := audit.Canonicalize(body); err != nil {
		abortWithError(c, http.StatusBadRequest, CodeMalformedJSON, "request is not canonical-JSON-safe: "+err.Error())
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

// classifyDecodeError words a decoding error of any JSON document as the
// engine's decoder does a request's.
func classifyDecodeError(err error, dec *json.Decoder) (int, string, string, []ErrorDetail) {
	derr := engine.ClassifyDecodeError(err, dec)
	status, code := decodeStatus(derr.Code)
	return status, code, derr.Message, decodeDetails(derr)
}

// decodeStatus is the HTTP status and error code of a body the engine's
// decoder refused: a value of the wrong type is an invalid request (422),
// anything else a bad one (400).
func decodeStatus(code string) (int, string) {
	switch code {
	case engine.CodeInvalidRequest:
		return http.StatusUnprocessableEntity, CodeInvalidRequest
	case engine.CodeUnknownField:
		return http.StatusBadRequest, CodeUnknownField
	case engine.CodeTrailingData:
		return http.StatusBadRequest, CodeTrailingData
	default:
		return http.StatusBadRequest, CodeMalformedJSON
	}
}

func decodeDetails(derr *engine.DecodeError) []ErrorDetail {
	if derr.Field == nil {
		return nil
	}
	return []ErrorDetail{{Path: derr.Field.Path, Message: derr.Field.Message}}
}
