package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	cedar "github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/sovereign-engine/sovereign/engine"
)

// Cedar entity types of the schema (policies/authz/schema.cedarschema).
const (
	TypePrincipal cedar.EntityType = "Sovereign::Principal"
	TypeTenant    cedar.EntityType = "Sovereign::Tenant"
	TypeRole      cedar.EntityType = "Sovereign::Role"
	TypeDataset   cedar.EntityType = "Sovereign::Dataset"
	TypeWorkload  cedar.EntityType = "Sovereign::Workload"
	TypeSite      cedar.EntityType = "Sovereign::Site"
	TypeLog       cedar.EntityType = "Sovereign::Log"
	TypeTree      cedar.EntityType = "Sovereign::Tree"
	TypeRecord    cedar.EntityType = "Sovereign::Record"
	TypeBundle    cedar.EntityType = "Sovereign::Bundle"
	TypeInventory cedar.EntityType = "Sovereign::Inventory"
	TypeFleet     cedar.EntityType = "Sovereign::Fleet"
	typeAction    cedar.EntityType = "Sovereign::Action"
)

// Actions a request asks for.
const (
	ActionDecide         = "decide"
	ActionAdmit          = "admit"
	ActionAuditRead      = "audit.read"
	ActionReportExport   = "report.export"
	ActionBundleRead     = "bundle.read"
	ActionBundlePublish  = "bundle.publish"
	ActionInventoryRead  = "inventory.read"
	ActionInventoryWrite = "inventory.write"
	ActionOverride       = "override"
	ActionDriftRead      = "drift.read"
	ActionFleetReport    = "fleet.report"
	ActionFleetRead      = "fleet.read"
)

// Actions lists every action, in a stable order.
var Actions = []string{ActionDecide, ActionAdmit, ActionAuditRead, ActionReportExport, ActionBundleRead,
	ActionBundlePublish, ActionInventoryRead, ActionInventoryWrite, ActionOverride, ActionDriftRead,
	ActionFleetReport, ActionFleetRead}

// BundleDataKey is where a policy bundle carries its Cedar documents: the data
// document data.authz = {"schema": "<schema text>", "policies": {"<file>.cedar":
// "<policy text>"}}, which `sovereign bundle build` makes from authz/*.cedar.
const BundleDataKey = "authz"

// SchemaFile is the schema's file name under authz/.
const SchemaFile = "schema.cedarschema"

// Documents are the Cedar sources of a policy set: the schema and the policy
// files by name.
type Documents struct {
	Schema   string            `json:"schema"`
	Policies map[string]string `json:"policies"`
}

// PolicySet is a Cedar policy set that passed strict schema validation. It is
// immutable.
type PolicySet struct {
	set *cedar.PolicySet
	// byAction holds, per action of the schema, the policies whose action
	// scope can match it: evaluating only those gives the same decision
	// (a policy whose scope excludes the action is false) in less time.
	byAction map[cedar.EntityUID]*cedar.PolicySet
	// shares caches, per configured identity and action, the policies of
	// the action's share whose principal scope can match that identity.
	shares sync.Map // shareKey → *cedar.PolicySet
	ids    []string
	Source string // "builtin" or "bundle"
}

type shareKey struct {
	id     *Identity
	action cedar.EntityUID
}

// forRequest is the policies to evaluate for a principal and an action: the
// action's share less the policies whose principal scope names another
// principal or a group the principal is not a member of. The principal's
// ancestors are exactly its parents (its roles and tenant): the entity store
// holds no Role and no parented Tenant, so an "in" through them cannot match.
// Cached for identities of the authenticator (a fixed, small set).
func (p *PolicySet) forRequest(id *Identity, principal *cedar.Entity, action cedar.EntityUID) *cedar.PolicySet {
	if id.entity == nil {
		return p.forAction(action)
	}
	key := shareKey{id, action}
	if s, ok := p.shares.Load(key); ok {
		return s.(*cedar.PolicySet)
	}
	share := cedar.NewPolicySet()
	for pid, pol := range p.forAction(action).All() {
		keep := true
		switch sc := (*xast.Policy)(pol.AST()).Principal.(type) {
		case xast.ScopeTypeEq:
			keep = sc.Entity == principal.UID
		case xast.ScopeTypeIn:
			keep = sc.Entity == principal.UID || principal.Parents.Contains(sc.Entity)
		case xast.ScopeTypeIsIn:
			keep = sc.Entity == principal.UID || principal.Parents.Contains(sc.Entity)
		}
		if keep {
			share.Add(pid, pol)
		}
	}
	s, _ := p.shares.LoadOrStore(key, share)
	return s.(*cedar.PolicySet)
}

