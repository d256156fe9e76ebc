package api

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sovereign-engine/sovereign/engine"
)

// metrics are registered on a registry of the server's own, so that two servers in
// one process (tests) do not collide.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
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
	}
	m.registry.MustRegister(m.requests, m.latency, m.decisions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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
	m.decisions.WithLabelValues(kind, outcome).Inc()
}
