package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/kubeaudit"
)

type serveOptions struct {
	addr         string
	inventory    string
	bundle       string
	dataDir      string
	maxBodyBytes int64
	drain        time.Duration
	signingKey   string
	origin       string
	redact       []string
	logTimeout   time.Duration
	maxReports   int
	gcPercent    int

	// Kubernetes admission webhook (docs/admission.md).
	clusterSite     string
	regionLabel     string
	admissionConfig string
	tlsCert         string
	tlsKey          string

	decisionCache int // entries per snapshot (engine/cache.go); 0 is off
	pprofAddr     string

	// authentication (docs/authz.md)
	authConfig string

	// scheduled drift runs and their events (docs/drift.md)
	drift api.DriftWatch

	// policy distribution (serve_bundles.go)
	bundleOpts bundleOptions

	// log backend and witnesses (serve_log.go)
	logOpts logOptions

	// status reports and the fleet view (serve_status.go)
	statusOpts statusOptions
	// background audit of a cluster's workloads (serve_kubeaudit.go)
	kubeAudit kubeAuditOptions
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve --inventory DIR [--bundle PATH] [--data-dir DIR] [--addr HOST:PORT]",
		Short: "Serve the decision API; every decision is signed into the audit log before it is answered",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			return serve(cmd.Context(), o, slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil)))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8181", "listen address (env SOVEREIGN_ADDR)")
	f.StringVar(&o.inventory, "inventory", "", "inventory directory of YAML/JSON files (env SOVEREIGN_INVENTORY; required)")
	f.StringVar(&o.bundle, "bundle", "", "policy bundle: a directory or an OPA .tar.gz (env SOVEREIGN_BUNDLE; default the built-in bundle)")
	f.StringVar(&o.dataDir, "data-dir", "data", "data directory for keys and the audit log, created if missing (env SOVEREIGN_DATA_DIR)")
	f.Int64Var(&o.maxBodyBytes, "max-body-bytes", api.DefaultMaxBodyBytes, "largest request body accepted (413 past it)")
	f.DurationVar(&o.drain, "shutdown-timeout", 20*time.Second, "how long requests in flight may take to finish on SIGTERM/SIGINT")
	f.StringVar(&o.signingKey, "signing-key", "", "record signing key: a PEM file or a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://); default DATA_DIR/signing.key, created on first start (passphrase from "+audit.PassphraseEnv+")")
	f.StringVar(&o.origin, "log-origin", "", "the audit log's origin line (default sovereign/<hostname> for a new log)")
	f.StringSliceVar(&o.redact, "redact", nil, "request fields replaced by \"[redacted]\" in audit records (top-level names or dotted paths)")
	f.DurationVar(&o.logTimeout, "log-timeout", 5*time.Second, "how long a decision may wait for the audit log before it fails with 503")
	f.IntVar(&o.maxReports, "max-concurrent-reports", api.DefaultMaxConcurrentReports, "audit reports built at once; more are refused with 429 and Retry-After")
	f.IntVar(&o.decisionCache, "decision-cache", engine.DefaultDecisionCacheEntries, "distinct answers kept per bundle and inventory, for policies proven to read the time only as a date and to call no non-deterministic built-in (docs/operations.md); 0 evaluates every request")
	f.StringVar(&o.pprofAddr, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this loopback address, for diagnosis")
	f.IntVar(&o.gcPercent, "gc-percent", 400, "Go GC target percentage for the server (GOGC, when set, wins): policy evaluation allocates short-lived values on a small heap, so collecting less often buys throughput for little memory")
	f.StringVar(&o.clusterSite, "cluster-site", "", "admission webhook: the inventory site this Kubernetes cluster runs in (overrides the --admission-config file)")
	f.StringVar(&o.regionLabel, "region-label", "", "admission webhook: node label mapping nodes to sites through the sites' labels (default "+admission.DefaultRegionLabel+")")
	f.StringVar(&o.admissionConfig, "admission-config", "", "admission webhook: YAML file of spanned sites, namespace defaults and modes (enforce|warn|dryrun), exempt namespaces; reloaded on change (checked every --inventory-poll-interval) and on SIGHUP")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate, reloaded when the file changes (with --tls-key)")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert, reloaded when the file changes")
	f.StringVar(&o.authConfig, "auth-config", "", "YAML file of bearer tokens (as SHA-256) and client certificates mapped to principals, tenants and roles (docs/authz.md); without it the service listens on loopback only, unauthenticated (env SOVEREIGN_AUTH_CONFIG)")
	f.DurationVar(&o.drift.Interval, "drift-interval", 0, "judge the inventory's current: state on this schedule (at least 1m), after every bundle or inventory activation and when the day changes; each run is a drift audit record (docs/drift.md); 0 is off")
	f.StringVar(&o.drift.EventsURL, "drift-events-url", "", "post a CloudEvent (structured JSON) to this URL for each stored copy or flow that falls out of compliance or comes back (needs --drift-interval)")
	f.IntVar(&o.drift.EventsRetries, "drift-events-retries", 5, "times a refused or failed drift event is posted again, with exponential backoff from 1s")
	addBundleFlags(f, &o.bundleOpts)
	addLogFlags(f, &o.logOpts)
	addStatusFlags(f, &o.statusOpts)
	addKubeAuditFlags(f, &o.kubeAudit)
	return cmd
}

