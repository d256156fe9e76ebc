package fleet

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
)

// Defaults of Options.
const (
	// DefaultStaleAfter is how long a site may go unheard before it is stale:
	// four missed reports at the sites' default 30 s interval.
	DefaultStaleAfter = 2 * time.Minute
	// DefaultLagAfter is how long after a bundle is published a site may
	// still run another before it is lagging: a few polls and the new
	// bundle's own tests.
	DefaultLagAfter = 5 * time.Minute
	// DefaultMaxSites bounds the sites kept (and the state file).
	DefaultMaxSites = 100_000
)

// ErrFull is a report of a new site when MaxSites are known (503).
var ErrFull = errors.New("fleet: the control plane keeps no more sites")

// Published is the version of a bundle the control plane serves: its
// revision (from its manifest), its ETag (the SHA-256 of the file, as sites
// see it) and when it was published (the file's modification time).
type Published struct {
	Revision string
	ETag     string
	At       time.Time
}

// Options configure a Registry.
type Options struct {
	// Path is the state file; "" keeps the registry in memory only.
	Path       string
	StaleAfter time.Duration
	LagAfter   time.Duration
	MaxSites   int
	// Published says what the control plane serves under a bundle name;
	// false for a name it does not serve (the site is then neither behind
	// nor lagging: there is nothing to compare with).
	Published func(name string) (Published, bool)
	// Witnessed is the latest checkpoint the witness in this process
	// cosigned for a log origin (ok false: it follows no such log, or has
	// cosigned none yet). Nil: no witness here, and every site's witness
	// consistency is "unknown".
	Witnessed func(origin string) (c Checkpoint, ok bool, err error)
	Now       func() time.Time
}

// State is what the registry judges of a site, and records when it changes.
type State struct {
	Revision string `json:"revision"`
	Refusing bool   `json:"refusing"`
	Stale    bool   `json:"stale"`
	Lagging  bool   `json:"lagging"`
}

// Change is a site whose State changed: one audit record (fleet.status).
type Change struct {
	Site      string
	Principal string
	// New is set for the first report of a site.
	New  bool
	From State
	To   State
	// Changed names what changed: revision, refusing, stale, lagging.
	Changed []string
	// Reason is the site's last refusal when it starts refusing.
	Reason string
	At     time.Time
}

// site is what the registry keeps of one site (and writes to its file).
type site struct {
	ID              string    `json:"id"`
	Principal       string    `json:"principal"`
	FirstSeen       time.Time `json:"first_seen"`
	LastSeen        time.Time `json:"last_seen"`
	Report          Report    `json:"report"`
	Decisions       uint64    `json:"decisions"`
	Denials         uint64    `json:"denials"`
	CheckpointSince time.Time `json:"checkpoint_since,omitzero"`
	// State is the state last recorded (the audit log has it).
	State State `json:"state"`
}

// Registry keeps the latest report of every site. It is safe for concurrent
// use.
type Registry struct {
	o Options
	// since is when the registry opened: a site is stale only once it has
	// been silent for StaleAfter while this control plane could hear it, so
	// a restart after downtime does not mark (and record) every site stale.
	since time.Time
	mu    sync.Mutex
	sites map[string]*site
	// ids are the sites' ids, sorted: the fleet view's order.
	ids []string
	// dirty: a site or a state changed since the state file was written;
	// touched: only reports (last seen, counters) did, written at most
	// every flushEvery.
	dirty, touched bool
	written        time.Time
	summary        atomic.Pointer[Summary]
}

// stateFile is the registry's file.
type stateFile struct {
	Version int     `json:"version"`
	Sites   []*site `json:"sites"`
}

