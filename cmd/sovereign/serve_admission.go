package main

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sovereign-engine/sovereign/api"
)

// watchAdmissionConfig reloads the --admission-config file on SIGHUP and when
// its content changes (checked every interval; 0: only on SIGHUP). A new file
// is validated whole against the inventory in force before it replaces the
// old configuration; one with any error is refused, logged, and the old one
// stays. --cluster-site and --region-label keep overriding the file.
func watchAdmissionConfig(ctx context.Context, path, clusterSite, regionLabel string, interval time.Duration, srv *api.Server, logger *slog.Logger) {
	if path == "" {
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	sum := func() [32]byte {
		b, _ := os.ReadFile(path)
		return sha256.Sum256(b)
	}
	last := sum()
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick:
			if cur := sum(); cur == last {
				continue
			}
		}
		last = sum()
		reloadAdmissionConfig(path, clusterSite, regionLabel, srv, logger)
	}
}

func reloadAdmissionConfig(path, clusterSite, regionLabel string, srv *api.Server, logger *slog.Logger) {
	cfg, err := api.LoadAdmissionConfig(path, clusterSite, regionLabel)
	if err == nil {
		err = srv.SetAdmissionConfig(cfg)
	}
	if err != nil {
		logger.Error("admission config refused; the last good one stays in force", "file", path, "err", err)
		return
	}
	logger.Info("admission config reloaded", "file", path, "config", srv.AdmissionConfig())
}
