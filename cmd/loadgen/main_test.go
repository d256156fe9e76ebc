package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// decisionServer answers like a decision endpoint after sleeping delay; every failEvery-th
// request (if > 0) gets a 500. It records the bodies it saw.
type decisionServer struct {
	delay     time.Duration
	failEvery int64
	n         atomic.Int64
	mu        sync.Mutex
	bodies    map[string]int
	badJSON   bool
}

func (s *decisionServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies[string(b)]++
	s.mu.Unlock()
	time.Sleep(s.delay)
	if n := s.n.Add(1); s.failEvery > 0 && n%s.failEvery == 0 {
		http.Error(w, `{"error":{"code":"internal"}}`, http.StatusInternalServerError)
		return
	}
	if s.badJSON {
		io.WriteString(w, `not json`)
		return
	}
	io.WriteString(w, `{"allowed": true, "result": {"violations": []}}`)
}

func startServer(t *testing.T, s *decisionServer) string {
	t.Helper()
	s.bodies = map[string]int{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRun(t *testing.T) {
	const delay = 2 * time.Millisecond
	tests := []struct {
		name       string
		server     *decisionServer
		cfg        Config
		wantErrors map[string]bool // keys that must appear in ErrorsBy
		minOK      int64
		maxRPS     float64 // 0: no upper bound
	}{
		{
			name:   "closed loop",
			server: &decisionServer{delay: delay},
			cfg:    Config{Concurrency: 4, CheckJSONField: "allowed"},
			// 4 workers, 2 ms each, 300 ms: at most 600 requests; a noisy machine may do far fewer.
			minOK:  40,
			maxRPS: 4 / delay.Seconds() * 1.1,
		},
		{
			name:       "closed loop counts 500s",
			server:     &decisionServer{delay: delay, failEvery: 3},
			cfg:        Config{Concurrency: 2},
			wantErrors: map[string]bool{"500": true},
			minOK:      20,
		},
		{
			name:       "closed loop checks JSON",
			server:     &decisionServer{delay: delay, badJSON: true},
			cfg:        Config{Concurrency: 2, CheckJSONField: "allowed"},
			wantErrors: map[string]bool{"bad_json": true},
		},
		{
			name:   "open loop",
			server: &decisionServer{delay: delay},
			cfg:    Config{Rate: 200, CheckJSONField: "result.violations"},
			minOK:  50, // 60 scheduled
			maxRPS: 200 * 1.1,
		},
		{
			name:       "open loop counts 500s",
			server:     &decisionServer{delay: delay, failEvery: 4},
			cfg:        Config{Rate: 200},
			wantErrors: map[string]bool{"500": true},
			minOK:      30,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.URL = startServer(t, tc.server)
			cfg.Bodies = [][]byte{[]byte(`{"n":1}`), []byte(`{"n":2}`)}
			cfg.Duration = 300 * time.Millisecond
			cfg.Timeout = 5 * time.Second
			cfg.Drain = time.Second
			cfg.MaxRequests = 1_000_000
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", res)
			if res.Requests != res.OK+res.Errors || res.Requests == 0 {
				t.Errorf("requests %d != ok %d + errors %d, or none", res.Requests, res.OK, res.Errors)
			}
			if got := tc.server.n.Load(); got != res.Requests {
				t.Errorf("server saw %d requests, report says %d", got, res.Requests)
			}
			if res.OK < tc.minOK {
				t.Errorf("ok = %d, want >= %d", res.OK, tc.minOK)
			}
			if tc.maxRPS > 0 && res.RPS > tc.maxRPS {
				t.Errorf("rps = %.1f, more than possible (%.1f)", res.RPS, tc.maxRPS)
			}
			for k := range tc.wantErrors {
				if res.ErrorsBy[k] == 0 {
					t.Errorf("errors_by[%q] = 0, want > 0 (errors_by %v)", k, res.ErrorsBy)
				}
			}
			if len(tc.wantErrors) == 0 && res.Errors != 0 {
				t.Errorf("errors = %d (%v, first %q), want 0", res.Errors, res.ErrorsBy, res.FirstError)
			}
			if tc.server.failEvery > 0 {
				// Every failEvery-th request fails: the count is exact up to the last one.
				want := res.Requests / tc.server.failEvery
				if got := res.ErrorsBy["500"]; got != want {
					t.Errorf("errors_by[500] = %d, want %d of %d", got, want, res.Requests)
				}
			}
			l := res.Latency
			if l.P50 < ms(delay) {
				t.Errorf("p50 = %.3f ms, want >= the server's %v", l.P50, delay)
			}
			if !(l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max && l.Mean <= l.Max) {
				t.Errorf("percentiles out of order: %+v", l)
			}
			if len(tc.server.bodies) != 2 {
				t.Errorf("server saw bodies %v, want both round-robin", tc.server.bodies)
			}
			if cfg.Rate > 0 {
				if res.Mode != "open" || res.Service == nil || res.SendLag == nil {
					t.Fatalf("open loop report incomplete: %+v", res)
				}
				if res.Service.P50 > l.P50 {
					t.Errorf("service p50 %.3f > latency p50 %.3f: latency must count from the schedule", res.Service.P50, l.P50)
				}
			}
		})
	}
}

// TestOpenLoopCountsQueueing checks that the open loop does not hide a slow server: with a
// single worker and a server slower than the schedule, requests queue, and latency (from
// the scheduled time) grows well past the service time.
func TestOpenLoopCountsQueueing(t *testing.T) {
	srv := &decisionServer{delay: 10 * time.Millisecond}
	res, err := Run(context.Background(), Config{
		URL: startServer(t, srv), Rate: 200, Workers: 1, Duration: 300 * time.Millisecond,
		Timeout: 5 * time.Second, Drain: 5 * time.Second, MaxRequests: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("latency %+v service %+v", res.Latency, *res.Service)
	// 60 requests scheduled 5 ms apart, served 10+ ms each by one worker: the last waits ~300 ms.
	if res.Requests != 60 {
		t.Errorf("requests = %d, want 60", res.Requests)
	}
	if res.Latency.Max < 200 {
		t.Errorf("max latency %.1f ms, want >= 200 ms of queueing", res.Latency.Max)
	}
	if res.Latency.P50 < 3*res.Service.P50 {
		t.Errorf("latency p50 %.1f ms hardly above service p50 %.1f ms: coordinated omission", res.Latency.P50, res.Service.P50)
	}
}

func TestFindSaturationJSON(t *testing.T) {
	srv := &decisionServer{delay: 2 * time.Millisecond}
	url := startServer(t, srv)
	dir := t.TempDir()
	body := filepath.Join(dir, "body.json")
	if err := os.WriteFile(body, []byte(`{"dataset":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"loadgen", "-url", url, "-body", body, "-find-saturation",
		"-levels", "1,4", "-duration", "200ms", "-json", "-label", "test"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 JSON lines (2 levels + summary), got %d:\n%s", len(lines), out.String())
	}
	var sat Saturation
	if err := json.Unmarshal([]byte(lines[2]), &sat); err != nil {
		t.Fatal(err)
	}
	if sat.Mode != "find-saturation" || sat.Label != "test" || len(sat.Levels) != 2 {
		t.Fatalf("summary: %+v", sat)
	}
	// A server that sleeps per request and serves requests concurrently scales with
	// concurrency: 4 workers must beat 1.
	if sat.BestConcurrency != 4 || sat.Levels[1].OKRPS < 1.5*sat.Levels[0].OKRPS {
		t.Errorf("best concurrency %d, rps by level %.0f / %.0f; want 4 well ahead",
			sat.BestConcurrency, sat.Levels[0].OKRPS, sat.Levels[1].OKRPS)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{},                  // no -url
		{"-url", "ftp://x"}, // not http
		{"-url", "http://x", "-duration", "0s"},
		{"-url", "http://x", "-rate", "-1"},
		{"-url", "http://x", "-find-saturation", "-rate", "5"},
		{"-url", "http://x", "-find-saturation", "-levels", "1,x"},
		{"-url", "http://x", "-body", "/nonexistent"},
		{"-url", "http://x", "-H", "no-colon"},
		{"-url", "https://x", "-cacert", "/nonexistent"},
		{"-url", "https://x", "-cacert", "main_test.go"}, // no PEM in it
		{"-url", "https://x", "-cert", "c.pem"},          // -key missing
	} {
		if _, err := parseFlags(append([]string{"loadgen"}, args...), io.Discard); err == nil {
			t.Errorf("parseFlags(%q): want an error", args)
		}
	}
}

// TestHTTPS: an https target with its CA given by -cacert (a webhook's
// self-signed CA); without it the certificate is not trusted.
func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(&decisionServer{delay: time.Millisecond, bodies: map[string]int{}})
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, trusted := range []bool{true, false} {
		args := []string{"loadgen", "-url", srv.URL, "-concurrency", "2", "-duration", "200ms"}
		if trusted {
			args = append(args, "-cacert", ca)
		}
		o, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Run(context.Background(), o.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if trusted && (r.OK == 0 || r.Errors > 0) {
			t.Errorf("with -cacert: %d ok, %d errors", r.OK, r.Errors)
		}
		if !trusted && r.OK > 0 {
			t.Errorf("without -cacert, an untrusted certificate was accepted (%d ok)", r.OK)
		}
	}
}
