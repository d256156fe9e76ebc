package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
)

// watchInventory reloads the inventory on SIGHUP and whenever the directory's
// content changes (checked every interval; 0 turns polling off). A new inventory
// is validated whole before it is activated; one with any error is refused and
// the last good one stays active. Both are audit records.
func watchInventory(ctx context.Context, dir string, interval time.Duration, eng *engine.Engine, l *audit.Log, logger *slog.Logger) {
	src := bundles.DirSource{Path: dir} // content hash of the directory
	version := func() string {
		f, err := src.Fetch(ctx, "")
		if err != nil {
			return ""
		}
		return f.ETag
	}
	watchReload(ctx, interval, version, func() { reloadInventory(ctx, dir, eng, l, logger) })
}

func reloadInventory(ctx context.Context, dir string, eng *engine.Engine, l *audit.Log, logger *slog.Logger) {
	p := eng.Policy()
	inv, err := engine.LoadInventory(dir)
	if err != nil {
		logger.Error("inventory refused; the last good one stays active", "dir", dir, "err", err)
		rec := &audit.Record{
			Kind: audit.KindInventoryRefusal, Principal: "system",
			Request: mustJSON(map[string]any{"source": dir}),
			Result:  mustJSON(map[string]any{"error": err.Error()}),
			Bundle:  audit.BundleRef{Revision: p.Revision, Digest: p.Digest}, InventoryRevision: eng.Inventory().Revision,
			EngineVersion: engine.Version,
		}
		if _, aerr := l.Append(ctx, rec); aerr != nil {
			logger.Error("could not record an inventory refusal", "err", aerr)
		}
		return
	}
	if inv.Revision == eng.Inventory().Revision {
		return
	}
	rec := &audit.Record{
		Kind: audit.KindInventoryActivation, Principal: "system",
		Request: mustJSON(map[string]any{"source": dir}),
		Result: mustJSON(map[string]any{"revision": inv.Revision, "sites": len(inv.Sites),
			"datasets": len(inv.Datasets), "workloads": len(inv.Workloads)}),
		Bundle: audit.BundleRef{Revision: p.Revision, Digest: p.Digest}, InventoryRevision: inv.Revision,
		EngineVersion: engine.Version,
	}
	// Prepared first, recorded next, switched last: the log names exactly the
	// inventories that were in force.
	err = eng.ActivateRecorded(ctx, nil, inv, func(p *engine.Policy, _ *engine.Inventory) error {
		rec.Bundle = audit.BundleRef{Revision: p.Revision, Digest: p.Digest}
		_, err := l.Append(ctx, rec)
		return err
	})
	if err != nil {
		logger.Error("inventory not activated", "err", err)
		return
	}
	logger.Info("inventory activated", "dir", dir, "revision", inv.Revision, "sites", len(inv.Sites), "datasets", len(inv.Datasets))
}