// serve starts the service in three steps, so that a start that cannot
// succeed leaves nothing behind: every flag and file is checked (nothing
// written), then the ports are bound (a busy port fails here), and only then
// are the data directory, keys, audit log and its first records created.
func serve(ctx context.Context, o serveOptions, logger *slog.Logger) error {
	c, err := checkServe(o, logger)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ln, err := listen(o, c.authn, logger)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	served := false
	defer func() {
		if !served {
			ln.Close()
		}
	}()
	if err := startPprof(ctx, o.pprofAddr, logger); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if _, set := os.LookupEnv("GOGC"); !set && o.gcPercent != 0 {
		debug.SetGCPercent(o.gcPercent)
	}

	// From here on the service writes: its data directory, keys and log.
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("serve: data dir: %w", err)
	}
	wit, err := o.logOpts.openWitness(o.dataDir)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	auditLog, err := audit.Open(ctx, c.auditOpts)
	if err != nil {
		return fmt.Errorf("serve: audit log: %w", err)
	}
	logger.Info("audit log open", "options", c.auditOpts, "origin", auditLog.Origin(), "signing_key_id", auditLog.KeyID())
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := auditLog.Close(cctx); err != nil {
			logger.Error("closing the audit log", "err", err)
		}
	}()
	site := &siteState{}
	rt, err := startPolicy(ctx, o, c.bundle, c.inventory, auditLog, site, logger)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	eng := rt.engine
	if err := recordInventory(ctx, auditLog, eng, o); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	invMetrics := newInventoryMetrics(site)
	invMetrics.activated()
	reporter := &statusReporter{target: c.status, interval: o.statusOpts.interval, bundle: bundleReportName(o.bundle),
		status: rt.status, engine: eng, log: auditLog, state: site, logger: logger, kick: make(chan struct{}, 1)}
	kick := reporter.notify
	site.changed.Store(&kick)
	if rt.manager != nil {
		go rt.manager.Run(ctx)
	}
	go watchInventory(ctx, o.inventory, o.bundleOpts.inventoryPoll, eng, auditLog, invMetrics, logger)

	defaultAuthz, err := builtinAuthz()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	collectors := invMetrics.collectors()
	var kubeAuditMetrics *kubeaudit.Metrics
	var kubeAudit *kubeaudit.Auditor // set before Serve
	ready := auditLog.Ready
	if c.kube != nil {
		kubeAuditMetrics = kubeaudit.NewMetrics()
		collectors = append(collectors, kubeAuditMetrics.Collectors()...)
		if o.kubeAudit.required {
			ready = func() error {
				if err := auditLog.Ready(); err != nil {
					return err
				}
				return kubeAudit.Ready()
			}
		}
	}
	srv, err := api.New(api.Config{
		Engine:          eng,
		Audit:           auditLog,
		MaxBodyBytes:    o.maxBodyBytes,
		LogTimeout:      o.logTimeout,
		Logger:          logger,
		Ready:           ready,
		Admission:       c.admission,
		BundleStatus:    rt.status,
		ServeBundlesDir: o.bundleOpts.serveDir,
		Witness:         wit,
		Auth:            c.authn,
		DefaultAuthz:    defaultAuthz,

		MaxConcurrentReports: o.maxReports,
		Collectors:           collectors,
		DriftWatch:           driftWatch(o),
		Fleet:                fleetConfig(o),
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if c.kube != nil {
		if kubeAudit, err = startKubeAudit(ctx, c.kube, srv.AdmissionReviewer(), eng, auditLog, kubeAuditMetrics, logger); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		srv.SetWorkloadDrift(kubeAudit)
	}
	go srv.WatchDrift(ctx)
	if c.status.url != "" {
		reporter.counts = srv.DecisionCounts
		go reporter.run(ctx)
		logger.Info("reporting status", "url", c.status.url, "site_id", c.status.siteID, "interval", o.statusOpts.interval)
	}
	go watchAdmissionConfig(ctx, o.admissionConfig, o.clusterSite, o.regionLabel, o.bundleOpts.inventoryPoll, srv, logger)
	p, inv := eng.Policy(), eng.Inventory()
	logger.Info("serving", "addr", ln.Addr().String(), "bundle_revision", p.Revision, "bundle_digest", p.Digest,
		"inventory_revision", inv.Revision, "sites", len(inv.Sites), "datasets", len(inv.Datasets), "data_dir", o.dataDir)
	served = true
	err = srv.Serve(ctx, ln, o.drain)
	logger.Info("stopped", "err", err)
	return err
}

// checkedServe is what checkServe read and validated.
type checkedServe struct {
	authn     *auth.Authenticator
	inventory *engine.Inventory
	admission admission.Config
	auditOpts audit.Options
	bundle    *bundleSetup // nil: the built-in bundle
	status    statusTarget
	kube      *rest.Config // the cluster --kube-audit audits; nil without
}

// checkServe checks every flag and reads every file serve needs before
// anything is created; all it writes is log lines.
func checkServe(o serveOptions, logger *slog.Logger) (*checkedServe, error) {
	if o.inventory == "" {
		return nil, errors.New("--inventory is required (or SOVEREIGN_INVENTORY)")
	}
	// Credentials first: without them nothing is opened on a public address.
	authn, err := loadAuth(o.authConfig, logger)
	if err != nil {
		return nil, err
	}
	if authn == nil && !api.IsLoopback(o.addr) {
		return nil, fmt.Errorf("%w: refusing to listen on %s; give --auth-config, or --addr 127.0.0.1:PORT", api.ErrNoCredentialsOffLoopback, o.addr)
	}
	if o.pprofAddr != "" && !api.IsLoopback(o.pprofAddr) {
		return nil, fmt.Errorf("--pprof-addr %s: only a loopback address (127.0.0.1:PORT) is allowed", o.pprofAddr)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, errors.New("tls: give both --tls-cert and --tls-key, or neither")
	}
	if err := o.drift.Validate(); err != nil {
		return nil, fmt.Errorf("drift watch flags: %w", err)
	}
	inv, err := engine.LoadInventory(o.inventory)
	if err != nil {
		return nil, err
	}
	admissionCfg, err := admission.LoadConfig(o.admissionConfig, o.clusterSite, o.regionLabel)
	if err != nil {
		return nil, err
	}
	if err := admissionCfg.Check(inv); err != nil {
		return nil, err
	}
	kube, err := o.kubeAudit.check(admissionCfg)
	if err != nil {
		return nil, err
	}
	if o.bundleOpts.serveDir != "" {
		if st, err := os.Stat(o.bundleOpts.serveDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--serve-bundles %s: not a readable directory", o.bundleOpts.serveDir)
		}
	}
	bs, err := prepareBundle(o, logger)
	if err != nil {
		return nil, err
	}
	st, err := checkStatus(o)
	if err != nil {
		return nil, err
	}
	auditOpts := audit.Options{
		DataDir:    o.dataDir,
		Origin:     o.origin,
		SigningKey: o.signingKey,
		Passphrase: audit.PassphraseFromEnv(), // read once, then dropped from the environment below
		Redact:     o.redact,
	}
	// A long-running server keeps no secret in its environment: children (and
	// anything reading our environment later) do not get the passphrase.
	os.Unsetenv(audit.PassphraseEnv)
	os.Unsetenv("SOVEREIGN_LOG_DSN")
	if err := o.logOpts.apply(&auditOpts); err != nil {
		return nil, err
	}
	if err := o.logOpts.checkWitness(); err != nil {
		return nil, err
	}
	return &checkedServe{authn: authn, inventory: inv, admission: admissionCfg, auditOpts: auditOpts, bundle: bs, status: st, kube: kube}, nil
}

// listen binds the service's address (TLS when asked), before anything is
// created: a busy port is an error that leaves no trace.
func listen(o serveOptions, authn *auth.Authenticator, logger *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, err
	}
	if authn == nil && !api.IsLoopback(ln.Addr().String()) {
		ln.Close()
		return nil, fmt.Errorf("%w: refusing to listen on %s; give --auth-config or --addr 127.0.0.1:PORT", api.ErrNoCredentialsOffLoopback, ln.Addr())
	}
	tln, err := api.ListenTLSClientAuth(ln, o.tlsCert, o.tlsKey, authn != nil && authn.RequestsClientCertificates(), logger)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return tln, nil
}

