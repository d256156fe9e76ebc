package audit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
)

// DefaultTimeSkew is how far a record's time may be out of index order.
// Append stamps the time before the record is sequenced, so concurrent
// appends can land in the log in a slightly different order than their times;
// the gap is bounded by how long an append may wait (the API's LogTimeout, 5 s
// by default). A minute covers that with room to spare.
const DefaultTimeSkew = time.Minute

// FindIndexByTime returns the first index of the tree of treeSize entries
// whose record time is at or after t, assuming times grow with the index (to
// within a skew the caller allows for). It reads O(log n) entry bundles, not
// the log. The entries it reads are not trusted: it only chooses where to
// start reading; ScanWindow verifies what is read.
func FindIndexByTime(ctx context.Context, src Source, treeSize uint64, t time.Time) (uint64, error) {
	if treeSize == 0 {
		return 0, nil
	}
	bundles := (treeSize + layout.EntryBundleWidth - 1) / layout.EntryBundleWidth
	var ferr error
	// The first bundle whose last entry is at or after t holds the answer.
	b := sort.Search(int(bundles), func(i int) bool {
		if ferr != nil {
			return true
		}
		entries, err := readEntryBundle(ctx, src, uint64(i), treeSize)
		if err != nil {
			ferr = err
			return true
		}
		et, err := entryTime(entries[len(entries)-1])
		if err != nil {
			ferr = fmt.Errorf("entry %d: %w", uint64(i)*layout.EntryBundleWidth+uint64(len(entries)-1), err)
			return true
		}
		return !et.Before(t)
	})
	if ferr != nil {
		return 0, ferr
	}
	if uint64(b) >= bundles {
		return treeSize, nil
	}
	entries, err := readEntryBundle(ctx, src, uint64(b), treeSize)
	if err != nil {
		return 0, err
	}
	start := uint64(b) * layout.EntryBundleWidth
	for i, e := range entries {
		et, err := entryTime(e)
		if err != nil {
			return 0, fmt.Errorf("entry %d: %w", start+uint64(i), err)
		}
		if !et.Before(t) {
			return start + uint64(i), nil
		}
	}
	return start + uint64(len(entries)), nil
}

func readEntryBundle(ctx context.Context, src Source, bundle, treeSize uint64) ([][]byte, error) {
	raw, err := src.ReadEntryBundle(ctx, bundle, layout.PartialTileSize(0, bundle, treeSize))
	if err != nil {
		return nil, fmt.Errorf("entry bundle %d: %w", bundle, err)
	}
	entries, err := splitBundle(raw)
	if err != nil || len(entries) == 0 {
		if err == nil {
			err = errors.New("empty")
		}
		return nil, fmt.Errorf("entry bundle %d: %w", bundle, err)
	}
	return entries, nil
}

func entryTime(entry []byte) (time.Time, error) {
	env, err := DecodeEnvelope(entry)
	if err != nil {
		return time.Time{}, err
	}
	h, err := scanRecordHead(env.RecordJSON)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, h.Time)
}

// VerifiedEntry is an entry ScanWindow has checked: its signature verifies
// with a known key, its record has an id, a kind and a time, and (once
// ScanWindow returns nil) it is in the checkpoint's tree at Index.
type VerifiedEntry struct {
	Index       uint64
	Entry       []byte
	EntrySHA256 [32]byte
	// LeafHash is the entry's RFC 6962 leaf hash, as checked against the
	// tree.
	LeafHash []byte
	Envelope Envelope
	// Kind and Time are the record's, read without decoding the rest of it.
	Kind Kind
	Time time.Time
	// Body is the record's body (see BodyRef), checked against the digest
	// the record names; nil for a record that holds its request and result.
	Body []byte
}

// RecordJSON is the entry's record with its body's request and result put
// back (ResolveRecord): what was decided, for readers of records. It is the
// signed record itself when the record has no body.
func (e *VerifiedEntry) RecordJSON() ([]byte, error) {
	return ResolveRecord(e.Envelope.RecordJSON, e.Body)
}

// Record decodes the entry's record, with its body's request and result.
func (e *VerifiedEntry) Record() (*Record, error) {
	b, err := e.RecordJSON()
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return &r, nil
}