// New opens the registry, reading its state file when there is one.
func New(o Options) (*Registry, error) {
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.LagAfter <= 0 {
		o.LagAfter = DefaultLagAfter
	}
	if o.MaxSites <= 0 {
		o.MaxSites = DefaultMaxSites
	}
	if o.Published == nil {
		o.Published = func(string) (Published, bool) { return Published{}, false }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Registry{o: o, since: o.Now().UTC(), sites: map[string]*site{}}
	if err := g.load(); err != nil {
		return nil, err
	}
	g.summary.Store(&Summary{})
	return g, nil
}

// maxStateBytes bounds the state file read at start: every site's latest
// report at its largest, and its bookkeeping.
func (g *Registry) maxStateBytes() int64 {
	return int64(g.o.MaxSites) * (MaxReportBytes + 1024)
}

func (g *Registry) load() error {
	if g.o.Path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(g.o.Path), 0o700); err != nil {
		return fmt.Errorf("fleet: state: %w", err)
	}
	f, err := os.Open(g.o.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("fleet: state: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, g.maxStateBytes()+1))
	if err != nil {
		return fmt.Errorf("fleet: state %s: %w", g.o.Path, err)
	}
	if int64(len(raw)) > g.maxStateBytes() {
		return fmt.Errorf("fleet: state %s: larger than %d bytes", g.o.Path, g.maxStateBytes())
	}
	var st stateFile
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("fleet: state %s: %w", g.o.Path, err)
	}
	if st.Version != 1 {
		return fmt.Errorf("fleet: state %s: version %d, want 1", g.o.Path, st.Version)
	}
	if len(st.Sites) > g.o.MaxSites {
		return fmt.Errorf("fleet: state %s: %d sites, more than the %d kept", g.o.Path, len(st.Sites), g.o.MaxSites)
	}
	for i, s := range st.Sites {
		if s == nil || !SiteIDPattern.MatchString(s.ID) {
			return fmt.Errorf("fleet: state %s: sites[%d]: not a site", g.o.Path, i)
		}
		g.sites[s.ID] = s
		g.ids = append(g.ids, s.ID)
	}
	slices.Sort(g.ids)
	return nil
}

// flushEvery is how often reports that changed no state are written.
const flushEvery = time.Minute

// Flush writes the state file, atomically (a crash leaves the old file or
// the new one): at once when a site or a state changed, within flushEvery
// when only reports did (what a site last said, it says again within its
// interval), and whatever changed when force is set (at shutdown).
func (g *Registry) Flush(force bool) error {
	if g.o.Path == "" {
		return nil
	}
	now := g.o.Now()
	g.mu.Lock()
	if !g.dirty && !(g.touched && (force || now.Sub(g.written) >= flushEvery)) {
		g.mu.Unlock()
		return nil
	}
	st := stateFile{Version: 1, Sites: make([]*site, 0, len(g.sites))}
	for _, s := range g.sites {
		c := *s
		st.Sites = append(st.Sites, &c)
	}
	g.dirty, g.touched, g.written = false, false, now
	g.mu.Unlock()
	sort.Slice(st.Sites, func(i, j int) bool { return st.Sites[i].ID < st.Sites[j].ID })
	raw, err := json.Marshal(st)
	if err == nil {
		err = audit.WriteFileAtomic(g.o.Path, raw, 0o600)
	}
	if err != nil {
		g.mu.Lock()
		g.dirty = true
		g.mu.Unlock()
		return fmt.Errorf("fleet: write state: %w", err)
	}
	return nil
}

// Apply takes a site's report, received from principal. When it changes the
// site's state, record is called with the change first, and the report is
// taken only if record succeeds: nothing changes that the audit log does not
// say. It returns record's error, or ErrFull.
func (g *Registry) Apply(principal string, r Report, record func(Change) error) error {
	now := g.o.Now().UTC()
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.sites[r.Labels.ID]
	var s site
	if old == nil {
		if len(g.sites) >= g.o.MaxSites {
			return ErrFull
		}
		s = site{ID: r.Labels.ID, FirstSeen: now}
	} else {
		s = *old
	}
	s.Principal, s.LastSeen = principal, now
	if cp := r.Checkpoint; cp != nil && (s.Report.Checkpoint == nil || *cp != *s.Report.Checkpoint) {
		s.CheckpointSince = now
	}
	s.Report = r
	s.Decisions += r.Metrics.Decisions
	s.Denials += r.Metrics.Denials
	to := g.state(&s, now, g.publishedOnce())
	if c, changed := change(&s, old == nil, to, now); changed {
		if err := record(c); err != nil {
			return err
		}
	}
	if old == nil {
		i, _ := slices.BinarySearch(g.ids, s.ID)
		g.ids = slices.Insert(g.ids, i, s.ID)
	}
	if old == nil || s.State != to {
		g.dirty = true
	}
	g.touched = true
	s.State = to
	g.sites[s.ID] = &s
	return nil
}

// change is the change from s's recorded state to to, if any.
func change(s *site, isNew bool, to State, now time.Time) (Change, bool) {
	c := Change{Site: s.ID, Principal: s.Principal, New: isNew, From: s.State, To: to, At: now}
	if isNew {
		c.From = State{}
	}
	if c.From.Revision != to.Revision || isNew {
		c.Changed = append(c.Changed, "revision")
	}
	if c.From.Refusing != to.Refusing {
		c.Changed = append(c.Changed, "refusing")
	}
	if c.From.Stale != to.Stale {
		c.Changed = append(c.Changed, "stale")
	}
	if c.From.Lagging != to.Lagging {
		c.Changed = append(c.Changed, "lagging")
	}
	if to.Refusing && s.Report.LastRefusal != nil {
		c.Reason = s.Report.LastRefusal.Reason
	}
	return c, len(c.Changed) > 0
}

// Sweep judges every site now (a site goes stale, or starts lagging, without
// reporting), calls record for each site whose state changed, and keeps the
// new state of those recorded. Many sites can change at once (a publication
// they all lag behind), so the records are written sweepWriters at a time:
// the log commits concurrent appends together. It returns the fleet's
// summary and the first error of record (the sites it failed for are judged
// again next time).
//
// The records are written without holding the registry: while the log is
// slow or down, reports and the fleet view go on (a report that changes a
// site meanwhile records its own change, and the sweep's is then not
// applied over it).
func (g *Registry) Sweep(record func(Change) error) (Summary, error) {
	now := g.o.Now().UTC()
	pub := g.publishedOnce()
	type pending struct {
		c   Change
		err error
	}
	var sum Summary
	var todo []*pending
	g.mu.Lock()
	for _, s := range g.sites {
		to := g.state(s, now, pub)
		if c, changed := change(s, false, to, now); changed {
			todo = append(todo, &pending{c: c})
		}
		sum.add(to)
	}
	g.mu.Unlock()
	work := make(chan *pending)
	var wg sync.WaitGroup
	for range min(sweepWriters, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				p.err = record(p.c)
			}
		}()
	}
	for _, p := range todo {
		work <- p
	}
	close(work)
	wg.Wait()
	var first error
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range todo {
		if p.err != nil {
			if first == nil {
				first = p.err
			}
			continue
		}
		// The log now says so: applied unless a report taken meanwhile
		// recorded a change of its own. A site that reported meanwhile
		// without changing its state takes the recorded one, and the next
		// sweep records its return: state and log tell the same story.
		if s := g.sites[p.c.Site]; s != nil && s.State == p.c.From {
			s.State = p.c.To
			g.dirty = true
		}
	}
	g.summary.Store(&sum)
	return sum, first
}

