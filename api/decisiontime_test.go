package api_test

import (
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/api"
)

// A decision asked about a time the policy cannot judge is refused with 422
// and one detail on at, and logs nothing: before the bundle's floor
// (data.reference.modelled_from, naming it and its source), or outside the
// times OPA's nanosecond clock holds (1677-2262), which reached the policy as
// no time at all and failed as a 500.
func TestDecisionTimeOutsideThePolicy(t *testing.T) {
	ts := newTestServer(t)
	cases := []struct {
		name, path, body string
		message          []string
	}{
		{"placement before the floor", "/v1/decisions/placement",
			`{"dataset": "customer-pii-eu", "operation": "store", "at": "2007-12-31T23:59:59Z"}`,
			[]string{"is before 2008-01-01", "data.reference.modelled_from", "Swiss FADP"}},
		{"transfer before the floor", "/v1/decisions/transfer",
			`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "at": "2001-01-01T00:00:00Z"}`,
			[]string{"is before 2008-01-01"}},
		{"placement before OPA's clock", "/v1/decisions/placement",
			`{"dataset": "customer-pii-eu", "operation": "store", "at": "1601-01-01T00:00:00Z"}`,
			[]string{"outside the times the policy engine can represent", "1677-09-21", "2262-04-11"}},
		{"transfer after OPA's clock", "/v1/decisions/transfer",
			`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "ber-1", "type": "replicate", "at": "2263-01-01T00:00:00Z"}`,
			[]string{"outside the times the policy engine can represent"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := logSize(t, ts)
			status, resp := ts.post(t, tc.path, "application/json", []byte(tc.body))
			if status != 422 {
				t.Fatalf("status %d, want 422: %s", status, resp)
			}
			e := decodeError(t, resp)
			if e.Code != api.CodeInvalidRequest || len(e.Details) != 1 || e.Details[0].Path != "at" {
				t.Fatalf("error %+v, want invalid_request with one detail on at", e)
			}
			for _, w := range tc.message {
				if !strings.Contains(e.Details[0].Message, w) {
					t.Errorf("detail %q does not name %q", e.Details[0].Message, w)
				}
			}
			if after := logSize(t, ts); after != before {
				t.Errorf("a refused request changed the log: %d → %d entries", before, after)
			}
		})
	}
	// The floor itself is decided.
	status, resp := ts.post(t, "/v1/decisions/placement", "application/json",
		[]byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"], "at": "2008-01-01T00:00:00Z"}`))
	if status != 200 {
		t.Fatalf("decision on the floor: %d %s", status, resp)
	}
}
