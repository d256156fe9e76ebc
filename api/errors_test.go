package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// TestAnswerFor pins the one error-to-status map: what each error of the
// engine, the audit log and the record path is answered with.
func TestAnswerFor(t *testing.T) {
	unavailable := fmt.Errorf("%w: append: disk full", audit.ErrUnavailable)
	invalid := fmt.Errorf("%w: entry of 70000 bytes exceeds 65536", audit.ErrInvalidRecord)
	canceled := fmt.Errorf("%w: append: %w", audit.ErrUnavailable, context.Canceled)
	deadline := fmt.Errorf("%w: append: %w", audit.ErrUnavailable, context.DeadlineExceeded)
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		code    string
		message string // a substring
		retry   bool
	}{
		{"invalid request", &engine.ValidationError{Problems: []engine.FieldError{{Path: "candidates[0]", Message: "unknown site"}}},
			http.StatusUnprocessableEntity, CodeInvalidRequest, "candidates[0]", false},
		{"decision too large", fmt.Errorf("%w: 99999 bytes", ErrDecisionTooLarge),
			http.StatusUnprocessableEntity, CodeInvalidRequest, "fewer candidates", false},
		{"policy error", fmt.Errorf("%w: no decision", engine.ErrPolicy), http.StatusInternalServerError, CodePolicyError, "no decision", false},
		{"audit entry not found", fmt.Errorf("%w: index 7", audit.ErrNotFound), http.StatusNotFound, CodeNotFound, "index 7", false},
		{"audit read unavailable", unavailable, http.StatusServiceUnavailable, CodeAuditUnavailable, "disk full", true},
		{"audit read cancelled inside the log", deadline, http.StatusServiceUnavailable, CodeAuditUnavailable, "deadline", true},
		{"cancelled before a decision", context.Canceled, http.StatusServiceUnavailable, CodeInternal, "request cancelled before a decision", false},
		{"unexpected", errors.New("boom"), http.StatusInternalServerError, CodeInternal, "boom", false},

		{"decision not recorded", &recordError{kind: audit.KindPlacement, err: unavailable},
			http.StatusServiceUnavailable, CodeAuditUnavailable, "the decision could not be recorded in the audit log, so it is not answered; /readyz has the reason", true},
		{"decision record timed out", &recordError{kind: audit.KindTransfer, err: deadline},
			http.StatusServiceUnavailable, CodeAuditUnavailable, "the decision could not be recorded", true},
		{"admission not recorded", &recordError{kind: audit.KindAdmission, err: unavailable},
			http.StatusServiceUnavailable, CodeAuditUnavailable, "the admission decision could not be recorded in the audit log, so it is not answered: audit log unavailable: append: disk full", true},
		{"override not recorded", &recordError{kind: audit.KindOverride, err: unavailable},
			http.StatusServiceUnavailable, CodeAuditUnavailable, "the override could not be recorded in the audit log, so it did not happen", true},
		{"client left while recording", &recordError{kind: audit.KindPlacement, err: canceled},
			http.StatusServiceUnavailable, CodeAuditUnavailable, "request cancelled before its decision was recorded", false},
		// audit.ErrInvalidRecord: "a bug in the caller, 500", for every kind.
		{"invalid decision record", &recordError{kind: audit.KindPlacement, err: invalid},
			http.StatusInternalServerError, CodeInternal, "the decision's audit record was refused", false},
		{"invalid admission record", &recordError{kind: audit.KindAdmission, err: invalid},
			http.StatusInternalServerError, CodeInternal, "the admission decision's audit record was refused", false},
		{"invalid override record", &recordError{kind: audit.KindOverride, err: invalid},
			http.StatusInternalServerError, CodeInternal, "the override's audit record was refused", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := answerFor(tc.err)
			if a.status != tc.status || a.code != tc.code || a.retryAfter != tc.retry {
				t.Errorf("answer %d %s retry=%v, want %d %s retry=%v", a.status, a.code, a.retryAfter, tc.status, tc.code, tc.retry)
			}
			if !strings.Contains(a.message, tc.message) {
				t.Errorf("message %q lacks %q", a.message, tc.message)
			}
		})
	}
}

// errorInfo keeps an answer bounded: details beyond MaxErrorDetails are
// counted, not listed, and a long path or message is cut at a character
// boundary.
func TestErrorInfoBounds(t *testing.T) {
	details := make([]ErrorDetail, MaxErrorDetails+7)
	for i := range details {
		details[i] = ErrorDetail{Path: fmt.Sprintf("candidates[%d]", i), Message: strings.Repeat("é", 400)}
	}
	info := errorInfo(CodeInvalidRequest, "invalid", details)
	if len(info.Details) != MaxErrorDetails || info.DetailsOmitted != 7 {
		t.Fatalf("%d details, %d omitted", len(info.Details), info.DetailsOmitted)
	}
	m := info.Details[0].Message
	if len(m) > maxDetailText || !strings.HasSuffix(m, "…") || !utf8.ValidString(m) {
		t.Fatalf("clipped message: %d bytes, valid UTF-8 %v", len(m), utf8.ValidString(m))
	}
	short := []ErrorDetail{{Path: "a", Message: "x"}, {Path: "b", Message: "y"}}
	if info := errorInfo(CodeInvalidRequest, "invalid", short); len(info.Details) != 2 || info.DetailsOmitted != 0 || info.Details[1] != short[1] {
		t.Fatalf("a short list changed: %+v", info)
	}
}
