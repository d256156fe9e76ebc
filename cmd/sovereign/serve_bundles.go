package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/spf13/pflag"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
)

// bundleOptions are serve's policy-distribution flags.
type bundleOptions struct {
	publicKeys   []string
	unsigned     bool
	pollInterval time.Duration
	pollJitter   time.Duration
	longPoll     time.Duration
	testTimeout  time.Duration
	serveDir     string
	allowHTTP    bool
	tokenFile    string // bearer token for an HTTP(S) --bundle (serve_auth.go)

	inventoryPoll time.Duration
}

func addBundleFlags(f *pflag.FlagSet, o *bundleOptions) {
	f.StringArrayVar(&o.publicKeys, "bundle-public-key", nil, "PEM public key (or ID=PATH) that must have signed --bundle; repeat for several (env SOVEREIGN_BUNDLE_PUBLIC_KEY)")
	f.BoolVar(&o.unsigned, "bundle-unsigned", false, "accept an unsigned --bundle (warned at start-up and on every activation)")
	f.BoolVar(&o.allowHTTP, "bundle-allow-http", false, "allow a plain http:// --bundle URL to a host other than loopback (signatures are still verified, but anyone on the path can withhold updates)")
	f.DurationVar(&o.pollInterval, "bundle-poll-interval", 30*time.Second, "how often --bundle is checked for a new version")
	f.DurationVar(&o.pollJitter, "bundle-poll-jitter", 0, "random extra delay added to each poll, so sites do not poll in step")
	f.DurationVar(&o.longPoll, "bundle-long-poll", 0, "for an HTTP --bundle: ask the server to hold each poll up to this long until the bundle changes (Prefer: wait)")
	f.DurationVar(&o.testTimeout, "bundle-test-timeout", 5*time.Minute, "how long a new bundle's own Rego tests may run (one core, nice 10) before it is refused")
	f.DurationVar(&o.inventoryPoll, "inventory-poll-interval", 10*time.Second, "how often the inventory directory is checked for changes (0: only on SIGHUP)")
	f.StringVar(&o.tokenFile, "bundle-token-file", "", "file holding the bearer token sent to an http(s) --bundle (a control plane with --auth-config); https only, except to loopback")
	f.StringVar(&o.serveDir, "serve-bundles", "", "control plane: serve the bundle files of this directory to sites at /v1/bundles/{name} (ETag, 304, long polling)")
}

// policyRuntime is the engine and, for a --bundle source, the manager that keeps
// it up to date.
type policyRuntime struct {
	engine    *engine.Engine
	manager   *bundles.Manager // nil for the built-in bundle
	startedAt time.Time        // when the built-in bundle was activated
}

// bundleSetup is a --bundle source and the keys its bundles must be signed
// with, checked before serve creates anything.
type bundleSetup struct {
	keys []bundles.PublicKey
	src  bundles.Source
}

// prepareBundle checks the policy-distribution flags: nil for the built-in
// bundle; for --bundle, its keys (or --bundle-unsigned), scheme, token file and
// source.
func prepareBundle(o serveOptions, logger *slog.Logger) (*bundleSetup, error) {
	if o.bundle == "" {
		if len(o.bundleOpts.publicKeys) > 0 || o.bundleOpts.unsigned {
			return nil, fmt.Errorf("--bundle-public-key and --bundle-unsigned apply to --bundle, which is not set")
		}
		if o.bundleOpts.tokenFile != "" {
			return nil, fmt.Errorf("--bundle-token-file applies to an http(s) --bundle, which is not set")
		}
		return nil, nil
	}
	if len(o.bundleOpts.publicKeys) == 0 && !o.bundleOpts.unsigned {
		return nil, fmt.Errorf("--bundle %s: no verification key: give --bundle-public-key, or --bundle-unsigned to accept unsigned bundles", o.bundle)
	}
	if o.bundleOpts.pollJitter < 0 {
		return nil, fmt.Errorf("--bundle-poll-jitter %s: must not be negative", o.bundleOpts.pollJitter)
	}
	if o.bundleOpts.unsigned && len(o.bundleOpts.publicKeys) == 0 {
		logger.Warn("bundle signature verification is OFF (--bundle-unsigned): any bundle at the source will be enforced", "bundle", o.bundle)
	}
	keys, err := bundleKeys(o.bundleOpts.publicKeys)
	if err != nil {
		return nil, err
	}
	if err := checkBundleScheme(o.bundle, o.bundleOpts.allowHTTP); err != nil {
		return nil, err
	}
	client, err := bundleClient(o.bundle, o.bundleOpts.tokenFile, o.bundleOpts.longPoll)
	if err != nil {
		return nil, err
	}
	src, err := bundles.NewSource(o.bundle, client, o.bundleOpts.longPoll)
	if err != nil {
		return nil, fmt.Errorf("--bundle: %w", err)
	}
	if d, ok := src.(bundles.DirSource); ok {
		// Checked again on every poll (DirSource.Fetch).
		if err := bundles.CheckLooseAuthz(d.Path); err != nil {
			return nil, fmt.Errorf("--bundle: %w", err)
		}
	}
	return &bundleSetup{keys: keys, src: src}, nil
}

