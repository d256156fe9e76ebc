package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

func builtinDocs(t testing.TB) Documents {
	t.Helper()
	docs, err := DocumentsFromFS(os.DirFS("../../policies/authz"))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func builtinSet(t testing.TB) *PolicySet {
	t.Helper()
	set, err := CompileFS(os.DirFS("../../policies/authz"), "builtin")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestBuiltinValidates(t *testing.T) {
	set := builtinSet(t)
	if len(set.IDs()) < 5 || set.Source != "builtin" {
		t.Fatalf("built-in set: %v from %q", set.IDs(), set.Source)
	}
}

// TestCompileRefuses: a set with any policy that does not validate against the
// schema in strict mode is refused as a whole, and the error says where.
func TestCompileRefuses(t *testing.T) {
	base := builtinDocs(t)
	tests := []struct {
		name   string
		schema string // replaces the schema when set
		policy string // added as extra.cedar
		want   string // in the error
	}{
		{"unknown attribute", "", `@id("x") permit (principal, action == Sovereign::Action::"decide", resource) when { resource.owner == "acme" };`, "extra.cedar:1"},
		{"unknown action", "", `@id("x") permit (principal, action == Sovereign::Action::"delete", resource);`, "delete"},
		{"unknown entity type", "", `@id("x") permit (principal is Sovereign::User, action, resource);`, "Sovereign::User"},
		{"type error", "", `@id("x") permit (principal, action == Sovereign::Action::"override", resource) when { context.expires_in_seconds == "soon" };`, "extra.cedar:1"},
		{"optional attribute without has", "", `@id("x") permit (principal, action == Sovereign::Action::"decide", resource) when { resource in principal.tenant };`, "extra.cedar:1"},
		{"action not applicable to resource", "", `@id("x") permit (principal, action == Sovereign::Action::"admit", resource is Sovereign::Dataset);`, "extra.cedar:1"},
		{"no @id", "", `permit (principal, action, resource);`, "no @id"},
		{"duplicate @id", "", `@id("admin-all") permit (principal, action, resource);`, "used twice"},
		{"syntax error", "", `@id("x") permit (principal, action, resource) when { ;`, "extra.cedar"},
		{"empty schema", " ", "", "schema is missing"},
		{"bad schema", "namespace Sovereign { entity ", "", SchemaFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := Documents{Schema: base.Schema, Policies: map[string]string{}}
			for k, v := range base.Policies {
				docs.Policies[k] = v
			}
			if tt.schema != "" {
				docs.Schema = tt.schema
			}
			if tt.policy != "" {
				docs.Policies["extra.cedar"] = tt.policy
			}
			set, err := Compile(docs, "test")
			if err == nil {
				t.Fatalf("accepted: %v", set.IDs())
			}
			var ve *ValidationError
			if !asValidation(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError: %v", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	if _, err := Compile(Documents{Schema: base.Schema}, "test"); err == nil || !strings.Contains(err.Error(), "no policies") {
		t.Errorf("a set without policies: %v", err)
	}
}

func asValidation(err error, target **ValidationError) bool {
	ve, ok := err.(*ValidationError)
	*target = ve
	return ok
}

func testEngine(t testing.TB, p *engine.Policy) *engine.Engine {
	t.Helper()
	if p == nil {
		var err error
		if p, err = engine.LoadPolicyFS(policies.Bundle); err != nil {
			t.Fatal(err)
		}
	}
	inv, err := engine.LoadInventory("../../testdata/inventory/demo")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestEvaluationErrorIsDeny: cedar-go skips a policy that errors, so a forbid
// that fails (here: reading an attribute of a dataset the inventory does not
// have) would let a broad permit allow. The authorizer denies instead.
func TestEvaluationErrorIsDeny(t *testing.T) {
	docs := builtinDocs(t)
	docs.Policies = map[string]string{"p.cedar": `
@id("admin-all") permit (principal in Sovereign::Role::"admin", action, resource);
@id("no-sovereign-data") forbid (principal, action == Sovereign::Action::"decide", resource is Sovereign::Dataset)
when { resource.classification == "sovereign" };
`}
	set, err := Compile(docs, "test")
	if err != nil {
		t.Fatal(err)
	}
	admin := &Identity{ID: "root", Roles: []string{"admin"}}
	req := cedar.Request{
		Principal: admin.UID(),
		Action:    cedar.NewEntityUID(typeAction, ActionDecide),
		Resource:  cedar.NewEntityUID(TypeDataset, "not-in-inventory"),
		Context:   cedar.NewRecord(nil),
	}
	entities := layered{principal: principalEntity(admin), base: cedar.EntityMap{}}
	// What cedar-go does on its own: the erroring forbid is skipped.
	raw, diag := cedar.Authorize(set.set, entities, req)
	if raw != cedar.Allow || len(diag.Errors) == 0 {
		t.Fatalf("precondition: cedar-go gave %v with errors %v; the guard would be untested", raw, diag.Errors)
	}
	d := decide(set.set, entities, req)
	if d.Allowed || len(d.Errors) != 1 || !strings.Contains(d.Errors[0], "no-sovereign-data") {
		t.Fatalf("decision %+v: want a deny naming the failed policy", d)
	}
	if !strings.Contains(d.Reason(), "failed to evaluate") {
		t.Errorf("reason %q", d.Reason())
	}
	// The same policy on a dataset that exists evaluates and allows.
	entities.base = cedar.EntityMap{}
	e := datasetEntity("known", &engine.Dataset{Classification: "internal"})
	entities.base[e.UID] = e
	req.Resource = e.UID
	if d := decide(set.set, entities, req); !d.Allowed {
		t.Fatalf("known internal dataset: %+v", d)
	}
}

// TestBundleAuthzTravelsAndReloads: a bundle built from a directory with
// authz/*.cedar carries them (data.authz); the authorizer follows the
// engine's active bundle, and a bundle whose authz does not validate is
// refused by CheckBundle.
func TestBundleAuthzTravelsAndReloads(t *testing.T) {
	build := func(t *testing.T, extra string) *engine.Policy {
		t.Helper()
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS("../../policies")); err != nil {
			t.Fatal(err)
		}
		// Only the bundle's files: drop the Go sources and internal tools.
		for _, g := range []string{"*.go", "internal"} {
			m, _ := filepath.Glob(filepath.Join(dir, g))
			for _, f := range m {
				os.RemoveAll(f)
			}
		}
		if extra != "" {
			if err := os.WriteFile(filepath.Join(dir, "authz", "extra.cedar"), []byte(extra), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		tarball := filepath.Join(t.TempDir(), "bundle.tar.gz")
		f, err := os.Create(tarball)
		if err != nil {
			t.Fatal(err)
		}
		if err := bundles.Build(context.Background(), dir, f, bundles.BuildOptions{Revision: "r1"}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		p, err := engine.LoadPolicy(tarball)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	eng := testEngine(t, nil)
	a, err := NewAuthorizer(eng, builtinSet(t))
	if err != nil {
		t.Fatal(err)
	}
	acme := &Identity{ID: "ci", Tenant: "acme", Roles: []string{"tenant"}}
	before := a.Authorize(acme, ActionBundleRead, nil, Ref(TypeBundle, "active"))
	if before.Allowed {
		t.Fatal("built-in set lets a tenant read the bundle")
	}

	granted := build(t, `@id("tenants-read-bundle") permit (principal in Sovereign::Role::"tenant", action == Sovereign::Action::"bundle.read", resource);`)
	if err := CheckBundle(granted, builtinSet(t)); err != nil {
		t.Fatal(err)
	}
	if err := eng.Activate(context.Background(), granted, nil); err != nil {
		t.Fatal(err)
	}
	set, err := a.PolicySet()
	if err != nil || set.Source != "bundle" {
		t.Fatalf("after reload: %v %v", set, err)
	}
	if d := a.Authorize(acme, ActionBundleRead, nil, Ref(TypeBundle, "active")); !d.Allowed {
		t.Fatalf("the bundle's policy is not in force after activation: %+v", d)
	}

	bad := build(t, `@id("typo") permit (principal, action == Sovereign::Action::"decide", resource) when { resource.tenant == "acme" };`)
	if err := CheckBundle(bad, builtinSet(t)); err == nil || !strings.Contains(err.Error(), "extra.cedar") {
		t.Fatalf("a bundle with an invalid authz policy: %v", err)
	}
	// A bundle without Cedar policies and no default set: refused, not
	// served with nothing permitted.
	if err := CheckBundle(eng.Policy(), nil); err != nil {
		t.Fatalf("the active bundle carries its own set: %v", err)
	}
	plain, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckBundle(plain, nil); !errors.Is(err, ErrNoPolicySet) {
		t.Fatalf("a bundle without authz and no default: %v", err)
	}
}

// TestTenantBoundary: the built-in policies let a tenant decide on its own
// datasets and workloads only, whatever else it is granted.
func TestTenantBoundary(t *testing.T) {
	a, err := NewAuthorizer(testEngine(t, nil), builtinSet(t))
	if err != nil {
		t.Fatal(err)
	}
	acme := &Identity{ID: "ci", Tenant: "acme", Roles: []string{"tenant"}}
	acmeAdmin := &Identity{ID: "ops", Tenant: "acme", Roles: []string{"tenant", "admin"}}
	auditor := &Identity{ID: "kpmg", Roles: []string{"auditor", "admin"}}
	acmeAuditor := &Identity{ID: "acme-audit", Tenant: "acme", Roles: []string{"auditor"}}
	tests := []struct {
		who    *Identity
		action string
		res    Resource
		want   bool
	}{
		{acme, ActionDecide, Ref(TypeDataset, "customer-pii-eu"), true},
		{acme, ActionDecide, Ref(TypeWorkload, "billing-api"), true},
		{acme, ActionDecide, Ref(TypeDataset, "patient-records-de"), false},
		{acme, ActionDecide, Ref(TypeDataset, "no-such-dataset"), false},
		{acme, ActionDecide, InlineDataset(&engine.Dataset{ID: "x", Tenant: "acme", Classification: "internal"}), true},
		{acme, ActionDecide, InlineDataset(&engine.Dataset{ID: "x", Tenant: "klinikum", Classification: "internal"}), false},
		{acme, ActionDecide, InlineDataset(&engine.Dataset{ID: "x", Classification: "internal"}), false},
		// admin does not lift the tenant boundary of a tenant-scoped principal
		{acmeAdmin, ActionDecide, Ref(TypeDataset, "patient-records-de"), false},
		{acmeAdmin, ActionDecide, Ref(TypeDataset, "customer-pii-eu"), true},
		// auditors decide nothing, even when also admin
		{auditor, ActionDecide, Ref(TypeDataset, "customer-pii-eu"), false},
		{auditor, ActionAuditRead, Ref(TypeLog, "audit"), true},

		// The log (issue #19 item 2): a tenant-scoped principal reads the
		// tree and its own tenant's records, whatever its roles.
		{acme, ActionAuditRead, Ref(TypeTree, "audit"), true},
		{acme, ActionAuditRead, AuditRecord(3, []string{"acme"}), true},
		{acme, ActionAuditRead, AuditRecord(3, []string{"klinikum"}), false},
		{acme, ActionAuditRead, AuditRecord(3, []string{"acme", "klinikum"}), false},
		{acme, ActionAuditRead, AuditRecord(3, nil), false},
		{acme, ActionAuditRead, Ref(TypeLog, "audit"), false},
		{acmeAdmin, ActionAuditRead, Ref(TypeLog, "audit"), false},
		{acmeAdmin, ActionAuditRead, AuditRecord(3, []string{"klinikum"}), false},
		{acmeAdmin, ActionAuditRead, AuditRecord(3, []string{"acme"}), true},
		{acmeAdmin, ActionReportExport, Ref(TypeLog, "audit"), false},
		{acmeAdmin, ActionReportExport, Ref(TypeTenant, "acme"), true},
		{acmeAdmin, ActionReportExport, Ref(TypeTenant, "klinikum"), false},
		{acmeAuditor, ActionAuditRead, AuditRecord(3, []string{"acme"}), true},
		{acmeAuditor, ActionAuditRead, AuditRecord(3, []string{"klinikum"}), false},
		{acmeAuditor, ActionAuditRead, Ref(TypeLog, "audit"), false},
		{acmeAuditor, ActionReportExport, Ref(TypeTenant, "acme"), true},
		{auditor, ActionAuditRead, AuditRecord(3, []string{"acme", "klinikum"}), true},
		{auditor, ActionAuditRead, AuditRecord(3, nil), true},
		{auditor, ActionAuditRead, Ref(TypeTree, "audit"), true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d %s %s %s", i, tt.who.ID, tt.action, tt.res.UID), func(t *testing.T) {
			if d := a.Authorize(tt.who, tt.action, nil, tt.res); d.Allowed != tt.want {
				t.Errorf("allowed = %v, want %v (%s)", d.Allowed, tt.want, d.Reason())
			}
		})
	}
}

// TestPartitionByActionIsExact: evaluating only an action's share of the
// policies gives the decision the whole set gives, for every action,
// including one reached through an action group.
func TestPartitionByActionIsExact(t *testing.T) {
	docs := benchPolicies(t)
	docs.Schema = strings.Replace(docs.Schema, `action "audit.read" appliesTo`, `action readers;
  action "audit.read" in [readers] appliesTo`, 1)
	docs.Policies["group.cedar"] = `@id("group-read") permit (principal in Sovereign::Role::"reader", action in Sovereign::Action::"readers", resource);`
	set, err := Compile(docs, "test")
	if err != nil {
		t.Fatal(err)
	}
	eng := testEngine(t, nil)
	base := InventoryEntities(eng.Inventory())
	ids := []*Identity{
		{ID: "a", Roles: []string{"admin"}}, {ID: "b", Roles: []string{"auditor"}}, {ID: "c", Tenant: "acme", Roles: []string{"tenant"}},
		{ID: "d", Tenant: "acme", Roles: []string{"break-glass"}}, {ID: "e", Roles: []string{"webhook"}}, {ID: "svc-0", Tenant: "t-0", Roles: []string{"guest-1"}},
		{ID: "f", Roles: []string{"reader"}}, {ID: "g", Roles: []string{"site", "policy-publisher"}},
	}
	resources := []cedar.EntityUID{
		cedar.NewEntityUID(TypeDataset, "customer-pii-eu"), cedar.NewEntityUID(TypeDataset, "patient-records-de"),
		cedar.NewEntityUID(TypeWorkload, "billing-api"), cedar.NewEntityUID(TypeSite, "fra-1"), cedar.NewEntityUID(TypeLog, "audit"),
		cedar.NewEntityUID(TypeBundle, "active"), cedar.NewEntityUID(TypeTenant, "acme"), cedar.NewEntityUID(TypeInventory, "active"),
	}
	ctx := cedar.NewRecord(cedar.RecordMap{"justification": cedar.String("because"), "expires_in_seconds": cedar.Long(60)})
	allowed := 0
	for _, id := range ids {
		for _, a := range append(slices.Clone(Actions), "readers") {
			for _, r := range resources {
				req := cedar.Request{Principal: id.UID(), Action: cedar.NewEntityUID(typeAction, cedar.String(a)), Resource: r, Context: ctx}
				ents := layered{principal: principalEntity(id), base: base}
				whole, share := decide(set.set, ents, req), decide(set.forAction(req.Action), ents, req)
				if whole.Allowed != share.Allowed || !slices.Equal(whole.Policies, share.Policies) {
					t.Errorf("%s %s %s: whole set %+v, action share %+v", id.ID, a, r, whole, share)
				}
				configured := (&Identity{ID: id.ID, Tenant: id.Tenant, Roles: id.Roles}).withEntity()
				mine := decide(set.forRequest(configured, configured.entity, req.Action), ents, req)
				if whole.Allowed != mine.Allowed || !slices.Equal(whole.Policies, mine.Policies) {
					t.Errorf("%s %s %s: whole set %+v, principal's share %+v", id.ID, a, r, whole, mine)
				}
				if whole.Allowed {
					allowed++
				}
			}
		}
	}
	if allowed == 0 {
		t.Fatal("nothing allowed: the comparison proves nothing")
	}
	readers := set.forAction(cedar.NewEntityUID(typeAction, ActionAuditRead))
	if readers.Get("group-read") == nil {
		t.Error("a policy on an action group is missing from its member's share")
	}
	if set.forAction(cedar.NewEntityUID(typeAction, ActionDecide)).Get("group-read") != nil {
		t.Error("the decide share holds a policy scoped to another action")
	}
}

// The fleet's actions under the built-in policies: a site reports (its own
// site only when its credential is bound to one), auditors and admins read
// the fleet, an auditor never reports, whatever other role it holds.
func TestFleetActions(t *testing.T) {
	a, err := NewAuthorizer(testEngine(t, nil), builtinSet(t))
	if err != nil {
		t.Fatal(err)
	}
	bound := &Identity{ID: "site-fra-1", Roles: []string{"site"}, Site: "fra-1"}
	unbound := &Identity{ID: "sites", Roles: []string{"site"}}
	auditor := &Identity{ID: "kpmg", Roles: []string{"auditor", "site"}}
	admin := &Identity{ID: "root", Roles: []string{"admin"}}
	tenant := &Identity{ID: "ci", Tenant: "acme", Roles: []string{"tenant"}}
	fleetRes := Ref(TypeFleet, "sites")
	for i, tt := range []struct {
		who    *Identity
		action string
		res    Resource
		want   bool
	}{
		{bound, ActionFleetReport, Ref(TypeSite, "fra-1"), true},
		{bound, ActionFleetReport, Ref(TypeSite, "par-1"), false},
		{unbound, ActionFleetReport, Ref(TypeSite, "par-1"), true},
		{auditor, ActionFleetReport, Ref(TypeSite, "fra-1"), false},
		{tenant, ActionFleetReport, Ref(TypeSite, "fra-1"), false},
		{admin, ActionFleetReport, Ref(TypeSite, "fra-1"), true},
		{bound, ActionFleetRead, fleetRes, false},
		{auditor, ActionFleetRead, fleetRes, true},
		{admin, ActionFleetRead, fleetRes, true},
		{tenant, ActionFleetRead, fleetRes, false},
	} {
		t.Run(fmt.Sprintf("%d %s %s %s", i, tt.who.ID, tt.action, tt.res.UID), func(t *testing.T) {
			if d := a.Authorize(tt.who, tt.action, nil, tt.res); d.Allowed != tt.want {
				t.Errorf("allowed = %v, want %v (%s)", d.Allowed, tt.want, d.Reason())
			}
		})
	}
}
