package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/report"
	"github.com/sovereign-engine/sovereign/policies"
)

// Principals of the authorization matrix, by bearer token.
const (
	tokAdmin      = "admin-token-0123456789"
	tokAuditor    = "auditor-token-0123456789"
	tokAcme       = "acme-token-0123456789"
	tokKlinikum   = "klinikum-token-0123456789"
	tokAcmeBreak  = "acme-breakglass-token-0123456789"
	tokWebhook    = "webhook-token-0123456789"
	tokSite       = "site-token-0123456789"
	tokNoRole     = "norole-token-0123456789"
	tokUnknown    = "not-configured-token-0123456789"
	tokMalformed  = "Basic YWRtaW46YWRtaW4="
	noCredentials = ""
)

// builtinAuthz is the built-in Cedar policy set, as serve passes it.
func builtinAuthz(t testing.TB) *auth.PolicySet {
	t.Helper()
	sub, err := fs.Sub(policies.Authz, "authz")
	if err != nil {
		t.Fatal(err)
	}
	set, err := auth.CompileFS(sub, "builtin")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func sha(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

func testAuthConfig() *auth.Config {
	return &auth.Config{Tokens: []auth.TokenConfig{
		{Principal: "root", Roles: []string{"admin"}, SHA256: sha(tokAdmin)},
		{Principal: "auditor", Roles: []string{"auditor"}, SHA256: sha(tokAuditor)},
		{Principal: "acme-ci", Tenant: "acme", Roles: []string{"tenant"}, SHA256: sha(tokAcme)},
		{Principal: "klinikum-ci", Tenant: "klinikum", Roles: []string{"tenant"}, SHA256: sha(tokKlinikum)},
		{Principal: "acme-oncall", Tenant: "acme", Roles: []string{"tenant", "break-glass"}, SHA256: sha(tokAcmeBreak)},
		{Principal: "kube-apiserver", Roles: []string{"webhook"}, SHA256: sha(tokWebhook)},
		{Principal: "site-fra-1", Roles: []string{"site"}, Site: "fra-1", SHA256: sha(tokSite)},
		{Principal: "nobody", Roles: []string{"unused"}, SHA256: sha(tokNoRole)},
	}}
}

func newAuthServer(t *testing.T) *testServer {
	t.Helper()
	authn, err := auth.NewAuthenticator(testAuthConfig())
	if err != nil {
		t.Fatal(err)
	}
	bundleDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundleDir, "site.tar.gz"), []byte("bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	return newAdmissionServer(t, func(c *api.Config) {
		c.Auth = authn
		c.ServeBundlesDir = bundleDir
		c.Fleet = &api.FleetConfig{}
	})
}

