package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one run. Rate > 0 selects the open loop, otherwise the closed loop
// with Concurrency workers.
type Config struct {
	URL            string
	Method         string
	Bodies         [][]byte // sent round-robin; none: an empty body
	Header         http.Header
	Concurrency    int
	Rate           float64
	Workers        int
	Duration       time.Duration
	Warmup         time.Duration
	Timeout        time.Duration
	Drain          time.Duration
	MaxRequests    int64
	CheckJSONField string
	Label          string

	// TLS configures https targets (nil: Go's defaults).
	TLS *tls.Config

	client *http.Client // shared by the runs of a sweep, so warm connections are reused
}

func (c *Config) valid() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want an http(s) URL", c.URL)
	}
	switch {
	case c.Duration <= 0:
		return errors.New("-duration must be positive")
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return errors.New("-rate must be a positive number")
	case c.Rate == 0 && c.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case c.Workers < 0:
		return errors.New("-workers must not be negative")
	case c.MaxRequests < 1:
		return errors.New("-max-requests must be at least 1")
	case c.Timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	if c.Method == "" {
		c.Method = http.MethodPost
	}
	if c.Drain < 0 {
		c.Drain = 0
	}
	return nil
}

// openWorkers is the in-flight bound of an open-loop run: enough that a healthy server
// below saturation never waits on the generator.
func (c *Config) openWorkers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return min(max(int(math.Ceil(c.Rate/20)), 16), 512)
}

func (c *Config) newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: c.Timeout,
		Transport: &http.Transport{
			Proxy:               nil, // a benchmark of 127.0.0.1 must not go through $HTTP_PROXY
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			TLSClientConfig:     c.TLS,
		},
	}
}

// Latency summarises a set of durations, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// CPU is the generator's own CPU use during the run; Cores is (user+sys)/elapsed.
type CPU struct {
	UserS float64 `json:"user_s"`
	SysS  float64 `json:"sys_s"`
	Cores float64 `json:"cores"`
}

// Result is the report of one run.
type Result struct {
	Label       string  `json:"label,omitempty"`
	Mode        string  `json:"mode"` // closed | open
	URL         string  `json:"url"`
	Concurrency int     `json:"concurrency"` // closed: workers; open: most in flight allowed
	TargetRate  float64 `json:"target_rate,omitempty"`
	DurationS   float64 `json:"duration_s"`
	ElapsedS    float64 `json:"elapsed_s"`
	// Requests counts every request that got an answer or a transport error; OK those
	// answered 200 (and passing -check-json-field).
	Requests int64   `json:"requests"`
	OK       int64   `json:"ok"`
	RPS      float64 `json:"rps"`
	OKRPS    float64 `json:"ok_rps"`
	Errors   int64   `json:"errors"`
	// ErrorsBy keys: an HTTP status ("500"), "transport", "bad_json", "unsent" (open loop:
	// scheduled but never started before the drain deadline).
	ErrorsBy   map[string]int64 `json:"errors_by,omitempty"`
	FirstError string           `json:"first_error,omitempty"`
	// Latency is over every request that got an HTTP answer. In the open loop it runs from
	// the scheduled send time (no coordinated omission); Service from the actual send;
	// SendLag is how late requests were sent (waiting for a free worker, or the
	// generator's own lateness).
	Latency Latency  `json:"latency"`
	Service *Latency `json:"service,omitempty"`
	SendLag *Latency `json:"send_lag,omitempty"`
	Loadgen CPU      `json:"loadgen_cpu"`
	Start   string   `json:"start"`
}

// tally is one worker's private record, merged after the run so the hot path takes no lock.
type tally struct {
	lat, svc  []time.Duration
	lag       []time.Duration // open loop: actual send - scheduled send
	ok        int64
	transport int64
	badJSON   int64
	status    map[int]int64
	firstErr  string
	buf       bytes.Buffer
}

func newTally() *tally { return &tally{status: map[int]int64{}} }

