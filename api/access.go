package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// ErrNoCredentialsOffLoopback refuses to serve without authentication on
// anything but a loopback address.
var ErrNoCredentialsOffLoopback = errors.New("no credentials are configured (--auth-config), so the service listens on loopback only")

// publicRoutes need no credentials: probes, metrics and the API description,
// and the witness (C2SP tlog-witness), whose callers are sites' logs: a
// checkpoint is authenticated by its own signature against the log keys the
// witness is configured with, so sites need no control-plane credentials.
var publicRoutes = map[string]bool{
	"GET /healthz":                    true,
	"GET /readyz":                     true,
	"GET /metrics":                    true,
	"GET /openapi.yaml":               true,
	"POST /v1/witness/add-checkpoint": true,
	"GET /v1/witness/key":             true,
}

// routeRule authorizes a route whose resource is known before its body is
// read. Routes whose resource is in the body (decisions, overrides) authorize
// in their handlers and are listed in handlerAuthorized.
type routeRule struct {
	action   string
	resource func(s *Server, c *gin.Context) auth.Resource
}

// auditTree is the log's tree: checkpoints, hash tiles, proofs and keys, which
// prove records without revealing any.
var auditTree = func(*Server, *gin.Context) auth.Resource { return auth.Ref(auth.TypeTree, "audit") }

// auditTiles is what a path of the tiles is: the tree (the checkpoint, a
// hash tile), or the log as a whole (an entry bundle holds every tenant's
// records; a path that names nothing is treated alike).
func auditTiles(_ *Server, c *gin.Context) auth.Resource {
	if audit.TreePath(strings.TrimPrefix(c.Request.URL.Path, "/v1/audit/log")) {
		return auth.Ref(auth.TypeTree, "audit")
	}
	return auth.Ref(auth.TypeLog, "audit")
}

var routeRules = map[string]routeRule{
	"GET /v1/audit/checkpoint":   {auth.ActionAuditRead, auditTree},
	"GET /v1/audit/keys":         {auth.ActionAuditRead, auditTree},
	"GET /v1/audit/proof/:index": {auth.ActionAuditRead, auditTree},
	"GET /v1/audit/log/*path":    {auth.ActionAuditRead, auditTiles},
	"HEAD /v1/audit/log/*path":   {auth.ActionAuditRead, auditTiles},
	// A report of one tenant is that tenant's; of the whole log, the log's.
	"GET /v1/audit/report": {auth.ActionReportExport, func(_ *Server, c *gin.Context) auth.Resource {
		if t := c.Query("tenant"); t != "" {
			return auth.Ref(auth.TypeTenant, t)
		}
		return auth.Ref(auth.TypeLog, "audit")
	}},
	"GET /v1/bundles/status": {auth.ActionBundleRead, func(*Server, *gin.Context) auth.Resource { return auth.Ref(auth.TypeBundle, "active") }},
	"GET /v1/bundles/:name": {auth.ActionBundleRead, func(_ *Server, c *gin.Context) auth.Resource {
		return auth.Ref(auth.TypeBundle, c.Param("name"))
	}},
	// Drift of one tenant's datasets is that tenant's; of all, the inventory's.
	"GET /v1/drift": {auth.ActionDriftRead, func(_ *Server, c *gin.Context) auth.Resource {
		if t := c.Query("tenant"); t != "" {
			return auth.Ref(auth.TypeTenant, t)
		}
		return auth.Ref(auth.TypeInventory, "current")
	}},
	// The fleet view is every site's status; a site's report names its site
	// in the body (handlerAuthorized).
	"GET /v1/fleet":               {auth.ActionFleetRead, func(*Server, *gin.Context) auth.Resource { return auth.Ref(auth.TypeFleet, "sites") }},
	"POST /v1/admission/validate": {auth.ActionAdmit, admissionSite},
	"POST /v1/admission/mutate":   {auth.ActionAdmit, admissionSite},
}

func admissionSite(s *Server, _ *gin.Context) auth.Resource {
	return auth.Ref(auth.TypeSite, s.admission.ClusterSite())
}

// handlerAuthorized lists the routes that authorize in their handler, once
// the body names what they touch.
var handlerAuthorized = map[string]bool{
	// An entry is authorized as its record, which names its tenants.
	"GET /v1/audit/entries/:index":    true,
	"POST /v1/decisions/placement":    true,
	"POST /v1/decisions/transfer":     true,
	"POST /v1/decisions/:id/override": true,
	// A status report is authorized as the site it names.
	"POST /v1/status": true,
}

const identityKey = "sovereign.identity"

