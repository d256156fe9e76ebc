package bundles

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// ActivateFunc compiles, tests and activates a verified bundle; it returns the
// revision and digest now in force, or why the bundle was refused (the last
// good one then stays active).
type ActivateFunc func(ctx context.Context, b *bundle.Bundle) (revision, digest string, err error)

// ManagerOptions configure a Manager; they are checked once by NewManager.
type ManagerOptions struct {
	Source Source
	// Keys verify every bundle; a bundle that is unsigned or signed by another
	// key is refused. Empty only with AllowUnsigned.
	Keys []PublicKey
	// AllowUnsigned reads bundles without verifying them (--bundle-unsigned):
	// every activation logs a warning.
	AllowUnsigned bool
	// PersistPath keeps the last good bundle (a tarball), so a restart while the
	// source is unreachable still decides on it. Empty: not kept.
	PersistPath string
	// Interval and Jitter space the polls (default 30s ± 0).
	Interval, Jitter time.Duration
	Activate         ActivateFunc
	// Background, when set, runs the reading and activation of every bundle
	// after the first, so a swap can yield to the decisions being answered
	// (cmd/sovereign runs it on an OS thread at nice 10). It must run the
	// function exactly once and return after it has. The first activation
	// runs directly: it has no decisions to yield to.
	Background func(func())
	// Refused is told of every bundle that failed to download, verify, compile
	// or pass its tests (for the audit log and metrics). A version refused
	// once is told again only after RetryRefused (see Manager.Poll).
	Refused func(source, etag string, err error)
	// RetryRefused is how long a refused version (by its ETag) is not read
	// again while the source still serves it (default DefaultRetryRefused).
	RetryRefused time.Duration
	Logger       *slog.Logger
}

// DefaultRetryRefused is how long a refused bundle version is remembered
// before it is read and checked again: a refusal can be transient (tests
// timed out on a loaded site), but re-checking every poll re-verified,
// re-tested and re-recorded it ~2,880 times a day at a 30 s interval (issue
// #19 item 7); this records it at most 24 times a day.
const DefaultRetryRefused = time.Hour