// sweepWriters is how many records a sweep writes at once.
const sweepWriters = 32

// Summary counts the sites and those stale, lagging and refusing.
type Summary struct {
	Sites    int `json:"sites"`
	Stale    int `json:"stale"`
	Lagging  int `json:"lagging"`
	Refusing int `json:"refusing"`
}

func (s *Summary) add(st State) {
	s.Sites++
	if st.Stale {
		s.Stale++
	}
	if st.Lagging {
		s.Lagging++
	}
	if st.Refusing {
		s.Refusing++
	}
}

// StaleAfter is how long a site may go unheard before it is stale.
func (g *Registry) StaleAfter() time.Duration { return g.o.StaleAfter }

// LagAfter is how long after a publication a site may run another bundle.
func (g *Registry) LagAfter() time.Duration { return g.o.LagAfter }

// LastSummary is the summary of the last Sweep (the Prometheus gauges).
func (g *Registry) LastSummary() Summary { return *g.summary.Load() }

// publishedOnce looks each bundle name up once per call site's pass.
func (g *Registry) publishedOnce() func(string) (Published, bool) {
	type entry struct {
		p  Published
		ok bool
	}
	var mu sync.Mutex
	seen := map[string]entry{}
	return func(name string) (Published, bool) {
		mu.Lock()
		defer mu.Unlock()
		if e, ok := seen[name]; ok {
			return e.p, e.ok
		}
		p, ok := g.o.Published(name)
		seen[name] = entry{p, ok}
		return p, ok
	}
}

// judged is a site judged at one instant.
type judged struct {
	State
	bundles []BundleView
}

// Bundle states in the fleet view.
const (
	BundleCurrent     = "current"     // the site runs what is published
	BundleBehind      = "behind"      // the site runs another version
	BundleUnpublished = "unpublished" // this control plane serves no bundle of that name
)

