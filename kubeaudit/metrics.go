package kubeaudit

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the background audit's gauges and counters, served on the
// server's /metrics (docs/drift.md, "Background audit in a cluster").
type Metrics struct {
	objects      *prometheus.GaugeVec
	lastRun      prometheus.Gauge
	runs         *prometheus.CounterVec
	writeErrors  prometheus.Counter
	recordErrors prometheus.Counter
	synced       prometheus.Gauge
}

// NewMetrics makes the metrics, unregistered.
func NewMetrics() *Metrics {
	return &Metrics{
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sovereign_kube_audit_objects",
			Help: "Cluster objects the background audit judged, by their worst PolicyReport result (pass, fail, warn, error, skip).",
		}, []string{"result"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sovereign_kube_audit_last_run_timestamp_seconds",
			Help: "When the background audit last judged every object of the cluster (Unix time).",
		}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_kube_audit_runs_total",
			Help: "Full runs of the background audit, by what started them (start, bundle, inventory, admission-config, date).",
		}, []string{"trigger"}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sovereign_kube_audit_report_write_errors_total",
			Help: "PolicyReports the background audit failed to write (retried with backoff).",
		}),
		recordErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sovereign_kube_audit_record_errors_total",
			Help: "Background audit runs whose audit record the log did not take.",
		}),
		synced: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sovereign_kube_audit_synced",
			Help: "1 once the background audit has listed the cluster's workloads, else 0.",
		}),
	}
}

// Collectors are the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.objects, m.lastRun, m.runs, m.writeErrors, m.recordErrors, m.synced}
}
