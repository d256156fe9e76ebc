// Package api serves Sovereign over HTTP: the decision endpoints, the audit log's
// read API, health, metrics and the OpenAPI document. gin only routes; the server
// owns its http.Server, its timeouts and its shutdown.
package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/fleet"
)

//go:embed openapi.yaml
var openAPIDocument []byte

// DefaultMaxBodyBytes caps a request body (413 past it).
const DefaultMaxBodyBytes = 1 << 20

// Config is checked once by New.
type Config struct {
	Engine *engine.Engine
	// Audit is the signed log: every decision, admission, override and
	// refused access is recorded in it, and its read API is served.
	Audit        *audit.Log
	MaxBodyBytes int64         // default DefaultMaxBodyBytes
	LogTimeout   time.Duration // how long a record may wait for the log; default 5s
	Logger       *slog.Logger
	// Ready reports why the server cannot serve decisions, or nil when it can;
	// default Audit.Ready.
	Ready func() error
	// Extra lets other rooms (the audit read API) add routes.
	Extra func(r *gin.Engine)
	// Admission configures the Kubernetes admission webhook; checked against
	// the engine's inventory by New. Without a ClusterSite the admission
	// endpoints answer 503.
	Admission admission.Config
	// BundleStatus reports the active bundle and the last attempt to update it
	// (GET /v1/bundles/status); nil reports only the engine's active bundle.
	BundleStatus func() bundles.Status
	// ServeBundlesDir, when set, makes this server a control plane that
	// serves the bundle files in it to sites (GET /v1/bundles/{name}).
	ServeBundlesDir string
	// Witness, when set, makes this server a witness of sites' audit logs
	// (POST /v1/witness/add-checkpoint, C2SP tlog-witness).
	Witness Witness
	// Auth authenticates callers (docs/authz.md); every route but the probes,
	// metrics and the OpenAPI document then needs credentials, and the Cedar
	// policy set of the active bundle decides who may do what. Nil serves
	// without authentication: Serve then listens on loopback only.
	Auth *auth.Authenticator
	// DefaultAuthz is the Cedar policy set in force when the active bundle
	// carries none (data.authz): the built-in policies/authz. Without it, such
	// a bundle is refused when Auth is set.
	DefaultAuthz *auth.PolicySet
	// MaxOverride bounds how long a break-glass override may last; default
	// DefaultMaxOverride.
	MaxOverride time.Duration
	// MaxConcurrentReports bounds the audit reports built at once (429 with
	// Retry-After beyond it); default DefaultMaxConcurrentReports.
	MaxConcurrentReports int
	// MaxLargeRequests bounds the requests with a body over 64 KiB read and
	// decided at once (see largeBodies); default DefaultMaxLargeRequests.
	MaxLargeRequests int
	// Fleet, with ServeBundlesDir, makes this control plane keep the status
	// its sites report (POST /v1/status, GET /v1/fleet).
	Fleet *FleetConfig
	// Collectors are more metrics served at /metrics (the inventory
	// reloads counted by serve).
	Collectors []prometheus.Collector
	// DriftWatch configures scheduled drift runs (driftwatch.go); off
	// unless its Interval is set. WatchDrift runs it.
	DriftWatch DriftWatch
}

// logFailureTTL is how long /readyz reports the log's last storage failure.
const logFailureTTL = 30 * time.Second

// logFailure is the log failing to take a record (Server.record).
type logFailure struct {
	kind audit.Kind
	err  error
	at   time.Time
}

// Server is the HTTP face of Sovereign.
type Server struct {
	cfg     Config
	router  *gin.Engine
	metrics *metrics
	// logFailure is the last storage failure of the audit log, cleared by the
	// next record it takes and forgotten after logFailureTTL (an unready
	// replica gets no traffic that could clear it): /readyz reports it, so an
	// operator sees why requests get 503 even when the log's own probe passes.
	logFailure atomic.Pointer[logFailure]
	// admission decides AdmissionReviews under the webhook's configuration
	// in force (SetAdmissionConfig swaps it whole).
	admission *admission.Reviewer
	// access is authentication and authorization; nil without credentials.
	access *accessControl
	// stopping is closed when Serve begins its shutdown, so handlers that
	// hold a request open (a bundle long poll) let go at once.
	stopping chan struct{}
	stopOnce sync.Once
	// reports bounds the reports built at once (reportlimit.go).
	reports *reportSlots
	// bodies admits large request bodies a few at a time (bodylimit.go).
	bodies *largeBodies
	// drift is the scheduled drift watch, nil when off (driftwatch.go).
	driftWatch *driftWatcher
	// fleet is the sites' status on a control plane (fleet.go); nil
	// otherwise.
	fleet      *fleet.Registry
	fleetSweep time.Duration
	// workloads are the cluster's workloads a background audit judged, for
	// GET /v1/drift; nil without one (SetWorkloadDrift).
	workloads atomic.Pointer[workloadDrift]
}