// accessRecordRate bounds the access records of unauthenticated callers, so
// that a flood of bad requests cannot flood the audit log; those over the
// rate are counted (sovereign_access_records_dropped_total), not recorded.
const (
	accessRecordRate  = 20
	accessRecordBurst = 100
)

type accessControl struct {
	authn      *auth.Authenticator
	authz      *auth.Authorizer
	denied     *prometheus.CounterVec
	dropped    prometheus.Counter
	unauthRate *rate.Limiter
}

func newAccessControl(reg *prometheus.Registry, authn *auth.Authenticator, authz *auth.Authorizer) *accessControl {
	a := &accessControl{
		authn: authn,
		authz: authz,
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_access_denied_total",
			Help: "Refused access attempts, by HTTP status (401, 403), reason and action.",
		}, []string{"code", "reason", "action"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sovereign_access_records_dropped_total",
			Help: "Refused unauthenticated attempts not recorded in the audit log because they came faster than the record rate.",
		}),
		unauthRate: rate.NewLimiter(accessRecordRate, accessRecordBurst),
	}
	reg.MustRegister(a.denied, a.dropped)
	return a
}

// authenticate runs on every route. Without an authenticator (no credentials
// configured, loopback only) every caller is anonymous and may do anything.
// With one, every route but the public ones needs credentials, and a route
// with neither a rule nor a handler that authorizes is refused: a route added
// without thinking about who may call it fails closed.
func (s *Server) authenticate(c *gin.Context) {
	if s.access == nil {
		c.Next()
		return
	}
	route := c.Request.Method + " " + c.FullPath()
	if c.FullPath() == "" || publicRoutes[route] {
		c.Next() // unmatched routes answer 404 whoever asks
		return
	}
	id, err := s.access.authn.Authenticate(c.Request)
	if err != nil {
		var ae *auth.AuthError
		reason := auth.ReasonMalformed
		if errors.As(err, &ae) {
			reason = ae.Reason
		}
		s.refuse(c, nil, http.StatusUnauthorized, reason, "", nil, err.Error())
		return
	}
	c.Set(identityKey, id)
	c.Set(principalKey, id.String())
	if rule, ok := routeRules[route]; ok {
		if !s.authorize(c, rule.action, nil, rule.resource(s, c)) {
			return
		}
	} else if !handlerAuthorized[route] {
		s.refuse(c, id, http.StatusForbidden, "no_rule", "", nil, "no authorization rule covers "+route)
		return
	}
	c.Next()
}

// authorize decides whether the caller may do action on every resource; if
// not it answers 403 and records the refusal. Without an authenticator it
// allows.
func (s *Server) authorize(c *gin.Context, action string, context cedar.RecordMap, resources ...auth.Resource) bool {
	if s.access == nil {
		return true
	}
	id := identity(c)
	if id == nil {
		s.refuse(c, nil, http.StatusUnauthorized, auth.ReasonMissing, action, resources, "authentication required")
		return false
	}
	if len(resources) == 0 {
		// Nothing named: authorize as on an unknown resource, which only a
		// service-wide principal may touch; the handler then reports what is
		// missing.
		resources = []auth.Resource{auth.Ref(auth.TypeDataset, "")}
	}
	d := s.access.authz.Authorize(id, action, context, resources...)
	if d.Allowed {
		why := tenantBoundary(id, resources)
		if why == "" {
			return true
		}
		s.refuse(c, id, http.StatusForbidden, "tenant_boundary", action, resources,
			fmt.Sprintf("%s may not %s %s: %s", id.String(), action, resourceNames(resources), why))
		return false
	}
	reason := "forbidden"
	if len(d.Errors) > 0 {
		reason = "policy_error"
		s.cfg.Logger.Error("authorization policy failed to evaluate; denied", "action", action, "principal", id.String(), "errors", d.Errors)
	}
	s.refuse(c, id, http.StatusForbidden, reason, action, resources,
		fmt.Sprintf("%s may not %s %s: %s", id.String(), action, resourceNames(resources), d.Reason()))
	return false
}

// tenantBoundary is the part of the tenant boundary that holds whatever the
// policy set in force permits: a bundle's Cedar set (data.authz) replaces the
// built-in one whole, and one written before records named their tenants, or
// one that drops a guard, must not open the log to a tenant. A tenant-scoped
// caller never reads the log as a whole, a record that is not its tenant's
// alone, nor anything of another tenant. It says why not, or "".
func tenantBoundary(id *auth.Identity, resources []auth.Resource) string {
	if id.Tenant == "" {
		return ""
	}
	for _, r := range resources {
		switch r.UID.Type {
		case auth.TypeLog:
			return "a tenant-scoped principal does not read the whole audit log"
		case auth.TypeRecord:
			var tenants []string
			if r.Inline != nil {
				for p := range r.Inline.Parents.All() {
					tenants = append(tenants, string(p.ID))
				}
			}
			if !audit.OnlyTenant(tenants, id.Tenant) {
				return "the record is not one of tenant " + id.Tenant + "'s alone"
			}
		case auth.TypeTenant:
			if string(r.UID.ID) != id.Tenant {
				return "it belongs to another tenant"
			}
		}
	}
	return ""
}

