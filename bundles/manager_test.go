package bundles_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/sovereign-engine/sovereign/bundles"
)

// activations records what a Manager activated; activation itself (compile,
// tests, engine switch) is the engine's and is tested there and end to end.
type activations struct {
	mu       sync.Mutex
	revs     []string
	refusals []error
}

func (a *activations) activate(_ context.Context, b *bundle.Bundle) (string, string, error) {
	d, err := bundles.Digest(b)
	if err != nil {
		return "", "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revs = append(a.revs, b.Manifest.Revision)
	return b.Manifest.Revision, d, nil
}

func (a *activations) refused(_, _ string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refusals = append(a.refusals, err)
}

// TestManagerRefusesRollback: a validly signed bundle built before the active
// one is a replay, not an update: it is refused, also across a restart (the
// persisted last good bundle sets the floor before the source is asked), and
// a bundle without a build stamp cannot be ordered once one with a stamp is
// active. A rebuild of old rules is newer and is accepted.
func TestManagerRefusesRollback(t *testing.T) {
	keys := ecKeys(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	stamped := func(rev string, at time.Time) []byte {
		raw, err := os.ReadFile(build(t, bundles.BuildOptions{Revision: rev, SigningKey: keys.priv, BuiltAt: at}))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	v1, v2, v3 := stamped("v1", t0), stamped("v2", t0.Add(time.Hour)), stamped("v1-rebuilt", t0.Add(2*time.Hour))

	dir := t.TempDir()
	srcPath := filepath.Join(dir, "bundle.tar.gz")
	publish := func(b []byte) {
		if err := os.WriteFile(srcPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	persist := filepath.Join(dir, "data", "last-good.tar.gz")
	newManager := func(a *activations) *bundles.Manager {
		m, err := bundles.NewManager(bundles.ManagerOptions{
			Source: bundles.FileSource{Path: srcPath}, Keys: key(t, keys.pub), PersistPath: persist,
			Activate: a.activate, Refused: a.refused,
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ctx := context.Background()

	publish(v2)
	a := &activations{}
	m := newManager(a)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st := m.Status(); st.ActiveRevision != "v2" || !st.ActiveBuiltAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("status after start: %+v", st)
	}

	publish(v1) // an older bundle, validly signed
	if ok, err := m.Poll(ctx); ok || !errors.Is(err, bundles.ErrRollback) || !strings.Contains(err.Error(), `"v1"`) {
		t.Fatalf("older bundle: activated %v, err %v; want a rollback refusal naming it", ok, err)
	}
	if st := m.Status(); st.ActiveRevision != "v2" || st.Refusals != 1 || !strings.Contains(st.LastError, "rollback") {
		t.Errorf("status after the refusal: %+v", st)
	}
	if len(a.refusals) != 1 || len(a.revs) != 1 {
		t.Errorf("activations %v, refusals %v", a.revs, a.refusals)
	}

	// A restart while the source serves the old bundle keeps the last good one.
	a2 := &activations{}
	m2 := newManager(a2)
	if err := m2.Start(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if st := m2.Status(); st.ActiveRevision != "v2" || !st.FromPersisted {
		t.Fatalf("restart with an older bundle at the source: %+v, refusals %v", st, a2.refusals)
	}
	if len(a2.refusals) == 0 || !errors.Is(a2.refusals[0], bundles.ErrRollback) {
		t.Errorf("restart refusals: %v", a2.refusals)
	}

	// Going back to old rules means rebuilding them: the rebuild is newer.
	publish(v3)
	if ok, err := m2.Poll(ctx); !ok || err != nil {
		t.Fatalf("rebuilt bundle: activated %v, err %v", ok, err)
	}

	// A bundle opa build made has no stamp: it cannot be ordered against one.
	opa := opaPath(t)
	unstamped := filepath.Join(dir, "opa.tar.gz")
	if out, err := exec.Command(opa, "build", "-b", policyDir, "-o", unstamped, "--revision", "opa-built",
		"--signing-key", keys.priv, "--signing-alg", "ES256").CombinedOutput(); err != nil {
		t.Fatalf("opa build: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(unstamped)
	if err != nil {
		t.Fatal(err)
	}
	publish(raw)
	if ok, err := m2.Poll(ctx); ok || !errors.Is(err, bundles.ErrRollback) || !strings.Contains(err.Error(), "no build stamp") {
		t.Fatalf("unstamped bundle: activated %v, err %v", ok, err)
	}
	// ...but a site that never had a stamped bundle takes it.
	a3 := &activations{}
	fresh, err := bundles.NewManager(bundles.ManagerOptions{Source: bundles.FileSource{Path: unstamped}, Keys: key(t, keys.pub), Activate: a3.activate})
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Start(ctx); err != nil {
		t.Fatalf("unstamped bundle on a fresh site: %v", err)
	}
}

// TestManagerSwapsInBackground: the first activation runs on the caller (it
// has no decisions to yield to); every later read and activation, including
// a refused one, runs through ManagerOptions.Background.
func TestManagerSwapsInBackground(t *testing.T) {
	keys := ecKeys(t)
	dir := t.TempDir()
	srcPath := filepath.Join(dir, "bundle.tar.gz")
	publish := func(path string) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(srcPath, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var a activations
	var background int
	m, err := bundles.NewManager(bundles.ManagerOptions{
		Source: bundles.FileSource{Path: srcPath}, Keys: key(t, keys.pub),
		Activate: a.activate, Refused: a.refused,
		Background: func(fn func()) { background++; fn() },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	publish(build(t, bundles.BuildOptions{Revision: "v1", SigningKey: keys.priv}))
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if background != 0 {
		t.Fatalf("the first activation ran in the background")
	}
	publish(build(t, bundles.BuildOptions{Revision: "v2", SigningKey: keys.priv}))
	if ok, err := m.Poll(ctx); !ok || err != nil {
		t.Fatalf("v2 not activated: %v", err)
	}
	publish(build(t, bundles.BuildOptions{Revision: "v3"})) // unsigned
	if ok, err := m.Poll(ctx); ok || err == nil {
		t.Fatal("an unsigned bundle was activated")
	}
	if background != 2 {
		t.Errorf("%d swaps ran in the background, want 2", background)
	}
	if got := strings.Join(a.revs, ","); got != "v1,v2" || m.Status().ActiveRevision != "v2" {
		t.Errorf("activated %s, active %s", got, m.Status().ActiveRevision)
	}
}

// TestManagerRemembersRefusedVersion: a refused version is read, checked and
// recorded once; the polls that find it still served neither read nor record
// it again (they were ~2,880 refusal records a day at 30 s) but are counted,
// until it changes, the source goes back to the active version, or
// RetryRefused passes.
func TestManagerRemembersRefusedVersion(t *testing.T) {
	keys := ecKeys(t)
	dir := t.TempDir()
	srcPath := filepath.Join(dir, "bundle.tar.gz")
	publish := func(path string) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(srcPath, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := build(t, bundles.BuildOptions{Revision: "v1", SigningKey: keys.priv})
	unsigned := build(t, bundles.BuildOptions{Revision: "v2"})
	newer := build(t, bundles.BuildOptions{Revision: "v3", SigningKey: keys.priv})
	ctx := context.Background()
	newManager := func(retry time.Duration) (*bundles.Manager, *activations, *int) {
		var a activations
		reads := new(int)
		m, err := bundles.NewManager(bundles.ManagerOptions{
			Source: bundles.FileSource{Path: srcPath}, Keys: key(t, keys.pub),
			Activate: a.activate, Refused: a.refused, RetryRefused: retry,
			Background: func(fn func()) { *reads++; fn() },
		})
		if err != nil {
			t.Fatal(err)
		}
		publish(good)
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return m, &a, reads
	}

	m, a, reads := newManager(0)
	publish(unsigned)
	if ok, err := m.Poll(ctx); ok || err == nil {
		t.Fatalf("unsigned bundle: activated %v, err %v", ok, err)
	}
	for range 5 {
		if ok, err := m.Poll(ctx); ok || err != nil {
			t.Fatalf("poll of the refused version: %v, %v; want nothing new", ok, err)
		}
	}
	st := m.Status()
	if *reads != 1 || len(a.refusals) != 1 || st.Refusals != 1 || st.RefusedRepeats != 5 || st.RefusedETag == "" || st.ActiveRevision != "v1" {
		t.Fatalf("after 6 polls of one refused version: %d reads, %d refusals told, status %+v", *reads, len(a.refusals), st)
	}
	// Back to the active version: nothing to do, nothing refused any more.
	publish(good)
	if ok, err := m.Poll(ctx); ok || err != nil {
		t.Fatalf("the active version again: %v, %v", ok, err)
	}
	if st := m.Status(); st.RefusedETag != "" || st.RefusedRepeats != 0 || *reads != 1 || len(a.revs) != 1 {
		t.Fatalf("after the source went back: %d reads, status %+v", *reads, st)
	}
	// A new version is read and activated.
	publish(unsigned)
	_, _ = m.Poll(ctx)
	publish(newer)
	if ok, err := m.Poll(ctx); !ok || err != nil {
		t.Fatalf("a new version after a refusal: %v, %v", ok, err)
	}
	if st := m.Status(); st.RefusedETag != "" || st.ActiveRevision != "v3" {
		t.Fatalf("status after activation: %+v", st)
	}

	// Past RetryRefused the refused version is checked (and told) again.
	m, a, reads = newManager(time.Nanosecond)
	publish(unsigned)
	for range 3 {
		if ok, err := m.Poll(ctx); ok || err == nil {
			t.Fatalf("unsigned bundle past RetryRefused: activated %v, err %v", ok, err)
		}
	}
	if *reads != 3 || len(a.refusals) != 3 {
		t.Fatalf("past RetryRefused: %d reads, %d refusals told; want 3 and 3", *reads, len(a.refusals))
	}
}
