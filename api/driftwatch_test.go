package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
)

// ceSink is a CloudEvents receiver: it refuses the first refuse posts with
// 503, then keeps every event it is sent.
type ceSink struct {
	*httptest.Server
	refuse atomic.Int32
	mu     sync.Mutex
	events []map[string]any
	bad    []string
}

func newCESink(t *testing.T, refuse int32) *ceSink {
	s := &ceSink{}
	s.refuse.Store(refuse)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.refuse.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		s.mu.Lock()
		defer s.mu.Unlock()
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/cloudevents+json") {
			s.bad = append(s.bad, "content type "+ct)
		} else if err := json.Unmarshal(b, &ev); err != nil {
			s.bad = append(s.bad, err.Error())
		} else {
			s.events = append(s.events, ev)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.Close)
	return s
}

// subjects are the received events' "type subject", sorted.
func (s *ceSink) subjects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ev := range s.events {
		out = append(out, strings.TrimPrefix(ev["type"].(string), "io.sovereign-engine.drift.")+" "+ev["subject"].(string))
	}
	slices.Sort(out)
	return out
}

// waitUntil polls cond until it holds or a minute passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDriftWatch: scheduled drift runs record each run, and announce each
// stored copy or flow of the demo inventory that falls out of compliance or
// comes back, as a CloudEvent delivered through a refusing sink's retries;
// a restart on the same state announces nothing again.
func TestDriftWatch(t *testing.T) {
	sink := newCESink(t, 1)
	var day atomic.Value
	day.Store(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	state := filepath.Join(t.TempDir(), "drift-state.json")
	watch := api.DriftWatch{Interval: time.Hour, Check: 20 * time.Millisecond, StateFile: state,
		EventsURL: sink.URL, EventsRetries: 3, EventsBackoff: 10 * time.Millisecond,
		Now: func() time.Time { return day.Load().(time.Time) }}
	ts := newTestServer(t, func(c *api.Config) { c.DriftWatch = watch })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ts.api.WatchDrift(ctx); close(done) }()

	// fra-2's C5 attestation ended 2025-12-31: the copy there and the
	// replica to it are out of compliance on 2026-12-03.
	first := []string{"appeared patient-records-de replicate ber-1 -> fra-2", "appeared patient-records-de stored at fra-2"}
	waitUntil(t, "the first run's events", func() bool { return len(sink.subjects()) == 2 })
	if got := sink.subjects(); !slices.Equal(got, first) {
		t.Fatalf("events %q, want %q", got, first)
	}
	recs := recordsOfKind(t, ts.audit, audit.KindDrift, 1)
	if len(recs) != 1 || recs[0].Principal != audit.SystemPrincipal {
		t.Fatalf("drift records %+v", recs)
	}
	sink.mu.Lock()
	ev := sink.events[0]
	sink.mu.Unlock()
	data, _ := ev["data"].(map[string]any)
	finding, _ := data["finding"].(map[string]any)
	rec, _ := data["audit"].(map[string]any)
	if ev["specversion"] != "1.0" || ev["source"] != "urn:sovereign:log:sovereign/test" || ev["id"] == "" || finding["dataset"] != "patient-records-de" ||
		finding["since"] != "2026-01-01" || rec == nil || rec["entry_sha256"] == "" {
		t.Errorf("event %v", ev)
	}

	// A new day: iad-1's EU-US DPF certification ended 2027-02-28.
	day.Store(time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC))
	waitUntil(t, "the second day's events", func() bool { return len(sink.subjects()) == 4 })
	// Back to the first day: those two clear.
	day.Store(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	waitUntil(t, "the clearing events", func() bool { return len(sink.subjects()) == 6 })
	want := append([]string{"appeared customer-pii-eu backup fra-1 -> iad-1", "appeared customer-pii-eu stored at iad-1",
		"cleared customer-pii-eu backup fra-1 -> iad-1", "cleared customer-pii-eu stored at iad-1"}, first...)
	slices.Sort(want)
	if got := sink.subjects(); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if len(sink.bad) > 0 {
		t.Errorf("malformed posts: %q", sink.bad)
	}
	// Counted once the run and the deliveries have finished.
	var metrics []byte
	waitUntil(t, "the third run and the sixth delivery counted", func() bool {
		_, metrics = ts.get(t, "/metrics")
		return strings.Contains(string(metrics), `sovereign_drift_runs_total{result="ok"} 3`) &&
			strings.Contains(string(metrics), `sovereign_drift_event_deliveries_total{result="delivered"} 6`)
	})
	for _, w := range []string{`sovereign_drift_events_total{event="appeared"} 4`, `sovereign_drift_events_total{event="cleared"} 2`,
		`sovereign_drift_event_deliveries_total{result="failed"} 0`, "sovereign_drift_out_of_compliance 2"} {
		if !strings.Contains(string(metrics), w) {
			t.Errorf("metrics lack %q", w)
		}
	}
	cancel()
	<-done

	// A restart on the same state: a run, recorded, and nothing announced.
	ts2 := newTestServer(t, func(c *api.Config) { c.DriftWatch = watch })
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go ts2.api.WatchDrift(ctx2)
	recordsOfKind(t, ts2.audit, audit.KindDrift, 1)
	waitUntil(t, "the restarted run", func() bool {
		_, m := ts2.get(t, "/metrics")
		return strings.Contains(string(m), `sovereign_drift_runs_total{result="ok"} 1`)
	})
	if got := sink.subjects(); len(got) != 6 {
		t.Errorf("a restart announced again: %q", got)
	}
}

