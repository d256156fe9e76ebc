package fleet

import (
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time for the registry.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

var rootA = base64.StdEncoding.EncodeToString(make([]byte, 32))
var rootB = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("b", 32)))

func report(id, revision, etag string) Report {
	return Report{
		Labels: Labels{ID: id, Version: "test"},
		Bundles: map[string]BundleStatus{"policy.tar.gz": {
			Name: "policy.tar.gz", ActiveRevision: revision, ActiveDigest: "d-" + revision, ActiveETag: etag,
		}},
		Inventory:  InventoryStatus{Revision: "inv1"},
		Checkpoint: &Checkpoint{Origin: "sovereign/" + id, Size: 10, RootHash: rootA},
		Metrics:    Metrics{Decisions: 5, Denials: 1},
		Log:        LogHealth{Healthy: true},
		SentAt:     time.Unix(1, 0).UTC(),
	}
}

// fixture is a registry on a fake clock, with what is published settable,
// and the changes it asked to record.
type fixture struct {
	clock     *clock
	published Published
	reg       *Registry
	mu        sync.Mutex // Sweep records concurrently
	changes   []Change
	failNext  bool
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}}
	if o.Now != nil {
		f.clock.t = o.Now()
	}
	f.published = Published{Revision: "r1", ETag: "e1", At: f.clock.t.Add(-time.Hour)}
	o.Now = f.clock.now
	o.StaleAfter, o.LagAfter = time.Minute, 5*time.Minute
	o.Published = func(name string) (Published, bool) { return f.published, name == "policy.tar.gz" }
	reg, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.reg = reg
	return f
}

func (f *fixture) record(c Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext {
		f.failNext = false
		return errors.New("log down")
	}
	f.changes = append(f.changes, c)
	return nil
}

