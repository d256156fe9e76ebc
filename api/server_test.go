package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

const demoInventory = "../testdata/inventory/demo"

type testServer struct {
	*httptest.Server
	audit *audit.Log
	api   *api.Server
}

func newTestServer(t testing.TB, mutate ...func(*api.Config)) *testServer {
	t.Helper()
	ctx := context.Background()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatalf("load built-in bundle: %v", err)
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatalf("load demo inventory: %v", err)
	}
	eng, err := engine.New(ctx, p, inv)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	l, err := audit.Open(ctx, audit.Options{DataDir: t.TempDir(), Origin: "sovereign/test"})
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	cfg := api.Config{Engine: eng, Audit: l}
	for _, m := range mutate {
		m(&cfg)
	}
	if cfg.Auth != nil && cfg.DefaultAuthz == nil {
		cfg.DefaultAuthz = builtinAuthz(t)
	}
	s, err := api.New(cfg)
	if err != nil {
		t.Fatalf("api: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, audit: l, api: s}
}

func (ts *testServer) post(t *testing.T, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (ts *testServer) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// decodeError reads an error answer: the JSON envelope, or the Status the
// admission endpoints answer (checked by decodeStatus), as the envelope it
// carries.
func decodeError(t *testing.T, b []byte) api.ErrorInfo {
	t.Helper()
	if bytes.Contains(b, []byte(`"kind":"Status"`)) {
		st := decodeStatus(t, b)
		e := api.ErrorInfo{Code: string(st.Details.Causes[0].Type), Message: strings.TrimPrefix(st.Message, "sovereign: ")}
		for _, c := range st.Details.Causes[1:] {
			e.Details = append(e.Details, api.ErrorDetail{Path: c.Field, Message: c.Message})
		}
		return e
	}
	var e api.ErrorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body is not the JSON envelope: %v: %s", err, b)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body lacks code or message: %s", b)
	}
	return e.Error
}