// judge is the state of s at now against what is published.
func (g *Registry) judge(s *site, now time.Time, published func(string) (Published, bool)) judged {
	heard := s.LastSeen
	if heard.Before(g.since) {
		heard = g.since
	}
	j := judged{State: State{Stale: now.Sub(heard) > g.o.StaleAfter}}
	names := make([]string, 0, len(s.Report.Bundles))
	for n := range s.Report.Bundles {
		names = append(names, n)
	}
	slices.Sort(names)
	var revs []string
	for _, n := range names {
		b := s.Report.Bundles[n]
		revs = append(revs, b.ActiveRevision)
		v := BundleView{Name: n, ActiveRevision: b.ActiveRevision, ActiveDigest: b.ActiveDigest, Code: b.Code, Message: b.Message, State: BundleUnpublished}
		if b.Code != "" {
			j.Refusing = true
		}
		if p, ok := published(n); ok {
			v.PublishedRevision = p.Revision
			v.PublishedAt = p.At.UTC()
			v.State = BundleCurrent
			if !sameVersion(b, p) {
				v.State = BundleBehind
				if now.Sub(p.At) > g.o.LagAfter {
					j.Lagging = true
				}
			}
		}
		j.bundles = append(j.bundles, v)
	}
	if s.Report.Inventory.Code != "" {
		j.Refusing = true
	}
	j.Revision = strings.Join(revs, ",")
	return j
}

// state is judge's State without the views, allocating nothing for a site
// of one bundle: the sweep, the summary and the filters judge every site.
func (g *Registry) state(s *site, now time.Time, published func(string) (Published, bool)) State {
	if len(s.Report.Bundles) != 1 {
		return g.judge(s, now, published).State
	}
	heard := s.LastSeen
	if heard.Before(g.since) {
		heard = g.since
	}
	st := State{Stale: now.Sub(heard) > g.o.StaleAfter, Refusing: s.Report.Inventory.Code != ""}
	for n, b := range s.Report.Bundles {
		st.Revision = b.ActiveRevision
		if b.Code != "" {
			st.Refusing = true
		}
		if p, ok := published(n); ok && !sameVersion(b, p) && now.Sub(p.At) > g.o.LagAfter {
			st.Lagging = true
		}
	}
	return st
}

// sameVersion: the site runs the published file (same ETag), or a bundle of
// the same revision (a site restarted on its last good copy has no ETag).
func sameVersion(b BundleStatus, p Published) bool {
	if b.ActiveETag != "" && p.ETag != "" {
		return strings.Trim(b.ActiveETag, `"`) == p.ETag
	}
	return p.Revision != "" && b.ActiveRevision == p.Revision
}

// SiteView is one site in the fleet view (GET /v1/fleet).
type SiteView struct {
	ID             string          `json:"id"`
	Version        string          `json:"version"`
	Principal      string          `json:"principal"`
	FirstSeen      time.Time       `json:"first_seen"`
	LastSeen       time.Time       `json:"last_seen"`
	SeenAgoSeconds float64         `json:"seen_ago_seconds"`
	Stale          bool            `json:"stale"`
	Behind         bool            `json:"behind"`
	Lagging        bool            `json:"lagging"`
	Refusing       bool            `json:"refusing"`
	Bundles        []BundleView    `json:"bundles"`
	Inventory      InventoryStatus `json:"inventory"`
	LastRefusal    *Refusal        `json:"last_refusal,omitempty"`
	Checkpoint     *CheckpointView `json:"checkpoint,omitempty"`
	Decisions      uint64          `json:"decisions"`
	Denials        uint64          `json:"denials"`
	Log            LogHealth       `json:"log"`
}

// BundleView is one bundle of a site against what is published.
type BundleView struct {
	Name              string    `json:"name"`
	ActiveRevision    string    `json:"active_revision"`
	ActiveDigest      string    `json:"active_digest"`
	PublishedRevision string    `json:"published_revision,omitempty"`
	PublishedAt       time.Time `json:"published_at,omitzero"`
	State             string    `json:"state"`
	Code              string    `json:"code,omitempty"`
	Message           string    `json:"message,omitempty"`
}