// recordInventory logs which inventory the service starts deciding on: an
// auditor reads from the log which inventory was in force when. (Bundle
// activations are recorded by startPolicy.)
func recordInventory(ctx context.Context, l *audit.Log, eng *engine.Engine, o serveOptions) error {
	p, inv := eng.Policy(), eng.Inventory()
	r, err := audit.NewInventoryActivation(o.inventory, inventoryActivation(inv), systemContext(p, inv))
	if err == nil {
		_, err = l.Append(ctx, r)
	}
	if err != nil {
		return fmt.Errorf("record %s: %w", audit.KindInventoryActivation, err)
	}
	return nil
}

// systemContext is the bundle and inventory in force, for a system record.
func systemContext(p *engine.Policy, inv *engine.Inventory) audit.Context {
	return audit.Context{Bundle: audit.BundleRef{Revision: p.Revision, Digest: p.Digest},
		InventoryRevision: inv.Revision, EngineVersion: engine.Version}
}

// inventoryActivation is what an inventory.activation record says of inv.
func inventoryActivation(inv *engine.Inventory) audit.InventoryActivation {
	return audit.InventoryActivation{Revision: inv.Revision, Sites: len(inv.Sites),
		Datasets: len(inv.Datasets), Workloads: len(inv.Workloads)}
}

// driftWatch is the drift watch of o, its state kept in the data directory.
func driftWatch(o serveOptions) api.DriftWatch {
	d := o.drift
	if d.Interval > 0 {
		d.StateFile = filepath.Join(o.dataDir, "drift-state.json")
	}
	return d
}

// fleetConfig is the fleet a control plane (--serve-bundles) keeps, in its
// data directory; nil on a site.
func fleetConfig(o serveOptions) *api.FleetConfig {
	if o.bundleOpts.serveDir == "" {
		return nil
	}
	return &api.FleetConfig{
		StatePath:  filepath.Join(o.dataDir, "fleet", "state.json"),
		StaleAfter: o.statusOpts.staleAfter,
		LagAfter:   o.statusOpts.lagAfter,
		MaxSites:   o.statusOpts.maxSites,
	}
}
