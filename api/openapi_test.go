package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/witness"
)

// loadOpenAPI loads and validates the document the server serves, as an
// OpenAPI 3 tool would (issue #20: an inline description with a comma made a
// stray key that Redocly and swagger-cli reject).
func loadOpenAPI(t *testing.T, ts *testServer) *openapi3.T {
	t.Helper()
	status, body := ts.get(t, "/openapi.yaml")
	if status != http.StatusOK {
		t.Fatalf("openapi.yaml: %d", status)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	loadOpenAPI(t, newTestServer(t))
}

// The error codes the document lists are exactly the Code constants of
// errors.go (and those declared beside their handlers).
func TestOpenAPIListsEveryErrorCode(t *testing.T) {
	doc := loadOpenAPI(t, newTestServer(t))
	s := doc.Components.Schemas["ErrorCode"]
	if s == nil || s.Value == nil {
		t.Fatal("openapi.yaml has no components.schemas.ErrorCode")
	}
	var documented []string
	for _, v := range s.Value.Enum {
		documented = append(documented, v.(string))
	}
	declared := declaredErrorCodes(t)
	slices.Sort(documented)
	if !slices.Equal(documented, declared) {
		t.Fatalf("ErrorCode enum %v\nwant the Code constants of package api %v", documented, declared)
	}
}

// declaredErrorCodes reads the values of package api's Code* string
// constants: string literals, or the engine's constants they name (the
// request decoder's codes are defined once, in package engine).
func declaredErrorCodes(t *testing.T) []string {
	t.Helper()
	engineCodes := map[string]string{}
	for name, v := range codeConstants(t, "../engine", "engine", nil) {
		engineCodes[name] = v
	}
	var codes []string
	for _, v := range codeConstants(t, ".", "api", engineCodes) {
		codes = append(codes, v)
	}
	slices.Sort(codes)
	if len(codes) < 10 {
		t.Fatalf("found only %d error codes: %v", len(codes), codes)
	}
	return codes
}

// codeConstants maps the Code* string constants of the package in dir to
// their values; a constant that names engine.CodeX takes engine's value.
func codeConstants(t *testing.T, dir, pkg string, engineCodes map[string]string) map[string]string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != pkg {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				switch v := vs.Values[i].(type) {
				case *ast.BasicLit:
					if v.Kind == token.STRING {
						out[name.Name], _ = strconv.Unquote(v.Value)
					}
				case *ast.SelectorExpr:
					if x, ok := v.X.(*ast.Ident); ok && x.Name == "engine" {
						code, ok := engineCodes[v.Sel.Name]
						if !ok {
							t.Fatalf("%s = engine.%s: no such engine code", name.Name, v.Sel.Name)
						}
						out[name.Name] = code
					}
				}
			}
			return true
		})
	}
	return out
}

// apiCall is one request of TestResponsesMatchOpenAPI and the status it must get.
type apiCall struct {
	method, path string
	token        string // default tokAdmin; "-" for none
	contentType  string // default application/json with a body
	body         string
	status       int
}

