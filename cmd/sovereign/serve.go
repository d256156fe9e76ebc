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
	f.IntVar(&o.gcPercent, "gc-percent", 400, "Go GC target percentage for the server (GOGC, when set, wins): policy evaluation allocates short-lived values on a small heap, so collecting less often buys throughput for little memory")
	return cmd
}

func serve(ctx context.Context, o serveOptions, logger *slog.Logger) error {
	if o.inventory == "" {
		return errors.New("serve: --inventory is required (or SOVEREIGN_INVENTORY)")
	}
	if _, set := os.LookupEnv("GOGC"); !set && o.gcPercent != 0 {
		debug.SetGCPercent(o.gcPercent)
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("serve: data dir: %w", err)
	}
	eng, err := openEngine(ctx, o.bundle, o.inventory)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	auditOpts := audit.Options{
		DataDir:    o.dataDir,
		Origin:     o.origin,
		SigningKey: o.signingKey,
		Passphrase: audit.PassphraseFromEnv(),
		Redact:     o.redact,
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
	if err := recordActivation(ctx, auditLog, eng, o); err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	srv, err := api.New(api.Config{
		Engine:       eng,
		Audit:        auditLog,
		MaxBodyBytes: o.maxBodyBytes,
		LogTimeout:   o.logTimeout,
		Logger:       logger,
		Ready:        auditLog.Ready,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	p, inv := eng.Policy(), eng.Inventory()
	logger.Info("serving", "addr", ln.Addr().String(), "bundle_revision", p.Revision, "bundle_digest", p.Digest,
		"inventory_revision", inv.Revision, "sites", len(inv.Sites), "datasets", len(inv.Datasets), "data_dir", o.dataDir)
	err = srv.Serve(ctx, ln, o.drain)
	logger.Info("stopped", "err", err)
	return err
}

// recordActivation logs which bundle and inventory the service starts deciding
// on: an auditor reads from the log which policy was in force when.
func recordActivation(ctx context.Context, l *audit.Log, eng *engine.Engine, o serveOptions) error {
	p, inv := eng.Policy(), eng.Inventory()
	bundleSource := o.bundle
	if bundleSource == "" {
		bundleSource = "builtin"
	}
	bundleRef := audit.BundleRef{Revision: p.Revision, Digest: p.Digest}
	records := []*audit.Record{
		{
			Kind:      audit.KindBundleActivation,
			Principal: "system",
			Request:   mustJSON(map[string]any{"source": bundleSource}),
			Result:    mustJSON(map[string]any{"revision": p.Revision, "digest": p.Digest, "roots": p.Roots}),
		},
		{
			Kind:      audit.KindInventoryActivation,
			Principal: "system",
			Request:   mustJSON(map[string]any{"source": o.inventory}),
			Result: mustJSON(map[string]any{"revision": inv.Revision, "sites": len(inv.Sites),
				"datasets": len(inv.Datasets), "workloads": len(inv.Workloads)}),
		},
	}
	for _, r := range records {
		r.Bundle = bundleRef
		r.InventoryRevision = inv.Revision
		r.EngineVersion = engine.Version
		if _, err := l.Append(ctx, r); err != nil {
			return fmt.Errorf("record %s: %w", r.Kind, err)
		}
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
