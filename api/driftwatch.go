package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/drift"
	"github.com/sovereign-engine/sovereign/engine"
)

// DriftWatch configures the server's own drift runs (docs/drift.md, "Drift
// on a schedule"): the inventory's current state judged again on a schedule,
// after every bundle or inventory activation and when the UTC day changes;
// each run a signed drift record; each finding that appears or clears
// logged, counted and, with EventsURL, posted as a CloudEvent.
type DriftWatch struct {
	// Interval is the longest time between two runs; 0 disables the watch.
	Interval time.Duration
	// Check is how often the engine is looked at for a new bundle,
	// inventory or day; default 10s.
	Check time.Duration
	// StateFile keeps the last run's findings (0600), so a restart does not
	// announce again what was already out of compliance. Empty keeps them in
	// memory only.
	StateFile string
	// EventsURL receives a CloudEvent (structured JSON) for each finding
	// that appears or clears; empty sends none.
	EventsURL string
	// EventsRetries is how many times a refused or failed delivery is tried
	// again (0 to 20), with exponential backoff from EventsBackoff (default
	// 1s).
	EventsRetries int
	EventsBackoff time.Duration
	// EventsQueue bounds the events waiting to be posted; past it the oldest
	// are dropped and counted. Default 1024.
	EventsQueue int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// maxEventRetries bounds the retries of one event: the backoff doubles
// from EventsBackoff (the SDK waits 2, 4, 8 … times it), and one event
// retried for long holds up those queued behind it.
const maxEventRetries = 8

// CloudEvents types of drift events.
const (
	DriftEventAppeared = "io.sovereign-engine.drift.appeared"
	DriftEventCleared  = "io.sovereign-engine.drift.cleared"
)

// DriftEvent is the data of a drift CloudEvent: the finding (as the drift
// report gives it; for a cleared finding, as it was last found) and the
// run that found the change.
type DriftEvent struct {
	Finding           drift.Finding        `json:"finding"`
	EvaluatedAt       string               `json:"evaluated_at"`
	Bundle            engine.BundleInfo    `json:"bundle"`
	InventoryRevision string               `json:"inventory_revision"`
	Audit             *engine.AuditReceipt `json:"audit"`
}

// driftState is what the watch remembers of its last run.
type driftState struct {
	EvaluatedAt string                   `json:"evaluated_at"`
	Findings    map[string]drift.Finding `json:"findings"`
}

// findingKey names a stored copy or flow, whatever its verdict.
func findingKey(f *drift.Finding) string {
	return strings.Join([]string{f.Kind, f.Dataset, f.Site, f.From, f.To, f.Type}, "|")
}

// findingWhat is a finding in words, for logs and event subjects.
func findingWhat(f *drift.Finding) string {
	if f.Kind == drift.KindStored {
		return f.Dataset + " stored at " + f.Site
	}
	return f.Dataset + " " + f.Type + " " + f.From + " -> " + f.To
}

// driftWatcher runs the watch.
type driftWatcher struct {
	s      *Server
	o      DriftWatch
	logger *slog.Logger
	source string

	mu    sync.Mutex
	state driftState

	queue   chan cloudevents.Event
	client  cloudevents.Client
	metrics driftMetrics
}

type driftMetrics struct {
	runs       *prometheus.CounterVec
	events     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	current    prometheus.Gauge
	lastRun    prometheus.Gauge
}

func newDriftMetrics() driftMetrics {
	return driftMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_drift_runs_total",
			Help: "Scheduled drift runs, by result: ok, or failed (evaluation or audit log; the run is tried again at the next check).",
		}, []string{"result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_drift_events_total",
			Help: "Stored copies and flows that fell out of compliance (appeared) or came back into it (cleared), as scheduled drift runs found them.",
		}, []string{"event"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_drift_event_deliveries_total",
			Help: "Drift CloudEvents posted to the events URL, by result: delivered, failed (refused or unreachable after every retry), dropped (the queue was full).",
		}, []string{"result"}),
		current: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sovereign_drift_out_of_compliance",
			Help: "Stored copies and flows out of compliance at the last scheduled drift run.",
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sovereign_drift_last_run_timestamp_seconds",
			Help: "When the last scheduled drift run completed (Unix time).",
		}),
	}
}

