package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/fleet"
)

// statusOptions are serve's fleet flags: a site's status reports, and a
// control plane's judgement of its sites.
type statusOptions struct {
	siteID   string
	url      string
	interval time.Duration

	staleAfter time.Duration
	lagAfter   time.Duration
	maxSites   int
}

func addStatusFlags(f *pflag.FlagSet, o *statusOptions) {
	f.StringVar(&o.siteID, "site-id", "", "this site's id in its control plane's fleet view (default the host name)")
	f.StringVar(&o.url, "status-url", "", "where this site reports its status (POST, docs/operations.md \"Running a fleet\"); default /v1/status of an http(s) --bundle's control plane, sent with --bundle-token-file")
	f.DurationVar(&o.interval, "status-interval", 30*time.Second, "how often this site reports its status (with up to 10% random extra), besides every bundle or inventory activation and refusal; 0 turns reports off")
	f.DurationVar(&o.staleAfter, "fleet-stale-after", fleet.DefaultStaleAfter, "control plane: a site not heard from for this long is stale")
	f.DurationVar(&o.lagAfter, "fleet-lag-after", fleet.DefaultLagAfter, "control plane: a site still running another bundle this long after one is published is lagging")
	f.IntVar(&o.maxSites, "fleet-max-sites", fleet.DefaultMaxSites, "control plane: most sites kept in the fleet view (a new site past it is answered 503)")
}

// statusTarget is where a site reports, checked before serve creates
// anything: "" url when it does not report.
type statusTarget struct {
	url    string
	client *http.Client
	siteID string
}

// checkStatus works out where the site reports: --status-url, or the control
// plane of an http(s) --bundle. Tokens travel as with bundle polls: over
// https, or to loopback.
func checkStatus(o serveOptions) (statusTarget, error) {
	so := o.statusOpts
	if so.interval < 0 {
		return statusTarget{}, fmt.Errorf("--status-interval %s: must not be negative", so.interval)
	}
	if so.staleAfter <= 0 || so.lagAfter <= 0 || so.maxSites <= 0 {
		return statusTarget{}, fmt.Errorf("--fleet-stale-after, --fleet-lag-after and --fleet-max-sites must be positive")
	}
	target := so.url
	if target == "" && so.interval > 0 {
		if u, err := url.Parse(o.bundle); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			target = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/v1/status"}).String()
		}
	}
	if target == "" || so.interval == 0 {
		return statusTarget{}, nil
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return statusTarget{}, fmt.Errorf("--status-url %q: not an http(s) URL", target)
	}
	if u.Scheme == "http" && !o.bundleOpts.allowHTTP && !api.IsLoopback(u.Hostname()) {
		return statusTarget{}, fmt.Errorf("--status-url %s: plain http to %s; use https, or --bundle-allow-http to accept that", target, u.Hostname())
	}
	id := so.siteID
	if id == "" {
		if id, err = os.Hostname(); err != nil {
			return statusTarget{}, fmt.Errorf("--site-id: %w", err)
		}
	}
	if !fleet.SiteIDPattern.MatchString(id) {
		return statusTarget{}, fmt.Errorf("--site-id %q: not a site id (letters, digits and ._:- ; up to 128)", id)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if o.bundleOpts.tokenFile != "" {
		if client, err = tokenClient("--bundle-token-file (sent with status reports)", target, o.bundleOpts.tokenFile, 10*time.Second); err != nil {
			return statusTarget{}, err
		}
	}
	return statusTarget{url: target, client: client, siteID: id}, nil
}

// siteState is what a site knows of its own bundle and inventory, for its
// reports; the bundle manager and the inventory watcher update it.
type siteState struct {
	mu sync.Mutex
	// inventory: when it was last activated, and the refusal of the
	// inventory on disk while it lasts.
	invActivated time.Time
	invRefusal   *fleet.Refusal
	lastRefusal  *fleet.Refusal
	// changed is called on every activation and refusal (the reporter's
	// kick); set before the goroutines that call it start.
	changed atomic.Pointer[func()]
}

func (s *siteState) notify() {
	if f := s.changed.Load(); f != nil {
		(*f)()
	}
}

func (s *siteState) inventoryActivated() {
	s.mu.Lock()
	s.invActivated, s.invRefusal = time.Now().UTC(), nil
	s.mu.Unlock()
	s.notify()
}

// inventoryCurrent: the inventory on disk loads again (and is the one in
// force): whatever was refused is no longer there.
func (s *siteState) inventoryCurrent() {
	s.mu.Lock()
	was := s.invRefusal != nil
	s.invRefusal = nil
	s.mu.Unlock()
	if was {
		s.notify()
	}
}

