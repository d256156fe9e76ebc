package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
)

// Every record the API writes goes one way: when the log does not take an
// admission, an override or a refused access attempt, the request that waits
// on it gets 503 audit_unavailable with Retry-After, nothing is answered as
// decided, and /readyz says why, as for decisions.
func TestEveryRecordFailureReachesReadyz(t *testing.T) {
	expires := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	override := []byte(`{"justification": "regulator-approved emergency migration INC-4711", "expires": "` + expires + `"}`)
	for _, tc := range []struct {
		name string
		// send makes the request once the log is closed; denied is a denied
		// decision made before.
		send func(t *testing.T, ts *testServer, denied string) (int, http.Header, []byte)
		// refused: the request is answered on its own (403), its record is
		// best effort.
		refused bool
		readyz  string
	}{
		{name: "admission", readyz: "an admission decision",
			send: func(t *testing.T, ts *testServer, _ string) (int, http.Header, []byte) {
				return ts.do(t, http.MethodPost, "/v1/admission/validate", tokWebhook, mustReadFixture(t, "pod-update-pinned.json"))
			}},
		{name: "override", readyz: "an override",
			send: func(t *testing.T, ts *testServer, denied string) (int, http.Header, []byte) {
				return ts.do(t, http.MethodPost, "/v1/decisions/"+denied+"/override", tokAcmeBreak, override)
			}},
		{name: "access denied", readyz: "a refused access attempt", refused: true,
			send: func(t *testing.T, ts *testServer, _ string) (int, http.Header, []byte) {
				return ts.do(t, http.MethodGet, "/v1/audit/report", tokAcme, nil)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			authn, err := auth.NewAuthenticator(testAuthConfig())
			if err != nil {
				t.Fatal(err)
			}
			ts := newAdmissionServer(t, func(c *api.Config) {
				c.Auth = authn
				// Only what the API saw: the log's own probe would report
				// the closed log first.
				c.Ready = func() error { return nil }
			})
			denied := deniedDecision(t, ts, `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["cn-north-1"], "at": "2026-06-01T00:00:00Z"}`)
			if status, b := ts.get(t, "/readyz"); status != http.StatusOK {
				t.Fatalf("readyz before: %d %s", status, b)
			}
			if err := ts.audit.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			status, h, b := tc.send(t, ts, denied)
			switch {
			case tc.refused:
				if status != http.StatusForbidden {
					t.Fatalf("want the refusal answered without its record: %d %s", status, b)
				}
			case status != http.StatusServiceUnavailable || decodeError(t, b).Code != api.CodeAuditUnavailable || h.Get("Retry-After") != "1":
				t.Fatalf("want 503 %s with Retry-After, got %d %v %s", api.CodeAuditUnavailable, status, h, b)
			}
			status, b = ts.get(t, "/readyz")
			if status != http.StatusServiceUnavailable || !strings.Contains(string(b), "failed to record "+tc.readyz) || !strings.Contains(string(b), "closed") {
				t.Fatalf("readyz must say why: %d %s", status, b)
			}
		})
	}
}