func (ts *testServer) do(t *testing.T, method, path, token string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case token == noCredentials:
	case strings.Contains(token, " "):
		req.Header.Set("Authorization", token)
	default:
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// deniedDecision makes a decision as admin that is denied, for overrides.
func deniedDecision(t *testing.T, ts *testServer, body string) string {
	t.Helper()
	status, _, b := ts.do(t, http.MethodPost, "/v1/decisions/placement", tokAdmin, []byte(body))
	if status != http.StatusOK {
		t.Fatalf("setup decision: %d %s", status, b)
	}
	var d struct {
		ID      string `json:"decision_id"`
		Allowed bool   `json:"allowed"`
	}
	if err := json.Unmarshal(b, &d); err != nil || d.Allowed {
		t.Fatalf("setup decision is not a deny: %s", b)
	}
	return d.ID
}

// TestAuthorizationMatrix asks every endpoint as every principal and checks
// the status: 401 without valid credentials, 403 where the built-in Cedar
// policies do not permit it (cross-tenant attempts included), 200/201 where
// they do. The expectations are written out, not derived from the policies.
func TestAuthorizationMatrix(t *testing.T) {
	ts := newAuthServer(t)
	acmeDenied := deniedDecision(t, ts, `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["cn-north-1"], "at": "2026-06-01T00:00:00Z"}`)
	klinikumDenied := deniedDecision(t, ts, `{"dataset": "patient-records-de", "operation": "store", "candidates": ["us-east-1"], "at": "2026-06-01T00:00:00Z"}`)
	expires := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	override := []byte(`{"justification": "regulator-approved emergency migration INC-4711", "expires": "` + expires + `"}`)
	review := mustReadFixture(t, "pod-create-undeclared.json")

	type endpoint struct {
		name, method, path string
		body               []byte
	}
	eps := []endpoint{
		{"placement acme dataset", "POST", "/v1/decisions/placement", []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`)},
		{"placement klinikum dataset", "POST", "/v1/decisions/placement", []byte(`{"dataset": "patient-records-de", "operation": "store", "candidates": ["fra-1"]}`)},
		{"placement acme workload", "POST", "/v1/decisions/placement", []byte(`{"workload": "billing-api", "operation": "process", "candidates": ["fra-1"]}`)},
		{"placement klinikum workload", "POST", "/v1/decisions/placement", []byte(`{"workload": "patient-portal", "operation": "process", "candidates": ["fra-1"]}`)},
		{"placement inline acme", "POST", "/v1/decisions/placement", []byte(`{"dataset": {"id": "new", "tenant": "acme", "classification": "internal"}, "operation": "store", "candidates": ["fra-1"]}`)},
		{"placement inline acme workload using klinikum data", "POST", "/v1/decisions/placement", []byte(`{"workload": {"id": "sneaky", "tenant": "acme", "datasets": ["patient-records-de"]}, "operation": "process", "candidates": ["fra-1"]}`)},
		{"placement inline claiming acme id", "POST", "/v1/decisions/placement", []byte(`{"dataset": {"id": "patient-records-de", "tenant": "acme", "classification": "internal"}, "operation": "store", "candidates": ["fra-1"]}`)},
		{"placement inline without tenant", "POST", "/v1/decisions/placement", []byte(`{"dataset": {"id": "new", "classification": "internal"}, "operation": "store", "candidates": ["fra-1"]}`)},
		{"transfer acme", "POST", "/v1/decisions/transfer", []byte(`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "par-1", "type": "replicate"}`)},
		{"transfer klinikum", "POST", "/v1/decisions/transfer", []byte(`{"dataset": "patient-records-de", "from": "fra-1", "to": "par-1", "type": "replicate"}`)},
		{"override acme decision", "POST", "/v1/decisions/" + acmeDenied + "/override", override},
		{"override klinikum decision", "POST", "/v1/decisions/" + klinikumDenied + "/override", override},
		{"admission validate", "POST", "/v1/admission/validate", review},
		{"admission mutate", "POST", "/v1/admission/mutate", review},
		{"audit checkpoint", "GET", "/v1/audit/checkpoint", nil},
		{"audit keys", "GET", "/v1/audit/keys", nil},
		{"audit entry", "GET", "/v1/audit/entries/0", nil},
		{"audit proof", "GET", "/v1/audit/proof/0", nil},
		{"audit tiles", "GET", "/v1/audit/log/checkpoint", nil},
		{"report", "GET", "/v1/audit/report", nil},
		{"report acme", "GET", "/v1/audit/report?tenant=acme", nil},
		{"bundle status", "GET", "/v1/bundles/status", nil},
		{"bundle file", "GET", "/v1/bundles/site.tar.gz", nil},
		{"fleet view", "GET", "/v1/fleet", nil},
		{"status report fra-1", "POST", "/v1/status", statusReport("fra-1", "r1")},
	}
	// Expected status per principal, in the order of eps.
	const (
		ok  = 200
		new = 201
		no  = 403
		who = 401
		bad = 422 // the engine refuses an inline dataset reusing an inventory id
	)
	all := func(s int) []int {
		out := make([]int, len(eps))
		for i := range out {
			out[i] = s
		}
		return out
	}
	expect := map[string][]int{
		//                placement: acme kli  acmeW kliW inl  sneak claim noT  transfer: acme kli  override: acme kli  admission: v  m    audit: cp keys ent proof tiles report acme  bundle: status file  fleet: view report
		tokAdmin:   {ok, ok, ok, ok, ok, ok, bad, ok, ok, ok, new, new, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok},
		tokAuditor: {no, no, no, no, no, no, no, no, no, no, no, no, no, no, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, no},
		// A tenant's services read the tree and their tenant's records
		// (entry 0 is a decision on acme's dataset), not the log or reports.
		tokAcme:       {ok, no, ok, no, ok, no, no, no, ok, no, no, no, no, no, ok, ok, ok, ok, ok, no, no, no, no, no, no},
		tokKlinikum:   {no, ok, no, ok, no, no, no, no, no, ok, no, no, no, no, ok, ok, no, ok, ok, no, no, no, no, no, no},
		tokAcmeBreak:  {ok, no, ok, no, ok, no, no, no, ok, no, new, no, no, no, ok, ok, ok, ok, ok, no, no, no, no, no, no},
		tokWebhook:    {no, no, no, no, no, no, no, no, no, no, no, no, ok, ok, no, no, no, no, no, no, no, no, no, no, no},
		tokSite:       {no, no, no, no, no, no, no, no, no, no, no, no, no, no, no, no, no, no, no, no, no, ok, ok, no, ok},
		tokNoRole:     all(no),
		tokUnknown:    all(who),
		tokMalformed:  all(who),
		noCredentials: all(who),
	}
	refusals := 0
	for tok, want := range expect {
		if len(want) != len(eps) {
			t.Fatalf("%q: %d expectations for %d endpoints", tok, len(want), len(eps))
		}
		for i, ep := range eps {
			name := tok
			if name == "" {
				name = "no credentials"
			}
			t.Run(name+"/"+ep.name, func(t *testing.T) {
				status, h, b := ts.do(t, ep.method, ep.path, tok, ep.body)
				if status != want[i] {
					t.Fatalf("status %d, want %d: %s", status, want[i], b)
				}
				switch status {
				case who:
					if e := decodeError(t, b); e.Code != api.CodeUnauthenticated {
						t.Errorf("code %q", e.Code)
					}
					if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("401 without WWW-Authenticate: %q", h.Get("WWW-Authenticate"))
					}
				case no:
					if e := decodeError(t, b); e.Code != api.CodeForbidden {
						t.Errorf("code %q", e.Code)
					}
				}
			})
			if want[i] == who || want[i] == no {
				refusals++
			}
		}
	}

	// Every refusal is counted and recorded as an access.denied record.
	status, body := ts.get(t, "/metrics")
	if status != http.StatusOK || !strings.Contains(string(body), "sovereign_access_denied_total") {
		t.Fatalf("metrics: %d, no sovereign_access_denied_total", status)
	}
	var counted float64
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "sovereign_access_denied_total{") {
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			counted += v
		}
	}
	if int(counted) != refusals {
		t.Errorf("metrics count %v refusals, want %d", counted, refusals)
	}
	recs := accessRecords(t, ts.audit, refusals)
	var unauth, forbidden int
	for _, r := range recs {
		var res struct {
			Status int    `json:"status"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(r.Result, &res); err != nil || res.Reason == "" {
			t.Fatalf("access record result %s", r.Result)
		}
		switch res.Status {
		case 401:
			unauth++
			if r.Principal != "unauthenticated" {
				t.Errorf("401 record principal %q", r.Principal)
			}
		case 403:
			forbidden++
			if !strings.HasPrefix(r.Principal, `Sovereign::Principal::"`) {
				t.Errorf("403 record principal %q", r.Principal)
			}
		}
		if strings.Contains(string(r.Request), "token") {
			t.Errorf("access record holds a token: %s", r.Request)
		}
	}
	if unauth+forbidden != refusals || unauth != 3*len(eps) {
		t.Errorf("records: %d unauthenticated, %d forbidden; want %d in all, %d unauthenticated", unauth, forbidden, refusals, 3*len(eps))
	}
}

// accessRecords reads the access.denied records of the log, waiting until
// want of them are there (a refusal is answered before its record lands).
func accessRecords(t *testing.T, l *audit.Log, want int) []*audit.Record {
	t.Helper()
	recs := recordsOfKind(t, l, audit.KindAccessDenied, want)
	if len(recs) != want {
		t.Fatalf("%d access.denied records, want %d", len(recs), want)
	}
	return recs
}

// recordsOfKind reads the records of one kind in the log, waiting up to 10 s
// for want of them (a record is readable once the checkpoint covering it is
// published); it returns what is there then.
func recordsOfKind(t *testing.T, l *audit.Log, kind audit.Kind, want int) []*audit.Record {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		size, err := l.Size(ctx)
		if err != nil {
			t.Fatal(err)
		}
		src, err := audit.NewSource(l.Dir())
		if err != nil {
			t.Fatal(err)
		}
		var recs []*audit.Record
		for e, err := range audit.Entries(ctx, src, size, 0, size) {
			if err != nil {
				t.Fatal(err)
			}
			env, err := audit.DecodeEnvelope(e.Data)
			if err != nil {
				t.Fatal(err)
			}
			r, err := env.Record()
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind == kind {
				recs = append(recs, r)
			}
		}
		if len(recs) >= want || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPublicRoutesNeedNoCredentials(t *testing.T) {
	ts := newAuthServer(t)
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.yaml"} {
		if status, _, b := ts.do(t, http.MethodGet, p, noCredentials, nil); status != http.StatusOK {
			t.Errorf("%s: %d %s", p, status, b)
		}
	}
	if status, _, _ := ts.do(t, http.MethodGet, "/v1/nowhere", noCredentials, nil); status != http.StatusNotFound {
		t.Errorf("unknown route: %d", status)
	}
}

// TestEveryRouteHasAnAuthorizationRule: with credentials configured, a route
// with no rule is refused (fail closed); this test makes sure none is left
// without one, so none answers 403 "no_rule" to an admin.
func TestEveryRouteHasAnAuthorizationRule(t *testing.T) {
	ts := newAuthServer(t)
	for _, r := range ts.api.Routes() {
		path := strings.NewReplacer(":index", "0", ":name", "site.tar.gz", ":id", "0193e0a2-0000-7000-8000-000000000000", "*path", "checkpoint").Replace(r.Path)
		status, _, b := ts.do(t, r.Method, path, tokAdmin, nil)
		if status == http.StatusForbidden || status == http.StatusUnauthorized {
			t.Errorf("%s %s as admin: %d %s", r.Method, r.Path, status, b)
		}
	}
}

func TestOverride(t *testing.T) {
	ts := newAuthServer(t)
	denied := deniedDecision(t, ts, `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["cn-north-1"], "at": "2026-06-01T00:00:00Z"}`)
	status, _, b := ts.do(t, http.MethodPost, "/v1/decisions/placement", tokAdmin, []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"], "at": "2026-06-01T00:00:00Z"}`))
	if status != http.StatusOK {
		t.Fatal(string(b))
	}
	var allowed struct {
		ID string `json:"decision_id"`
	}
	_ = json.Unmarshal(b, &allowed)
	soon := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	body := func(justification, expires string) []byte {
		return []byte(fmt.Sprintf(`{"justification": %q, "expires": %q, "ticket": "INC-4711"}`, justification, expires))
	}
	good := "regulator-approved emergency migration INC-4711"

	t.Run("bad input names the field and records nothing", func(t *testing.T) {
		before, _ := ts.audit.Size(context.Background())
		tests := []struct {
			body []byte
			code int
			path string
		}{
			{body("too short", soon), 422, "justification"},
			{body(good, ""), 422, "expires"},
			{body(good, "tomorrow"), 422, "expires"},
			{body(good, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)), 422, "expires"},
			{body(good, time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339)), 422, "expires"},
			{[]byte(`{"justification": "` + good + `", "expires": "` + soon + `", "approved": true}`), 400, "approved"},
		}
		for _, tt := range tests {
			status, _, b := ts.do(t, http.MethodPost, "/v1/decisions/"+denied+"/override", tokAcmeBreak, tt.body)
			if status != tt.code {
				t.Fatalf("%s: %d %s", tt.body, status, b)
			}
			e := decodeError(t, b)
			if len(e.Details) == 0 || e.Details[0].Path != tt.path {
				t.Errorf("%s: details %+v, want path %s", tt.body, e.Details, tt.path)
			}
		}
		after, _ := ts.audit.Size(context.Background())
		if after != before {
			t.Errorf("refused overrides appended %d records", after-before)
		}
	})
	t.Run("not found and not overridable", func(t *testing.T) {
		for path, want := range map[string]int{
			"/v1/decisions/not-a-uuid/override":                           404,
			"/v1/decisions/0193e0a2-0000-7000-8000-000000000000/override": 404,
			"/v1/decisions/" + allowed.ID + "/override":                   409,
		} {
			if status, _, b := ts.do(t, http.MethodPost, path, tokAdmin, body(good, soon)); status != want {
				t.Errorf("%s: %d, want %d: %s", path, status, want, b)
			}
		}
	})
	t.Run("recorded, linked, and in the report", func(t *testing.T) {
		status, _, b := ts.do(t, http.MethodPost, "/v1/decisions/"+denied+"/override", tokAcmeBreak, body(good, soon))
		if status != http.StatusCreated {
			t.Fatalf("%d %s", status, b)
		}
		var o api.OverrideResponse
		if err := json.Unmarshal(b, &o); err != nil || o.Overrides != denied || o.Kind != "placement" {
			t.Fatalf("answer %s", b)
		}
		e, err := ts.audit.Entry(context.Background(), o.Audit.Index)
		if err != nil {
			t.Fatal(err)
		}
		r := e.Record
		if r.Kind != audit.KindOverride || r.ID != o.OverrideID || len(r.Links) != 1 || r.Links[0] != (audit.Link{Rel: "overrides", ID: denied}) {
			t.Fatalf("record %+v", r)
		}
		if r.Principal != `Sovereign::Principal::"acme-oncall" in Sovereign::Tenant::"acme"` || report.TenantOf(r.Principal) != "acme" {
			t.Errorf("principal %q (reports attribute it to tenant %q)", r.Principal, report.TenantOf(r.Principal))
		}
		if !strings.Contains(string(r.Request), "INC-4711") {
			t.Errorf("request %s", r.Request)
		}
		status, _, rep := ts.do(t, http.MethodGet, "/v1/audit/report?kind=override", tokAuditor, nil)
		if status != http.StatusOK {
			t.Fatalf("report: %d %s", status, rep)
		}
		if !bytes.Contains(rep, []byte(o.OverrideID)) || !bytes.Contains(rep, []byte(denied)) {
			t.Errorf("report does not list the override and what it overrides")
		}
	})
}