func resourceNames(rs []auth.Resource) string {
	if len(rs) == 1 {
		return rs[0].UID.String()
	}
	return "[" + strings.Join(resourceUIDs(rs), ", ") + "]"
}

// refuse answers 401 or 403, counts the refusal and records it in the audit
// log (kind access.denied). The answer does not wait on the log failing: the
// request is refused either way.
func (s *Server) refuse(c *gin.Context, id *auth.Identity, status int, reason, action string, resources []auth.Resource, message string) {
	code := CodeForbidden
	if status == http.StatusUnauthorized {
		code = CodeUnauthenticated
		c.Header("WWW-Authenticate", `Bearer realm="sovereign"`)
	}
	s.access.denied.WithLabelValues(fmt.Sprint(status), reason, action).Inc()
	abortWithError(c, status, code, message)

	if id == nil && !s.access.unauthRate.Allow() {
		s.access.dropped.Inc()
		return
	}
	principal, tenant := "unauthenticated", ""
	if id != nil {
		principal, tenant = id.String(), id.Tenant
	}
	p, inv := s.cfg.Engine.Policy(), s.cfg.Engine.Inventory()
	rec, err := audit.NewAccessDenial(principal,
		audit.AccessRequest{Method: c.Request.Method, Route: c.FullPath(), Action: action, Resources: resourceUIDs(resources)},
		audit.AccessDenial{Status: status, Code: code, Reason: message, ReasonCode: reason},
		audit.Context{Bundle: audit.BundleRef{Revision: p.Revision, Digest: p.Digest}, InventoryRevision: inv.Revision, EngineVersion: engine.Version})
	if err == nil {
		// A refusal belongs to the caller's tenant only, not to the owner of
		// what it tried: that owner would learn who tried (docs/audit.md).
		rec.Tenants = withTenant(nil, tenant)
		_, err = s.record(context.WithoutCancel(c.Request.Context()), rec)
	}
	if err != nil {
		s.cfg.Logger.Error("could not record a refused access attempt", "principal", principal, "route", c.FullPath(), "err", err)
	}
}

// decisionResources are what a decision request touches: its dataset or
// workload and, for a workload, every dataset it uses. An inline entry is
// authorized as given (its tenant) and, if it reuses an inventory id, as that
// inventory entry too.
func decisionResources(inv *engine.Inventory, ds *engine.DatasetRef, wl *engine.WorkloadRef) []auth.Resource {
	var rs []auth.Resource
	if ds != nil {
		switch {
		case ds.Inline != nil:
			rs = append(rs, auth.InlineDataset(ds.Inline))
			if _, ok := inv.Dataset(ds.Inline.ID); ok {
				rs = append(rs, auth.Ref(auth.TypeDataset, ds.Inline.ID))
			}
		default:
			rs = append(rs, auth.Ref(auth.TypeDataset, ds.ID))
		}
	}
	if wl != nil {
		var datasets []string
		switch {
		case wl.Inline != nil:
			rs = append(rs, auth.InlineWorkload(wl.Inline))
			if _, ok := inv.Workload(wl.Inline.ID); ok {
				rs = append(rs, auth.Ref(auth.TypeWorkload, wl.Inline.ID))
			}
			datasets = wl.Inline.Datasets
		default:
			rs = append(rs, auth.Ref(auth.TypeWorkload, wl.ID))
			if w, ok := inv.Workload(wl.ID); ok {
				datasets = w.Datasets
			}
		}
		for _, d := range datasets {
			rs = append(rs, auth.Ref(auth.TypeDataset, d))
		}
	}
	return rs
}

// IsLoopback reports whether addr names the loopback interface: a loopback IP
// or "localhost", as a bare host (a URL's Hostname) or host:port (a --addr, a
// listener's address). An empty host (":8181") means every interface, and is
// not loopback. It is the one test of where Sovereign may run without
// credentials, send a token in clear, or offer its profiler.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkListener refuses a non-loopback listener when no credentials are
// configured.
func (s *Server) checkListener(ln net.Listener) error {
	if s.access == nil && !IsLoopback(ln.Addr().String()) {
		return fmt.Errorf("%w: refusing to listen on %s", ErrNoCredentialsOffLoopback, ln.Addr())
	}
	return nil
}