func TestPlacementDecision(t *testing.T) {
	ts := newTestServer(t)
	status, body := ts.post(t, "/v1/decisions/placement", "application/json",
		[]byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["us-east-1", "fra-1"], "at": "2026-06-01T00:00:00Z"}`))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var d engine.Decision
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Kind != "placement" || !d.Allowed || len(d.Sites) != 2 {
		t.Fatalf("want an allowed placement over 2 sites, got %+v", d)
	}
	if d.Sites[0].Site != "fra-1" || !d.Sites[0].Allowed {
		t.Errorf("allowed site fra-1 must rank first, got %+v", d.Sites[0])
	}
	us := d.Sites[1]
	if us.Site != "us-east-1" || us.Allowed || len(us.Violations) == 0 {
		t.Fatalf("us-east-1 must be refused with reasons, got %+v", us)
	}
	for _, v := range us.Violations {
		if v.Rule == "" || v.Citation == "" || v.Message == "" {
			t.Errorf("violation lacks rule, citation or message: %+v", v)
		}
	}
	if !strings.HasPrefix(d.Bundle.Digest, "sha256:") || !strings.HasPrefix(d.InventoryRevision, "sha256:") {
		t.Errorf("decision must carry bundle digest and inventory revision: %+v %q", d.Bundle, d.InventoryRevision)
	}
	if d.Audit == nil || len(d.Audit.EntrySHA256) != 64 {
		t.Fatalf("decision must carry its audit receipt, got %+v", d.Audit)
	}

	// The receipt points at a signed record of this very decision.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := ts.audit.Entry(ctx, d.Audit.Index)
	if err != nil {
		t.Fatalf("entry %d: %v", d.Audit.Index, err)
	}
	if e.EntrySHA256 != d.Audit.EntrySHA256 || e.Record.ID != d.DecisionID || e.Record.Kind != audit.KindPlacement {
		t.Fatalf("logged record does not match the answer: %+v vs %+v", e.Record, d)
	}
}

func TestTransferDecision(t *testing.T) {
	ts := newTestServer(t)
	cases := []struct {
		name    string
		body    string
		allowed bool
		rule    string
	}{
		{"within the EEA", `{"dataset": "customer-pii-eu", "from": "fra-1", "to": "par-1", "type": "replicate", "at": "2026-06-01T00:00:00Z"}`, true, ""},
		{"to the US without a mechanism", `{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "at": "2026-06-01T00:00:00Z"}`, false, "gdpr.chapter5.no_basis"},
		{"to the US under SCCs", `{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "mechanism": {"kind": "scc", "module": "C2P", "reference": "SCC-1"}, "at": "2026-06-01T00:00:00Z"}`, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ts.post(t, "/v1/decisions/transfer", "application/json", []byte(tc.body))
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var d engine.Decision
			if err := json.Unmarshal(body, &d); err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %s", d.Allowed, tc.allowed, body)
			}
			if tc.rule != "" && !hasRule(d.Violations, tc.rule) {
				t.Fatalf("want violation %s, got %+v", tc.rule, d.Violations)
			}
			if d.Audit == nil {
				t.Fatal("no audit receipt")
			}
		})
	}
}

func hasRule(vs []engine.Violation, rule string) bool {
	for _, v := range vs {
		if v.Rule == rule {
			return true
		}
	}
	return false
}

func TestBadInput(t *testing.T) {
	ts := newTestServer(t)
	huge := append([]byte(`{"dataset": "customer-pii-eu", "operation": "store", "at": "`), bytes.Repeat([]byte("x"), api.DefaultMaxBodyBytes)...)
	huge = append(huge, `"}`...)
	cases := []struct {
		name        string
		path        string
		contentType string
		body        string
		raw         []byte
		status      int
		code        string
		message     string   // substring of the message
		paths       []string // every detail path expected, in any order
	}{
		{name: "malformed JSON", body: `{"dataset": "customer-pii-eu", "operation": }`, status: 400, code: api.CodeMalformedJSON, message: "byte offset 45"},
		{name: "truncated JSON", body: `{"dataset": "customer-pii-eu"`, status: 400, code: api.CodeMalformedJSON, message: "byte offset"},
		{name: "empty body", body: ``, status: 400, code: api.CodeMalformedJSON, message: "empty"},
		{name: "unknown field", body: `{"dataset": "customer-pii-eu", "operation": "store", "sites": ["fra-1"]}`, status: 400, code: api.CodeUnknownField, message: `"sites"`},
		{name: "unknown field in an inline dataset", body: `{"dataset": {"id": "x", "classification": "public", "colour": "red"}, "operation": "store"}`, status: 400, code: api.CodeUnknownField, message: `"colour"`},
		{name: "trailing data", body: `{"dataset": "customer-pii-eu", "operation": "store"} {"again": true}`, status: 400, code: api.CodeTrailingData, message: "byte offset"},
		{name: "trailing garbage", body: `{"dataset": "customer-pii-eu", "operation": "store"}]`, status: 400, code: api.CodeTrailingData},
		{name: "body over the limit", raw: huge, status: 413, code: api.CodeBodyTooLarge, message: "1048576"},
		{name: "not JSON content type", contentType: "text/plain", body: `{}`, status: 415, code: api.CodeUnsupportedMedia},
		{name: "wrong type", body: `{"dataset": "customer-pii-eu", "operation": "store", "candidates": "fra-1"}`, status: 422, code: api.CodeInvalidRequest, paths: []string{"candidates"}},
		{name: "a dataset that is neither id nor object", body: `{"dataset": 5, "operation": "store"}`, status: 422, code: api.CodeInvalidRequest, paths: []string{"dataset"}},
		{name: "empty candidates", body: `{"dataset": "customer-pii-eu", "operation": "store", "candidates": []}`, status: 422, code: api.CodeInvalidRequest, paths: []string{"candidates"}},
		{name: "unknown site and dataset, bad operation", body: `{"dataset": "nope", "operation": "keep", "candidates": ["fra-1", "atlantis-1"]}`, status: 422, code: api.CodeInvalidRequest,
			paths: []string{"operation", "dataset", "candidates[1]"}},
		{name: "invalid country in an inline dataset", body: `{"dataset": {"id": "x", "classification": "confidential", "origin_country": "de", "subject_jurisdictions": ["EU", "xx"]}, "operation": "store"}`, status: 422, code: api.CodeInvalidRequest,
			paths: []string{"dataset.origin_country", "dataset.subject_jurisdictions[1]"}},
		{name: "bad time", body: `{"dataset": "customer-pii-eu", "operation": "store", "at": "yesterday"}`, status: 422, code: api.CodeInvalidRequest, paths: []string{"at"}},
		{name: "neither dataset nor workload", body: `{"operation": "store"}`, status: 422, code: api.CodeInvalidRequest, paths: []string{"dataset"}},
		{name: "a known field in another case", body: `{"dataset": "public-catalogue", "DATASET": "customer-pii-eu", "operation": "store"}`, status: 400, code: api.CodeUnknownField, message: `"DATASET"`, paths: []string{"DATASET"}},
		{name: "a nested field in another case", body: `{"dataset": {"id": "x", "classification": "confidential", "Subject_Count": 5}, "operation": "store"}`, status: 400, code: api.CodeUnknownField, paths: []string{"dataset.Subject_Count"}},
		{name: "a duplicate key", body: `{"dataset": "public-catalogue", "dataset": "customer-pii-eu", "operation": "store"}`, status: 400, code: api.CodeMalformedJSON, paths: []string{"dataset"}},
		{name: "invalid UTF-8", raw: []byte("{\"dataset\": {\"id\": \"x\xff\", \"classification\": \"public\"}, \"operation\": \"store\"}"), status: 400, code: api.CodeMalformedJSON},
		{name: "a lone surrogate escape", body: `{"dataset": {"id": "x\ud800", "classification": "public"}, "operation": "store"}`, status: 400, code: api.CodeMalformedJSON},
		{name: "an inline dataset posing as an inventory one", body: `{"dataset": {"id": "customer-pii-eu", "classification": "public"}, "operation": "store"}`, status: 422, code: api.CodeInvalidRequest, paths: []string{"dataset.id"}},
		{name: "transfer: unknown sites and bad type", path: "/v1/decisions/transfer", body: `{"dataset": "customer-pii-eu", "from": "fra-1", "to": "mars-1", "type": "teleport"}`, status: 422, code: api.CodeInvalidRequest,
			paths: []string{"to", "type"}},
		{name: "transfer: derogation without its article", path: "/v1/decisions/transfer", body: `{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "mechanism": {"kind": "derogation"}}`, status: 422, code: api.CodeInvalidRequest,
			paths: []string{"mechanism.derogation"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/v1/decisions/placement"
			}
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			body := tc.raw
			if body == nil {
				body = []byte(tc.body)
			}
			before := logSize(t, ts)
			status, resp := ts.post(t, path, ct, body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, resp)
			}
			e := decodeError(t, resp)
			if e.Code != tc.code {
				t.Errorf("code %q, want %q (%s)", e.Code, tc.code, e.Message)
			}
			if !strings.Contains(e.Message, tc.message) {
				t.Errorf("message %q does not contain %q", e.Message, tc.message)
			}
			if tc.paths != nil {
				var got []string
				for _, d := range e.Details {
					got = append(got, d.Path)
					if d.Message == "" {
						t.Errorf("detail %q has no message", d.Path)
					}
				}
				for _, want := range tc.paths {
					if !contains(got, want) {
						t.Errorf("details %v lack path %q", got, want)
					}
				}
			}
			// A refused request is not decided, so nothing is logged.
			if after := logSize(t, ts); after != before {
				t.Errorf("a refused request changed the log: %d → %d entries", before, after)
			}
		})
	}
}

