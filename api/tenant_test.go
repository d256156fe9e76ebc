package api_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/report"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// Principals of the tenant isolation tests, beyond those of the matrix.
const (
	tokAcmeAdmin   = "acme-admin-token-0123456789"   // tenant acme, roles [admin]: issue #19's reproduction
	tokAcmeAuditor = "acme-auditor-token-0123456789" // tenant acme, roles [auditor]
	anonymousLoop  = "anonymous (no --auth-config, loopback)"
)

func tenantAuthConfig() *auth.Config {
	c := testAuthConfig()
	c.Tokens = append(c.Tokens,
		auth.TokenConfig{Principal: "acme-admin", Tenant: "acme", Roles: []string{"admin"}, SHA256: sha(tokAcmeAdmin)},
		auth.TokenConfig{Principal: "acme-auditor", Tenant: "acme", Roles: []string{"auditor"}, SHA256: sha(tokAcmeAuditor)},
	)
	return c
}

// newLogServer serves the log in dataDir ("" for a new one), with
// credentials unless authz is nil and withAuth false.
func newLogServer(t *testing.T, dataDir string, withAuth bool, authz *auth.PolicySet) *testServer {
	t.Helper()
	ctx := context.Background()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, p, inv)
	if err != nil {
		t.Fatal(err)
	}
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	l, err := audit.Open(ctx, audit.Options{DataDir: dataDir, Origin: "sovereign/test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	cfg := api.Config{Engine: eng, Audit: l}
	if withAuth {
		authn, err := auth.NewAuthenticator(tenantAuthConfig())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Auth = authn
		cfg.DefaultAuthz = authz
		if authz == nil {
			cfg.DefaultAuthz = builtinAuthz(t)
		}
	}
	s, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, audit: l, api: s}
}

