package api

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/witness"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/fleet"
)

// FleetConfig makes a control plane (Config.ServeBundlesDir) keep the status
// its sites report: POST /v1/status, GET /v1/fleet (docs/operations.md,
// "Running a fleet").
type FleetConfig struct {
	// StatePath is the file the fleet's state is kept in ("" in memory).
	StatePath  string
	StaleAfter time.Duration // default fleet.DefaultStaleAfter
	LagAfter   time.Duration // default fleet.DefaultLagAfter
	MaxSites   int           // default fleet.DefaultMaxSites
	// SweepInterval is how often Serve judges every site (stale, lagging)
	// and writes the state file; default a quarter of the shorter of
	// StaleAfter and LagAfter, between 200 ms and 15 s.
	SweepInterval time.Duration
}

// CodeFleetFull answers a report of a new site when the control plane keeps
// FleetConfig.MaxSites already (503).
const CodeFleetFull = "fleet_full"

// fleetRoutes serve the fleet when this server is a control plane with a
// FleetConfig.
func (s *Server) fleetRoutes(v1 *gin.RouterGroup, files *bundleFiles) error {
	fc := s.cfg.Fleet
	if fc == nil {
		return nil
	}
	if files == nil {
		return errors.New("api: the fleet is kept by a control plane: it needs ServeBundlesDir")
	}
	o := fleet.Options{
		Path: fc.StatePath, StaleAfter: fc.StaleAfter, LagAfter: fc.LagAfter, MaxSites: fc.MaxSites,
		Published: files.published,
	}
	if w, ok := s.cfg.Witness.(checkpointWitness); ok {
		o.Witnessed = witnessed(w)
	}
	reg, err := fleet.New(o)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	s.fleet = reg
	if fc.SweepInterval <= 0 {
		fc.SweepInterval = min(max(min(reg.StaleAfter(), reg.LagAfter())/4, 200*time.Millisecond), 15*time.Second)
	}
	s.fleetSweep = fc.SweepInterval
	sum := func(f func(fleet.Summary) int) func() float64 {
		return func() float64 { return float64(f(reg.LastSummary())) }
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_fleet_sites", Help: "Sites that reported to this control plane (as of the last sweep)."},
			sum(func(x fleet.Summary) int { return x.Sites })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_fleet_sites_stale", Help: "Sites not heard from within --fleet-stale-after."},
			sum(func(x fleet.Summary) int { return x.Stale })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_fleet_sites_lagging", Help: "Sites running another bundle than the one published more than --fleet-lag-after ago."},
			sum(func(x fleet.Summary) int { return x.Lagging })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_fleet_sites_refusing", Help: "Sites refusing the bundle they are served or their inventory (the last good one stays in force)."},
			sum(func(x fleet.Summary) int { return x.Refusing })),
	} {
		if err := s.metrics.registry.Register(c); err != nil {
			return fmt.Errorf("api: fleet metrics: %w", err)
		}
	}
	v1.POST("/status", s.statusReport)
	v1.GET("/fleet", s.fleetView)
	return nil
}

// checkpointWitness is a witness that says what it last cosigned for a log
// (audit/witness).
type checkpointWitness interface {
	Latest(origin string) ([]byte, error)
}

func witnessed(w checkpointWitness) func(string) (fleet.Checkpoint, bool, error) {
	return func(origin string) (fleet.Checkpoint, bool, error) {
		raw, err := w.Latest(origin)
		if errors.Is(err, witness.ErrUnknownLog) || (err == nil && raw == nil) {
			return fleet.Checkpoint{}, false, nil
		} else if err != nil {
			return fleet.Checkpoint{}, false, err
		}
		c, err := fleet.ParseCheckpoint(raw)
		return c, err == nil, err
	}
}

// statusReport takes a site's status report (POST /v1/status). The site is
// in the body, so it authorizes here: a credential bound to a site reports
// that site only, whatever the policy set in force permits.
func (s *Server) statusReport(c *gin.Context) {
	body, ok := readJSONBody(c, min(s.cfg.MaxBodyBytes, fleet.MaxReportBytes))
	if !ok {
		return
	}
	var r fleet.Report
	if err := engine.DecodeStrict(body, &r); err != nil {
		var derr *engine.DecodeError
		if !errors.As(err, &derr) {
			derr = &engine.DecodeError{Code: engine.CodeMalformedJSON, Message: "cannot decode status report: " + err.Error()}
		}
		status, code := decodeStatus(derr.Code)
		abortWithError(c, status, code, derr.Message, decodeDetails(derr)...)
		return
	}
	if errs := r.Check(); len(errs) > 0 {
		details := make([]ErrorDetail, len(errs))
		for i, e := range errs {
			details[i] = ErrorDetail{Path: e.Path, Message: e.Message}
		}
		abortWithError(c, http.StatusUnprocessableEntity, CodeInvalidRequest, "invalid status report", details...)
		return
	}
	site := auth.Ref(auth.TypeSite, r.Labels.ID)
	if id := identity(c); id != nil && id.Site != "" && id.Site != r.Labels.ID {
		s.refuse(c, id, http.StatusForbidden, "site_binding", auth.ActionFleetReport, []auth.Resource{site},
			fmt.Sprintf("%s may report the status of site %q only, not %q", id.String(), id.Site, r.Labels.ID))
		return
	}
	if !s.authorize(c, auth.ActionFleetReport, nil, site) {
		return
	}
	ctx := c.Request.Context()
	err := s.fleet.Apply(principal(c), r, func(ch fleet.Change) error {
		return s.recordFleetChange(ctx, principal(c), ch)
	})
	switch {
	case errors.Is(err, fleet.ErrFull):
		c.Header("Retry-After", "60")
		abortWithError(c, http.StatusServiceUnavailable, CodeFleetFull, err.Error())
		return
	case err != nil:
		s.fail(c, "status report", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"site": r.Labels.ID, "received_at": time.Now().UTC()})
}