// TestDriftWatchUndeliverable: a sink that never takes an event costs its
// retries, then the event is counted failed; decisions go on.
func TestDriftWatchUndeliverable(t *testing.T) {
	sink := newCESink(t, 1<<30)
	ts := newTestServer(t, func(c *api.Config) {
		c.DriftWatch = api.DriftWatch{Interval: time.Hour, Check: 20 * time.Millisecond, EventsURL: sink.URL, EventsRetries: 2, EventsBackoff: time.Millisecond,
			Now: func() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) }}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ts.api.WatchDrift(ctx)
	waitUntil(t, "two failed deliveries", func() bool {
		_, m := ts.get(t, "/metrics")
		return strings.Contains(string(m), `sovereign_drift_event_deliveries_total{result="failed"} 2`)
	})
	// Each event: one post and two retries.
	if posts := (1 << 30) - sink.refuse.Load(); posts != 6 {
		t.Errorf("%d posts, want 6", posts)
	}
	if status, b := ts.post(t, "/v1/decisions/placement", "application/json", []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`)); status != 200 {
		t.Errorf("decision: %d %s", status, b)
	}
}

// TestDriftWatchSettings: each bad setting is refused naming it.
func TestDriftWatchSettings(t *testing.T) {
	for _, c := range []struct {
		o    api.DriftWatch
		want string
	}{
		{api.DriftWatch{Interval: time.Second}, "drift-interval 1s"},
		{api.DriftWatch{Interval: -time.Minute}, "drift-interval -1m0s"},
		{api.DriftWatch{EventsURL: "https://example.test/hook"}, "drift-events-url: drift events need a drift-interval"},
		{api.DriftWatch{Interval: time.Hour, EventsURL: "ftp://u:secret@example.test/"}, `drift-events-url "ftp://u:xxxxx@example.test/"`},
		{api.DriftWatch{Interval: time.Hour, EventsURL: "https://example.test/", EventsRetries: 99}, "drift-events-retries 99"},
		{api.DriftWatch{Interval: time.Hour, EventsURL: "http://hooks.example.test/x"}, "plain http only to a loopback address"},
		{api.DriftWatch{Interval: time.Hour, EventsURL: "http://127.0.0.1:9000/x"}, ""},
		{api.DriftWatch{Interval: time.Hour}, ""},
	} {
		err := c.o.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.o, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}
