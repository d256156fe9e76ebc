package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// The webhook's decisions are package admission's, tested there on every
// fixture of testdata/admission; these tests are of the handler: reading the
// review, recording before answering, and the answer.

const admissionFixtures = "../testdata/admission"

// admissionConfig is the fixtures' configuration, its clock pinned so that
// dated reference data answers the same on every run.
func admissionConfig(t testing.TB) admission.Config {
	t.Helper()
	c, err := admission.LoadConfig(filepath.Join(admissionFixtures, "config.yaml"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	c.Clock = func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	return c
}

func newAdmissionServer(t testing.TB, mutate ...func(*api.Config)) *testServer {
	t.Helper()
	return newTestServer(t, append([]func(*api.Config){func(c *api.Config) { c.Admission = admissionConfig(t) }}, mutate...)...)
}

func mustReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(admissionFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// newDemoEngine is an engine on the built-in bundle and the demo inventory.
func newDemoEngine(t *testing.T) *engine.Engine {
	t.Helper()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The handler answers, for every fixture and both webhooks, what package
// admission decided, once the record admission built is in the log: the
// response with the record's id and index as audit annotations, the record
// as built with the caller as principal.
func TestAdmissionAnswersWhatWasDecidedAndRecorded(t *testing.T) {
	ts := newAdmissionServer(t)
	reviewer, err := admission.NewReviewer(newDemoEngine(t), admissionConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(admissionFixtures, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for _, f := range files {
		raw := mustReadFixture(t, filepath.Base(f))
		var sent admissionv1.AdmissionReview
		if json.Unmarshal(raw, &sent) != nil || sent.Request == nil || sent.Request.UID == "" || sent.APIVersion != "admission.k8s.io/v1" {
			continue // the bad reviews: TestAdmissionBadReviews
		}
		for _, webhook := range []string{"validate", "mutate"} {
			t.Run(filepath.Base(f)+" "+webhook, func(t *testing.T) {
				want, err := reviewer.Review(context.Background(), sent.Request, webhook == "mutate")
				if err != nil {
					t.Fatal(err)
				}
				status, b := ts.post(t, "/v1/admission/"+webhook, "application/json", raw)
				if status != http.StatusOK {
					t.Fatalf("status %d: %s", status, b)
				}
				var got admissionv1.AdmissionReview
				if err := json.Unmarshal(b, &got); err != nil {
					t.Fatalf("answer is not an AdmissionReview: %v: %s", err, b)
				}
				if got.APIVersion != "admission.k8s.io/v1" || got.Kind != "AdmissionReview" || got.Request != nil || got.Response == nil {
					t.Fatalf("answer must be an admission.k8s.io/v1 AdmissionReview with only a response: %s", b)
				}
				annotations := got.Response.AuditAnnotations
				idx, err := strconv.ParseUint(annotations["audit-index"], 10, 64)
				if err != nil || annotations["decision-id"] == "" || annotations["audit-log"] != ts.audit.Origin() {
					t.Fatalf("answer must carry the audit record's index, id and log: %v", annotations)
				}
				// What admission decided, pointing at the record kept.
				want.Record.ID = annotations["decision-id"]
				if w := want.Answer(ts.audit.Origin(), idx); !reflect.DeepEqual(got.Response, w) {
					wb, _ := json.Marshal(w)
					t.Fatalf("answered\n%s\nwant what admission decided\n%s", b, wb)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				e, err := ts.audit.Entry(ctx, idx)
				if err != nil {
					t.Fatalf("audit entry %d: %v", idx, err)
				}
				r := e.Record
				if r.Kind != audit.KindAdmission || r.ID != annotations["decision-id"] || r.Principal != "anonymous" || r.EngineVersion != engine.Version ||
					!strings.HasPrefix(r.Bundle.Digest, "sha256:") || !strings.HasPrefix(r.InventoryRevision, "sha256:") {
					t.Fatalf("audit entry %d is not this admission's record: %+v", idx, r)
				}
				if !sameJSON(t, r.Request, want.Record.Request, "") || !sameJSON(t, r.Result, want.Record.Result, "decision") {
					t.Errorf("recorded\n%s\n%s\nwant the record admission built\n%+v", r.Request, r.Result, want.Record)
				}
			})
			answered++
		}
	}
	if answered < 40 {
		t.Fatalf("only %d reviews answered: the fixtures are missing", answered)
	}
}

// sameJSON compares recorded JSON with the value it was made of, less one
// top-level field (the engine's decision, whose id and time are per call).
func sameJSON(t *testing.T, recorded json.RawMessage, v any, skip string) bool {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(recorded, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	delete(got, skip)
	delete(want, skip)
	return reflect.DeepEqual(got, want)
}

// A review that cannot be read is a 400: the API server then applies the
// webhook's failurePolicy.
func TestAdmissionBadReviews(t *testing.T) {
	ts := newAdmissionServer(t)
	notAPod := strings.Replace(string(mustReadFixture(t, "pod-update-pinned.json")), `"spec": {`, `"spec": "not a pod spec", "x": {`, 1)
	pod := string(mustReadFixture(t, "pod-create-unconstrained.json"))
	const podUID = "f4da4b09-cef5-d6a1-f4e4-ebaefddd5299"
	if !strings.Contains(pod, `"uid": "`+podUID+`"`) {
		t.Fatal("fixture pod-create-unconstrained.json changed: update podUID")
	}
	for _, tc := range []struct {
		name, body, webhook string
		code                string
		message             string
	}{
		{"malformed review", string(mustReadFixture(t, "malformed.json")), "validate", api.CodeMalformedJSON, "malformed AdmissionReview"},
		{"missing uid", string(mustReadFixture(t, "missing-uid.json")), "validate", api.CodeMalformedJSON, "request.uid is required"},
		{"wrong apiVersion", string(mustReadFixture(t, "wrong-version.json")), "mutate", api.CodeMalformedJSON, "admission.k8s.io/v1"},
		{"object not of its kind", notAPod, "validate", api.CodeMalformedJSON, "malformed AdmissionReview: request.object is not a valid Pod"},
		{"empty", "", "validate", api.CodeMalformedJSON, "an AdmissionReview is required"},
		{"trailing data", string(mustReadFixture(t, "pod-update-pinned.json")) + "{}", "mutate", api.CodeTrailingData, "after the AdmissionReview"},
		// Which of two values a decoder keeps is not what the API server
		// meant: a key given twice is refused, in the review and in the object.
		{"uid given twice", strings.Replace(pod, `"uid": "`+podUID+`"`, `"uid": "forged", "uid": "`+podUID+`"`, 1), "validate", api.CodeMalformedJSON, `field "request.uid" given twice`},
		{"annotations given twice in the object", strings.Replace(pod, `"generateName": "web-7d4b9c6f5-",`, `"annotations": {"sovereign.dev/datasets": "public-catalogue"}, "generateName": "web-7d4b9c6f5-",`, 1),
			"mutate", api.CodeMalformedJSON, `request.object: field "metadata.annotations" given twice`},
		{"annotation given twice in the old object", strings.Replace(string(mustReadFixture(t, "pod-update-pinned.json")), `"oldObject": {`, `"oldObject": {"kind": "Pod", `, 1),
			"validate", api.CodeMalformedJSON, `request.oldObject: field "kind" given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b := ts.post(t, "/v1/admission/"+tc.webhook, "application/json", []byte(tc.body))
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", status, b)
			}
			if e := decodeError(t, b); e.Code != tc.code || !strings.Contains(e.Message, tc.message) {
				t.Errorf("error %+v, want %s with %q", e, tc.code, tc.message)
			}
		})
	}
}

func TestAdmissionAuditUnavailable(t *testing.T) {
	ts := newAdmissionServer(t)
	if err := ts.audit.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, body := ts.post(t, "/v1/admission/validate", "application/json", mustReadFixture(t, "pod-update-pinned.json"))
	if status != http.StatusServiceUnavailable || decodeError(t, body).Code != api.CodeAuditUnavailable {
		t.Fatalf("an unrecorded admission is not answered: want 503 %s, got %d %s", api.CodeAuditUnavailable, status, body)
	}
}

func TestAdmissionNotConfigured(t *testing.T) {
	ts := newTestServer(t)
	status, body := ts.post(t, "/v1/admission/validate", "application/json", mustReadFixture(t, "pod-update-pinned.json"))
	if status != http.StatusServiceUnavailable || decodeError(t, body).Code != api.CodeNotConfigured {
		t.Fatalf("want 503 %s, got %d %s", api.CodeNotConfigured, status, body)
	}
}

// New checks the webhook's configuration against the inventory (the checks
// themselves: package admission), and SetAdmissionConfig swaps it whole.
func TestAdmissionConfigChecked(t *testing.T) {
	ts := newAdmissionServer(t)
	bad := admissionConfig(t)
	bad.SpannedSites = []string{"atlantis-1"}
	if _, err := api.New(api.Config{Engine: newDemoEngine(t), Audit: ts.audit, Admission: bad}); err == nil || !strings.Contains(err.Error(), "atlantis-1") {
		t.Fatalf("want New to refuse the configuration: %v", err)
	}
	if err := ts.api.SetAdmissionConfig(bad); err == nil {
		t.Fatal("want SetAdmissionConfig to refuse the configuration")
	}
	good := ts.api.AdmissionConfig()
	good.UnhandledKinds = "deny"
	if err := ts.api.SetAdmissionConfig(good); err != nil {
		t.Fatal(err)
	}
	status, body := ts.post(t, "/v1/admission/validate", "application/json", mustReadFixture(t, "configmap-create.json"))
	var r admissionv1.AdmissionReview
	if status != http.StatusOK || json.Unmarshal(body, &r) != nil || r.Response.Allowed {
		t.Fatalf("the new configuration is not in force: %d %s", status, body)
	}
}

// A newer API server may send fields this build does not know: they are
// accepted. Keys are matched as the API server matches them, case included,
// so a key that differs from a field's name in case only is such an unknown
// field, never read as the field it resembles.
func TestAdmissionUnknownFieldsAccepted(t *testing.T) {
	ts := newAdmissionServer(t)
	const uid = "f4da4b09-cef5-d6a1-f4e4-ebaefddd5299"
	pod := string(mustReadFixture(t, "pod-create-unconstrained.json"))
	body := strings.Replace(pod, `"uid": "`+uid+`"`, `"uid": "`+uid+`", "UID": "forged", "futureField": {"x": [1, 2]}`, 1)
	if body == pod {
		t.Fatal("fixture pod-create-unconstrained.json changed: update uid")
	}
	status, b := ts.post(t, "/v1/admission/validate", "application/json", []byte(body))
	var got admissionv1.AdmissionReview
	if status != http.StatusOK || json.Unmarshal(b, &got) != nil || got.Response == nil {
		t.Fatalf("want an answer: %d %s", status, b)
	}
	if got.Response.UID != uid {
		t.Fatalf("answered uid %q, want the request's %q (a case variant is not the field)", got.Response.UID, uid)
	}
}

// Every error of the admission endpoints is a v1 Status the API server's
// webhook client decodes, so kubectl shows its message instead of "the server
// is currently unable to handle the request"; the HTTP status is kept, so the
// webhook's failurePolicy applies. Other endpoints keep the JSON envelope.
func TestAdmissionErrorsAreStatus(t *testing.T) {
	authn, err := auth.NewAuthenticator(testAuthConfig())
	if err != nil {
		t.Fatal(err)
	}
	ts := newAdmissionServer(t, func(c *api.Config) { c.Auth = authn; c.MaxBodyBytes = 1 << 10 })
	review := mustReadFixture(t, "pod-update-pinned.json")
	huge := append([]byte(`{"pad": "`), append(bytes.Repeat([]byte("x"), 5<<20), `"}`...)...)
	for _, tc := range []struct {
		name, method, path, token, contentType string
		body                                   []byte
		status                                 int
		reason                                 metav1.StatusReason
		code                                   string
	}{
		{"malformed", "POST", "/v1/admission/validate", tokWebhook, "application/json", []byte("{"), 400, metav1.StatusReasonBadRequest, api.CodeMalformedJSON},
		{"no credentials accepted", "POST", "/v1/admission/mutate", tokUnknown, "application/json", review, 401, metav1.StatusReasonUnauthorized, api.CodeUnauthenticated},
		{"not the webhook", "POST", "/v1/admission/validate", tokAuditor, "application/json", review, 403, metav1.StatusReasonForbidden, api.CodeForbidden},
		{"no such webhook", "POST", "/v1/admission/audit", tokWebhook, "application/json", review, 404, metav1.StatusReasonNotFound, api.CodeNotFound},
		{"wrong method", "GET", "/v1/admission/validate", tokWebhook, "", nil, 405, metav1.StatusReasonMethodNotAllowed, api.CodeMethodNotAllowed},
		{"too large", "POST", "/v1/admission/validate", tokWebhook, "application/json", huge, 413, metav1.StatusReasonRequestEntityTooLarge, api.CodeBodyTooLarge},
		{"not JSON", "POST", "/v1/admission/validate", tokWebhook, "text/plain", review, 415, metav1.StatusReasonUnsupportedMediaType, api.CodeUnsupportedMedia},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			st := decodeStatus(t, b)
			if st.Code != int32(tc.status) || st.Reason != tc.reason || string(st.Details.Causes[0].Type) != tc.code {
				t.Errorf("Status code %d reason %q cause %q, want %d %q %q: %s", st.Code, st.Reason, st.Details.Causes[0].Type, tc.status, tc.reason, tc.code, b)
			}
		})
	}
	t.Run("audit unavailable asks to retry", func(t *testing.T) {
		ts := newAdmissionServer(t)
		if err := ts.audit.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		status, b := ts.post(t, "/v1/admission/validate", "application/json", review)
		st := decodeStatus(t, b)
		if status != 503 || st.Reason != metav1.StatusReasonServiceUnavailable || st.Details.RetryAfterSeconds != 1 ||
			!strings.Contains(st.Message, "could not be recorded in the audit log") {
			t.Fatalf("want 503 ServiceUnavailable, retry after 1 s, and why: %d %s", status, b)
		}
	})
	t.Run("other endpoints keep the envelope", func(t *testing.T) {
		status, b := ts.post(t, "/v1/decisions/placement", "application/json", []byte("{"))
		var e api.ErrorBody
		if status != 401 || json.Unmarshal(b, &e) != nil || e.Error.Code != api.CodeUnauthenticated {
			t.Fatalf("want the JSON envelope: %d %s", status, b)
		}
	})
}

// The API server waits ?timeout= for an answer. A review is decided and
// recorded within it (less a margin), or answered with an error (504, a
// Status): never an admission answered after the API server gave up. An
// admission whose record may land late is voided by an unanswered record.
func TestAdmissionDeadline(t *testing.T) {
	allowed := mustReadFixture(t, "pod-create-undeclared.json")
	t.Run("invalid timeout", func(t *testing.T) {
		ts := newAdmissionServer(t)
		status, b := ts.post(t, "/v1/admission/validate?timeout=soon", "application/json", allowed)
		if st := decodeStatus(t, b); status != 400 || len(st.Details.Causes) < 2 || st.Details.Causes[1].Field != "timeout" {
			t.Fatalf("want 400 naming the timeout: %d %s", status, b)
		}
	})
	t.Run("deadline passed before the decision: nothing recorded", func(t *testing.T) {
		ts := newAdmissionServer(t)
		// 50ms less the 100 ms margin: gone on arrival.
		status, b := ts.post(t, "/v1/admission/validate?timeout=50ms", "application/json", allowed)
		if st := decodeStatus(t, b); status != http.StatusGatewayTimeout || st.Reason != metav1.StatusReasonTimeout || st.Details.Causes[0].Type != api.CodeDeadlineExceeded {
			t.Fatalf("want 504 Timeout %s: %d %s", api.CodeDeadlineExceeded, status, b)
		}
		status, b = ts.post(t, "/v1/admission/validate?timeout=10s", "application/json", allowed)
		var got admissionv1.AdmissionReview
		if status != 200 || json.Unmarshal(b, &got) != nil || got.Response.AuditAnnotations["audit-index"] != "0" {
			t.Fatalf("the late review must have left no record (the next is entry 0): %d %s", status, b)
		}
	})
	t.Run("log slower than the deadline: error answered, admission voided", func(t *testing.T) {
		// Without the journal, a lone append waits out Tessera's batch age.
		slow, err := audit.Open(context.Background(), audit.Options{DataDir: t.TempDir(), Origin: "sovereign/slow", NoJournal: true,
			BatchMaxSize: 64, BatchMaxAge: 1500 * time.Millisecond, CheckpointInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = slow.Close(context.Background()) })
		ts := newAdmissionServer(t, func(c *api.Config) { c.Audit = slow })
		start := time.Now()
		status, b := ts.post(t, "/v1/admission/mutate?timeout=1s", "application/json", allowed)
		if took := time.Since(start); status != http.StatusGatewayTimeout || took > time.Second {
			t.Fatalf("want 504 within the API server's second, got %d after %v: %s", status, took, b)
		}
		decodeStatus(t, b)
		// The review's own deadline says nothing about the log's health.
		if status, b := ts.get(t, "/readyz"); status != http.StatusOK {
			t.Errorf("a review's deadline must not make the server unready: %d %s", status, b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var recs []admission.Record
		for i := uint64(0); i < 2; i++ {
			for {
				e, err := slow.Entry(ctx, i)
				if err == nil {
					var r admission.Record
					if json.Unmarshal(e.Record.Request, &r.Request) != nil || json.Unmarshal(e.Record.Result, &r.Result) != nil {
						t.Fatalf("entry %d: %s %s", i, e.Record.Request, e.Record.Result)
					}
					r.ID = e.Record.ID
					recs = append(recs, r)
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("entry %d never landed: %v", i, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		orig, void := recs[0], recs[1]
		if !orig.Result.Allowed || orig.Request.Timeout != "1s" {
			t.Fatalf("the first record is the admission decided, with the timeout it had: %+v", orig)
		}
		if void.Result.Verdict != admission.VerdictUnanswered || void.Result.Allowed || void.Result.Voids != orig.ID ||
			void.Request.UID != orig.Request.UID || !strings.Contains(void.Result.Message, "answered with an error") {
			t.Fatalf("the second record must void the first: %+v", void)
		}
	})
}