// Run performs one run (closed or open loop, per cfg.Rate), after cfg.Warmup if any.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.valid(); err != nil {
		return nil, err
	}
	if cfg.client == nil {
		conns := cfg.Concurrency
		if cfg.Rate > 0 {
			conns = cfg.openWorkers()
		}
		cfg.client = cfg.newClient(conns)
		defer cfg.client.CloseIdleConnections()
	}
	if cfg.Warmup > 0 {
		w := cfg
		w.Duration, w.Warmup = cfg.Warmup, 0
		if _, err := run1(ctx, w); err != nil {
			return nil, err
		}
	}
	return run1(ctx, cfg)
}

func run1(ctx context.Context, cfg Config) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var tallies []*tally
	var elapsed time.Duration
	var unsent int64
	cpu0 := cpuTime()
	start := time.Now()
	if cfg.Rate > 0 {
		tallies, unsent = openLoop(ctx, cfg, start)
	} else {
		tallies = closedLoop(ctx, cfg, start)
	}
	elapsed = time.Since(start)
	cpu1 := cpuTime()

	res := &Result{
		Label:       cfg.Label,
		Mode:        "closed",
		URL:         cfg.URL,
		Concurrency: cfg.Concurrency,
		DurationS:   cfg.Duration.Seconds(),
		ElapsedS:    elapsed.Seconds(),
		ErrorsBy:    map[string]int64{},
		Start:       start.UTC().Format(time.RFC3339Nano),
	}
	if cfg.Rate > 0 {
		res.Mode, res.TargetRate, res.Concurrency = "open", cfg.Rate, cfg.openWorkers()
	}
	var lat, svc, lag []time.Duration
	for _, t := range tallies {
		lat = append(lat, t.lat...)
		svc = append(svc, t.svc...)
		lag = append(lag, t.lag...)
		res.OK += t.ok
		if t.transport > 0 {
			res.ErrorsBy["transport"] += t.transport
		}
		if t.badJSON > 0 {
			res.ErrorsBy["bad_json"] += t.badJSON
		}
		for code, n := range t.status {
			res.ErrorsBy[strconv.Itoa(code)] += n
		}
		if res.FirstError == "" {
			res.FirstError = t.firstErr
		}
	}
	for _, n := range res.ErrorsBy {
		res.Errors += n
	}
	res.Requests = res.OK + res.Errors
	if unsent > 0 {
		res.ErrorsBy["unsent"] = unsent
		res.Errors += unsent
	}
	if len(res.ErrorsBy) == 0 {
		res.ErrorsBy = nil
	}
	if s := elapsed.Seconds(); s > 0 {
		res.RPS = float64(res.Requests) / s
		res.OKRPS = float64(res.OK) / s
	}
	res.Latency = summarize(lat)
	if cfg.Rate > 0 {
		s := summarize(svc)
		g := summarize(lag)
		res.Service, res.SendLag = &s, &g
	}
	res.Loadgen = CPU{UserS: (cpu1.user - cpu0.user).Seconds(), SysS: (cpu1.sys - cpu0.sys).Seconds()}
	if s := elapsed.Seconds(); s > 0 {
		res.Loadgen.Cores = (res.Loadgen.UserS + res.Loadgen.SysS) / s
	}
	return res, nil
}

// closedLoop runs cfg.Concurrency workers until cfg.Duration has passed or
// cfg.MaxRequests were started; a request in flight at the deadline completes and counts.
func closedLoop(ctx context.Context, cfg Config, start time.Time) []*tally {
	deadline := start.Add(cfg.Duration)
	var started, seq atomic.Int64
	tallies := make([]*tally, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range tallies {
		t := newTally()
		t.lat = make([]time.Duration, 0, 1024)
		tallies[i] = t
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) && started.Add(1) <= cfg.MaxRequests {
				t0 := time.Now()
				if ok := send(ctx, cfg, t, seq.Add(1)-1); ok {
					t.lat = append(t.lat, time.Since(t0))
				}
			}
		})
	}
	wg.Wait()
	return tallies
}

