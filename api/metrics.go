package api

import (
	"cmp"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
)

// metrics are registered on a registry of the server's own, so that two servers in
// one process (tests) do not collide.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	// admissions counts reviews by webhook, mode and verdict: warn's and
	// dryrun's would-deny apart from allowed.
	admissions *prometheus.CounterVec
	// answered and denied count decisions and admission reviews since
	// start, for a site's status reports (DecisionCounts).
	answered, denied atomic.Uint64
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sovereign_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_decisions_total",
			Help: "Decisions answered, by kind and outcome (allowed, denied).",
		}, []string{"kind", "outcome"}),
		admissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_admission_reviews_total",
			Help: "Admission reviews answered, by webhook (validate, mutate), mode (enforce, warn, dryrun) and verdict (allowed, patched, denied, would-deny, exempt, ...); would-deny is a review warn or dryrun let through although enforce would refuse it.",
		}, []string{"webhook", "mode", "verdict"}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "sovereign_build_info",
		Help:        "Always 1: the version of Sovereign and of Go this server was built with.",
		ConstLabels: prometheus.Labels{"version": engine.Version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	m.registry.MustRegister(m.requests, m.latency, m.decisions, m.admissions, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// admission counts an answered review.
func (m *metrics) admission(webhook, mode, verdict string) {
	m.admissions.WithLabelValues(webhook, cmp.Or(mode, "none"), verdict).Inc()
	m.answered.Add(1)
	if verdict == admission.VerdictDenied {
		m.denied.Add(1)
	}
}

// watchBundles exports the bundle activations and refusals of status.
func (m *metrics) watchBundles(status func() bundles.Status) {
	m.registry.MustRegister(bundleCollector{
		status: status,
		activations: prometheus.NewDesc("sovereign_bundle_activations_total",
			"Policy bundles activated since start (the first included).", nil, nil),
		refusals: prometheus.NewDesc("sovereign_bundle_refusals_total",
			"Policy bundles refused since start, by reason: fetch (the source failed), read (signature, limits, format), rollback (built before the active bundle), activate (compile, authorization policies, the bundle's own tests). The last good bundle stays active.", []string{"reason"}, nil),
		activatedAt: prometheus.NewDesc("sovereign_bundle_activated_timestamp_seconds",
			"When the active bundle was activated (Unix time).", nil, nil),
	})
}

// bundleCollector reads the bundle manager's status at each scrape.
type bundleCollector struct {
	status                             func() bundles.Status
	activations, refusals, activatedAt *prometheus.Desc
}

func (b bundleCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- b.activations
	ch <- b.refusals
	ch <- b.activatedAt
}

func (b bundleCollector) Collect(ch chan<- prometheus.Metric) {
	st := b.status()
	ch <- prometheus.MustNewConstMetric(b.activations, prometheus.CounterValue, float64(st.Activations))
	for _, r := range []string{bundles.RefusedFetch, bundles.RefusedRead, bundles.RefusedRollback, bundles.RefusedActivate} {
		ch <- prometheus.MustNewConstMetric(b.refusals, prometheus.CounterValue, float64(st.RefusalsByReason[r]), r)
	}
	if !st.ActivatedAt.IsZero() {
		ch <- prometheus.MustNewConstMetric(b.activatedAt, prometheus.GaugeValue, float64(st.ActivatedAt.UnixNano())/1e9)
	}
}

// middleware observes every request under its route template, never its raw path,
// so label cardinality stays bounded.
func (m *metrics) middleware(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	m.latency.WithLabelValues(route, c.Request.Method).Observe(time.Since(start).Seconds())
}

// watchDecisionCache exports the engine's decision cache counters
// (engine/cache.go).
func (m *metrics) watchDecisionCache(e *engine.Engine) {
	if e == nil {
		return
	}
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sovereign_decision_cache_hits_total",
			Help: "Policy evaluations answered from the decision cache (same input, same UTC day, same bundle and inventory).",
		}, func() float64 { return float64(e.CacheStats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sovereign_decision_cache_misses_total",
			Help: "Policy evaluations run because the decision cache had no answer (0 when the cache is off or the policy cannot be memoised).",
		}, func() float64 { return float64(e.CacheStats().Misses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sovereign_decision_cache_entries",
			Help: "Answers held by the active snapshot's decision cache.",
		}, func() float64 { return float64(e.CacheStats().Entries) }),
	)
}

func (m *metrics) decision(kind string, allowed bool) {
	outcome := "denied"
	if allowed {
		outcome = "allowed"
	}
	m.answered.Add(1)
	if !allowed {
		m.denied.Add(1)
	}
	m.decisions.WithLabelValues(kind, outcome).Inc()
}
