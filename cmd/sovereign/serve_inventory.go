package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// watchInventory reloads the inventory on SIGHUP and whenever the directory's
// content changes (checked every interval; 0 turns polling off). A new inventory
// is validated whole before it is activated; one with any error is refused and
// the last good one stays active. Both are audit records.
func watchInventory(ctx context.Context, dir string, interval time.Duration, eng *engine.Engine, l *audit.Log, m *inventoryMetrics, logger *slog.Logger) {
	// The digest of exactly the files the loader reads, read as it reads
	// them (never blocking on a FIFO, within InventoryLimits). A directory
	// that cannot be read is a version of its own, named by the reason: the
	// reload that follows refuses it, and the refusal is logged and recorded
	// once, not skipped silently on every tick.
	version := func() string {
		v, err := engine.InventoryVersion(dir)
		if err != nil {
			return "unreadable: " + err.Error()
		}
		return v
	}
	watchReload(ctx, interval, version, func() { reloadInventory(ctx, dir, eng, l, m, logger) })
}

// inventoryMetrics count the inventory's activations and refusals
// (docs/operations.md, "Metrics").
type inventoryMetrics struct {
	// site is told of every activation and refusal (status reports).
	site        *siteState
	activations prometheus.Counter
	refusals    prometheus.Counter
	activatedAt prometheus.Gauge
}

func newInventoryMetrics(site *siteState) *inventoryMetrics {
	return &inventoryMetrics{
		site: site,
		activations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sovereign_inventory_activations_total",
			Help: "Inventories activated since start (the first included); a reload that finds the same revision is not counted.",
		}),
		refusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sovereign_inventory_refusals_total",
			Help: "Inventory reloads refused since start (a file with an error, or the activation not recorded); the last good inventory stays active.",
		}),
		activatedAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sovereign_inventory_activated_timestamp_seconds",
			Help: "When the inventory in force was activated (Unix time).",
		}),
	}
}

func (m *inventoryMetrics) activated() {
	m.activations.Inc()
	m.activatedAt.SetToCurrentTime()
	m.site.inventoryActivated()
}

func (m *inventoryMetrics) refused(err error) {
	m.refusals.Inc()
	m.site.inventoryRefused(err)
}

func (m *inventoryMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.activations, m.refusals, m.activatedAt}
}

func reloadInventory(ctx context.Context, dir string, eng *engine.Engine, l *audit.Log, m *inventoryMetrics, logger *slog.Logger) {
	p := eng.Policy()
	inv, err := engine.LoadInventory(dir)
	if err != nil {
		m.refused(err)
		logger.Error("inventory refused; the last good one stays active", "dir", dir, "err", err)
		rec, aerr := audit.NewInventoryRefusal(dir, err, systemContext(p, eng.Inventory()))
		if aerr == nil {
			_, aerr = l.Append(ctx, rec)
		}
		if aerr != nil {
			logger.Error("could not record an inventory refusal", "err", aerr)
		}
		return
	}
	if inv.Revision == eng.Inventory().Revision {
		m.site.inventoryCurrent()
		return
	}
	// Prepared first, recorded next, switched last: the log names exactly the
	// inventories that were in force.
	err = eng.ActivateRecorded(ctx, nil, inv, func(p *engine.Policy, _ *engine.Inventory) error {
		rec, err := audit.NewInventoryActivation(dir, inventoryActivation(inv), systemContext(p, inv))
		if err != nil {
			return err
		}
		_, err = l.Append(ctx, rec)
		return err
	})
	if err != nil {
		m.refused(err)
		logger.Error("inventory not activated", "err", err)
		return
	}
	m.activated()
	logger.Info("inventory activated", "dir", dir, "revision", inv.Revision, "sites", len(inv.Sites), "datasets", len(inv.Datasets))
}
