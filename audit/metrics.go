package audit

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Why an append was refused, the reason label of
// sovereign_audit_appends_refused_total (docs/operations.md, "Metrics").
const (
	RefusedClosed         = "closed"          // the log is closed (shutting down)
	RefusedTimeout        = "timeout"         // the caller stopped waiting (--log-timeout, a client gone)
	RefusedBacklog        = "backlog"         // the journal's backlog was full for as long as the caller waited
	RefusedStorageFailing = "storage_failing" // the tree cannot be written now; retried, appends refused meanwhile
	RefusedStorageFailed  = "storage_failed"  // a journal write or fdatasync failed: the log stopped
	RefusedInvalidRecord  = "invalid_record"  // the record cannot be signed or is too large
	RefusedOther          = "other"
)

// refusal tags an append error with its reason, keeping its message.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refused(reason string, err error) error { return &refusal{reason: reason, err: err} }

// refusalReason is why err refused an append.
func refusalReason(err error) string {
	var r *refusal
	switch {
	case errors.As(err, &r):
		return r.reason
	case errors.Is(err, ErrInvalidRecord):
		return RefusedInvalidRecord
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return RefusedTimeout
	}
	return RefusedOther
}

// logMetrics are the log's Prometheus metrics (Log.Collector).
type logMetrics struct {
	log     *Log
	append  prometheus.Histogram
	fsync   prometheus.Histogram
	refused *prometheus.CounterVec

	treeSize, backlog, backlogLimit, cpSize, cpAge *prometheus.Desc

	// The published checkpoint, read at most once a second by a scrape;
	// changedAt is when its size was first seen to differ.
	mu        sync.Mutex
	readAt    time.Time
	size      uint64
	changedAt time.Time
	readErr   error
}

func newLogMetrics(l *Log) *logMetrics {
	buckets := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	m := &logMetrics{
		log: l,
		append: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sovereign_audit_append_duration_seconds",
			Help:    "Time from a record handed to the audit log to its entry being durable (successful appends; every answer waits for this).",
			Buckets: buckets,
		}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sovereign_audit_journal_fsync_duration_seconds",
			Help:    "Time of one fdatasync of the audit journal (POSIX backend), which a batch of appends waits for.",
			Buckets: buckets,
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_audit_appends_refused_total",
			Help: "Records the audit log did not take, by reason (closed, timeout, backlog, storage_failing, storage_failed, invalid_record, other); the request they belonged to was not answered.",
		}, []string{"reason"}),
		treeSize: prometheus.NewDesc("sovereign_audit_tree_size",
			"Entries durably sequenced in the audit log (journaled or integrated into the tree).", nil, nil),
		backlog: prometheus.NewDesc("sovereign_audit_journal_backlog_entries",
			"Entries durable in the journal and not yet integrated into the Tessera tree (POSIX backend).", nil, nil),
		backlogLimit: prometheus.NewDesc("sovereign_audit_journal_backlog_limit_entries",
			"The backlog past which appends wait for the tree to catch up.", nil, nil),
		cpSize: prometheus.NewDesc("sovereign_audit_checkpoint_size",
			"Size of the audit log's latest published (signed) checkpoint.", nil, nil),
		cpAge: prometheus.NewDesc("sovereign_audit_checkpoint_age_seconds",
			"Seconds since the published checkpoint last grew, 0 while it covers every sequenced entry: a growing value with sovereign_audit_tree_size above sovereign_audit_checkpoint_size means checkpoints are not being published.", nil, nil),
	}
	for _, r := range []string{RefusedClosed, RefusedTimeout, RefusedBacklog, RefusedStorageFailing, RefusedStorageFailed, RefusedInvalidRecord, RefusedOther} {
		m.refused.WithLabelValues(r) // every reason exported from the start, at 0
	}
	return m
}

// observeAppend records an append's outcome.
func (m *logMetrics) observeAppend(start time.Time, err error) {
	if err != nil {
		m.refused.WithLabelValues(refusalReason(err)).Inc()
		return
	}
	m.append.Observe(time.Since(start).Seconds())
}

func (m *logMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.append.Describe(ch)
	m.fsync.Describe(ch)
	m.refused.Describe(ch)
	for _, d := range []*prometheus.Desc{m.treeSize, m.backlog, m.backlogLimit, m.cpSize, m.cpAge} {
		ch <- d
	}
}

func (m *logMetrics) Collect(ch chan<- prometheus.Metric) {
	m.append.Collect(ch)
	if m.log.journal != nil {
		m.fsync.Collect(ch)
	}
	m.refused.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var sequenced uint64
	if j := m.log.journal; j != nil {
		sequenced = j.next.Load()
		integrated := j.integrated.Load()
		ch <- prometheus.MustNewConstMetric(m.backlog, prometheus.GaugeValue, float64(sequenced-min(integrated, sequenced)))
		ch <- prometheus.MustNewConstMetric(m.backlogLimit, prometheus.GaugeValue, float64(j.maxOutstanding))
	} else if n, err := m.log.Size(ctx); err == nil {
		sequenced = n
	}
	ch <- prometheus.MustNewConstMetric(m.treeSize, prometheus.GaugeValue, float64(sequenced))
	size, changedAt, err := m.checkpoint(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(m.cpSize, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(m.cpSize, prometheus.GaugeValue, float64(size))
	age := 0.0
	if size < sequenced {
		age = time.Since(changedAt).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(m.cpAge, prometheus.GaugeValue, age)
}

// checkpoint is the published checkpoint's size and when it was first seen
// at that size, read at most once a second.
func (m *logMetrics) checkpoint(ctx context.Context) (uint64, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if now.Sub(m.readAt) < time.Second {
		return m.size, m.changedAt, m.readErr
	}
	m.readAt = now
	cp, err := m.log.latestCheckpoint(ctx)
	m.readErr = err
	if err != nil {
		return 0, time.Time{}, err
	}
	if cp.Size != m.size || m.changedAt.IsZero() {
		m.size, m.changedAt = cp.Size, now
	}
	return m.size, m.changedAt, nil
}

// Collector is the log's Prometheus metrics: append latency and refusals by
// reason, journal fsync latency and backlog, tree and checkpoint size, and
// the checkpoint's age. Register it once.
func (l *Log) Collector() prometheus.Collector { return l.metrics }