// openLoop sends request i at start+i/rate whether or not earlier ones were answered.
// A request that waits for a free worker is late, and its latency (from its scheduled
// time) says so: that is what a user arriving at that moment would have seen.
func openLoop(ctx context.Context, cfg Config, start time.Time) ([]*tally, int64) {
	total := min(int64(cfg.Rate*cfg.Duration.Seconds()), cfg.MaxRequests)
	interval := float64(time.Second) / cfg.Rate
	stopStarting := start.Add(cfg.Duration + cfg.Drain)
	workers := cfg.openWorkers()
	queue := make(chan int64, 4096)
	var unsent atomic.Int64
	tallies := make([]*tally, workers)
	var wg sync.WaitGroup
	for w := range tallies {
		t := newTally()
		t.lat = make([]time.Duration, 0, int(total)/workers+16)
		t.svc = make([]time.Duration, 0, int(total)/workers+16)
		t.lag = make([]time.Duration, 0, int(total)/workers+16)
		tallies[w] = t
		wg.Go(func() {
			for i := range queue {
				scheduled := start.Add(time.Duration(float64(i) * interval))
				now := time.Now()
				if ctx.Err() != nil || now.After(stopStarting) {
					unsent.Add(1)
					continue
				}
				t.lag = append(t.lag, now.Sub(scheduled))
				if ok := send(ctx, cfg, t, i); ok {
					end := time.Now()
					t.lat = append(t.lat, end.Sub(scheduled))
					t.svc = append(t.svc, end.Sub(now))
				}
			}
		})
	}
	// One dispatcher releases every request that is due, then sleeps until the next; at
	// high rates each wake-up releases a batch, which keeps the generator cheap. It owns
	// its OS thread so that it can sleep precisely (see preciseSleep).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var i int64
	for i < total && ctx.Err() == nil {
		now := time.Since(start)
		for ; i < total && time.Duration(float64(i)*interval) <= now; i++ {
			queue <- i
		}
		if i < total {
			if wait := time.Duration(float64(i)*interval) - time.Since(start); wait > 0 {
				preciseSleep(min(wait, 10*time.Millisecond)) // bounded, so a cancel is seen
			}
		}
	}
	unsent.Add(total - i)
	close(queue)
	wg.Wait()
	return tallies, unsent.Load()
}

// send performs request number i and records its outcome; it reports whether an HTTP
// answer arrived (whose latency the caller then records).
func send(ctx context.Context, cfg Config, t *tally, i int64) bool {
	var body io.Reader = http.NoBody
	if n := int64(len(cfg.Bodies)); n > 0 {
		body = bytes.NewReader(cfg.Bodies[i%n])
	}
	req, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, body)
	if err != nil {
		t.fail(err)
		return false
	}
	for k, v := range cfg.Header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" && len(cfg.Bodies) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cfg.client.Do(req)
	if err != nil {
		t.fail(err)
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || cfg.CheckJSONField == "" {
		// Read to the end so the connection goes back to the pool.
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.fail(err)
			return false
		}
		if resp.StatusCode != http.StatusOK {
			t.status[resp.StatusCode]++
			if t.firstErr == "" {
				t.firstErr = fmt.Sprintf("HTTP %d", resp.StatusCode)
			}
		} else {
			t.ok++
		}
		return true
	}
	t.buf.Reset()
	if _, err := t.buf.ReadFrom(resp.Body); err != nil {
		t.fail(err)
		return false
	}
	if err := hasField(t.buf.Bytes(), cfg.CheckJSONField); err != nil {
		t.badJSON++
		if t.firstErr == "" {
			t.firstErr = err.Error()
		}
		return true
	}
	t.ok++
	return true
}

func (t *tally) fail(err error) {
	t.transport++
	if t.firstErr == "" {
		t.firstErr = err.Error()
	}
}

// hasField reports whether body is a JSON object holding the dotted path field.
func hasField(body []byte, path string) error {
	cur := json.RawMessage(body)
	for _, name := range strings.Split(path, ".") {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil {
			return fmt.Errorf("response is not a JSON object at %q: %v", name, err)
		}
		v, ok := obj[name]
		if !ok {
			return fmt.Errorf("response has no field %q", path)
		}
		cur = v
	}
	return nil
}

func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Latency{
		P50:  ms(quantile(d, 0.50)),
		P90:  ms(quantile(d, 0.90)),
		P99:  ms(quantile(d, 0.99)),
		Max:  ms(d[len(d)-1]),
		Mean: ms(sum / time.Duration(len(d))),
	}
}

// quantile is the nearest-rank quantile of sorted d: the smallest value with at least a
// fraction q of the samples at or below it.
func quantile(sorted []time.Duration, q float64) time.Duration {
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
