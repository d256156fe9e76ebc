package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"time"

	"github.com/sovereign-engine/sovereign/admission"
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
	version := func() string {
		b, _ := os.ReadFile(path) // unreadable: the hash of nothing, so reload reports it
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])
	}
	watchReload(ctx, interval, version, func() { reloadAdmissionConfig(path, clusterSite, regionLabel, srv, logger) })
}

func reloadAdmissionConfig(path, clusterSite, regionLabel string, srv *api.Server, logger *slog.Logger) {
	cfg, err := admission.LoadConfig(path, clusterSite, regionLabel)
	if err == nil {
		err = srv.SetAdmissionConfig(cfg)
	}
	if err != nil {
		logger.Error("admission config refused; the last good one stays in force", "file", path, "err", err)
		return
	}
	logger.Info("admission config reloaded", "file", path, "config", srv.AdmissionConfig())
}