func logSize(t *testing.T, ts *testServer) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := ts.audit.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A decision the log cannot take is not answered.
func TestFailClosedWhenTheLogIsDown(t *testing.T) {
	ts := newTestServer(t)
	if err := ts.audit.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, body := ts.post(t, "/v1/decisions/placement", "application/json", []byte(`{"dataset": "customer-pii-eu", "operation": "store"}`))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", status, body)
	}
	if e := decodeError(t, body); e.Code != api.CodeAuditUnavailable {
		t.Fatalf("code %q, want %q", e.Code, api.CodeAuditUnavailable)
	}
	if bytes.Contains(body, []byte(`"allowed"`)) {
		t.Fatalf("an unlogged decision leaked into the answer: %s", body)
	}
	status, body = ts.get(t, "/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "closed") {
		t.Fatalf("readyz must say why it is not ready, got %d %s", status, body)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	ts := newTestServer(t)
	if status, body := ts.get(t, "/healthz"); status != 200 {
		t.Fatalf("healthz %d %s", status, body)
	}
	if status, body := ts.get(t, "/readyz"); status != 200 || !strings.Contains(string(body), "sha256:") {
		t.Fatalf("readyz %d %s", status, body)
	}
	ts.post(t, "/v1/decisions/placement", "application/json", []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["us-east-1"]}`))
	ts.post(t, "/v1/decisions/placement", "application/json", []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`))
	ts.post(t, "/v1/decisions/placement", "application/json", []byte(`{`))
	_, body := ts.get(t, "/metrics")
	for _, want := range []string{
		`sovereign_decisions_total{kind="placement",outcome="allowed"} 1`,
		`sovereign_decisions_total{kind="placement",outcome="denied"} 1`,
		`sovereign_http_requests_total{code="400",method="POST",route="/v1/decisions/placement"} 1`,
		`sovereign_http_request_duration_seconds_bucket{method="POST",route="/v1/decisions/placement",le=`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if status, body := ts.get(t, "/v1/nothing-here"); status != 404 || decodeError(t, body).Code != api.CodeNotFound {
		t.Errorf("unknown route: %d %s", status, body)
	}
	if status, body := ts.get(t, "/v1/decisions/placement"); status != 405 || decodeError(t, body).Code != api.CodeMethodNotAllowed {
		t.Errorf("wrong method: %d %s", status, body)
	}
}