// TestResponsesMatchOpenAPI runs the real handlers, behind the real router,
// authentication and Cedar policies, and validates every answer (status,
// headers, body against its schema) with kin-openapi's openapi3filter: a
// status the document does not list fails, and every operation must have been
// answered with a success at least once.
func TestResponsesMatchOpenAPI(t *testing.T) {
	// A witness that follows another site's log, which has one checkpoint.
	other, err := audit.Open(context.Background(), audit.Options{DataDir: t.TempDir(), Origin: "sovereign/other"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	w, err := witness.Open(t.TempDir(), "test-witness", []string{other.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	var otherCheckpoint []byte
	waitFor(t, func() bool { otherCheckpoint, err = other.Checkpoint(context.Background()); return err == nil })

	authn, err := auth.NewAuthenticator(testAuthConfig())
	if err != nil {
		t.Fatal(err)
	}
	bundleDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundleDir, "site.tar.gz"), []byte("bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newAdmissionServer(t, func(c *api.Config) {
		c.Auth = authn
		c.ServeBundlesDir = bundleDir
		c.Witness = w
		c.MaxBodyBytes = 64 << 10
		c.Fleet = &api.FleetConfig{}
	})
	doc := loadOpenAPI(t, ts)
	doc.Servers = openapi3.Servers{{URL: ts.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range []string{"text/html", "application/pdf", "application/gzip", "application/vnd.openpolicyagent.bundles", "text/x.tlog.size"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}

	denied := deniedDecision(t, ts, `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["us-east-1"]}`)
	_, _, b := ts.do(t, http.MethodPost, "/v1/decisions/placement", tokAdmin, []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`))
	var allowed struct {
		ID string `json:"decision_id"`
	}
	if err := json.Unmarshal(b, &allowed); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		s, _, _ := ts.do(t, http.MethodGet, "/v1/audit/entries/1", tokAdmin, nil)
		return s == 200
	})
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	override := func(justification string) string {
		return fmt.Sprintf(`{"justification": %q, "expires": %q, "ticket": "INC-1"}`, justification, soon)
	}
	review := string(mustReadFixture(t, "pod-create-unconstrained.json"))
	big := `{"dataset": "customer-pii-eu", "operation": "store", "candidates": [` + strings.Repeat(`"fra-1",`, 10000) + `"fra-1"]}`

	calls := []apiCall{
		{method: "POST", path: "/v1/decisions/placement", body: `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1", "us-east-1"]}`, status: 200},
		{method: "POST", path: "/v1/decisions/placement", body: `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["us-east-1"]}`, status: 200},
		{method: "POST", path: "/v1/decisions/placement", body: `{"dataset": `, status: 400},
		{method: "POST", path: "/v1/decisions/placement", body: `{"dataset": "customer-pii-eu", "operation": "store", "where": 1}`, status: 400},
		{method: "POST", path: "/v1/decisions/placement", body: `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["atlantis-1"]}`, status: 422},
		{method: "POST", path: "/v1/decisions/placement", contentType: "text/plain", body: `{}`, status: 415},
		{method: "POST", path: "/v1/decisions/placement", body: big, status: 413},
		{method: "POST", path: "/v1/decisions/placement", token: "-", body: `{}`, status: 401},
		{method: "POST", path: "/v1/decisions/placement", token: tokNoRole, body: `{"dataset": "customer-pii-eu", "operation": "store"}`, status: 403},
		{method: "POST", path: "/v1/decisions/transfer", body: `{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate"}`, status: 200},
		{method: "POST", path: "/v1/decisions/transfer", body: `{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "teleport"}`, status: 422},
		{method: "POST", path: "/v1/decisions/" + denied + "/override", body: override("regulator-approved emergency migration INC-1"), status: 201},
		{method: "POST", path: "/v1/decisions/" + allowed.ID + "/override", body: override("regulator-approved emergency migration INC-1"), status: 409},
		{method: "POST", path: "/v1/decisions/0190d7a0-0000-7000-8000-000000000000/override", body: override("regulator-approved emergency migration INC-1"), status: 404},
		{method: "POST", path: "/v1/decisions/" + denied + "/override", body: override("too short"), status: 422},
		{method: "GET", path: "/v1/audit/checkpoint", status: 200},
		{method: "GET", path: "/v1/audit/keys", status: 200},
		{method: "GET", path: "/v1/audit/log/checkpoint", status: 200},
		{method: "HEAD", path: "/v1/audit/log/checkpoint", status: 200},
		{method: "GET", path: "/v1/audit/log/tile/0/999", status: 404},
		{method: "GET", path: "/v1/audit/entries/1", status: 200},
		{method: "GET", path: "/v1/audit/entries/x", status: 400},
		{method: "GET", path: "/v1/audit/entries/999999", status: 404},
		{method: "GET", path: "/v1/audit/proof/0", status: 200},
		{method: "GET", path: "/v1/audit/proof/0?tree_size=99999999", status: 404},
		{method: "GET", path: "/v1/audit/proof/0?tree_size=abc", status: 400},
		{method: "POST", path: "/v1/admission/validate", token: tokWebhook, body: review, status: 200},
		{method: "POST", path: "/v1/admission/mutate", token: tokWebhook, body: review, status: 200},
		{method: "POST", path: "/v1/admission/validate", token: tokWebhook, body: `{"apiVersion": `, status: 400},
		{method: "POST", path: "/v1/admission/validate", token: "-", body: review, status: 401},
		{method: "GET", path: "/v1/audit/report", status: 200},
		{method: "GET", path: "/v1/audit/report?format=csv", status: 200},
		{method: "GET", path: "/v1/audit/report?format=html", status: 200},
		{method: "GET", path: "/v1/audit/report?format=evidence", status: 200},
		{method: "GET", path: "/v1/audit/report?from=yesterday", status: 422},
		{method: "GET", path: "/v1/drift", status: 200},
		{method: "GET", path: "/v1/drift?until=2099-01-01", status: 200},
		{method: "GET", path: "/v1/drift?until=tomorrow", status: 422},
		{method: "GET", path: "/v1/bundles/status", status: 200},
		{method: "GET", path: "/v1/bundles/site.tar.gz", token: tokSite, status: 200},
		{method: "GET", path: "/v1/bundles/none.tar.gz", token: tokSite, status: 404},
		{method: "POST", path: "/v1/status", token: tokSite, body: string(statusReport("fra-1", "r1")), status: 200},
		{method: "POST", path: "/v1/status", token: tokSite, body: string(statusReport("par-1", "r1")), status: 403},
		{method: "POST", path: "/v1/status", token: tokSite, body: `{"labels": {"id": "fra-1"}, "extra": 1}`, status: 400},
		{method: "POST", path: "/v1/status", token: tokSite, body: `{"labels": {"id": "fra-1", "version": ""}, "sent_at": "2026-01-01T00:00:00Z"}`, status: 422},
		{method: "GET", path: "/v1/fleet", token: tokAuditor, status: 200},
		{method: "GET", path: "/v1/fleet?stale=true&limit=10", status: 200},
		{method: "GET", path: "/v1/fleet?limit=0", status: 422},
		{method: "GET", path: "/v1/fleet", token: tokSite, status: 403},
		{method: "POST", path: "/v1/witness/add-checkpoint", token: "-", contentType: "text/plain", body: "old 0\n\n" + string(otherCheckpoint), status: 200},
		{method: "POST", path: "/v1/witness/add-checkpoint", token: "-", contentType: "text/plain", body: "garbage", status: 400},
		{method: "GET", path: "/v1/witness/key", status: 200},
		{method: "GET", path: "/healthz", token: "-", status: 200},
		{method: "GET", path: "/readyz", token: "-", status: 200},
		{method: "GET", path: "/metrics", token: "-", status: 200},
		{method: "GET", path: "/openapi.yaml", token: "-", status: 200},
	}
	answered := map[string]bool{} // operationId answered with a 2xx
	for _, c := range calls {
		t.Run(c.method+" "+c.path[:min(len(c.path), 60)]+" "+strconv.Itoa(c.status), func(t *testing.T) {
			req, err := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.body != "" {
				req.Header.Set("Content-Type", cmpOr(c.contentType, "application/json"))
			}
			switch tok := cmpOr(c.token, tokAdmin); tok {
			case "-":
			default:
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("%d, want %d: %.300s", resp.StatusCode, c.status, body)
			}
			// OpenAPI 3.0 path parameters cannot hold a slash; the tiles
			// route's {path} does (tile/0/x001/234): match it as one segment.
			find := req
			if rest, ok := strings.CutPrefix(req.URL.Path, "/v1/audit/log/"); ok && strings.Contains(rest, "/") {
				find = req.Clone(req.Context())
				find.URL.Path = "/v1/audit/log/" + strings.ReplaceAll(rest, "/", "_")
			}
			route, params, err := router.FindRoute(find)
			if err != nil {
				t.Fatalf("no operation of openapi.yaml matches: %v", err)
			}
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 resp.StatusCode,
				Header:                 resp.Header,
				Body:                   io.NopCloser(bytes.NewReader(body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
			}
			if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
				t.Fatalf("the answer does not match openapi.yaml (%s %d): %v\nbody: %.500s", route.Operation.OperationID, resp.StatusCode, err, body)
			}
			if resp.StatusCode < 300 {
				answered[route.Operation.OperationID] = true
			}
		})
	}
	var missing []string
	for _, op := range operations(doc) {
		if !answered[op] {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		t.Errorf("operations never answered with a success here, so never checked: %v", missing)
	}
}

// operations lists the operationIds of doc.
func operations(doc *openapi3.T) []string {
	var ops []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops = append(ops, op.OperationID)
		}
	}
	slices.Sort(ops)
	return ops
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("timed out")
}
