package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// with a known key, and (once ScanWindow returns nil) it is in the
// checkpoint's tree at Index.
type VerifiedEntry struct {
	Index       uint64
	Entry       []byte
	EntrySHA256 [32]byte
	// LeafHash is the entry's RFC 6962 leaf hash, as checked against the
	// tree.
	LeafHash []byte
	Envelope Envelope
	Row      *ReportRow
}

// ScanWindow reads the entries [first, end) of the tree of cp, checks every
// record's signature (on all cores, as VerifyLog does), parses it into a
// ReportRow, and calls fn for each in index order. At the end it proves the
// window is exactly the checkpoint's entries at those positions: the tree
// rebuilt from the window's leaves, joined with the hashes of the subtrees on
// either side (read from the tiles), must have the checkpoint's root. Any
// failure is a *VerifyError naming the first failing index; what fn saw must
// then be thrown away. progress, if not nil, is called with entries done.
func ScanWindow(ctx context.Context, src Source, ks *KeySet, cp *Checkpoint, first, end uint64, fn func(*VerifiedEntry) error, progress func(done uint64)) error {
	if end > cp.Size {
		end = cp.Size
	}
	if first > end {
		first = end
	}
	window := rangeFactory.NewEmptyRange(first)

	type job struct {
		start   uint64
		entries [][]byte
		out     []VerifiedEntry
		leaves  [][]byte
		err     *VerifyError
		done    chan struct{}
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *job, 2*workers)
	ordered := make(chan *job, 4*workers)
	for range workers {
		go func() {
			for j := range jobs {
				j.out = make([]VerifiedEntry, len(j.entries))
				j.leaves = make([][]byte, len(j.entries))
				for i, e := range j.entries {
					idx := j.start + uint64(i)
					j.leaves[i] = rfc6962.DefaultHasher.HashLeaf(e)
					if j.err != nil {
						continue
					}
					env, err := DecodeEnvelope(e)
					if err != nil {
						j.err = &VerifyError{Index: int64(idx), What: FailRecord, Err: err}
						continue
					}
					if err := ks.Verify(env); err != nil {
						j.err = &VerifyError{Index: int64(idx), What: FailSignature, Err: err}
						continue
					}
					row, err := parseReportRow(env.RecordJSON)
					if err != nil {
						j.err = &VerifyError{Index: int64(idx), What: FailRecord, Err: err}
						continue
					}
					row.Index = idx
					sum := sha256.Sum256(e)
					row.EntrySHA256 = hex.EncodeToString(sum[:])
					j.out[i] = VerifiedEntry{Index: idx, Entry: e, EntrySHA256: sum, LeafHash: j.leaves[i], Envelope: env, Row: row}
				}
				if j.err == nil {
					j.err = checkLeafTile(ctx, src, cp.Size, j.start, j.leaves)
				}
				close(j.done)
			}
		}()
	}
	// The reader feeds workers and hands jobs, in order, to the sink below.
	readErr := make(chan error, 1)
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ordered)
		defer close(jobs)
		if first == end {
			readErr <- nil
			return
		}
		size := func(context.Context) (uint64, error) { return cp.Size, nil }
		next := first
		for b, err := range client.EntryBundles(readCtx, 8, size, src.ReadEntryBundle, first, end-first) {
			bundleStart := b.RangeInfo.Index * layout.EntryBundleWidth
			if err != nil {
				readErr <- &VerifyError{Index: int64(max(next, bundleStart)), What: FailEntryBundle, Err: fmt.Errorf("bundle %d: %w", b.RangeInfo.Index, err)}
				return
			}
			entries, perr := splitBundle(b.Data)
			lo, hi := uint64(b.RangeInfo.First), uint64(b.RangeInfo.First)+uint64(b.RangeInfo.N)
			if hi > uint64(len(entries)) {
				if perr == nil {
					perr = fmt.Errorf("has %d entries, want at least %d", len(entries), hi)
				}
				readErr <- &VerifyError{Index: int64(bundleStart + uint64(len(entries))), What: FailEntryBundle, Err: fmt.Errorf("bundle %d: %w", b.RangeInfo.Index, perr)}
				return
			}
			if bundleStart+hi > end { // client.EntryBundles may read past the end asked for
				hi = end - bundleStart
			}
			if bundleStart+lo != next {
				readErr <- &VerifyError{Index: int64(next), What: FailEntryBundle, Err: fmt.Errorf("bundle %d does not continue at %d", b.RangeInfo.Index, next)}
				return
			}
			j := &job{start: bundleStart + lo, entries: entries[lo:hi], done: make(chan struct{})}
			next = bundleStart + hi
			select {
			case jobs <- j:
			case <-readCtx.Done():
				readErr <- readCtx.Err()
				return
			}
			select {
			case ordered <- j:
			case <-readCtx.Done():
				readErr <- readCtx.Err()
				return
			}
			if next >= end {
				break
			}
		}
		readErr <- nil
	}()

	var done uint64
	var sinkErr error
	for j := range ordered {
		<-j.done
		if sinkErr != nil {
			continue
		}
		for i := range j.entries {
			if j.err != nil && uint64(j.err.Index) == j.start+uint64(i) {
				sinkErr = j.err
				break
			}
			if err := window.Append(j.leaves[i], nil); err != nil {
				sinkErr = err
				break
			}
			if err := fn(&j.out[i]); err != nil {
				sinkErr = err
				break
			}
		}
		done += uint64(len(j.entries))
		if progress != nil {
			progress(done)
		}
		if sinkErr != nil {
			cancel()
		}
	}
	if rerr := <-readErr; sinkErr == nil && rerr != nil {
		sinkErr = rerr
	}
	if sinkErr != nil {
		return sinkErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if window.End() != end {
		return &VerifyError{Index: int64(window.End()), What: FailEntryBundle, Err: fmt.Errorf("read entries up to %d, want %d", window.End(), end)}
	}
	return proveWindow(ctx, src, cp, window)
}

// rangeFactory makes the compact ranges of ScanWindow: ranges merge only
// with ranges of the same factory.
var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// proveWindow checks that the leaves of window sit at their positions in the
// tree of cp: with the compact ranges of [0, begin) and [end, size) read from
// the tiles, the tree must have the checkpoint's root.
func proveWindow(ctx context.Context, src Source, cp *Checkpoint, window *compact.Range) error {
	rf := rangeFactory
	nodes := newNodeReader(src, cp.Size)
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