// startPolicy activates the first policy: the built-in bundle (bs nil), or
// bs's source verified against its keys (a directory, a .tar.gz or an http(s)
// URL), falling back to the last good bundle kept in the data directory when
// the source fails. Every activation and refusal is an audit record.
func startPolicy(ctx context.Context, o serveOptions, bs *bundleSetup, inv *engine.Inventory, l *audit.Log, site *siteState, logger *slog.Logger) (*policyRuntime, error) {
	if bs == nil {
		p, err := loadPolicy("")
		if err != nil {
			return nil, err
		}
		fallback, err := builtinAuthz()
		if err != nil {
			return nil, err
		}
		if err := auth.CheckBundle(p, fallback); err != nil {
			return nil, err
		}
		eng, err := engine.New(ctx, p, inv, engine.WithDecisionCache(o.decisionCache))
		if err != nil {
			return nil, err
		}
		rec, err := audit.NewBundleActivation("builtin", audit.BundleRef{Revision: p.Revision, Digest: p.Digest}, systemContext(p, inv))
		if err != nil {
			return nil, err
		}
		if _, err := l.Append(ctx, rec); err != nil {
			return nil, fmt.Errorf("record %s: %w", audit.KindBundleActivation, err)
		}
		return &policyRuntime{engine: eng, startedAt: time.Now().UTC()}, nil
	}
	src, keys := bs.src, bs.keys
	rt := &policyRuntime{}
	activate := func(ctx context.Context, b *bundle.Bundle) (string, string, error) {
		// The child that runs the bundle's tests compiles it with every
		// check; this copy, the one that serves, skips the checking stages.
		p, err := engine.CompilePolicyCheckedElsewhere(b)
		if err != nil {
			return "", "", err
		}
		// The bundle's Cedar authorization policies (data.authz) must
		// validate against their schema, or the whole bundle is refused.
		fallback, err := builtinAuthz()
		if err != nil {
			return p.Revision, p.Digest, err
		}
		if err := auth.CheckBundle(p, fallback); err != nil {
			return p.Revision, p.Digest, err
		}
		if err := testBundleIsolated(ctx, b, o.bundleOpts.testTimeout); err != nil {
			return p.Revision, p.Digest, err
		}
		// Prepared first, recorded next, switched last: the log names exactly
		// the bundles that were enforced.
		record := func(p *engine.Policy, cur *engine.Inventory) error {
			rec, err := audit.NewBundleActivation(src.String(), audit.BundleRef{Revision: p.Revision, Digest: p.Digest}, systemContext(p, cur))
			if err != nil {
				return err
			}
			_, err = l.Append(ctx, rec)
			return err
		}
		if rt.engine == nil {
			e, err := engine.New(ctx, p, inv, engine.WithDecisionCache(o.decisionCache), engine.WithActivationRecord(record))
			if err != nil {
				return p.Revision, p.Digest, err
			}
			rt.engine = e
			return p.Revision, p.Digest, nil
		}
		if err := rt.engine.ActivateRecorded(ctx, p, nil, record); err != nil {
			return p.Revision, p.Digest, err
		}
		site.notify()
		return p.Revision, p.Digest, nil
	}
	refused := func(source, etag string, err error) {
		c := audit.Context{EngineVersion: engine.Version}
		if rt.engine != nil {
			c.InventoryRevision = rt.engine.Inventory().Revision
		}
		rec, rerr := audit.NewBundleRefusal(source, etag, err, c)
		if rerr == nil {
			_, rerr = l.Append(context.WithoutCancel(ctx), rec)
		}
		if rerr != nil {
			logger.Error("could not record a bundle refusal", "err", rerr)
		}
		site.bundleRefused(err)
	}
	var err error
	rt.manager, err = bundles.NewManager(bundles.ManagerOptions{
		Source:        src,
		Keys:          keys,
		AllowUnsigned: o.bundleOpts.unsigned,
		PersistPath:   filepath.Join(o.dataDir, "bundles", "last-good.tar.gz"),
		Interval:      o.bundleOpts.pollInterval,
		Jitter:        o.bundleOpts.pollJitter,
		Activate:      activate,
		// A swap must not slow the decisions being answered: read, compile
		// and prepare at low priority (the bundle's tests already run in a
		// niced child). The manager runs the first activation directly: it
		// has no decisions to yield to, and must not wait behind a loaded
		// machine at start-up.
		Background: onLowPriorityThread,
		Refused:    refused,
		Logger:     logger,
	})
	if err != nil {
		return nil, err
	}
	if err := rt.manager.Start(ctx); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", o.bundle, err)
	}
	return rt, nil
}

// status is what /v1/bundles/status shows: the manager's, or the built-in
// bundle's.
func (rt *policyRuntime) status() bundles.Status {
	if rt.manager != nil {
		return rt.manager.Status()
	}
	p := rt.engine.Policy()
	return bundles.Status{Source: "builtin", ActiveRevision: p.Revision, ActiveDigest: p.Digest,
		ActivatedAt: rt.startedAt, Activations: 1}
}

func bundleKeys(flags []string) ([]bundles.PublicKey, error) {
	var keys []bundles.PublicKey
	for _, f := range flags {
		k, err := bundles.ParsePublicKeyFlag(f)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// checkBundleScheme refuses a plain-HTTP bundle URL to another machine unless
// allowed: the signature still protects the bundle's content, but not its
// freshness: anyone on the path can answer "not modified" for ever and keep a
// site on superseded rules.
func checkBundleScheme(location string, allowHTTP bool) error {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "http" || allowHTTP {
		return nil
	}
	if api.IsLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("--bundle %s: plain http to %s lets anyone on the path hold back policy updates; use https, or --bundle-allow-http to accept that", location, u.Hostname())
}