func (f *fixture) apply(t *testing.T, r Report) {
	t.Helper()
	if err := f.reg.Apply("Sovereign::Principal::\"site\"", r, f.record); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) sweep(t *testing.T) Summary {
	t.Helper()
	s, err := f.reg.Sweep(f.record)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// takeChanges returns the changes recorded since the last call, each as
// "site:changed,..." with its new state.
func (f *fixture) takeChanges() []string {
	var out []string
	for _, c := range f.changes {
		out = append(out, fmt.Sprintf("%s:%s %+v", c.Site, strings.Join(c.Changed, ","), c.To))
	}
	f.changes = nil
	return out
}

func (f *fixture) site(t *testing.T, id string) SiteView {
	t.Helper()
	p, err := f.reg.List(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Sites {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no site %s in %+v", id, p.Sites)
	return SiteView{}
}

func want(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: changes\n got %q\nwant %q", what, got, want)
	}
}

// The state machine, step by step: a new site, a publication it lags
// behind, its catching up, a refusal and its end, going stale and coming
// back. Each change is recorded once, and only changes are.
func TestRegistryStateMachine(t *testing.T) {
	f := newFixture(t, Options{})
	f.apply(t, report("fra-1", "r1", `"e1"`))
	want(t, "first report", f.takeChanges(), "fra-1:revision {Revision:r1 Refusing:false Stale:false Lagging:false}")
	f.apply(t, report("fra-1", "r1", `"e1"`))
	f.sweep(t)
	want(t, "same report again", f.takeChanges())
	if s := f.site(t, "fra-1"); s.Behind || s.Decisions != 10 || s.Denials != 2 || s.Bundles[0].State != BundleCurrent {
		t.Fatalf("site %+v", s)
	}

	// r2 is published: behind at once, lagging only after LagAfter.
	f.published = Published{Revision: "r2", ETag: "e2", At: f.clock.t}
	f.clock.advance(30 * time.Second)
	f.apply(t, report("fra-1", "r1", "e1"))
	want(t, "behind within the grace", f.takeChanges())
	if s := f.site(t, "fra-1"); !s.Behind || s.Lagging || s.Bundles[0].State != BundleBehind || s.Bundles[0].PublishedRevision != "r2" {
		t.Fatalf("behind site %+v", s)
	}
	for range 12 {
		f.clock.advance(30 * time.Second)
		f.apply(t, report("fra-1", "r1", "e1"))
	}
	want(t, "past the grace", f.takeChanges(), "fra-1:lagging {Revision:r1 Refusing:false Stale:false Lagging:true}")
	if sum := f.sweep(t); sum != (Summary{Sites: 1, Lagging: 1}) {
		t.Fatalf("summary %+v", sum)
	}
	f.apply(t, report("fra-1", "r2", "e2"))
	want(t, "caught up", f.takeChanges(), "fra-1:revision,lagging {Revision:r2 Refusing:false Stale:false Lagging:false}")

	// A refusal, and its end.
	r := report("fra-1", "r2", "e2")
	r.Bundles["policy.tar.gz"] = BundleStatus{Name: "policy.tar.gz", ActiveRevision: "r2", ActiveETag: "e2", Code: CodeBundleError, Message: "signature does not verify"}
	r.LastRefusal = &Refusal{Kind: "bundle", At: f.clock.t, Reason: "signature does not verify"}
	f.apply(t, r)
	if len(f.changes) != 1 || f.changes[0].Reason != "signature does not verify" {
		t.Fatalf("refusal change %+v", f.changes)
	}
	want(t, "refusing", f.takeChanges(), "fra-1:refusing {Revision:r2 Refusing:true Stale:false Lagging:false}")
	r.Inventory = InventoryStatus{Revision: "inv1", Code: CodeInventoryError, Message: "bad yaml"}
	f.apply(t, r)
	want(t, "still refusing (now the inventory too)", f.takeChanges())
	f.apply(t, report("fra-1", "r2", "e2"))
	want(t, "refusal over", f.takeChanges(), "fra-1:refusing {Revision:r2 Refusing:false Stale:false Lagging:false}")

	// Stale by the sweep, back by a report.
	f.clock.advance(59 * time.Second)
	f.sweep(t)
	want(t, "within StaleAfter", f.takeChanges())
	f.clock.advance(2 * time.Second)
	if sum := f.sweep(t); sum.Stale != 1 {
		t.Fatalf("summary %+v", sum)
	}
	want(t, "stale", f.takeChanges(), "fra-1:stale {Revision:r2 Refusing:false Stale:true Lagging:false}")
	f.sweep(t)
	want(t, "stale once", f.takeChanges())
	f.apply(t, report("fra-1", "r2", "e2"))
	want(t, "back", f.takeChanges(), "fra-1:stale {Revision:r2 Refusing:false Stale:false Lagging:false}")
}

// A site that restarted on its last good copy reports no ETag: it is
// compared by revision. A bundle this control plane does not serve is
// neither current nor behind.
func TestRegistryComparesByRevisionWithoutETag(t *testing.T) {
	f := newFixture(t, Options{})
	f.apply(t, report("a", "r1", ""))
	if s := f.site(t, "a"); s.Behind {
		t.Fatalf("same revision without an ETag judged behind: %+v", s)
	}
	r := report("b", "x", "")
	r.Bundles = map[string]BundleStatus{"other.tar.gz": {Name: "other.tar.gz", ActiveRevision: "x"}}
	f.apply(t, r)
	f.clock.advance(time.Hour)
	f.apply(t, r)
	if s := f.site(t, "b"); s.Behind || s.Lagging || s.Bundles[0].State != BundleUnpublished {
		t.Fatalf("unpublished bundle: %+v", s)
	}
}

// Nothing changes that the audit log does not say: a change whose record
// fails is not taken, and is found again next time.
func TestRegistryTakesNoChangeUnrecorded(t *testing.T) {
	f := newFixture(t, Options{})
	f.failNext = true
	if err := f.reg.Apply("p", report("fra-1", "r1", "e1"), f.record); err == nil {
		t.Fatal("a report whose change was not recorded was taken")
	}
	if p, _ := f.reg.List(Filter{}); len(p.Sites) != 0 {
		t.Fatalf("site kept without its record: %+v", p.Sites)
	}
	f.apply(t, report("fra-1", "r1", "e1"))
	f.takeChanges()
	f.clock.advance(2 * time.Minute)
	f.failNext = true
	if _, err := f.reg.Sweep(f.record); err == nil {
		t.Fatal("sweep hid the record's failure")
	}
	f.sweep(t)
	want(t, "stale recorded on the next sweep", f.takeChanges(), "fra-1:stale {Revision:r1 Refusing:false Stale:true Lagging:false}")
}

// The state file: a restart keeps every site and the state recorded (no
// second "new site" record), and the registry keeps no more than MaxSites.
func TestRegistryPersistsAndIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet", "state.json")
	f := newFixture(t, Options{Path: path, MaxSites: 2})
	f.apply(t, report("a", "r1", "e1"))
	f.apply(t, report("b", "r1", "e1"))
	if err := f.reg.Apply("p", report("c", "r1", "e1"), f.record); !errors.Is(err, ErrFull) {
		t.Fatalf("third site: %v, want ErrFull", err)
	}
	if err := f.reg.Flush(true); err != nil {
		t.Fatal(err)
	}
	f.takeChanges()

	// The control plane was down for an hour: b is not stale until it has
	// been silent for StaleAfter since the restart.
	f.clock.advance(time.Hour)
	g := newFixture(t, Options{Path: path, MaxSites: 2, Now: f.clock.now})
	g.apply(t, report("a", "r1", "e1"))
	g.sweep(t)
	want(t, "after restart", g.takeChanges())
	g.clock.advance(61 * time.Second)
	g.apply(t, report("a", "r1", "e1"))
	g.sweep(t)
	want(t, "silent since the restart", g.takeChanges(), "b:stale {Revision:r1 Refusing:false Stale:true Lagging:false}")
	if s := g.site(t, "b"); s.Decisions != 5 || s.Checkpoint == nil || s.Checkpoint.Size != 10 {
		t.Fatalf("b after restart: %+v", s)
	}
	if _, err := New(Options{Path: path, MaxSites: 1}); err == nil {
		t.Fatal("a state file of more sites than MaxSites was read")
	}
}

// Paging walks every site once, in id order; filters select.
func TestRegistryListPagesAndFilters(t *testing.T) {
	f := newFixture(t, Options{})
	for i := range 5 {
		f.apply(t, report(fmt.Sprintf("s%d", i), "r1", "e1"))
	}
	f.clock.advance(2 * time.Minute)
	f.apply(t, report("s3", "r1", "e1"))
	var seen []string
	cursor := ""
	for range 10 {
		p, err := f.reg.List(Filter{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if p.Summary != (Summary{Sites: 5, Stale: 4}) {
			t.Fatalf("summary %+v", p.Summary)
		}
		for _, s := range p.Sites {
			seen = append(seen, s.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(seen, []string{"s0", "s1", "s2", "s3", "s4"}) {
		t.Fatalf("paged %v", seen)
	}
	p, _ := f.reg.List(Filter{Stale: true})
	if len(p.Sites) != 4 || slices.ContainsFunc(p.Sites, func(s SiteView) bool { return s.ID == "s3" }) {
		t.Fatalf("stale filter: %+v", p.Sites)
	}
	if p, _ := f.reg.List(Filter{Lagging: true}); len(p.Sites) != 0 {
		t.Fatalf("lagging filter: %+v", p.Sites)
	}
	if _, err := f.reg.List(Filter{Cursor: "!!"}); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// Witness consistency is "consistent" or "inconsistent" only when the
// witness here cosigned the same size; otherwise, and without a witness,
// "unknown", never "consistent".
func TestRegistryWitnessConsistency(t *testing.T) {
	f := newFixture(t, Options{})
	f.apply(t, report("a", "r1", "e1"))
	if s := f.site(t, "a"); s.Checkpoint.Witness != WitnessUnknown {
		t.Fatalf("no witness: %+v", s.Checkpoint)
	}
	for _, c := range []struct {
		name    string
		witness Checkpoint
		ok      bool
		want    string
	}{
		{"same", Checkpoint{Origin: "sovereign/a", Size: 10, RootHash: rootA}, true, WitnessConsistent},
		{"fork", Checkpoint{Origin: "sovereign/a", Size: 10, RootHash: rootB}, true, WitnessInconsistent},
		{"other size", Checkpoint{Origin: "sovereign/a", Size: 12, RootHash: rootB}, true, WitnessUnknown},
		{"not followed", Checkpoint{}, false, WitnessUnknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newFixture(t, Options{Witnessed: func(origin string) (Checkpoint, bool, error) {
				if origin != "sovereign/a" {
					t.Errorf("witness asked for %q", origin)
				}
				return c.witness, c.ok, nil
			}})
			g.apply(t, report("a", "r1", "e1"))
			if s := g.site(t, "a"); s.Checkpoint.Witness != c.want {
				t.Fatalf("witness %q, want %q: %+v", s.Checkpoint.Witness, c.want, s.Checkpoint)
			}
		})
	}
}

func TestReportCheckNamesFields(t *testing.T) {
	r := report("fra 1", "r1", "e1")
	r.Labels.Version = ""
	r.Checkpoint.RootHash = "abc"
	r.Bundles["policy.tar.gz"] = BundleStatus{Name: "other", Code: "nope"}
	r.SentAt = time.Time{}
	var paths []string
	for _, e := range r.Check() {
		paths = append(paths, e.Path)
	}
	slices.Sort(paths)
	wantPaths := []string{"bundles.policy.tar.gz.code", "bundles.policy.tar.gz.message", "bundles.policy.tar.gz.name", "checkpoint.root_hash", "labels.id", "labels.version", "sent_at"}
	if !slices.Equal(paths, wantPaths) {
		t.Fatalf("problems at %q, want %q", paths, wantPaths)
	}
	good := report("fra-1", "r1", "e1")
	if errs := good.Check(); len(errs) != 0 {
		t.Fatalf("a good report: %+v", errs)
	}
}

func TestParseCheckpoint(t *testing.T) {
	c, err := ParseCheckpoint([]byte("sovereign/x\n42\n" + rootA + "\n\n— sovereign/x abc\n"))
	if err != nil || c != (Checkpoint{Origin: "sovereign/x", Size: 42, RootHash: rootA}) {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := ParseCheckpoint([]byte("x\nnot a size\n" + rootA + "\n")); err == nil {
		t.Fatal("a bad size parsed")
	}
}

// TestSweepDoesNotHoldTheFleetWhileRecording: while a sweep's records wait
// for a slow log, reports are taken and the view is read; a report taken
// meanwhile is not overwritten by the sweep's older judgement.
func TestSweepDoesNotHoldTheFleetWhileRecording(t *testing.T) {
	f := newFixture(t, Options{})
	f.apply(t, report("fra-1", "r1", "e1"))
	f.apply(t, report("fra-2", "r1", "e1"))
	f.clock.advance(2 * time.Minute) // both stale by now
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	done := make(chan error, 1)
	go func() {
		_, err := f.reg.Sweep(func(c Change) error {
			entered <- struct{}{}
			<-release
			return f.record(c)
		})
		done <- err
	}()
	<-entered
	// The sweep is writing its records: a report and a read go through.
	if err := f.reg.Apply("p", report("fra-1", "r1", "e1"), f.record); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.List(Filter{}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := f.site(t, "fra-1"); s.Stale {
		t.Errorf("fra-1 reported during the sweep, yet stale: %+v", s)
	}
	// The log said fra-1 went stale; the next sweep says it came back.
	f.takeChanges()
	f.sweep(t)
	want(t, "fra-1's return recorded", f.takeChanges(), "fra-1:stale {Revision:r1 Refusing:false Stale:false Lagging:false}")
	if s := f.site(t, "fra-2"); !s.Stale {
		t.Errorf("fra-2 silent, yet not stale: %+v", s)
	}
}