// ScanWindow reads the entries [first, end) of the tree of cp (a checkpoint
// of t, see TrustedLog.Checkpoint), checks every record's signature with t's
// keys (on all cores, as VerifyLog does) and that it is a record, and calls
// fn for each in index order. At the end it proves the window is exactly the
// checkpoint's entries at those positions: the tree rebuilt from the
// window's leaves, joined with the hashes of the subtrees on either side
// (read from the tiles), must have the checkpoint's root. Any failure is a
// *VerifyError naming the first failing index; what fn saw must then be
// thrown away. progress, if not nil, is called with entries done.
//
// decode runs in the verifying workers, on every core, for each entry that
// verifies; fn receives what it returned. It is where a caller decodes what
// it needs of a record, so that a report derives its rows, and a replay its
// requests, in parallel and once. An error from decode, or from fn, ends the
// scan at that entry and is returned as it is.
func ScanWindow[T any](ctx context.Context, t *TrustedLog, cp *Checkpoint, first, end uint64, decode func(*VerifiedEntry) (T, error), fn func(*VerifiedEntry, T) error, progress func(done uint64)) error {
	ks, err := NewKeySet(t.Keys...)
	if err != nil {
		return err
	}
	if end > cp.Size {
		end = cp.Size
	}
	if first > end {
		first = end
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *scanJob[T], 2*workers)
	ordered := make(chan *scanJob[T], 4*workers)
	for range workers {
		go func() {
			for j := range jobs {
				j.verify(ctx, t.Source, bodiesOf(t.Source), ks, cp.Size, decode)
			}
		}()
	}
	// The reader feeds the workers and hands the jobs, in order, to
	// takeInOrder.
	readErr := make(chan error, 1)
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ordered)
		defer close(jobs)
		readErr <- readWindow(readCtx, t.Source, cp.Size, first, end, func(start uint64, entries [][]byte) error {
			j := &scanJob[T]{start: start, entries: entries, done: make(chan struct{})}
			for _, ch := range []chan *scanJob[T]{jobs, ordered} {
				select {
				case ch <- j:
				case <-readCtx.Done():
					return readCtx.Err()
				}
			}
			return nil
		})
	}()

	window := rangeFactory.NewEmptyRange(first)
	err = takeInOrder(ordered, window, fn, progress, cancel)
	if rerr := <-readErr; err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if window.End() != end {
		return &VerifyError{Index: int64(window.End()), What: FailEntryBundle, Err: fmt.Errorf("read entries up to %d, want %d", window.End(), end)}
	}
	return proveWindow(ctx, t.Source, cp, window)
}

// readWindow reads the entry bundles of [first, end) in the tree of treeSize
// entries and hands their entries to send in index order. A bundle that
// cannot be read, is short or does not continue the window is a
// *VerifyError.
func readWindow(ctx context.Context, src Source, treeSize, first, end uint64, send func(start uint64, entries [][]byte) error) error {
	if first == end {
		return nil
	}
	size := func(context.Context) (uint64, error) { return treeSize, nil }
	next := first
	for b, err := range client.EntryBundles(ctx, 8, size, src.ReadEntryBundle, first, end-first) {
		bundleStart := b.RangeInfo.Index * layout.EntryBundleWidth
		if err != nil {
			return &VerifyError{Index: int64(max(next, bundleStart)), What: FailEntryBundle, Err: fmt.Errorf("bundle %d: %w", b.RangeInfo.Index, err)}
		}
		entries, perr := splitBundle(b.Data)
		lo, hi := uint64(b.RangeInfo.First), uint64(b.RangeInfo.First)+uint64(b.RangeInfo.N)
		if hi > uint64(len(entries)) {
			if perr == nil {
				perr = fmt.Errorf("has %d entries, want at least %d", len(entries), hi)
			}
			return &VerifyError{Index: int64(bundleStart + uint64(len(entries))), What: FailEntryBundle, Err: fmt.Errorf("bundle %d: %w", b.RangeInfo.Index, perr)}
		}
		if bundleStart+hi > end { // client.EntryBundles may read past the end asked for
			hi = end - bundleStart
		}
		if bundleStart+lo != next {
			return &VerifyError{Index: int64(next), What: FailEntryBundle, Err: fmt.Errorf("bundle %d does not continue at %d", b.RangeInfo.Index, next)}
		}
		if err := send(bundleStart+lo, entries[lo:hi]); err != nil {
			return err
		}
		next = bundleStart + hi
		if next >= end {
			break
		}
	}
	return nil
}