// forAction is the policies to evaluate for an action: its share, or all of
// them for an action the schema does not declare.
func (p *PolicySet) forAction(a cedar.EntityUID) *cedar.PolicySet {
	if s, ok := p.byAction[a]; ok {
		return s
	}
	return p.set
}

// IDs lists the policies by @id.
func (p *PolicySet) IDs() []string { return slices.Clone(p.ids) }

// ValidationError is a policy set refused at load: every problem, with the
// file and policy it is in.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("authz policies do not validate against the schema (%d problems): %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// Compile parses the schema and the policies and validates every policy
// against the schema in strict mode. Each policy needs a unique @id
// annotation. A set with any problem is refused as a whole.
func Compile(docs Documents, source string) (*PolicySet, error) {
	var problems []string
	if strings.TrimSpace(docs.Schema) == "" {
		return nil, &ValidationError{Problems: []string{SchemaFile + ": the schema is missing or empty"}}
	}
	var s schema.Schema
	s.SetFilename(SchemaFile)
	if err := s.UnmarshalCedar([]byte(docs.Schema)); err != nil {
		return nil, &ValidationError{Problems: []string{SchemaFile + ": " + err.Error()}}
	}
	resolved, err := s.Resolve()
	if err != nil {
		return nil, &ValidationError{Problems: []string{SchemaFile + ": " + err.Error()}}
	}
	v := validate.New(resolved, validate.WithStrict())
	set := cedar.NewPolicySet()
	var ids []string
	names := make([]string, 0, len(docs.Policies))
	for name := range docs.Policies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(name, ".cedar") || strings.Contains(name, "/") {
			problems = append(problems, fmt.Sprintf("%s: a policy file is named <name>.cedar, without a directory", name))
			continue
		}
		list, err := cedar.NewPolicyListFromBytes(name, []byte(docs.Policies[name]))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for _, p := range list {
			pos := p.Position()
			at := fmt.Sprintf("%s:%d", name, pos.Line)
			id, ok := p.Annotations()["id"]
			if !ok || id == "" {
				problems = append(problems, at+": the policy has no @id(\"...\") annotation")
				continue
			}
			if !set.Add(cedar.PolicyID(id), p) {
				problems = append(problems, fmt.Sprintf("%s: @id(%q) is used twice", at, id))
				continue
			}
			ids = append(ids, string(id))
			if err := v.Policy(string(id), (*xast.Policy)(p.AST())); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", at, err))
			}
		}
	}
	if len(ids) == 0 && len(problems) == 0 {
		problems = append(problems, "no policies: give at least one authz/*.cedar file (an empty set would deny everything)")
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return &PolicySet{set: set, byAction: partitionByAction(set, resolved.Actions), ids: ids, Source: source}, nil
}

// partitionByAction gives each declared action the policies whose action
// scope may match it. A scope naming an action or one of its groups (its
// ancestors) may match; "all actions" always does. Keeping a policy that
// cannot match is harmless, dropping one that can would not be, so anything
// unexpected keeps the policy.
func partitionByAction(set *cedar.PolicySet, actions map[cedar.EntityUID]resolved.Action) map[cedar.EntityUID]*cedar.PolicySet {
	ancestors := func(a cedar.EntityUID) map[cedar.EntityUID]bool {
		seen := map[cedar.EntityUID]bool{a: true}
		queue := []cedar.EntityUID{a}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for parent := range actions[cur].Entity.Parents.All() {
				if !seen[parent] {
					seen[parent] = true
					queue = append(queue, parent)
				}
			}
		}
		return seen
	}
	out := make(map[cedar.EntityUID]*cedar.PolicySet, len(actions))
	for a := range actions {
		self := ancestors(a)
		share := cedar.NewPolicySet()
		for id, p := range set.All() {
			keep := true
			switch sc := (*xast.Policy)(p.AST()).Action.(type) {
			case xast.ScopeTypeEq:
				keep = self[sc.Entity]
			case xast.ScopeTypeIn:
				keep = self[sc.Entity]
			case xast.ScopeTypeInSet:
				keep = slices.ContainsFunc(sc.Entities, func(e cedar.EntityUID) bool { return self[e] })
			}
			if keep {
				share.Add(id, p)
			}
		}
		out[a] = share
	}
	return out
}

