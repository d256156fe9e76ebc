package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
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

	// policy distribution (serve_bundles.go)
	bundleOpts bundleOptions

	// log backend and witnesses (serve_log.go)
	logOpts logOptions
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
	f.IntVar(&o.decisionCache, "decision-cache", engine.DefaultDecisionCacheEntries, "distinct answers kept per bundle and inventory, for policies proven to read the time only as a date and to call no non-deterministic built-in (docs/operations.md); 0 evaluates every request")
	f.StringVar(&o.pprofAddr, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this loopback address, for diagnosis")
	f.IntVar(&o.gcPercent, "gc-percent", 400, "Go GC target percentage for the server (GOGC, when set, wins): policy evaluation allocates short-lived values on a small heap, so collecting less often buys throughput for little memory")
	f.StringVar(&o.clusterSite, "cluster-site", "", "admission webhook: the inventory site this Kubernetes cluster runs in (overrides the --admission-config file)")
	f.StringVar(&o.regionLabel, "region-label", "", "admission webhook: node label mapping nodes to sites through the sites' labels (default "+api.DefaultRegionLabel+")")
	f.StringVar(&o.admissionConfig, "admission-config", "", "admission webhook: YAML file of spanned sites, namespace defaults and modes (enforce|warn|dryrun), exempt namespaces; reloaded on change (checked every --inventory-poll-interval) and on SIGHUP")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate, reloaded when the file changes (with --tls-key)")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert, reloaded when the file changes")
	f.StringVar(&o.authConfig, "auth-config", "", "YAML file of bearer tokens (as SHA-256) and client certificates mapped to principals, tenants and roles (docs/authz.md); without it the service listens on loopback only, unauthenticated (env SOVEREIGN_AUTH_CONFIG)")
	addBundleFlags(f, &o.bundleOpts)
	addLogFlags(f, &o.logOpts)
	return cmd
}

func serve(ctx context.Context, o serveOptions, logger *slog.Logger) error {
	if o.inventory == "" {
		return errors.New("serve: --inventory is required (or SOVEREIGN_INVENTORY)")
	}
	// Credentials first: without them nothing is opened on a public address.
	authn, err := loadAuth(o.authConfig, logger)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if authn == nil && !loopbackHost(o.addr) {
		return fmt.Errorf("serve: %w: refusing to listen on %s; give --auth-config, or --addr 127.0.0.1:PORT", api.ErrNoCredentialsOffLoopback, o.addr)
	}
	if _, set := os.LookupEnv("GOGC"); !set && o.gcPercent != 0 {
		debug.SetGCPercent(o.gcPercent)
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("serve: data dir: %w", err)
	}
	inv, err := engine.LoadInventory(o.inventory)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
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
		return fmt.Errorf("serve: %w", err)
	}
	wit, err := o.logOpts.openWitness(o.dataDir)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	auditLog, err := audit.Open(ctx, auditOpts)
	if err != nil {
		return fmt.Errorf("serve: audit log: %w", err)
	}
	logger.Info("audit log open", "options", auditOpts, "origin", auditLog.Origin(), "signing_key_id", auditLog.KeyID())
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := auditLog.Close(cctx); err != nil {
			logger.Error("closing the audit log", "err", err)
		}
	}()
	rt, err := startPolicy(ctx, o, inv, auditLog, logger)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	eng := rt.engine
	if err := recordInventory(ctx, auditLog, eng, o); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if rt.manager != nil {
		go rt.manager.Run(ctx)
	}
	go watchInventory(ctx, o.inventory, o.bundleOpts.inventoryPoll, eng, auditLog, logger)

	defaultAuthz, err := builtinAuthz()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	admission, err := api.LoadAdmissionConfig(o.admissionConfig, o.clusterSite, o.regionLabel)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv, err := api.New(api.Config{
		Engine:          eng,
		Audit:           auditLog,
		MaxBodyBytes:    o.maxBodyBytes,
		LogTimeout:      o.logTimeout,
		Logger:          logger,
		Ready:           auditLog.Ready,
		Admission:       admission,
		BundleStatus:    rt.status,
		ServeBundlesDir: o.bundleOpts.serveDir,
		Witness:         wit,
		Auth:            authn,
		DefaultAuthz:    defaultAuthz,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := startPprof(ctx, o.pprofAddr, logger); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	go watchAdmissionConfig(ctx, o.admissionConfig, o.clusterSite, o.regionLabel, o.bundleOpts.inventoryPoll, srv, logger)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if authn == nil && !isLoopbackAddr(ln.Addr()) {
		ln.Close()
		return fmt.Errorf("serve: %w: refusing to listen on %s; give --auth-config or --addr 127.0.0.1:PORT", api.ErrNoCredentialsOffLoopback, ln.Addr())
	}
	tln, err := api.ListenTLSClientAuth(ln, o.tlsCert, o.tlsKey, authn != nil && authn.RequestsClientCertificates(), logger)
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	ln = tln
	p, inv := eng.Policy(), eng.Inventory()
	logger.Info("serving", "addr", ln.Addr().String(), "bundle_revision", p.Revision, "bundle_digest", p.Digest,
		"inventory_revision", inv.Revision, "sites", len(inv.Sites), "datasets", len(inv.Datasets), "data_dir", o.dataDir)
	err = srv.Serve(ctx, ln, o.drain)
	logger.Info("stopped", "err", err)
	return err
}

// recordInventory logs which inventory the service starts deciding on: an
// auditor reads from the log which inventory was in force when. (Bundle
// activations are recorded by startPolicy.)
func recordInventory(ctx context.Context, l *audit.Log, eng *engine.Engine, o serveOptions) error {
	p, inv := eng.Policy(), eng.Inventory()
	r := &audit.Record{
		Kind:      audit.KindInventoryActivation,
		Principal: "system",
		Request:   mustJSON(map[string]any{"source": o.inventory}),
		Result: mustJSON(map[string]any{"revision": inv.Revision, "sites": len(inv.Sites),
			"datasets": len(inv.Datasets), "workloads": len(inv.Workloads)}),
		Bundle:            audit.BundleRef{Revision: p.Revision, Digest: p.Digest},
		InventoryRevision: inv.Revision,
		EngineVersion:     engine.Version,
	}
	if _, err := l.Append(ctx, r); err != nil {
		return fmt.Errorf("record %s: %w", r.Kind, err)
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and numbers are passed
	}
	return b
}