func (s *siteState) inventoryRefused(err error) {
	r := &fleet.Refusal{Kind: "inventory", At: time.Now().UTC(), Reason: limitText(err.Error())}
	s.mu.Lock()
	s.invRefusal, s.lastRefusal = r, r
	s.mu.Unlock()
	s.notify()
}

func (s *siteState) bundleRefused(err error) {
	r := &fleet.Refusal{Kind: "bundle", At: time.Now().UTC(), Reason: limitText(err.Error())}
	s.mu.Lock()
	s.lastRefusal = r
	s.mu.Unlock()
	s.notify()
}

// limitText keeps a reason within what a report carries.
func limitText(s string) string {
	const n = 2000
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// statusReporter sends a site's status to its control plane on a schedule
// and on every change. Nothing queues: each attempt sends the status as it is
// then, with the decisions counted since the last report taken, so a site
// that cannot reach its control plane for a day sends one report when it can.
type statusReporter struct {
	target   statusTarget
	interval time.Duration
	bundle   string // the bundle's name in reports
	status   func() bundles.Status
	engine   *engine.Engine
	log      *audit.Log
	state    *siteState
	counts   func() (answered, denied uint64)
	logger   *slog.Logger

	kick chan struct{}
	// sentAnswered and sentDenied are the counts at the last report taken.
	sentAnswered, sentDenied uint64
}

// bundleReportName is the bundle's name in a site's reports: the last
// segment of an http(s) --bundle (the name the control plane serves it
// under), the file or directory name otherwise, "builtin" without --bundle.
func bundleReportName(location string) string {
	if location == "" {
		return "builtin"
	}
	if u, err := url.Parse(location); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return path.Base(u.Path)
	}
	return filepath.Base(filepath.Clean(location))
}

// backoff bounds: retries start at minBackoff and double up to the interval.
const minBackoff = time.Second

func (r *statusReporter) notify() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run reports until ctx is done.
func (r *statusReporter) run(ctx context.Context) {
	var backoff time.Duration
	timer := time.NewTimer(0)
	defer timer.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			if backoff > 0 {
				continue // the retry already scheduled sends the latest status
			}
		case <-timer.C:
		}
		err := r.send(ctx)
		next := r.interval
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, minBackoff), max(r.interval, minBackoff))
			next = backoff
			if !failing {
				r.logger.Warn("status report not taken; deciding goes on, retrying", "url", r.target.url, "err", err)
			}
			failing = true
		} else {
			if failing {
				r.logger.Info("status report taken again", "url", r.target.url)
			}
			backoff, failing = 0, false
		}
		timer.Reset(next + time.Duration(rand.Int64N(int64(next/10)+1)))
	}
}

// send makes and sends one report.
func (r *statusReporter) send(ctx context.Context) error {
	answered, denied := r.counts()
	rep := r.report(ctx)
	rep.Metrics = fleet.Metrics{Decisions: answered - r.sentAnswered, Denials: denied - r.sentDenied}
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, r.target.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.target.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	r.sentAnswered, r.sentDenied = answered, denied
	return nil
}

// report is the site's status now, less its counters.
func (r *statusReporter) report(ctx context.Context) fleet.Report {
	st := r.status()
	b := fleet.BundleStatus{
		Name: r.bundle, ActiveRevision: st.ActiveRevision, ActiveDigest: st.ActiveDigest, ActiveETag: st.ActiveETag,
		LastSuccessfulActivation: st.ActivatedAt, LastRequest: st.LastAttempt,
	}
	if st.RefusedETag != "" {
		b.Code, b.Message = fleet.CodeBundleError, limitText(st.LastError)
	}
	rep := fleet.Report{
		Labels:  fleet.Labels{ID: r.target.siteID, Version: engine.Version},
		Bundles: map[string]fleet.BundleStatus{r.bundle: b},
		SentAt:  time.Now().UTC(),
	}
	r.state.mu.Lock()
	rep.Inventory = fleet.InventoryStatus{Revision: r.engine.Inventory().Revision, LastSuccessfulActivation: r.state.invActivated}
	if f := r.state.invRefusal; f != nil {
		rep.Inventory.Code, rep.Inventory.Message = fleet.CodeInventoryError, f.Reason
	}
	if f := r.state.lastRefusal; f != nil {
		c := *f
		rep.LastRefusal = &c
	}
	r.state.mu.Unlock()
	if raw, err := r.log.Checkpoint(ctx); err == nil {
		if cp, err := fleet.ParseCheckpoint(raw); err == nil {
			rep.Checkpoint = &cp
		}
	}
	rep.Log.Healthy = true
	if err := r.log.Ready(); err != nil {
		rep.Log = fleet.LogHealth{Healthy: false, Error: limitText(err.Error())}
	}
	return rep
}