// decide makes a placement decision as tok and returns its log index.
func decide(t *testing.T, ts *testServer, tok, body string) uint64 {
	t.Helper()
	status, _, b := ts.do(t, http.MethodPost, "/v1/decisions/placement", tok, []byte(body))
	if status != http.StatusOK {
		t.Fatalf("decision %s: %d %s", body, status, b)
	}
	var d struct {
		Audit struct {
			Index uint64 `json:"index"`
		} `json:"audit"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d.Audit.Index
}

// tenantRecords are the records of TestTenantIsolation by whom they belong to.
type tenantRecords struct {
	acme, klinikum, both, none uint64
}

// readers is who reads, and what each may read: "all" (the whole log),
// a tenant's name (the tree, that tenant's records alone, its reports if
// reports is set), or "tree" (the tree and its tenant's records, no reports).
var readers = []struct {
	tok, tenant string
	whole       bool // reads the whole log: entry bundles, every record, every report
	reports     bool // exports its own tenant's report
}{
	{tokAdmin, "", true, true},
	{tokAuditor, "", true, true},
	{anonymousLoop, "", true, true},
	{tokAcmeAdmin, "acme", false, true},
	{tokAcmeAuditor, "acme", false, true},
	{tokAcme, "acme", false, false},
	{tokKlinikum, "klinikum", false, false},
}

// TestTenantIsolation reads every record by every read route as every kind of
// principal: a tenant's principal (admin, auditor or service) reads the tree
// and the records of its tenant alone, never another tenant's, one shared
// with another tenant, or one of no tenant; principals without a tenant read
// everything (issue #19 item 2).
func TestTenantIsolation(t *testing.T) {
	secured := newLogServer(t, "", true, nil)
	var recs tenantRecords
	recs.acme = decide(t, secured, tokAcme, `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`)
	recs.klinikum = decide(t, secured, tokAdmin, `{"dataset": "patient-records-de", "operation": "store", "candidates": ["us-east-1"]}`)
	recs.both = decide(t, secured, tokAdmin, `{"workload": {"id": "joint", "datasets": ["customer-pii-eu", "patient-records-de"]}, "operation": "process", "candidates": ["fra-1"]}`)
	recs.none = decide(t, secured, tokAdmin, `{"dataset": {"id": "scratch", "classification": "internal"}, "operation": "store", "candidates": ["fra-1"]}`)

	// The records name their tenants, from the inventory for datasets named
	// by id (issue #20: reports no longer say "(unknown)").
	for idx, want := range map[uint64][]string{recs.acme: {"acme"}, recs.klinikum: {"klinikum"}, recs.both: {"acme", "klinikum"}, recs.none: nil} {
		e, err := secured.audit.Entry(context.Background(), idx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(e.Record.Tenants, want) {
			t.Errorf("record %d names tenants %q, want %q", idx, e.Record.Tenants, want)
		}
	}
	for _, r := range readers {
		ts := secured
		if r.tok == anonymousLoop {
			ts = anonymousView(t, secured)
		}
		t.Run(r.tok, func(t *testing.T) { checkReader(t, ts, r.tok, r.tenant, r.whole, r.reports, recs) })
	}
}

// anonymousView serves the same log without credentials, as `serve` does on
// loopback without --auth-config.
func anonymousView(t *testing.T, secured *testServer) *testServer {
	t.Helper()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(api.Config{Engine: eng, Audit: secured.audit})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, audit: secured.audit, api: s}
}

// checkReader asks every read route as tok, of tenant (none: ""), and checks
// what it gets.
func checkReader(t *testing.T, ts *testServer, tok, tenant string, whole, reports bool, recs tenantRecords) {
	if tok == anonymousLoop {
		tok = noCredentials
	}
	status := func(method, path string) (int, []byte) {
		t.Helper()
		s, _, b := ts.do(t, method, path, tok, nil)
		return s, b
	}
	want := func(name string, ok bool, method, path string) []byte {
		t.Helper()
		s, b := status(method, path)
		w := http.StatusForbidden
		if ok {
			w = http.StatusOK
		}
		if s != w {
			t.Errorf("%s (%s %s): %d, want %d: %.300s", name, method, path, s, w, b)
		}
		if s == http.StatusForbidden && method != http.MethodHead && decodeError(t, b).Code != api.CodeForbidden {
			t.Errorf("%s: %s", name, b)
		}
		return b
	}
	// The tree: checkpoint, keys, hash tiles, inclusion proofs. Everyone
	// who reads anything of the log reads it.
	want("checkpoint", true, "GET", "/v1/audit/checkpoint")
	want("keys", true, "GET", "/v1/audit/keys")
	_, cp := status("GET", "/v1/audit/log/checkpoint")
	size := checkpointSize(t, cp)
	want("tiles: checkpoint", true, "GET", "/v1/audit/log/checkpoint")
	want("tiles: hash tile", true, "GET", fmt.Sprintf("/v1/audit/log/tile/0/000.p/%d", size))
	want("tiles: hash tile (HEAD)", true, "HEAD", fmt.Sprintf("/v1/audit/log/tile/0/000.p/%d", size))
	// The entry bundles hold every record: the whole log's readers only.
	want("tiles: entry bundle", whole, "GET", fmt.Sprintf("/v1/audit/log/tile/entries/000.p/%d", size))
	want("tiles: entry bundle (HEAD)", whole, "HEAD", fmt.Sprintf("/v1/audit/log/tile/entries/000.p/%d", size))
	// Record bodies (version-2 records too large for an entry) hold a
	// record's request and result, of any tenant: the whole log's readers
	// only, refused to a tenant before it is found missing or not.
	if s, _ := status("GET", "/v1/audit/log/bodies/"+strings.Repeat("ab", 32)); whole && s != http.StatusNotFound || !whole && s != http.StatusForbidden {
		t.Errorf("tiles: a record body: %d", s)
	}
	// A path that names nothing is the log's, not the tree's: refused to a
	// tenant before it is found missing.
	if s, _ := status("GET", "/v1/audit/log/tile/0/../entries/000.p/1"); whole && s != http.StatusNotFound || !whole && s != http.StatusForbidden {
		t.Errorf("tiles: a path that names nothing: %d", s)
	}
	for name, idx := range map[string]uint64{"acme": recs.acme, "klinikum": recs.klinikum, "both": recs.both, "none": recs.none} {
		mine := whole || name == tenant
		b := want("entry of "+name, mine, "GET", fmt.Sprintf("/v1/audit/entries/%d", idx))
		if mine {
			var e audit.EntryProof
			if err := json.Unmarshal(b, &e); err != nil || e.Index != idx || e.Record == nil {
				t.Errorf("entry %d: %v %.200s", idx, err, b)
			}
		} else if bytes.Contains(b, []byte(`"kind"`)) || bytes.Contains(b, []byte("decision")) {
			t.Errorf("a refused entry says something of the record: %s", b)
		}
		// Proofs are the tree's: hashes only.
		want("proof of "+name, true, "GET", fmt.Sprintf("/v1/audit/proof/%d", idx))
	}
	// An index past the log is a 404 for everyone who may read records.
	if s, _ := status("GET", "/v1/audit/entries/999999"); s != http.StatusNotFound {
		t.Errorf("entry past the log: %d", s)
	}

	// Reports: the whole log's only for whole readers; a tenant's own report
	// for its admins and auditors, confined to its records alone.
	want("report of the log", whole, "GET", "/v1/audit/report?format=json")
	for _, other := range []string{"acme", "klinikum"} {
		mayReport := whole || reports && other == tenant
		b := want("report of "+other, mayReport, "GET", "/v1/audit/report?format=json&tenant="+other)
		if !mayReport {
			continue
		}
		got := reportIndexes(t, b)
		wantIdx := []uint64{recs.acme, recs.both}
		if other == "klinikum" {
			wantIdx = []uint64{recs.klinikum, recs.both}
		}
		if !whole {
			wantIdx = wantIdx[:1] // a tenant's report leaves out records shared with another tenant
		}
		if !slices.Equal(got, wantIdx) {
			t.Errorf("report of %s holds records %v, want %v", other, got, wantIdx)
		}
	}
	// The evidence pack of a tenant holds its records with their proofs,
	// and nothing else; it verifies offline.
	if reports && tenant != "" {
		s, _, pack := ts.do(t, "GET", "/v1/audit/report?format=evidence&tenant="+tenant, tok, nil)
		if s != http.StatusOK {
			t.Fatalf("evidence: %d %s", s, pack)
		}
		got := packTenants(t, pack)
		if _, ok := got[recs.acme]; !ok {
			t.Errorf("%s's evidence pack lacks its record %d", tenant, recs.acme)
		}
		for idx, tenants := range got {
			if !audit.OnlyTenant(tenants, tenant) {
				t.Errorf("%s's evidence pack holds entry %d of %q", tenant, idx, tenants)
			}
		}
		if _, err := report.VerifyEvidence(context.Background(), bytes.NewReader(pack), nil, nil); err != nil {
			t.Errorf("%s's evidence pack does not verify: %v", tenant, err)
		}
	}
}

func checkpointSize(t *testing.T, cp []byte) uint64 {
	t.Helper()
	lines := strings.SplitN(string(cp), "\n", 3)
	var n uint64
	if len(lines) < 2 {
		t.Fatalf("checkpoint %q", cp)
	}
	if _, err := fmt.Sscan(lines[1], &n); err != nil {
		t.Fatalf("checkpoint %q: %v", cp, err)
	}
	return n
}

// reportIndexes are the indexes of the decision records of a JSON report.
func reportIndexes(t *testing.T, b []byte) []uint64 {
	t.Helper()
	var rep struct {
		Records []report.Row `json:"records"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report: %v %.300s", err, b)
	}
	var out []uint64
	for _, r := range rep.Records {
		if r.Kind == audit.KindPlacement {
			out = append(out, r.Index)
		}
	}
	return out
}

