package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/kubeaudit"
)

// kubeAuditOptions turn on the background audit of a cluster's workloads
// (docs/drift.md, "Background audit in a cluster").
type kubeAuditOptions struct {
	enabled    bool
	kubeconfig string
	required   bool
}

func addKubeAuditFlags(f *pflag.FlagSet, o *kubeAuditOptions) {
	f.BoolVar(&o.enabled, "kube-audit", false, "judge the cluster's workloads in the background as the admission webhook would, and write the results as PolicyReports (wgpolicyk8s.io/v1alpha2); needs --cluster-site")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "with --kube-audit: the kubeconfig of the cluster to audit (default: the in-cluster service account)")
	f.BoolVar(&o.required, "kube-audit-required", false, "with --kube-audit: /readyz fails until the cluster's workloads are listed, and while PolicyReports cannot be written (by default the cluster is never needed to decide)")
}

// check reads the cluster's configuration (the kubeconfig file or the
// in-cluster service account), without reaching the cluster: serve starts,
// and decides, whether it is reachable or not. nil when not enabled.
func (o kubeAuditOptions) check(adm admission.Config) (*rest.Config, error) {
	if !o.enabled {
		if o.kubeconfig != "" || o.required {
			return nil, errors.New("--kubeconfig and --kube-audit-required are read only with --kube-audit")
		}
		return nil, nil
	}
	if adm.ClusterSite == "" {
		return nil, errors.New("--kube-audit judges as the admission webhook does: give --cluster-site (or cluster_site in --admission-config)")
	}
	var cfg *rest.Config
	var err error
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", o.kubeconfig, err)
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		return nil, fmt.Errorf("--kube-audit without --kubeconfig needs the in-cluster service account: %w", err)
	}
	return cfg, nil
}

// startKubeAudit runs the background audit until ctx is done. Its errors
// (an unreachable API server, a missing CRD, RBAC) are logged and retried;
// none stops the server.
func startKubeAudit(ctx context.Context, cfg *rest.Config, reviewer *admission.Reviewer, eng *engine.Engine, l *audit.Log, m *kubeaudit.Metrics, logger *slog.Logger) (*kubeaudit.Auditor, error) {
	// client-go logs through klog: into the server's own JSON log.
	klog.SetSlogLogger(logger.With("component", "client-go"))
	a, err := kubeaudit.New(kubeaudit.Options{
		Config:   cfg,
		Reviewer: reviewer,
		Engine:   eng,
		Append: func(ctx context.Context, r *audit.Record) (audit.Receipt, error) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			return l.Append(ctx, r)
		},
		Metrics: m,
		Logger:  logger,
	})
	if err != nil {
		return nil, err
	}
	go a.Run(ctx)
	return a, nil
}