// WatchDrift runs the drift watch until ctx ends: a run at start, then
// whenever the bundle, the inventory or the UTC day changes (looked at every
// Check) and at least every Interval. A run that fails (the log refused its
// record) is tried again at the next check. Nothing is done when the watch
// is off or the inventory states no current state.
func (s *Server) WatchDrift(ctx context.Context) {
	w := s.driftWatch
	if w == nil {
		return
	}
	if w.client != nil {
		go w.deliver(ctx)
	}
	var last struct {
		digest, inventory, day string
		at                     time.Time
		ok                     bool
	}
	// After a failed run (the log did not take its record) the next is
	// tried after 1, 2, 4 … checks, up to the interval: a whole run is
	// costly on a large inventory.
	var failures int
	var retryAt time.Time
	tick := time.NewTicker(w.o.Check)
	defer tick.Stop()
	for {
		now := w.o.Now().UTC()
		p, inv := s.cfg.Engine.Policy(), s.cfg.Engine.Inventory()
		day := now.Format(time.DateOnly)
		due := !last.ok || p.Digest != last.digest || inv.Revision != last.inventory || day != last.day || now.Sub(last.at) >= w.o.Interval
		if due && len(inv.Current) > 0 && !now.Before(retryAt) {
			err := w.run(ctx, now)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				w.metrics.runs.WithLabelValues("failed").Inc()
				wait := min(w.o.Check<<min(failures, 16), w.o.Interval)
				failures++
				retryAt = now.Add(wait)
				w.logger.Error("drift run failed; tried again later", "err", err, "retry_in", wait.String())
			} else {
				w.metrics.runs.WithLabelValues("ok").Inc()
				failures, retryAt = 0, time.Time{}
				last.digest, last.inventory, last.day, last.at, last.ok = p.Digest, inv.Revision, day, now, true
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Validate checks the watch's settings, naming the one that is wrong (as
// serve's flags: drift-interval, drift-events-url, drift-events-retries).
func (o DriftWatch) Validate() error {
	var errs []error
	if o.Interval < 0 || (o.Interval > 0 && o.Interval < time.Minute) {
		errs = append(errs, fmt.Errorf("drift-interval %s: 0 (off) or at least 1m (each run is an audit record)", o.Interval))
	}
	if o.Interval == 0 && o.EventsURL != "" {
		errs = append(errs, errors.New("drift-events-url: drift events need a drift-interval (the watch is off)"))
	}
	if o.EventsURL != "" {
		u, err := url.Parse(o.EventsURL)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			errs = append(errs, fmt.Errorf("drift-events-url %q: want an https URL", redactURL(o.EventsURL)))
		case u.Scheme == "http" && !IsLoopback(u.Host):
			// Findings name tenants and datasets: not in clear off the host.
			errs = append(errs, fmt.Errorf("drift-events-url %q: plain http only to a loopback address; use https", redactURL(o.EventsURL)))
		}
	}
	if o.EventsRetries < 0 || o.EventsRetries > maxEventRetries {
		errs = append(errs, fmt.Errorf("drift-events-retries %d: want 0 to %d", o.EventsRetries, maxEventRetries))
	}
	if o.EventsQueue < 0 || o.EventsBackoff < 0 || o.Check < 0 {
		errs = append(errs, errors.New("drift watch: queue, backoff and check must not be negative"))
	}
	return errors.Join(errs...)
}

// newDriftWatcher checks o and prepares the watch; nil when it is off.
func newDriftWatcher(s *Server, o DriftWatch) (*driftWatcher, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if o.Interval == 0 {
		return nil, nil
	}
	o.Check = cmp.Or(o.Check, 10*time.Second)
	o.EventsBackoff = cmp.Or(o.EventsBackoff, time.Second)
	o.EventsQueue = cmp.Or(o.EventsQueue, 1024)
	if o.Now == nil {
		o.Now = time.Now
	}
	w := &driftWatcher{s: s, o: o, logger: s.cfg.Logger.With("component", "drift"), metrics: newDriftMetrics(),
		source: "urn:sovereign:log:" + s.cfg.Audit.Origin(), state: driftState{Findings: map[string]drift.Finding{}}}
	if o.EventsURL != "" {
		c, err := cloudevents.NewClientHTTP(cehttp.WithTarget(o.EventsURL), cehttp.WithClient(http.Client{Timeout: 10 * time.Second}))
		if err != nil {
			return nil, fmt.Errorf("api: drift events: %w", err)
		}
		w.client = c
		w.queue = make(chan cloudevents.Event, o.EventsQueue)
	}
	if o.StateFile != "" {
		raw, err := os.ReadFile(o.StateFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("api: drift state: %w", err)
		default:
			var st driftState
			if err := json.Unmarshal(raw, &st); err != nil || st.Findings == nil {
				// A damaged state only costs events announced again.
				w.logger.Warn("drift state unreadable; every finding of the next run is announced", "file", o.StateFile, "err", err)
			} else {
				w.state = st
			}
		}
	}
	w.metrics.current.Set(float64(len(w.state.Findings)))
	for _, c := range []prometheus.Collector{w.metrics.runs, w.metrics.events, w.metrics.deliveries, w.metrics.current, w.metrics.lastRun} {
		if err := s.metrics.registry.Register(c); err != nil {
			return nil, fmt.Errorf("api: drift metrics: %w", err)
		}
	}
	for _, r := range []string{"ok", "failed"} {
		w.metrics.runs.WithLabelValues(r)
	}
	for _, e := range []string{"appeared", "cleared"} {
		w.metrics.events.WithLabelValues(e)
	}
	for _, r := range []string{"delivered", "failed", "dropped"} {
		w.metrics.deliveries.WithLabelValues(r)
	}
	return w, nil
}

// redactURL drops a URL's credentials, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// run judges the current state once, records the run, and announces what
// appeared and cleared since the last run.
func (w *driftWatcher) run(ctx context.Context, now time.Time) error {
	r, err := drift.Run(ctx, drift.Options{Engine: w.s.cfg.Engine, At: now})
	if err != nil {
		return err
	}
	rec, err := driftRecord(audit.SystemPrincipal, audit.DriftRequest{}, r)
	if err != nil {
		return err
	}
	receipt, err := w.s.record(ctx, rec)
	if err != nil {
		return err
	}
	ar := &engine.AuditReceipt{Index: receipt.Index, EntrySHA256: receipt.EntrySHA256}
	cur := make(map[string]drift.Finding, len(r.OutOfCompliance))
	for _, f := range r.OutOfCompliance {
		cur[findingKey(&f)] = f
	}
	w.mu.Lock()
	prev := w.state.Findings
	w.mu.Unlock()
	announce := func(typ, label string, f drift.Finding) {
		w.metrics.events.WithLabelValues(label).Inc()
		w.logger.Info("drift "+label, "what", findingWhat(&f), "tenant", f.Tenant, "rules", strings.Join(f.Rules(), ","), "since", f.Since, "audit_index", receipt.Index)
		w.post(typ, findingWhat(&f), now, DriftEvent{Finding: f, EvaluatedAt: r.EvaluatedAt, Bundle: r.Bundle, InventoryRevision: r.InventoryRevision, Audit: ar})
	}
	for _, k := range sortedKeys(cur) {
		if _, was := prev[k]; !was {
			announce(DriftEventAppeared, "appeared", cur[k])
		}
	}
	for _, k := range sortedKeys(prev) {
		if _, is := cur[k]; !is {
			announce(DriftEventCleared, "cleared", prev[k])
		}
	}
	st := driftState{EvaluatedAt: r.EvaluatedAt, Findings: cur}
	w.mu.Lock()
	w.state = st
	w.mu.Unlock()
	w.metrics.current.Set(float64(len(cur)))
	w.metrics.lastRun.Set(float64(now.UnixNano()) / 1e9)
	if w.o.StateFile != "" {
		raw, err := json.Marshal(st)
		if err == nil {
			err = audit.WriteFileAtomic(w.o.StateFile, raw, 0o600)
		}
		if err != nil {
			// The run is recorded; a lost state only repeats announcements.
			w.logger.Warn("drift state not saved", "file", w.o.StateFile, "err", err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// post queues a CloudEvent, dropping the oldest queued one when full.
func (w *driftWatcher) post(typ, subject string, at time.Time, data DriftEvent) {
	if w.client == nil {
		return
	}
	// The id names the change, not the post: replicas that each run the
	// watch post the same change under the same id on the same day, so a
	// receiver can drop the copies (CloudEvents: source + id is unique).
	sum := sha256.Sum256([]byte(typ + "\x00" + findingKey(&data.Finding) + "\x00" + at.UTC().Format(time.DateOnly)))
	ev := cloudevents.NewEvent()
	ev.SetID(hex.EncodeToString(sum[:16]))
	ev.SetSource(w.source)
	ev.SetType(typ)
	ev.SetSubject(subject)
	ev.SetTime(at)
	if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
		w.logger.Error("drift event not encoded", "err", err)
		return
	}
	for {
		select {
		case w.queue <- ev:
			return
		default:
		}
		select {
		case <-w.queue:
			w.metrics.deliveries.WithLabelValues("dropped").Inc()
		default:
		}
	}
}

// deliver posts queued events one at a time, each with its retries.
func (w *driftWatcher) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-w.queue:
			sctx := cloudevents.ContextWithRetriesExponentialBackoff(ctx, w.o.EventsBackoff, w.o.EventsRetries)
			res := w.client.Send(cloudevents.WithEncodingStructured(sctx), ev)
			if cloudevents.IsACK(res) {
				w.metrics.deliveries.WithLabelValues("delivered").Inc()
				continue
			}
			if ctx.Err() != nil {
				return
			}
			w.metrics.deliveries.WithLabelValues("failed").Inc()
			w.logger.Warn("drift event not delivered", "type", ev.Type(), "subject", ev.Subject(), "err", res)
		}
	}
}