// scanJob is one entry bundle's part of a window: verified by a worker,
// then taken in index order.
type scanJob[T any] struct {
	start   uint64
	entries [][]byte
	out     []VerifiedEntry
	decoded []T
	leaves  [][]byte
	// err is the first failure, at entry errAt: entries before it are good,
	// the ones after it are not checked.
	err   error
	errAt uint64
	done  chan struct{}
}

// verify checks the job's entries up to the first that fails, decoding each
// that verifies, then the leaves against the level-0 hash tile.
func (j *scanJob[T]) verify(ctx context.Context, src Source, bodies BodySource, ks *KeySet, treeSize uint64, decode func(*VerifiedEntry) (T, error)) {
	defer close(j.done)
	j.out = make([]VerifiedEntry, len(j.entries))
	j.decoded = make([]T, len(j.entries))
	j.leaves = make([][]byte, len(j.entries))
	lh := newLeafHasher()
	leafBuf := make([]byte, sha256.Size*len(j.entries))
	for i, e := range j.entries {
		idx := j.start + uint64(i)
		o := i * sha256.Size
		j.leaves[i] = lh.hashLeaf(leafBuf[o:o:o+sha256.Size], e)
		if j.err != nil {
			continue
		}
		var err error
		if j.out[i], err = verifyEntry(ctx, ks, bodies, idx, e, j.leaves[i]); err == nil {
			j.decoded[i], err = decode(&j.out[i])
		}
		if err != nil {
			j.err, j.errAt = err, idx
		}
	}
	if j.err == nil {
		if ve := checkLeafTile(ctx, src, treeSize, j.start, j.leaves); ve != nil {
			j.err, j.errAt = ve, uint64(ve.Index)
		}
	}
}

// takeInOrder waits for each job in turn and hands its entries to fn,
// appending their leaves to window, until the first failure; then it calls
// cancel, to stop the reader, and drains the jobs under way.
func takeInOrder[T any](ordered <-chan *scanJob[T], window *compact.Range, fn func(*VerifiedEntry, T) error, progress func(done uint64), cancel func()) error {
	var done uint64
	var err error
	for j := range ordered {
		<-j.done
		if err != nil {
			continue
		}
		err = j.take(window, fn)
		done += uint64(len(j.entries))
		if progress != nil {
			progress(done)
		}
		if err != nil {
			cancel()
		}
	}
	return err
}

// take hands the job's entries to fn in order, up to its failure.
func (j *scanJob[T]) take(window *compact.Range, fn func(*VerifiedEntry, T) error) error {
	for i := range j.entries {
		if j.err != nil && j.errAt == j.start+uint64(i) {
			return j.err
		}
		if err := window.Append(j.leaves[i], nil); err != nil {
			return err
		}
		if err := fn(&j.out[i], j.decoded[i]); err != nil {
			return err
		}
	}
	return nil
}

