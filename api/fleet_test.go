package api_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/witness"
	"github.com/sovereign-engine/sovereign/fleet"
)

// statusReport is a well-formed status report of site running revision of
// site.tar.gz.
func statusReport(site, revision string) []byte {
	return statusReportWith(site, revision, "", nil)
}

func statusReportWith(site, revision, etag string, change func(*fleet.Report)) []byte {
	r := fleet.Report{
		Labels: fleet.Labels{ID: site, Version: "test"},
		Bundles: map[string]fleet.BundleStatus{"site.tar.gz": {
			Name: "site.tar.gz", ActiveRevision: revision, ActiveDigest: "digest-" + revision, ActiveETag: etag,
			LastSuccessfulActivation: time.Now().UTC(),
		}},
		Inventory:  fleet.InventoryStatus{Revision: "inv-1"},
		Checkpoint: &fleet.Checkpoint{Origin: "sovereign/" + site, Size: 3, RootHash: base64.StdEncoding.EncodeToString(make([]byte, 32))},
		Metrics:    fleet.Metrics{Decisions: 7, Denials: 2},
		Log:        fleet.LogHealth{Healthy: true},
		SentAt:     time.Now().UTC(),
	}
	if change != nil {
		change(&r)
	}
	b, _ := json.Marshal(r)
	return b
}

// publishTarball writes a bundle tarball whose .manifest names revision, as
// the control plane serves it, and returns its ETag (its SHA-256).
func publishTarball(t *testing.T, dir, name, revision string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	manifest := []byte(`{"revision": "` + revision + `"}`)
	if err := tw.WriteHeader(&tar.Header{Name: "/.manifest", Mode: 0o644, Size: int64(len(manifest))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(manifest)
	tw.Close()
	gz.Close()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:])
}

// fleetServer is a control plane with credentials: admin, auditor, a site
// credential bound to fra-1, one of no site, and a tenant's.
func fleetServer(t *testing.T, fc api.FleetConfig) (*testServer, string) {
	t.Helper()
	c := &auth.Config{Tokens: []auth.TokenConfig{
		{Principal: "root", Roles: []string{"admin"}, SHA256: sha(tokAdmin)},
		{Principal: "auditor", Roles: []string{"auditor"}, SHA256: sha(tokAuditor)},
		{Principal: "site-fra-1", Roles: []string{"site"}, Site: "fra-1", SHA256: sha(tokSite)},
		{Principal: "any-site", Roles: []string{"site"}, SHA256: sha(tokNoRole)},
		{Principal: "acme-ci", Tenant: "acme", Roles: []string{"tenant"}, SHA256: sha(tokAcme)},
	}}
	authn, err := auth.NewAuthenticator(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	publishTarball(t, dir, "site.tar.gz", "r1")
	ts := newTestServer(t, func(cfg *api.Config) {
		cfg.Auth = authn
		cfg.ServeBundlesDir = dir
		cfg.Fleet = &fc
	})
	return ts, dir
}

// The refusals of POST /v1/status: every one names the field, the role or
// the site at fault, and none changes the fleet.
func TestStatusReportRefusals(t *testing.T) {
	ts, _ := fleetServer(t, api.FleetConfig{})
	huge := statusReportWith("fra-1", "r1", "", func(r *fleet.Report) { r.Log.Error = strings.Repeat("x", fleet.MaxReportBytes) })
	for _, c := range []struct {
		name   string
		token  string
		body   []byte
		status int
		code   string
		path   string
	}{
		{"unknown field", tokSite, []byte(`{"labels": {"id": "fra-1", "version": "1"}, "colour": "red"}`), 400, api.CodeUnknownField, "colour"},
		{"wrong type", tokSite, []byte(`{"labels": {"id": 7}}`), 422, api.CodeInvalidRequest, "labels.id"},
		{"trailing data", tokSite, append(statusReport("fra-1", "r1"), []byte(` {}`)...), 400, api.CodeTrailingData, ""},
		{"bad site id", tokNoRole, statusReport("fra 1", "r1"), 422, api.CodeInvalidRequest, "labels.id"},
		{"bad root hash", tokSite, statusReportWith("fra-1", "r1", "", func(r *fleet.Report) { r.Checkpoint.RootHash = "xyz" }), 422, api.CodeInvalidRequest, "checkpoint.root_hash"},
		{"no sent_at", tokSite, statusReportWith("fra-1", "r1", "", func(r *fleet.Report) { r.SentAt = time.Time{} }), 422, api.CodeInvalidRequest, "sent_at"},
		{"too large", tokSite, huge, 413, api.CodeBodyTooLarge, ""},
		{"another site's report", tokSite, statusReport("par-1", "r1"), 403, api.CodeForbidden, ""},
		{"auditor", tokAuditor, statusReport("fra-1", "r1"), 403, api.CodeForbidden, ""},
		{"tenant", tokAcme, statusReport("fra-1", "r1"), 403, api.CodeForbidden, ""},
		{"no credentials", noCredentials, statusReport("fra-1", "r1"), 401, api.CodeUnauthenticated, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, b := ts.do(t, http.MethodPost, "/v1/status", c.token, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, b)
			}
			e := decodeError(t, b)
			if e.Code != c.code {
				t.Fatalf("code %q, want %q: %s", e.Code, c.code, b)
			}
			if c.path != "" && (len(e.Details) == 0 || e.Details[0].Path != c.path) {
				t.Fatalf("details %+v, want the field %q", e.Details, c.path)
			}
		})
	}
	status, _, b := ts.do(t, http.MethodGet, "/v1/fleet", tokAdmin, nil)
	var page fleet.Page
	if status != 200 || json.Unmarshal(b, &page) != nil || page.Summary.Sites != 0 {
		t.Fatalf("a refused report changed the fleet: %d %s", status, b)
	}
	// The site-bound credential's refusal is an access.denied record that
	// says why.
	var found bool
	for _, r := range recordsOfKind(t, ts.audit, audit.KindAccessDenied, 4) {
		if strings.Contains(string(r.Result), `"reason_code":"site_binding"`) {
			found = true
		}
	}
	if !found {
		t.Fatal("no access.denied record with reason_code site_binding")
	}
}