// New validates the configuration and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("api: an engine is required")
	}
	if cfg.Audit == nil {
		return nil, errors.New("api: an audit log is required: decisions are never answered unlogged")
	}
	if cfg.Ready == nil {
		cfg.Ready = cfg.Audit.Ready
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.LogTimeout <= 0 {
		cfg.LogTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if cfg.MaxOverride <= 0 {
		cfg.MaxOverride = DefaultMaxOverride
	}
	if cfg.MaxConcurrentReports <= 0 {
		cfg.MaxConcurrentReports = DefaultMaxConcurrentReports
	}
	if cfg.MaxLargeRequests <= 0 {
		cfg.MaxLargeRequests = DefaultMaxLargeRequests
	}
	s := &Server{cfg: cfg, router: r, metrics: newMetrics(), stopping: make(chan struct{}), reports: newReportSlots(cfg.MaxConcurrentReports), bodies: newLargeBodies(cfg.MaxLargeRequests)}
	s.metrics.watchDecisionCache(cfg.Engine)
	if err := s.metrics.registry.Register(cfg.Audit.Collector()); err != nil {
		return nil, fmt.Errorf("api: audit log metrics: %w", err)
	}
	bundleStatus := cfg.BundleStatus
	if bundleStatus == nil {
		bundleStatus = func() bundles.Status {
			p := cfg.Engine.Policy()
			return bundles.Status{Source: "engine", ActiveRevision: p.Revision, ActiveDigest: p.Digest}
		}
	}
	s.metrics.watchBundles(bundleStatus)
	for _, c := range cfg.Collectors {
		if err := s.metrics.registry.Register(c); err != nil {
			return nil, fmt.Errorf("api: metrics: %w", err)
		}
	}
	var err error
	if s.driftWatch, err = newDriftWatcher(s, cfg.DriftWatch); err != nil {
		return nil, err
	}
	if cfg.Auth != nil {
		authz, err := auth.NewAuthorizer(cfg.Engine, cfg.DefaultAuthz)
		if err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		s.access = newAccessControl(s.metrics.registry, cfg.Auth, authz)
	}
	r.Use(s.recoverPanic, s.metrics.middleware, s.authenticate, s.bodies.limit, tileErrorsAsJSON)
	r.NoRoute(notFound)
	r.NoMethod(methodNotAllowed)

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", openAPIDocument) })
	v1 := r.Group("/v1")
	v1.POST("/decisions/placement", s.placement)
	v1.POST("/decisions/transfer", s.transfer)
	v1.POST("/decisions/:id/override", s.override)
	s.auditRoutes(v1)
	s.bundleRoutes(v1)
	files, err := s.bundleFileRoutes(v1)
	if err != nil {
		return nil, err
	}
	if err := s.fleetRoutes(v1, files); err != nil {
		return nil, err
	}
	s.reportRoutes(v1)
	s.driftRoutes(v1)
	s.witnessRoutes(v1)
	if err := s.admissionRoutes(v1); err != nil {
		return nil, err
	}
	if cfg.Extra != nil {
		cfg.Extra(r)
	}
	return s, nil
}

// Handler is the server's routes, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.router }

// DecisionCounts are the decisions and admission reviews answered since
// start, and those denied: what a site's status reports count.
func (s *Server) DecisionCounts() (answered, denied uint64) {
	return s.metrics.answered.Load(), s.metrics.denied.Load()
}

// Routes lists method and path of every route served.
func (s *Server) Routes() []gin.RouteInfo { return s.router.Routes() }

func (s *Server) readyz(c *gin.Context) {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			abortWithError(c, http.StatusServiceUnavailable, CodeNotReady, err.Error())
			return
		}
	}
	if f := s.logFailure.Load(); f != nil && time.Since(f.at) < logFailureTTL {
		abortWithError(c, http.StatusServiceUnavailable, CodeNotReady, fmt.Sprintf("the audit log failed to record %s %s ago: %v", withArticle(recordedAs(f.kind)), time.Since(f.at).Round(time.Second), f.err))
		return
	}
	p := s.cfg.Engine.Policy()
	c.JSON(http.StatusOK, gin.H{"status": "ready", "bundle": p.Info(), "inventory_revision": s.cfg.Engine.Inventory().Revision})
}

func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			s.cfg.Logger.Error("panic serving request", "path", c.FullPath(), "panic", v)
			abortWithError(c, http.StatusInternalServerError, CodeInternal, "internal error")
		}
	}()
	c.Next()
}

// Serve listens on addr until ctx is done, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to drain), and returns.
//
// Without credentials configured it refuses any listener but a loopback one.
func (s *Server) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	if err := s.checkListener(ln); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if s.fleet != nil {
		fctx, stopFleet := context.WithCancel(ctx)
		swept := make(chan struct{})
		go func() { defer close(swept); s.runFleet(fctx) }()
		defer func() {
			stopFleet()
			<-swept
			// What the sites reported since the last sweep survives the
			// restart.
			if err := s.fleet.Flush(true); err != nil {
				s.cfg.Logger.Error("fleet state not written", "err", err)
			}
		}()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.stopOnce.Do(func() { close(s.stopping) })
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