// The OpenAPI document describes exactly the routes served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ts := newTestServer(t, func(c *api.Config) { c.ServeBundlesDir = t.TempDir(); c.Fleet = &api.FleetConfig{} })
	status, body := ts.get(t, "/openapi.yaml")
	if status != 200 {
		t.Fatalf("openapi.yaml: %d", status)
	}
	var doc struct {
		OpenAPI string                            `json:"openapi"`
		Paths   map[string]map[string]interface{} `json:"paths"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range ts.api.Routes() {
		served[r.Method+" "+openAPIPath(r.Path)] = true
	}
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("served but not in openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("in openapi.yaml but not served: %v", extra)
	}
}

// openAPIPath turns gin's :param and *param into OpenAPI's {param}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// The log's read API serves what a standard tile client reads: Tessera's own
// HTTP fetcher, pointed at /v1/audit/log/, verifies the whole log with the keys
// the server publishes.
func TestAuditReadAPI(t *testing.T) {
	ts := newTestServer(t)
	var receipts []engine.AuditReceipt
	for _, body := range []string{
		`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`,
		`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate"}`,
		`{"dataset": "customer-pii-eu", "operation": "process"}`,
	} {
		path := "/v1/decisions/placement"
		if strings.Contains(body, `"from"`) {
			path = "/v1/decisions/transfer"
		}
		status, b := ts.post(t, path, "application/json", []byte(body))
		if status != 200 {
			t.Fatalf("%d %s", status, b)
		}
		var d engine.Decision
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, *d.Audit)
	}
	last := receipts[len(receipts)-1].Index

	// An entry waits for a checkpoint that covers it, then comes with its proof.
	status, b := ts.get(t, "/v1/audit/entries/"+itoa(last))
	if status != 200 {
		t.Fatalf("entry: %d %s", status, b)
	}
	var e struct {
		EntrySHA256    string   `json:"entry_sha256"`
		TreeSize       uint64   `json:"tree_size"`
		InclusionProof [][]byte `json:"inclusion_proof"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if e.EntrySHA256 != receipts[len(receipts)-1].EntrySHA256 || e.TreeSize <= last {
		t.Fatalf("entry %d: %+v", last, e)
	}

	var keys struct {
		Origin            string `json:"origin"`
		LogVerifierKey    string `json:"log_verifier_key"`
		SigningPublicKeys string `json:"signing_public_keys"`
	}
	status, b = ts.get(t, "/v1/audit/keys")
	if status != 200 || json.Unmarshal(b, &keys) != nil || keys.Origin != "sovereign/test" {
		t.Fatalf("keys: %d %s", status, b)
	}
	pubs, err := audit.ParsePublicKeys([]byte(keys.SigningPublicKeys))
	if err != nil {
		t.Fatal(err)
	}
	nv, err := audit.NoteVerifier(keys.LogVerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	src, err := audit.NewSource(ts.URL + "/v1/audit/log/")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sum, err := audit.VerifyLog(ctx, src, pubs, nv, nil)
	if err != nil {
		t.Fatalf("verify over HTTP: %v", err)
	}
	if sum.TreeSize <= last || sum.Kinds[audit.KindPlacement] < 2 || sum.Kinds[audit.KindTransfer] < 1 {
		t.Fatalf("summary %+v", sum)
	}

	status, b = ts.get(t, "/v1/audit/proof/0?tree_size="+itoa(e.TreeSize))
	if status != 200 || !strings.Contains(string(b), `"inclusion_proof"`) {
		t.Fatalf("proof: %d %s", status, b)
	}
	if status, b = ts.get(t, "/v1/audit/checkpoint"); status != 200 || !strings.HasPrefix(string(b), "sovereign/test\n") {
		t.Fatalf("checkpoint: %d %s", status, b)
	}
	for path, want := range map[string]int{
		"/v1/audit/entries/x":                  400,
		"/v1/audit/entries/-1":                 400,
		"/v1/audit/entries/999999":             404,
		"/v1/audit/proof/0?tree_size=99999999": 404,
		"/v1/audit/proof/0?tree_size=abc":      400,
		"/v1/audit/log/.state/treeState":       404,
		"/v1/audit/log/../signing.key":         404,
	} {
		if status, b := ts.get(t, path); status != want {
			t.Errorf("%s: %d, want %d: %s", path, status, want, b)
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// A log whose storage breaks under a running server: decisions get 503, nothing
// is answered unlogged, and /readyz says why.
func TestUnwritableLogStorage(t *testing.T) {
	ts := newTestServer(t)
	body := []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`)
	if status, b := ts.post(t, "/v1/decisions/placement", "application/json", body); status != 200 {
		t.Fatalf("before: %d %s", status, b)
	}
	if _, err := ts.audit.Entry(context.Background(), 0); err != nil { // integrated into the tree
		t.Fatal(err)
	}
	// Root ignores permissions, so break the tree instead: the tile directory
	// becomes a regular file, and no tile can be written.
	tiles := filepath.Join(ts.audit.Dir(), "tile")
	if err := os.Rename(tiles, tiles+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tiles, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A decision that raced the failure may still be journaled (durable,
	// answered, integrated after the repair); once the failure is seen,
	// every decision is refused.
	var answered []uint64
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, b := ts.post(t, "/v1/decisions/placement", "application/json", body)
		if status == http.StatusOK {
			var d engine.Decision
			if err := json.Unmarshal(b, &d); err != nil || d.Audit == nil {
				t.Fatalf("answered without a receipt: %s", b)
			}
			answered = append(answered, d.Audit.Index)
			if time.Now().After(deadline) {
				t.Fatalf("decisions still answered 15 s after the log's storage broke")
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if status != http.StatusServiceUnavailable || decodeError(t, b).Code != api.CodeAuditUnavailable {
			t.Fatalf("decision on broken storage: %d %s", status, b)
		}
		if bytes.Contains(b, []byte(`"allowed"`)) {
			t.Fatalf("an unlogged decision leaked: %s", b)
		}
		break
	}
	status, b := ts.get(t, "/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(string(b), "audit log") {
		t.Fatalf("readyz must say why: %d %s", status, b)
	}
	// Repaired, the decisions that were answered reach the log.
	if err := os.Remove(tiles); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tiles+".moved", tiles); err != nil {
		t.Fatal(err)
	}
	for _, idx := range answered {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		for {
			if _, err := ts.audit.Entry(ctx, idx); err == nil {
				break
			} else if ctx.Err() != nil {
				t.Fatalf("answered decision %d never reached the log: %v", idx, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
	}
}

// A placement over many sites is recorded whole, messages and all: its request
// and result go to a body beside the log, named by digest in the signed
// record, and the log verifies with them.
func TestLargePlacementsAreRecordedWhole(t *testing.T) {
	ctx := context.Background()
	base, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	sites := []engine.Site{}
	for _, id := range base.SiteIDs {
		sites = append(sites, base.Sites[id])
	}
	us := base.Sites["us-east-1"]
	for i := 0; i < 700; i++ {
		s := us
		s.ID = fmt.Sprintf("us-extra-%d", i)
		sites = append(sites, s)
	}
	var datasets []engine.Dataset
	for _, id := range base.DatasetIDs {
		datasets = append(datasets, base.Datasets[id])
	}
	inv, err := engine.NewInventory(sites, datasets, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, p, inv)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(c *api.Config) { c.Engine = eng })

	cands := make([]string, 0, 200)
	for i := 0; i < 200; i++ {
		cands = append(cands, fmt.Sprintf("%q", fmt.Sprintf("us-extra-%d", i)))
	}
	for _, req := range []string{
		`{"dataset": "customer-pii-eu", "operation": "store", "candidates": [` + strings.Join(cands, ",") + `]}`,
		`{"dataset": "customer-pii-eu", "operation": "store"}`, // every site
	} {
		status, body := ts.post(t, "/v1/decisions/placement", "application/json", []byte(req))
		if status != 200 {
			t.Fatalf("%.80s: %d %.300s", req, status, body)
		}
		var d engine.Decision
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatal(err)
		}
		last := d.Sites[len(d.Sites)-1] // refused sites rank last
		if len(last.Violations) == 0 || last.Violations[0].Message == "" {
			t.Fatal("the answer itself must keep its messages")
		}
		e, err := ts.audit.Entry(ctx, d.Audit.Index)
		if err != nil {
			t.Fatal(err)
		}
		if e.Record.Body == nil || e.Record.Version != audit.RecordVersionBody || len(e.Entry) > audit.MaxEntrySize {
			t.Fatalf("record of %d sites: body %+v, version %d, entry %d bytes", len(d.Sites), e.Record.Body, e.Record.Version, len(e.Entry))
		}
		// The record holds the answer as given, messages and all, less its
		// receipt and with its regimes abridged (TestDecisionRecordCarriesRegimes).
		var recorded engine.Decision
		if err := json.Unmarshal(e.Record.Result, &recorded); err != nil {
			t.Fatal(err)
		}
		if len(recorded.Regimes) != len(d.Regimes) {
			t.Fatalf("recorded %d regimes, answered %d", len(recorded.Regimes), len(d.Regimes))
		}
		d.Audit, d.Regimes, recorded.Regimes = nil, nil, nil
		want, _ := json.Marshal(&d)
		got, _ := json.Marshal(&recorded)
		if !jsonEqual(t, want, got) {
			t.Fatalf("recorded result differs from the answer (%d sites)", len(d.Sites))
		}
		if rd, _ := audit.RequestDigest([]byte(req)); rd != e.Record.RequestSHA256 {
			t.Fatalf("request_sha256 %s, want %s", e.Record.RequestSHA256, rd)
		}
		// The body is served beside the tiles, for auditors reading the log
		// over HTTP.
		status, raw := ts.get(t, "/v1/audit/log/bodies/"+e.Record.Body.SHA256)
		if status != 200 || audit.CheckBody(e.Record.Body, raw) != nil {
			t.Fatalf("GET the body: %d, %d bytes", status, len(raw))
		}
	}
	if status, _ := ts.get(t, "/v1/audit/log/bodies/"+strings.Repeat("0", 64)); status != http.StatusNotFound {
		t.Fatalf("GET an unknown body: %d", status)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	ca, err := audit.Canonicalize(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := audit.Canonicalize(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ca, cb)
}

// decodeStatus reads an error of the admission endpoints: a v1 Status the
// API server's webhook client decodes, with status Failure, a message that
// names Sovereign, a reason and the stable code as the first cause.
func decodeStatus(t *testing.T, b []byte) *metav1.Status {
	t.Helper()
	var st metav1.Status
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("error body is not a Status: %v: %s", err, b)
	}
	if st.APIVersion != "v1" || st.Kind != "Status" || st.Status != metav1.StatusFailure || st.Code < 400 || st.Reason == "" ||
		!strings.HasPrefix(st.Message, "sovereign: ") || st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Type == "" {
		t.Fatalf("want a v1 Status of kind Status, status Failure, a code, a reason, a message and the stable code as first cause: %s", b)
	}
	return &st
}