// verifyEntry checks one entry of the window: its envelope, its signature,
// and that its record has an id, a kind and a time (as VerifyLog does).
func verifyEntry(ctx context.Context, ks *KeySet, bodies BodySource, index uint64, entry, leaf []byte) (VerifiedEntry, error) {
	env, err := DecodeEnvelope(entry)
	if err != nil {
		return VerifiedEntry{}, &VerifyError{Index: int64(index), What: FailRecord, Err: err}
	}
	if err := ks.Verify(env); err != nil {
		return VerifiedEntry{}, &VerifyError{Index: int64(index), What: FailSignature, Err: err}
	}
	h, err := scanRecordHead(env.RecordJSON)
	if err != nil {
		return VerifiedEntry{}, &VerifyError{Index: int64(index), What: FailRecord, Err: err}
	}
	t, err := time.Parse(time.RFC3339Nano, h.Time)
	if err != nil {
		return VerifiedEntry{}, &VerifyError{Index: int64(index), What: FailRecord, Err: fmt.Errorf("record time: %w", err)}
	}
	if !h.Kind.Valid() || h.ID == "" {
		return VerifiedEntry{}, &VerifyError{Index: int64(index), What: FailRecord, Err: fmt.Errorf("record id %q, kind %q: not a valid record", h.ID, h.Kind)}
	}
	ref, err := h.bodyRef()
	if err != nil {
		return VerifiedEntry{}, &VerifyError{Index: int64(index), What: FailRecord, Err: err}
	}
	var body []byte
	if ref != nil {
		if body, err = loadBody(ctx, bodies, ref); err != nil {
			return VerifiedEntry{}, &VerifyError{Index: int64(index), What: FailBody, Err: err}
		}
	}
	return VerifiedEntry{Index: index, Entry: entry, EntrySHA256: sha256.Sum256(entry), LeafHash: leaf, Envelope: env, Kind: h.Kind, Time: t, Body: body}, nil
}

// rangeFactory makes the compact ranges of ScanWindow: ranges merge only
// with ranges of the same factory.
var rangeFactory = &compact.RangeFactory{Hash: hashChildren}

// proveWindow checks that the leaves of window sit at their positions in the
// tree of cp: with the compact ranges of [0, begin) and [end, size) read from
// the tiles, the tree must have the checkpoint's root.
func proveWindow(ctx context.Context, src Source, cp *Checkpoint, window *compact.Range) error {
	rf := rangeFactory
	nodes := NewProofBuilder(src, cp.Size)
	fetch := func(begin, end uint64) (*compact.Range, error) {
		ids := compact.RangeNodes(begin, end, nil)
		hashes := make([][]byte, len(ids))
		for i, id := range ids {
			h, err := nodes.node(ctx, id)
			if err != nil {
				return nil, err
			}
			hashes[i] = h
		}
		return rf.NewRange(begin, end, hashes)
	}
	whole, err := fetch(0, window.Begin())
	if err == nil {
		err = whole.AppendRange(window, nil)
	}
	var right *compact.Range
	if err == nil {
		right, err = fetch(window.End(), cp.Size)
	}
	if err == nil {
		err = whole.AppendRange(right, nil)
	}
	if err != nil {
		return &VerifyError{Index: int64(window.Begin()), What: FailTile, Err: fmt.Errorf("proving the window [%d, %d): %w", window.Begin(), window.End(), err)}
	}
	root := rfc6962.DefaultHasher.EmptyRoot()
	if cp.Size > 0 {
		if root, err = whole.GetRootHash(nil); err != nil {
			return &VerifyError{Index: -1, What: FailRoot, Err: err}
		}
	}
	if string(root) != string(cp.Root) {
		return &VerifyError{Index: int64(window.Begin()), What: FailRoot,
			Err: fmt.Errorf("entries [%d, %d) with the tiles around them give root %x, the checkpoint %x: an entry in the window or a tile was altered", window.Begin(), window.End(), root, cp.Root)}
	}
	return nil
}

// checkLeafTile compares the leaf hashes of entries from start with the
// level-0 hash tile holding them, as VerifyLog does: a report refuses a log
// whose tiles disagree with its entries even where no proof needs them.
func checkLeafTile(ctx context.Context, src Source, treeSize, start uint64, leaves [][]byte) *VerifyError {
	tile := start / layout.TileWidth
	p := layout.PartialTileSize(0, tile, treeSize)
	raw, err := src.ReadTile(ctx, 0, tile, p)
	if err != nil {
		return &VerifyError{Index: int64(start), What: FailTile, Err: fmt.Errorf("%s: %w", layout.TilePath(0, tile, p), err)}
	}
	off := start % layout.TileWidth
	for i, leaf := range leaves {
		j := (off + uint64(i)) * 32
		if uint64(len(raw)) < j+32 || string(raw[j:j+32]) != string(leaf) {
			return &VerifyError{Index: int64(start + uint64(i)), What: FailLeafHash,
				Err: fmt.Errorf("entry does not hash to leaf %d of %s (entry or tile altered)", off+uint64(i), layout.TilePath(0, tile, p))}
		}
	}
	return nil
}