// GET /v1/fleet: auditors and admins read it, its query is checked, and it
// shows each site against what is published, with the change records and
// gauges that go with it.
func TestFleetView(t *testing.T) {
	ts, dir := fleetServer(t, api.FleetConfig{StaleAfter: time.Hour, LagAfter: time.Nanosecond})
	for _, q := range []string{"?stale=maybe", "?limit=0", "?limit=5000", "?colour=red", "?cursor=%21%21", "?stale=true&stale=false"} {
		status, _, b := ts.do(t, http.MethodGet, "/v1/fleet"+q, tokAuditor, nil)
		if status != 422 || len(decodeError(t, b).Details) == 0 {
			t.Errorf("%s: %d %s, want 422 with the parameter named", q, status, b)
		}
	}
	if status, _, _ := ts.do(t, http.MethodGet, "/v1/fleet", tokSite, nil); status != 403 {
		t.Fatalf("a site read the fleet view: %d", status)
	}

	// fra-1 runs r1, published; any-site reports b-1 on r0.
	etag1 := publishTarball(t, dir, "site.tar.gz", "r1")
	for _, r := range []struct {
		tok  string
		body []byte
	}{
		{tokSite, statusReportWith("fra-1", "r1", `"`+etag1+`"`, nil)},
		{tokNoRole, statusReport("b-1", "r0")},
	} {
		if status, _, b := ts.do(t, http.MethodPost, "/v1/status", r.tok, r.body); status != 200 {
			t.Fatalf("report: %d %s", status, b)
		}
	}
	if err := ts.api.SweepFleet(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, _, b := ts.do(t, http.MethodGet, "/v1/fleet", tokAuditor, nil)
	var page fleet.Page
	if status != 200 || json.Unmarshal(b, &page) != nil {
		t.Fatalf("fleet view: %d %s", status, b)
	}
	if page.Summary != (fleet.Summary{Sites: 2, Lagging: 1}) || len(page.Sites) != 2 {
		t.Fatalf("fleet %+v", page)
	}
	b1, fra := page.Sites[0], page.Sites[1]
	if fra.ID != "fra-1" || fra.Behind || fra.Lagging || fra.Bundles[0].PublishedRevision != "r1" || fra.Decisions != 7 || fra.Principal != `Sovereign::Principal::"site-fra-1"` {
		t.Fatalf("fra-1 %+v", fra)
	}
	if fra.Checkpoint == nil || fra.Checkpoint.Witness != fleet.WitnessUnknown {
		t.Fatalf("without a witness the checkpoint must be unknown: %+v", fra.Checkpoint)
	}
	if b1.ID != "b-1" || !b1.Behind || !b1.Lagging {
		t.Fatalf("b-1 %+v", b1)
	}
	status, _, b = ts.do(t, http.MethodGet, "/v1/fleet?lagging=true&limit=1", tokAdmin, nil)
	if status != 200 || json.Unmarshal(b, &page) != nil || len(page.Sites) != 1 || page.Sites[0].ID != "b-1" || page.NextCursor != "" {
		t.Fatalf("lagging filter: %d %s", status, b)
	}

	// fra-1 refuses r2: one more change record, and the gauges say so.
	publishTarball(t, dir, "site.tar.gz", "r2")
	refusing := statusReportWith("fra-1", "r1", `"`+etag1+`"`, func(r *fleet.Report) {
		b := r.Bundles["site.tar.gz"]
		b.Code, b.Message = fleet.CodeBundleError, "read bundle: signature does not verify"
		r.Bundles["site.tar.gz"] = b
		r.LastRefusal = &fleet.Refusal{Kind: "bundle", At: time.Now().UTC(), Reason: b.Message}
	})
	if status, _, b := ts.do(t, http.MethodPost, "/v1/status", tokSite, refusing); status != 200 {
		t.Fatalf("report: %d %s", status, b)
	}
	if err := ts.api.SweepFleet(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := recordsOfKind(t, ts.audit, audit.KindFleetStatus, 3)
	if len(recs) != 3 {
		t.Fatalf("%d fleet.status records, want 3 (two new sites, one refusal)", len(recs))
	}
	var last audit.FleetStatus
	if err := json.Unmarshal(recs[2].Result, &last); err != nil || last.Site != "fra-1" || !last.To.Refusing || last.Reason == "" || !strings.Contains(strings.Join(last.Changed, ","), "refusing") {
		t.Fatalf("refusal record %s (%v)", recs[2].Result, err)
	}
	if recs[2].Principal != `Sovereign::Principal::"site-fra-1"` {
		t.Fatalf("record principal %q", recs[2].Principal)
	}
	_, metrics := ts.get(t, "/metrics")
	for _, want := range []string{"sovereign_fleet_sites 2", "sovereign_fleet_sites_refusing 1", "sovereign_fleet_sites_lagging 2", "sovereign_fleet_sites_stale 0"} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// With the control plane's own witness following a site's log, the fleet
// view says whether the checkpoint the site reports is the one the witness
// cosigned: a real log, a real witness, a real add-checkpoint.
func TestFleetViewChecksCheckpointsAgainstTheWitness(t *testing.T) {
	ctx := context.Background()
	siteLog, err := audit.Open(ctx, audit.Options{DataDir: t.TempDir(), Origin: "sovereign/fra-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = siteLog.Close(context.Background()) })
	w, err := witness.Open(t.TempDir(), "test-witness", []string{siteLog.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	waitFor(t, func() bool { raw, err = siteLog.Checkpoint(ctx); return err == nil })
	if _, err := w.AddCheckpoint(0, nil, raw); err != nil {
		t.Fatal(err)
	}
	cosigned, err := fleet.ParseCheckpoint(raw)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.NewAuthenticator(&auth.Config{Tokens: []auth.TokenConfig{
		{Principal: "root", Roles: []string{"admin"}, SHA256: sha(tokAdmin)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	publishTarball(t, dir, "site.tar.gz", "r1")
	ts := newTestServer(t, func(cfg *api.Config) {
		cfg.Auth, cfg.ServeBundlesDir, cfg.Witness, cfg.Fleet = authn, dir, w, &api.FleetConfig{}
	})
	forked := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for site, cp := range map[string]fleet.Checkpoint{
		"same":     cosigned,
		"fork":     {Origin: cosigned.Origin, Size: cosigned.Size, RootHash: forked},
		"larger":   {Origin: cosigned.Origin, Size: cosigned.Size + 5, RootHash: forked},
		"unfollow": {Origin: "sovereign/elsewhere", Size: cosigned.Size, RootHash: cosigned.RootHash},
	} {
		body := statusReportWith(site, "r1", "", func(r *fleet.Report) { r.Checkpoint = &cp })
		if status, _, b := ts.do(t, http.MethodPost, "/v1/status", tokAdmin, body); status != 200 {
			t.Fatalf("%s: %d %s", site, status, b)
		}
	}
	status, _, b := ts.do(t, http.MethodGet, "/v1/fleet", tokAdmin, nil)
	var page fleet.Page
	if status != 200 || json.Unmarshal(b, &page) != nil {
		t.Fatalf("fleet view: %d %s", status, b)
	}
	want := map[string]string{"same": fleet.WitnessConsistent, "fork": fleet.WitnessInconsistent, "larger": fleet.WitnessUnknown, "unfollow": fleet.WitnessUnknown}
	for _, s := range page.Sites {
		if s.Checkpoint == nil || s.Checkpoint.Witness != want[s.ID] {
			t.Errorf("%s: witness %+v, want %s", s.ID, s.Checkpoint, want[s.ID])
		}
	}
	if len(page.Sites) != len(want) {
		t.Fatalf("%d sites, want %d", len(page.Sites), len(want))
	}
}