// packTenants are the entries of an evidence pack: to whom each belongs, by
// index.
func packTenants(t *testing.T, pack []byte) map[uint64][]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(pack))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[uint64][]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h.Name, report.EvidenceRecordsDir) {
			continue
		}
		b, _ := io.ReadAll(tr)
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var l report.EvidenceLine
			if err := json.Unmarshal(line, &l); err != nil {
				t.Fatal(err)
			}
			env, err := audit.DecodeEnvelope(l.Entry)
			if err != nil {
				t.Fatal(err)
			}
			r, err := env.Record()
			if err != nil {
				t.Fatal(err)
			}
			out[l.Index] = r.BelongsTo()
		}
	}
}

// TestTenantBoundaryHoldsWhateverThePolicies: a policy set that lets admins
// do anything (a bundle's set written before records named tenants, or one
// without the guards) still does not open the log to a tenant's admin.
func TestTenantBoundaryHoldsWhateverThePolicies(t *testing.T) {
	sub, err := fs.Sub(policies.Authz, "authz")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := fs.ReadFile(sub, auth.SchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	permissive, err := auth.Compile(auth.Documents{Schema: string(schema), Policies: map[string]string{
		"open.cedar": `@id("admin-all") permit (principal in Sovereign::Role::"admin", action, resource);`,
	}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ts := newLogServer(t, "", true, permissive)
	klinikum := decide(t, ts, tokAdmin, `{"dataset": "patient-records-de", "operation": "store", "candidates": ["fra-1"]}`)
	acme := decide(t, ts, tokAdmin, `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`)
	for path, want := range map[string]int{
		fmt.Sprintf("/v1/audit/entries/%d", klinikum): http.StatusForbidden,
		fmt.Sprintf("/v1/audit/entries/%d", acme):     http.StatusOK,
		"/v1/audit/log/tile/entries/000.p/2":          http.StatusForbidden,
		"/v1/audit/report":                            http.StatusForbidden,
		"/v1/audit/report?tenant=klinikum":            http.StatusForbidden,
		"/v1/audit/report?tenant=acme":                http.StatusOK,
	} {
		status, _, b := ts.do(t, http.MethodGet, path, tokAcmeAdmin, nil)
		if status != want {
			t.Errorf("%s: %d, want %d: %.300s", path, status, want, b)
		}
		if status == http.StatusForbidden && !strings.Contains(string(b), "tenant") {
			t.Errorf("%s: the refusal does not say why: %s", path, b)
		}
	}
}

// TestPreTenantLogIsolation serves a log written before records named their
// tenants (testdata/audit/prechange-log): its records belong to the tenant of
// a tenant-scoped principal, else to none, which only principals without a
// tenant read. Its README lists them.
func TestPreTenantLogIsolation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(dir, os.DirFS("../testdata/audit/prechange-log")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"signing.key", "log.key"} {
		if err := os.Chmod(filepath.Join(dir, k), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ts := newLogServer(t, dir, true, nil)
	owner := map[uint64]string{0: "acme", 1: "acme", 2: "klinikum", 7: "acme", 9: "acme"} // others: none
	for i := uint64(0); i < 12; i++ {
		for _, r := range []struct{ tok, tenant string }{{tokAdmin, ""}, {tokAuditor, ""}, {tokAcmeAdmin, "acme"}, {tokAcme, "acme"}, {tokKlinikum, "klinikum"}} {
			want := http.StatusForbidden
			if r.tenant == "" || owner[i] == r.tenant {
				want = http.StatusOK
			}
			status, _, b := ts.do(t, http.MethodGet, fmt.Sprintf("/v1/audit/entries/%d", i), r.tok, nil)
			if status != want {
				t.Errorf("entry %d as %s: %d, want %d: %.200s", i, r.tok, status, want, b)
			}
		}
	}
	// A report of acme by its admin holds acme's records alone.
	status, _, b := ts.do(t, http.MethodGet, "/v1/audit/report?format=json&tenant=acme", tokAcmeAdmin, nil)
	if status != http.StatusOK {
		t.Fatalf("report: %d %s", status, b)
	}
	var rep struct {
		Records []report.Row `json:"records"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, r := range rep.Records {
		if r.Index < 12 { // after them: this test's own refusals, of acme's principals
			got = append(got, r.Index)
		}
	}
	if !slices.Equal(got, []uint64{0, 1, 7, 9}) {
		t.Errorf("acme's report of the old log holds %v, want [0 1 7 9]", got)
	}
}

// TestRecordsNameTheirTenants: every kind of record the API writes names the
// tenants it belongs to (docs/audit.md): a decision the owners of its data and
// the caller's tenant, an admission the owners of the declared data, an
// override the decision's, a refusal the refused caller's tenant only.
func TestRecordsNameTheirTenants(t *testing.T) {
	authn, err := auth.NewAuthenticator(tenantAuthConfig())
	if err != nil {
		t.Fatal(err)
	}
	ts := newAdmissionServer(t, func(c *api.Config) { c.Auth = authn })
	denied := deniedDecision(t, ts, `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["cn-north-1"], "at": "2026-06-01T00:00:00Z"}`)
	byAdmin := decide(t, ts, tokAdmin, `{"dataset": "patient-records-de", "operation": "store", "candidates": ["fra-1"]}`)
	inline := decide(t, ts, tokAcme, `{"dataset": {"id": "scratch", "tenant": "acme", "classification": "internal"}, "operation": "store", "candidates": ["fra-1"]}`)
	status, _, b := ts.do(t, http.MethodPost, "/v1/admission/validate", tokWebhook, mustReadFixture(t, "pod-update-pinned.json"))
	if status != http.StatusOK {
		t.Fatalf("admission: %d %s", status, b)
	}
	status, _, b = ts.do(t, http.MethodPost, "/v1/decisions/"+denied+"/override", tokAcmeBreak,
		[]byte(`{"justification": "regulator-approved emergency migration INC-4711", "expires": "`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`))
	if status != http.StatusCreated {
		t.Fatalf("override: %d %s", status, b)
	}
	// acme-ci tries klinikum's dataset: the refusal is acme's alone.
	if status, _, b := ts.do(t, http.MethodPost, "/v1/decisions/placement", tokAcme, []byte(`{"dataset": "patient-records-de", "operation": "store", "candidates": ["fra-1"]}`)); status != http.StatusForbidden {
		t.Fatalf("cross-tenant decision: %d %s", status, b)
	}
	recs := accessRecords(t, ts.audit, 1)
	if !slices.Equal(recs[0].Tenants, []string{"acme"}) {
		t.Errorf("refusal of acme-ci on klinikum's dataset names %q, want [acme]", recs[0].Tenants)
	}
	size, err := ts.audit.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[audit.Kind][]string{}
	for i := uint64(0); i < size; i++ {
		e, err := ts.audit.Entry(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i == byAdmin:
			if !slices.Equal(e.Record.Tenants, []string{"klinikum"}) {
				t.Errorf("an operator's decision on klinikum's dataset names %q", e.Record.Tenants)
			}
		case i == inline:
			if !slices.Equal(e.Record.Tenants, []string{"acme"}) {
				t.Errorf("acme-ci's decision on its inline dataset names %q", e.Record.Tenants)
			}
		default:
			kinds[e.Record.Kind] = e.Record.Tenants
		}
	}
	for kind, want := range map[audit.Kind][]string{
		audit.KindPlacement:    {"acme"},
		audit.KindAdmission:    {"acme"},
		audit.KindOverride:     {"acme"},
		audit.KindAccessDenied: {"acme"},
	} {
		if got, ok := kinds[kind]; !ok || !slices.Equal(got, want) {
			t.Errorf("%s record names %q (present: %v), want %q", kind, got, ok, want)
		}
	}
}