// Status is what GET /v1/bundles/status shows.
type Status struct {
	Source         string `json:"source"`
	Verified       bool   `json:"signature_verification"`
	ActiveRevision string `json:"active_revision"`
	ActiveDigest   string `json:"active_digest"`
	ActiveETag     string `json:"active_etag,omitempty"`
	// ActiveBuiltAt is the active bundle's build stamp (BuiltAt); a bundle
	// built earlier is refused as a rollback.
	ActiveBuiltAt time.Time `json:"active_built_at,omitzero"`
	ActivatedAt   time.Time `json:"activated_at"`
	FromPersisted bool      `json:"from_persisted,omitempty"`
	LastAttempt   time.Time `json:"last_attempt,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
	Activations   uint64    `json:"activations"`
	Refusals      uint64    `json:"refusals"`
	// RefusalsByReason counts Refusals by the stage that refused: fetch
	// (the source failed), read (signature, limits, format), rollback
	// (built before the active bundle), activate (compile, authorization
	// policies, the bundle's own tests).
	RefusalsByReason map[string]uint64 `json:"refusals_by_reason,omitempty"`
	// RefusedETag is the version last refused while the source still serves
	// it; RefusedRepeats counts the polls that found it unchanged (neither
	// read, checked nor recorded again) since it was last checked.
	RefusedETag    string `json:"refused_etag,omitempty"`
	RefusedRepeats uint64 `json:"refused_repeats,omitempty"`
}

// Manager keeps the active bundle in step with its source: it polls, verifies,
// activates through ActivateFunc and persists the last good bundle; a bad bundle
// is refused and the last good one stays active.
type Manager struct {
	o      ManagerOptions
	mu     sync.Mutex
	status Status
	// floor is the build stamp of the newest bundle activated, or of the
	// persisted last good one at start: nothing built earlier is activated.
	floor time.Time
	// modules keeps the parsed modules of the last bundle read, so the next
	// version parses only what changed (ReadCached).
	modules *ModuleCache
	// refusedAt is when status.RefusedETag was last checked and refused.
	refusedAt time.Time
}

// ErrRollback refuses a bundle built before the active one: a validly signed
// but superseded bundle replayed by whoever controls the source or the
// network would otherwise bring back rules that were deliberately changed. To
// go back to older rules, rebuild them: the new build is newer.
var ErrRollback = errors.New("bundle rollback")

// NewManager checks the options.
func NewManager(o ManagerOptions) (*Manager, error) {
	if o.Source == nil || o.Activate == nil {
		return nil, errors.New("bundles: a source and an activate function are required")
	}
	if len(o.Keys) == 0 && !o.AllowUnsigned {
		return nil, errors.New("bundles: no verification key configured: give --bundle-public-key, or --bundle-unsigned to accept unsigned bundles")
	}
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
	}
	if o.Jitter < 0 {
		return nil, errors.New("bundles: negative jitter")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Refused == nil {
		o.Refused = func(string, string, error) {}
	}
	if o.RetryRefused < 0 {
		return nil, errors.New("bundles: negative RetryRefused")
	}
	if o.RetryRefused == 0 {
		o.RetryRefused = DefaultRetryRefused
	}
	return &Manager{o: o, status: Status{Source: o.Source.String(), Verified: len(o.Keys) > 0}, modules: NewModuleCache()}, nil
}

// Status returns a copy of the current status.
func (m *Manager) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.status
	st.RefusalsByReason = maps.Clone(m.status.RefusalsByReason)
	return st
}

// The stages a bundle is refused at (Status.RefusalsByReason).
const (
	RefusedFetch    = "fetch"
	RefusedRead     = "read"
	RefusedRollback = "rollback"
	RefusedActivate = "activate"
)

// Start activates the first bundle: from the source, or, if that fails, the last
// good bundle persisted by an earlier run. It fails only when neither works.
func (m *Manager) Start(ctx context.Context) error {
	// The last good bundle sets the floor before the source is asked, so a
	// restart cannot be used to roll back.
	var persisted []byte
	var perr error
	if m.o.PersistPath != "" {
		if persisted, perr = os.ReadFile(m.o.PersistPath); perr == nil {
			// Read as activations read: its modules are then parsed
			// already when the source serves the same bundle.
			if b, err := m.read(Fetched{Tarball: persisted}); err == nil {
				if t, err := BuiltAt(b); err == nil {
					m.floor = t
				}
			}
		}
	}
	_, err := m.Poll(ctx)
	if err == nil {
		return nil
	}
	if m.o.PersistPath == "" {
		return err
	}
	if perr != nil {
		return fmt.Errorf("%w (and no last good bundle: %v)", err, perr)
	}
	m.o.Logger.Warn("bundle source failed; starting on the last good bundle", "source", m.o.Source.String(), "err", err, "persisted", m.o.PersistPath)
	if aerr := m.activate(ctx, Fetched{Tarball: persisted}, true); aerr != nil {
		return fmt.Errorf("%w (and the last good bundle was refused: %v)", err, aerr)
	}
	return nil
}

// Run polls until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	for {
		wait := m.o.Interval
		if m.o.Jitter > 0 {
			wait += time.Duration(rand.Int64N(int64(m.o.Jitter)))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if _, err := m.Poll(ctx); err != nil && ctx.Err() == nil {
			m.o.Logger.Error("bundle refused; the last good bundle stays active", "source", m.o.Source.String(), "err", err)
		}
	}
}

// Poll makes one attempt: it reports whether a new bundle was activated.
//
// A version refused earlier (by ETag) is not read again while the source
// still serves it and RetryRefused has not passed: the source is asked with
// that ETag, so an HTTP source answers 304 (and a long poll waits for a
// change) and a file or directory source compares hashes. Such a poll
// returns false and no error; Status counts it in RefusedRepeats.
func (m *Manager) Poll(ctx context.Context) (bool, error) {
	m.mu.Lock()
	active, refused := m.status.ActiveETag, m.status.RefusedETag
	now := time.Now()
	m.status.LastAttempt = now.UTC()
	remembered := refused != "" && now.Sub(m.refusedAt) < m.o.RetryRefused
	m.mu.Unlock()
	etag := active
	if remembered {
		etag = refused
	}
	f, err := m.o.Source.Fetch(ctx, etag)
	if errors.Is(err, ErrNotModified) {
		if remembered {
			m.mu.Lock()
			m.status.RefusedRepeats++
			m.mu.Unlock()
		}
		return false, nil
	}
	if err != nil {
		m.refuse(RefusedFetch, active, false, err)
		return false, err
	}
	if active != "" && f.ETag == active {
		// The source went back to the active version: nothing to do, and
		// the refused one is no longer served.
		m.forgetRefusal()
		return false, nil
	}
	if err := m.activate(ctx, f, false); err != nil {
		return false, err
	}
	return true, nil
}

// forgetRefusal clears the remembered refused version.
func (m *Manager) forgetRefusal() {
	m.mu.Lock()
	m.status.RefusedETag, m.status.RefusedRepeats, m.refusedAt = "", 0, time.Time{}
	m.mu.Unlock()
}

// activate reads, checks and activates f, in the background once a bundle is
// active (ManagerOptions.Background).
func (m *Manager) activate(ctx context.Context, f Fetched, fromPersisted bool) (err error) {
	m.mu.Lock()
	background := m.status.Activations > 0 && m.o.Background != nil
	m.mu.Unlock()
	if !background {
		return m.activateNow(ctx, f, fromPersisted)
	}
	m.o.Background(func() { err = m.activateNow(ctx, f, fromPersisted) })
	return err
}

// read verifies and reads f. A tarball's signature is checked before any of
// its files is held (CheckSignature), and every file within DefaultLimits.
func (m *Manager) read(f Fetched) (*bundle.Bundle, error) {
	if f.Tarball != nil && len(m.o.Keys) > 0 {
		if err := CheckSignature(f.Tarball, m.o.Keys, DefaultLimits); err != nil {
			return nil, fmt.Errorf("read bundle: %w", err)
		}
	}
	return ReadCached(f.Loader(), m.o.Keys, m.modules)
}

func (m *Manager) activateNow(ctx context.Context, f Fetched, fromPersisted bool) error {
	b, err := m.read(f)
	if err != nil {
		m.refuse(RefusedRead, f.ETag, true, err)
		return err
	}
	builtAt, err := m.checkOrder(b)
	if err != nil {
		m.refuse(RefusedRollback, f.ETag, true, err)
		return err
	}
	rev, digest, err := m.o.Activate(ctx, b)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped, not refused: nothing to remember or record.
			return err
		}
		m.refuse(RefusedActivate, f.ETag, true, err)
		return err
	}
	if len(m.o.Keys) == 0 {
		m.o.Logger.Warn("activated an UNSIGNED bundle (--bundle-unsigned)", "source", m.o.Source.String(), "revision", rev, "digest", digest)
	}
	if f.Tarball != nil && m.o.PersistPath != "" && !fromPersisted {
		if err := writeAtomic(m.o.PersistPath, f.Tarball); err != nil {
			// The bundle is active; only the fallback for a restart is stale.
			m.o.Logger.Error("could not keep the last good bundle", "path", m.o.PersistPath, "err", err)
		}
	}
	m.mu.Lock()
	m.status.ActiveRevision, m.status.ActiveDigest, m.status.ActiveETag = rev, digest, f.ETag
	m.status.ActiveBuiltAt = builtAt
	if builtAt.After(m.floor) {
		m.floor = builtAt
	}
	m.status.ActivatedAt = time.Now().UTC()
	m.status.FromPersisted = fromPersisted
	m.status.Activations++
	m.status.RefusedETag, m.status.RefusedRepeats, m.refusedAt = "", 0, time.Time{}
	m.mu.Unlock()
	m.o.Logger.Info("bundle activated", "source", m.o.Source.String(), "revision", rev, "digest", digest, "from_persisted", fromPersisted)
	return nil
}

// checkOrder refuses a bundle built before the floor, and, once the floor is
// set, a bundle without a build stamp (it cannot be ordered).
func (m *Manager) checkOrder(b *bundle.Bundle) (time.Time, error) {
	builtAt, err := BuiltAt(b)
	if err != nil {
		return time.Time{}, err
	}
	m.mu.Lock()
	floor := m.floor
	m.mu.Unlock()
	switch {
	case floor.IsZero():
	case builtAt.IsZero():
		return time.Time{}, fmt.Errorf("%w: revision %q has no build stamp (.manifest metadata.sovereign.built_at) and the active bundle was built at %s; build bundles with sovereign bundle build", ErrRollback, b.Manifest.Revision, floor.Format(time.RFC3339))
	case builtAt.Before(floor):
		return time.Time{}, fmt.Errorf("%w: revision %q was built at %s, before the active bundle (built at %s); rebuild it to go back to its rules", ErrRollback, b.Manifest.Revision, builtAt.Format(time.RFC3339Nano), floor.Format(time.RFC3339Nano))
	}
	return builtAt, nil
}

// refuse records a refusal; with remember (a version that was fetched and
// refused), etag is remembered so the next polls do not check it again.
func (m *Manager) refuse(reason, etag string, remember bool, err error) {
	m.mu.Lock()
	m.status.LastError = err.Error()
	m.status.LastErrorAt = time.Now().UTC()
	m.status.Refusals++
	if m.status.RefusalsByReason == nil {
		m.status.RefusalsByReason = map[string]uint64{}
	}
	m.status.RefusalsByReason[reason]++
	if remember && etag != "" {
		m.status.RefusedETag, m.status.RefusedRepeats, m.refusedAt = etag, 0, time.Now()
	}
	m.mu.Unlock()
	m.o.Refused(m.o.Source.String(), etag, err)
}

// writeAtomic replaces path with data: a crash leaves the old or the new file.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bundle-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