// recordFleetChange is the audit record of a site's status changing.
func (s *Server) recordFleetChange(ctx context.Context, principal string, ch fleet.Change) error {
	p, inv := s.cfg.Engine.Policy(), s.cfg.Engine.Inventory()
	rec, err := audit.NewFleetStatus(principal, audit.FleetStatus{
		Site: ch.Site, New: ch.New, From: audit.FleetState(ch.From), To: audit.FleetState(ch.To),
		Changed: ch.Changed, Reason: ch.Reason,
	}, audit.Context{Bundle: audit.BundleRef{Revision: p.Revision, Digest: p.Digest}, InventoryRevision: inv.Revision, EngineVersion: engine.Version})
	if err != nil {
		return err
	}
	_, err = s.record(ctx, rec)
	return err
}

// fleetQuery are the parameters GET /v1/fleet takes.
var fleetQuery = map[string]bool{"stale": true, "lagging": true, "refusing": true, "limit": true, "cursor": true}

// fleetView answers GET /v1/fleet: a page of sites, each judged now.
func (s *Server) fleetView(c *gin.Context) {
	var f fleet.Filter
	var details []ErrorDetail
	q := c.Request.URL.Query()
	for k, vs := range q {
		if !fleetQuery[k] {
			details = append(details, ErrorDetail{Path: k, Message: "unknown parameter (stale, lagging, refusing, limit, cursor)"})
		} else if len(vs) > 1 {
			details = append(details, ErrorDetail{Path: k, Message: "given more than once"})
		}
	}
	flag := func(name string, v *bool) {
		if raw := q.Get(name); raw != "" {
			b, err := strconv.ParseBool(raw)
			if err != nil {
				details = append(details, ErrorDetail{Path: name, Message: fmt.Sprintf("must be true or false, got %q", raw)})
			}
			*v = b
		}
	}
	flag("stale", &f.Stale)
	flag("lagging", &f.Lagging)
	flag("refusing", &f.Refusing)
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > fleet.MaxLimit {
			details = append(details, ErrorDetail{Path: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d, got %q", fleet.MaxLimit, raw)})
		}
		f.Limit = n
	}
	f.Cursor = q.Get("cursor")
	if len(details) > 0 {
		abortWithError(c, http.StatusUnprocessableEntity, CodeInvalidRequest, "invalid fleet query", details...)
		return
	}
	page, err := s.fleet.List(f)
	if errors.Is(err, fleet.ErrBadCursor) {
		abortWithError(c, http.StatusUnprocessableEntity, CodeInvalidRequest, "invalid fleet query", ErrorDetail{Path: "cursor", Message: err.Error()})
		return
	} else if err != nil {
		s.fail(c, "fleet", err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// SweepFleet judges every site now, records the sites whose state changed
// (one went stale, one started lagging) and writes the fleet's state file.
// Serve runs it every FleetConfig.SweepInterval; without a fleet it does
// nothing.
func (s *Server) SweepFleet(ctx context.Context) error {
	if s.fleet == nil {
		return nil
	}
	_, err := s.fleet.Sweep(func(ch fleet.Change) error {
		return s.recordFleetChange(ctx, audit.SystemPrincipal, ch)
	})
	return errors.Join(err, s.fleet.Flush(false))
}

// runFleet sweeps until ctx is done.
func (s *Server) runFleet(ctx context.Context) {
	t := time.NewTicker(s.fleetSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.SweepFleet(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("fleet sweep", "err", err)
		}
	}
}

// published is what the control plane serves under name: its ETag, the
// revision in its manifest (read once per version of the file) and its
// modification time.
func (b *bundleFiles) published(name string) (fleet.Published, bool) {
	if !bundleName.MatchString(name) {
		return fleet.Published{}, false
	}
	bf, err := b.open(name)
	if err != nil {
		return fleet.Published{}, false
	}
	defer bf.f.Close()
	b.mu.Lock()
	t := b.tags[name]
	b.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.revisionOf != bf.etag {
		t.revision = manifestRevision(io.NewSectionReader(bf.f, 0, bf.id.size))
		t.revisionOf = bf.etag
	}
	return fleet.Published{Revision: t.revision, ETag: bf.etag, At: bf.mod}, true
}

// maxManifest bounds the .manifest read from a served bundle.
const maxManifest = 1 << 20

// manifestRevision is the revision in a bundle tarball's .manifest, "" when
// it has none or is not a tarball (the site is then compared by ETag only).
func manifestRevision(r io.Reader) string {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return ""
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			return ""
		}
		if strings.TrimPrefix(h.Name, "/") != ".manifest" || h.Size > maxManifest {
			continue
		}
		var m struct {
			Revision string `json:"revision"`
		}
		if json.NewDecoder(io.LimitReader(tr, maxManifest)).Decode(&m) != nil {
			return ""
		}
		return m.Revision
	}
}