// DocumentsFromFS reads schema.cedarschema and every *.cedar file at the root
// of fsys.
func DocumentsFromFS(fsys fs.FS) (Documents, error) {
	docs := Documents{Policies: map[string]string{}}
	b, err := fs.ReadFile(fsys, SchemaFile)
	if err != nil {
		return docs, fmt.Errorf("authz: %w", err)
	}
	docs.Schema = string(b)
	files, err := fs.Glob(fsys, "*.cedar")
	if err != nil {
		return docs, fmt.Errorf("authz: %w", err)
	}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return docs, fmt.Errorf("authz: %w", err)
		}
		docs.Policies[path.Base(f)] = string(b)
	}
	return docs, nil
}

// DocumentsFromBundle returns the Cedar documents a policy bundle carries
// under data.authz; ok is false when it carries none.
func DocumentsFromBundle(data map[string]any) (docs Documents, ok bool, err error) {
	raw, ok := data[BundleDataKey]
	if !ok {
		return docs, false, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return docs, true, fmt.Errorf("bundle data.%s: %w", BundleDataKey, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&docs); err != nil {
		return docs, true, fmt.Errorf("bundle data.%s: want {\"schema\": string, \"policies\": {\"<name>.cedar\": string}}: %w", BundleDataKey, err)
	}
	return docs, true, nil
}

// CompileFS compiles the schema and policies at the root of fsys (the layout
// of policies/authz): the default set, for bundles that carry none.
func CompileFS(fsys fs.FS, source string) (*PolicySet, error) {
	docs, err := DocumentsFromFS(fsys)
	if err != nil {
		return nil, err
	}
	return Compile(docs, source)
}

// ErrNoPolicySet is a bundle without Cedar policies (data.authz) when no
// default set is configured: every request would be denied, so it is refused.
var ErrNoPolicySet = errors.New("the policy bundle carries no Cedar authorization policies (data.authz) and no default set is configured")

// ForPolicy returns the policy set a policy bundle carries, validated, or
// fallback (the built-in set) when it carries none. A bundle whose set does
// not validate is an error: the bundle is refused as a whole.
func ForPolicy(p *engine.Policy, fallback *PolicySet) (*PolicySet, error) {
	docs, ok, err := DocumentsFromBundle(p.Data())
	if err != nil {
		return nil, err
	}
	if !ok {
		if fallback == nil {
			return nil, ErrNoPolicySet
		}
		return fallback, nil
	}
	return Compile(docs, "bundle")
}

// CheckBundle is the activation check of a policy bundle: an error refuses it.
func CheckBundle(p *engine.Policy, fallback *PolicySet) error {
	_, err := ForPolicy(p, fallback)
	return err
}

// Resource is what a request touches. Inline entities (a dataset given in the
// request body) carry their own Entity; others are looked up in the inventory.
type Resource struct {
	UID    cedar.EntityUID
	Inline *cedar.Entity
}

// Ref makes a Resource of an entity looked up in the inventory (or the
// service's own entities).
func Ref(t cedar.EntityType, id string) Resource {
	return Resource{UID: cedar.NewEntityUID(t, cedar.String(id))}
}

// InlineDataset makes a Resource of a dataset given in a request body: it is
// not the inventory's, so it is named apart ("inline:<id>").
func InlineDataset(d *engine.Dataset) Resource {
	e := datasetEntity("inline:"+d.ID, d)
	return Resource{UID: e.UID, Inline: &e}
}

// InlineWorkload makes a Resource of a workload given in a request body.
func InlineWorkload(w *engine.Workload) Resource {
	e := workloadEntity("inline:"+w.ID, w)
	return Resource{UID: e.UID, Inline: &e}
}

// AuditRecord makes a Resource of the audit record at index, which belongs
// to tenants (audit.RecordTenants): a member of each, with the set as its
// tenants attribute.
func AuditRecord(index uint64, tenants []string) Resource {
	uids := make([]cedar.EntityUID, len(tenants))
	set := make([]cedar.Value, len(tenants))
	for i, t := range tenants {
		uids[i] = cedar.NewEntityUID(TypeTenant, cedar.String(t))
		set[i] = uids[i]
	}
	e := cedar.Entity{
		UID:        cedar.NewEntityUID(TypeRecord, cedar.String(strconv.FormatUint(index, 10))),
		Parents:    cedar.NewEntityUIDSet(uids...),
		Attributes: cedar.NewRecord(cedar.RecordMap{"tenants": cedar.NewSet(set...)}),
	}
	return Resource{UID: e.UID, Inline: &e}
}

// Decision is the outcome of one authorization.
type Decision struct {
	Allowed bool
	// Policies are the @ids that decided: the permits that allowed, or the
	// forbids that denied (none when nothing permitted).
	Policies []string
	// Errors are policies that failed to evaluate. Any error is a deny:
	// cedar-go skips an erroring policy, which could turn a forbid into an
	// allow.
	Errors []string
}

// Reason says why a request was denied, for the caller and the audit record.
func (d Decision) Reason() string {
	switch {
	case d.Allowed:
		return ""
	case len(d.Errors) > 0:
		return "a policy failed to evaluate (" + strings.Join(d.Errors, "; ") + "): denied"
	case len(d.Policies) > 0:
		return "forbidden by " + strings.Join(d.Policies, ", ")
	default:
		return "no policy permits it"
	}
}

// Authorizer decides with the policy set of the engine's active bundle over the
// entities of its active inventory. Both are derived once per activation and
// swapped atomically: a request sees one policy set from start to end.
type Authorizer struct {
	eng      *engine.Engine
	fallback *PolicySet

	mu       sync.Mutex // one rebuild at a time
	policies atomic.Pointer[policyCache]
	entities atomic.Pointer[entityCache]
}

type policyCache struct {
	policy *engine.Policy
	set    *PolicySet
	err    error
}

type entityCache struct {
	inv *engine.Inventory
	m   cedar.EntityMap
}

// NewAuthorizer checks that the engine's active bundle has a valid policy set;
// fallback is the set of bundles that carry none (the built-in one).
func NewAuthorizer(eng *engine.Engine, fallback *PolicySet) (*Authorizer, error) {
	a := &Authorizer{eng: eng, fallback: fallback}
	if _, err := a.policySet(); err != nil {
		return nil, err
	}
	a.entityMap()
	return a, nil
}

// PolicySet returns the policy set in force.
func (a *Authorizer) PolicySet() (*PolicySet, error) { return a.policySet() }

func (a *Authorizer) policySet() (*PolicySet, error) {
	p := a.eng.Policy()
	if c := a.policies.Load(); c != nil && c.policy == p {
		return c.set, c.err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.policies.Load(); c != nil && c.policy == p {
		return c.set, c.err
	}
	set, err := ForPolicy(p, a.fallback)
	a.policies.Store(&policyCache{policy: p, set: set, err: err})
	return set, err
}

func (a *Authorizer) entityMap() cedar.EntityMap {
	inv := a.eng.Inventory()
	if c := a.entities.Load(); c != nil && c.inv == inv {
		return c.m
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.entities.Load(); c != nil && c.inv == inv {
		return c.m
	}
	m := InventoryEntities(inv)
	a.entities.Store(&entityCache{inv: inv, m: m})
	return m
}

// Authorize decides whether id may do action on every one of resources; the
// first resource refused decides. context is the request's Cedar context
// (nil for none).
func (a *Authorizer) Authorize(id *Identity, action string, context cedar.RecordMap, resources ...Resource) Decision {
	set, err := a.policySet()
	if err != nil {
		// Unreachable for an activated bundle (it was checked), but never an
		// allow.
		return Decision{Errors: []string{"the policy set is not valid: " + err.Error()}}
	}
	if len(resources) == 0 {
		return Decision{Errors: []string{"no resource to authorize"}}
	}
	base := a.entityMap()
	var principal cedar.Entity
	if id.entity != nil {
		principal = *id.entity
	} else {
		principal = principalEntity(id)
	}
	req := cedar.Request{
		Principal: principal.UID,
		Action:    cedar.NewEntityUID(typeAction, cedar.String(action)),
		Context:   emptyContext,
	}
	if len(context) > 0 {
		req.Context = cedar.NewRecord(context)
	}
	var allowed Decision
	for _, r := range resources {
		req.Resource = r.UID
		d := decide(set.forRequest(id, &principal, req.Action), layered{principal: principal, inline: r.Inline, base: base}, req)
		if !d.Allowed {
			return d
		}
		allowed.Policies = append(allowed.Policies, d.Policies...)
	}
	allowed.Allowed = true
	return allowed
}

var emptyContext = cedar.NewRecord(nil)

// decide runs one Cedar authorization; an evaluation error is a deny.
func decide(set *cedar.PolicySet, entities cedar.EntityGetter, req cedar.Request) Decision {
	dec, diag := cedar.Authorize(set, entities, req)
	d := Decision{Allowed: dec == cedar.Allow && len(diag.Errors) == 0}
	for _, r := range diag.Reasons {
		d.Policies = append(d.Policies, string(r.PolicyID))
	}
	for _, e := range diag.Errors {
		d.Errors = append(d.Errors, fmt.Sprintf("%s: %s", e.PolicyID, e.Message))
	}
	if len(d.Errors) > 0 {
		d.Policies = nil
	}
	sort.Strings(d.Policies) // cedar-go visits policies in map order
	sort.Strings(d.Errors)
	return d
}

// layered looks an entity up in the request's own entities first (the
// principal, an inline resource), then in the inventory's.
type layered struct {
	principal cedar.Entity
	inline    *cedar.Entity
	base      cedar.EntityMap
}

func (l layered) Get(uid cedar.EntityUID) (cedar.Entity, bool) {
	if uid == l.principal.UID {
		return l.principal, true
	}
	if l.inline != nil && uid == l.inline.UID {
		return *l.inline, true
	}
	e, ok := l.base[uid]
	return e, ok
}

func principalEntity(id *Identity) cedar.Entity {
	parents := make([]cedar.EntityUID, 0, len(id.Roles)+1)
	for _, r := range id.Roles {
		parents = append(parents, cedar.NewEntityUID(TypeRole, cedar.String(r)))
	}
	attrs := cedar.RecordMap{}
	if id.Tenant != "" {
		t := cedar.NewEntityUID(TypeTenant, cedar.String(id.Tenant))
		parents = append(parents, t)
		attrs["tenant"] = t
	}
	if id.Site != "" {
		attrs["site"] = cedar.NewEntityUID(TypeSite, cedar.String(id.Site))
	}
	return cedar.Entity{UID: id.UID(), Parents: cedar.NewEntityUIDSet(parents...), Attributes: cedar.NewRecord(attrs)}
}

// InventoryEntities makes the Cedar entities of an inventory: its tenants,
// datasets (members of their tenant), workloads and sites.
func InventoryEntities(inv *engine.Inventory) cedar.EntityMap {
	m := make(cedar.EntityMap, len(inv.Datasets)+len(inv.Workloads)+len(inv.Sites)+8)
	tenant := func(t string) {
		if t == "" {
			return
		}
		uid := cedar.NewEntityUID(TypeTenant, cedar.String(t))
		if _, ok := m[uid]; !ok {
			m[uid] = cedar.Entity{UID: uid}
		}
	}
	for id, d := range inv.Datasets {
		tenant(d.Tenant)
		e := datasetEntity(id, &d)
		m[e.UID] = e
	}
	for id, w := range inv.Workloads {
		tenant(w.Tenant)
		e := workloadEntity(id, &w)
		m[e.UID] = e
	}
	for id := range inv.Sites {
		uid := cedar.NewEntityUID(TypeSite, cedar.String(id))
		m[uid] = cedar.Entity{UID: uid}
	}
	return m
}

func datasetEntity(id string, d *engine.Dataset) cedar.Entity {
	var parents []cedar.EntityUID
	if d.Tenant != "" {
		parents = append(parents, cedar.NewEntityUID(TypeTenant, cedar.String(d.Tenant)))
	}
	return cedar.Entity{
		UID:        cedar.NewEntityUID(TypeDataset, cedar.String(id)),
		Parents:    cedar.NewEntityUIDSet(parents...),
		Attributes: cedar.NewRecord(cedar.RecordMap{"classification": cedar.String(d.Classification)}),
	}
}

func workloadEntity(id string, w *engine.Workload) cedar.Entity {
	var parents []cedar.EntityUID
	if w.Tenant != "" {
		parents = append(parents, cedar.NewEntityUID(TypeTenant, cedar.String(w.Tenant)))
	}
	return cedar.Entity{UID: cedar.NewEntityUID(TypeWorkload, cedar.String(id)), Parents: cedar.NewEntityUIDSet(parents...)}
}