// fakeAddrListener reports an address it is not bound to: Serve's refusal to
// run unauthenticated off loopback is checked without binding anything.
type fakeAddrListener struct {
	net.Listener
	addr net.Addr
}

func (l fakeAddrListener) Addr() net.Addr { return l.addr }

func TestNoCredentialsMeansLoopbackOnly(t *testing.T) {
	ts := newTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	public := fakeAddrListener{ln, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8181}}
	err = ts.api.Serve(context.Background(), public, time.Second)
	if !errors.Is(err, api.ErrNoCredentialsOffLoopback) {
		t.Fatalf("Serve on 10.1.2.3 without credentials: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.api.Serve(ctx, ln, time.Second) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/v1/bundles/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("loopback without credentials: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// IsLoopback is the one test of "loopback" for listeners, --addr flags and
// URLs alike.
func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8181":  true,
		"127.8.9.10:80":   true,
		"[::1]:8181":      true,
		"localhost:8181":  true,
		"localhost":       true, // a URL's Hostname
		"127.0.0.1":       true,
		"::1":             true,
		":8181":           false, // every interface
		"0.0.0.0:8181":    false,
		"[::]:8181":       false,
		"10.1.2.3:8181":   false,
		"example.com:443": false,
		"localhost.evil":  false,
		"":                false,
	} {
		if got := api.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