// Witness consistency of a site's reported checkpoint.
const (
	// WitnessConsistent: the witness here cosigned a checkpoint of the same
	// size and root.
	WitnessConsistent = "consistent"
	// WitnessInconsistent: the witness cosigned another root at that size:
	// the site reports a history the witness did not see (a fork).
	WitnessInconsistent = "inconsistent"
	// WitnessUnknown: no witness in this process, it does not follow the
	// log, or the sizes differ (comparing them needs a consistency proof).
	WitnessUnknown = "unknown"
)

// CheckpointView is a site's reported checkpoint, how long it has been its
// latest, and whether the witness saw the same.
type CheckpointView struct {
	Checkpoint
	AgeSeconds    float64 `json:"age_seconds"`
	Witness       string  `json:"witness"`
	WitnessDetail string  `json:"witness_detail,omitempty"`
}

// Filter selects sites of the fleet view, a page at a time (sites by id).
type Filter struct {
	Stale, Lagging, Refusing bool
	Limit                    int
	// Cursor is the NextCursor of the previous page.
	Cursor string
}

// Page is one page of the fleet view.
type Page struct {
	Summary    Summary    `json:"summary"`
	Sites      []SiteView `json:"sites"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// Paging bounds.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ErrBadCursor is a cursor this registry did not make (400).
var ErrBadCursor = errors.New("not a cursor of this fleet view")

// List is a page of sites, judged now.
func (g *Registry) List(f Filter) (Page, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	after := ""
	if f.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || !SiteIDPattern.Match(b) {
			return Page{}, ErrBadCursor
		}
		after = string(b)
	}
	now := g.o.Now().UTC()
	pub := g.publishedOnce()
	g.mu.Lock()
	page := Page{Sites: []SiteView{}}
	for _, id := range g.ids {
		s := g.sites[id]
		st := g.state(s, now, pub)
		page.Summary.add(st)
		if id <= after || len(page.Sites) > f.Limit {
			continue
		}
		if (f.Stale && !st.Stale) || (f.Lagging && !st.Lagging) || (f.Refusing && !st.Refusing) {
			continue
		}
		page.Sites = append(page.Sites, view(s, g.judge(s, now, pub), now))
	}
	g.mu.Unlock()
	if len(page.Sites) > f.Limit {
		page.Sites = page.Sites[:f.Limit]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.Sites[f.Limit-1].ID))
	}
	for i := range page.Sites {
		g.witness(page.Sites[i].Checkpoint)
	}
	return page, nil
}

func view(s *site, j judged, now time.Time) SiteView {
	v := SiteView{
		ID: s.ID, Version: s.Report.Labels.Version, Principal: s.Principal,
		FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, SeenAgoSeconds: seconds(now.Sub(s.LastSeen)),
		Stale: j.Stale, Lagging: j.Lagging, Refusing: j.Refusing,
		Bundles: j.bundles, Inventory: s.Report.Inventory, LastRefusal: s.Report.LastRefusal,
		Decisions: s.Decisions, Denials: s.Denials, Log: s.Report.Log,
	}
	if v.Bundles == nil {
		v.Bundles = []BundleView{}
	}
	for _, b := range j.bundles {
		if b.State == BundleBehind {
			v.Behind = true
		}
	}
	if cp := s.Report.Checkpoint; cp != nil {
		v.Checkpoint = &CheckpointView{Checkpoint: *cp, AgeSeconds: seconds(now.Sub(s.CheckpointSince)), Witness: WitnessUnknown}
	}
	return v
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

// witness says whether the witness in this process saw the checkpoint.
func (g *Registry) witness(v *CheckpointView) {
	if v == nil {
		return
	}
	if g.o.Witnessed == nil {
		v.WitnessDetail = "no witness in this control plane"
		return
	}
	w, ok, err := g.o.Witnessed(v.Origin)
	switch {
	case err != nil:
		v.WitnessDetail = "witness state unreadable: " + err.Error()
	case !ok:
		v.WitnessDetail = "the witness has cosigned no checkpoint of " + v.Origin
	case w.Size != v.Size:
		v.WitnessDetail = fmt.Sprintf("the witness last cosigned size %d, the site reports size %d: comparing them needs a consistency proof", w.Size, v.Size)
	case w.RootHash == v.RootHash:
		v.Witness = WitnessConsistent
	default:
		v.Witness = WitnessInconsistent
		v.WitnessDetail = fmt.Sprintf("the witness cosigned another root hash at size %d: the site reports a history the witness did not see", v.Size)
	}
}
