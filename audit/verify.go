package audit

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// What failed, in VerifyError.What.
const (
	FailCheckpoint  = "checkpoint"   // the checkpoint is missing or its signature does not verify
	FailEntryBundle = "entry bundle" // a bundle is missing, truncated, or has extra entries
	FailLeafHash    = "leaf hash"    // an entry does not hash to the leaf the tiles hold
	FailTile        = "tile"         // a hash tile is missing or differs from the entries' tree
	FailSignature   = "signature"    // an envelope or record signature is wrong
	FailRecord      = "record"       // a record does not decode or is not valid
	FailBody        = "body"         // a record's body is missing, or not the one it names
	FailRoot        = "root"         // the entries' tree root differs from the checkpoint's
	FailPin         = "pin"          // the log is not an extension of the pinned checkpoint
)

// VerifyError reports the first failure VerifyLog found.
type VerifyError struct {
	// Index is the first entry found to fail, or -1 when the failure is not
	// tied to an entry (a bad checkpoint, a rewritten history).
	Index int64
	// What names the check that failed (Fail* constants); several checks
	// failing at the same index are joined with "+".
	What string
	Err  error
}

func (e *VerifyError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("audit log verification failed: %s: %v", e.What, e.Err)
	}
	return fmt.Sprintf("audit log verification failed at index %d: %s: %v", e.Index, e.What, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

// Summary describes a verified log.
type Summary struct {
	Origin     string            `json:"origin"`
	TreeSize   uint64            `json:"tree_size"`
	Root       string            `json:"root"`
	Checkpoint string            `json:"checkpoint"`
	Kinds      map[Kind]uint64   `json:"kinds"`
	KeyIDs     map[string]uint64 `json:"key_ids"`
	FirstTime  time.Time         `json:"first_time,omitzero"`
	LastTime   time.Time         `json:"last_time,omitzero"`
	// PinnedSize is the size of the pinned checkpoint the log was checked to
	// extend, 0 without a pin.
	PinnedSize uint64        `json:"pinned_size,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
}

// VerifyLog checks a whole log offline: the checkpoint's signature (v), that
// the tree rebuilt from every entry has the checkpoint's root and matches the
// hash tiles, every record's signature (keys), and, with a pin, that the log
// extends the pinned checkpoint (a prefix of the same tree). The pin must come
// from ParseCheckpoint. On failure the error is a *VerifyError naming the
// first failing index and check; the Summary is filled as far as it got.
func VerifyLog(ctx context.Context, src Source, keys []crypto.PublicKey, v note.Verifier, pin *Checkpoint) (Summary, error) {
	start := time.Now()
	sum := Summary{Kinds: map[Kind]uint64{}, KeyIDs: map[string]uint64{}}
	fail := func(index int64, what string, err error) (Summary, error) {
		sum.Duration = time.Since(start)
		return sum, &VerifyError{Index: index, What: what, Err: err}
	}
	ks, err := NewKeySet(keys...)
	if err != nil {
		return sum, err
	}
	raw, err := src.ReadCheckpoint(ctx)
	if err != nil {
		return fail(-1, FailCheckpoint, err)
	}
	cp, err := ParseCheckpoint(raw, v)
	if err != nil {
		return fail(-1, FailCheckpoint, err)
	}
	sum.Origin, sum.TreeSize, sum.Root, sum.Checkpoint = cp.Origin, cp.Size, hex.EncodeToString(cp.Root), string(cp.Raw)
	if pin != nil {
		sum.PinnedSize = pin.Size
		if pin.Origin != cp.Origin {
			return fail(-1, FailPin, fmt.Errorf("pinned checkpoint is of log %q, not %q", pin.Origin, cp.Origin))
		}
		if pin.Size > cp.Size {
			return fail(int64(cp.Size), FailPin, fmt.Errorf("log has %d entries, fewer than the %d of the pinned checkpoint: truncated or rolled back", cp.Size, pin.Size))
		}
	}

	w := &treeWalker{ctx: ctx, src: src, treeSize: cp.Size, fails: &failures{}}
	w.rng = (&compact.RangeFactory{Hash: hashChildren}).NewEmptyRange(0)
	pool := newSigPool(ctx, ks, bodiesOf(src), w.fails)
	defer pool.close()

	var pinErr error
	checkPin := func() {
		if pin == nil || w.rng.End() != pin.Size || pin.Size == 0 {
			return
		}
		root, _ := w.rng.GetRootHash(nil)
		if !bytes.Equal(root, pin.Root) {
			pinErr = fmt.Errorf("the first %d entries have root %x, the pinned checkpoint %x: history was rewritten", pin.Size, root, pin.Root)
		}
	}
	progress := progressFrom(ctx)
	size := func(context.Context) (uint64, error) { return cp.Size, nil }
	for b, err := range client.EntryBundles(ctx, 8, size, src.ReadEntryBundle, 0, cp.Size) {
		bundleStart := b.RangeInfo.Index * layout.EntryBundleWidth
		if err != nil {
			w.fails.add(bundleStart, FailEntryBundle, fmt.Errorf("bundle %d: %w", b.RangeInfo.Index, err))
			break
		}
		entries, perr := splitBundle(b.Data)
		want := int(b.RangeInfo.N)
		if len(entries) < want {
			if perr == nil {
				perr = fmt.Errorf("has %d entries, want %d", len(entries), want)
			}
			w.fails.add(bundleStart+uint64(len(entries)), FailEntryBundle, fmt.Errorf("bundle %d: %w", b.RangeInfo.Index, perr))
		} else if len(entries) > want || perr != nil {
			if perr == nil {
				perr = fmt.Errorf("has %d entries, want %d", len(entries), want)
			}
			w.fails.add(bundleStart+uint64(want), FailEntryBundle, fmt.Errorf("bundle %d: %w", b.RangeInfo.Index, perr))
			entries = entries[:want]
		}
		for _, e := range entries {
			if err := w.rng.Append(rfc6962.DefaultHasher.HashLeaf(e), w.visit); err != nil {
				return fail(-1, FailRoot, err)
			}
			checkPin()
		}
		pool.submit(bundleStart, entries)
		if progress != nil {
			progress(bundleStart+uint64(len(entries)), cp.Size)
		}
		if len(entries) < want {
			break // the tree cannot be rebuilt past a missing entry
		}
		if err := ctx.Err(); err != nil {
			return sum, err
		}
	}
	agg := pool.close()
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	w.finishTiles()
	sum.Kinds, sum.KeyIDs, sum.FirstTime, sum.LastTime = agg.kinds, agg.keyIDs, agg.first, agg.last
	sum.Duration = time.Since(start)

	root, _ := w.rng.GetRootHash(nil)
	if cp.Size == 0 {
		root = rfc6962.DefaultHasher.EmptyRoot()
	}
	rootOK := w.rng.End() == cp.Size && bytes.Equal(root, cp.Root)

	if f := w.fails.first(); f != nil {
		err := f.err
		if f.what == FailLeafHash && rootOK {
			err = fmt.Errorf("%w (the entries match the signed root: the tile was altered)", err)
		} else if !rootOK {
			err = fmt.Errorf("%w; the tree rebuilt from the entries does not match the checkpoint", err)
		}
		return sum, &VerifyError{Index: int64(f.index), What: f.what, Err: err}
	}
	if !rootOK {
		return fail(-1, FailRoot, fmt.Errorf("the tree rebuilt from %d entries has root %x, the checkpoint %x", w.rng.End(), root, cp.Root))
	}
	if pinErr != nil {
		return fail(-1, FailPin, pinErr)
	}
	if pin != nil && pin.Size > 0 {
		// What a light client checks: the tiles prove consistency too.
		pb, err := client.NewProofBuilder(ctx, cp.Size, src.ReadTile)
		if err == nil {
			var p [][]byte
			if p, err = pb.ConsistencyProof(ctx, pin.Size, cp.Size); err == nil {
				err = proof.VerifyConsistency(rfc6962.DefaultHasher, pin.Size, cp.Size, p, pin.Root, cp.Root)
			}
		}
		if err != nil {
			return fail(-1, FailPin, fmt.Errorf("consistency proof %d→%d: %w", pin.Size, cp.Size, err))
		}
	}
	return sum, nil
}

type progressKey struct{}

// WithProgress returns a context under which VerifyLog reports how many
// entries it has read of the checkpoint's total (for a progress bar; the
// command line draws one on a terminal).
func WithProgress(ctx context.Context, fn func(done, total uint64)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

func progressFrom(ctx context.Context) func(done, total uint64) {
	fn, _ := ctx.Value(progressKey{}).(func(done, total uint64))
	return fn
}

var failRank = map[string]int{FailEntryBundle: 0, FailLeafHash: 1, FailTile: 2, FailRecord: 3, FailSignature: 4}

// failures keeps the failures at the lowest index seen so far.
type failures struct {
	mu     sync.Mutex
	index  uint64
	found  bool
	whats  []string
	errs   []error
	ranges []rangeFailure
}

type failure struct {
	index uint64
	what  string
	err   error
}

// rangeFailure is a mismatch in a hash tile above level 0: some entry in
// [begin, end) or the tile itself is wrong.
type rangeFailure struct {
	begin, end uint64
	err        error
}

func (f *failures) add(index uint64, what string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case !f.found || index < f.index:
		f.found, f.index, f.whats, f.errs = true, index, []string{what}, []error{err}
	case index == f.index:
		for _, w := range f.whats {
			if w == what {
				return
			}
		}
		f.whats = append(f.whats, what)
		f.errs = append(f.errs, err)
	}
}

func (f *failures) addRange(begin, end uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ranges = append(f.ranges, rangeFailure{begin, end, err})
}

// first returns the first failure: the lowest exact index, unless a tile
// above level 0 fails over a range holding no exact failure and starting
// earlier (a tile failing over a range with a bad entry is only its echo).
func (f *failures) first() *failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	var best *failure
	if f.found {
		// Checks at one index finish in any order; report them in a fixed one.
		order := []int{}
		for i := range f.whats {
			order = append(order, i)
		}
		sort.SliceStable(order, func(a, b int) bool { return failRank[f.whats[order[a]]] < failRank[f.whats[order[b]]] })
		whats := make([]string, 0, len(order))
		errs := make([]error, 0, len(order))
		for _, i := range order {
			whats = append(whats, f.whats[i])
			errs = append(errs, f.errs[i])
		}
		best = &failure{index: f.index, what: strings.Join(whats, "+"), err: errors.Join(errs...)}
	}
	for _, r := range f.ranges {
		if f.found && f.index >= r.begin && f.index < r.end {
			continue
		}
		if best == nil || r.begin < best.index {
			best = &failure{index: r.begin, what: FailTile, err: r.err}
		}
	}
	return best
}

// treeWalker rebuilds the tree and compares it with the hash tiles as it goes.
type treeWalker struct {
	ctx      context.Context
	src      Source
	treeSize uint64
	rng      *compact.Range
	fails    *failures
	// pending holds the node hashes of the tile being filled at each tile
	// level; next is that tile's index.
	pending [][]byte
	next    []uint64
}

// visit receives every node the compact range completes; nodes at tree
// levels 0, 8, 16, … are the contents of tile levels 0, 1, 2, ….
func (w *treeWalker) visit(id compact.NodeID, hash []byte) {
	if id.Level%layout.TileHeight != 0 {
		return
	}
	tl := int(id.Level / layout.TileHeight)
	for len(w.pending) <= tl {
		w.pending = append(w.pending, make([]byte, 0, layout.TileWidth*32))
		w.next = append(w.next, 0)
	}
	w.pending[tl] = append(w.pending[tl], hash...)
	if len(w.pending[tl]) == layout.TileWidth*32 {
		w.checkTile(uint64(tl), w.next[tl], 0, w.pending[tl])
		w.pending[tl] = w.pending[tl][:0]
		w.next[tl]++
	}
}

// finishTiles checks the partial tiles at the right edge of the tree. If
// entries are missing, what was rebuilt is compared with the start of the
// tiles of the checkpoint's tree.
func (w *treeWalker) finishTiles() {
	for tl, nodes := range w.pending {
		if len(nodes) > 0 {
			w.checkTile(uint64(tl), w.next[tl], layout.PartialTileSize(uint64(tl), w.next[tl], w.treeSize), nodes)
		}
	}
}

func (w *treeWalker) checkTile(level, index uint64, p uint8, want []byte) {
	firstNode := index * layout.TileWidth
	shift := level * layout.TileHeight
	leafRange := func(node uint64) (uint64, uint64) {
		return node << shift, min((node+1)<<shift, w.treeSize)
	}
	name := layout.TilePath(level, index, p)
	got, err := w.src.ReadTile(w.ctx, level, index, p)
	if err != nil {
		w.report(level, firstNode, leafRange, fmt.Errorf("%s: %w", name, err))
		return
	}
	for j := 0; j*32 < len(want); j++ {
		node := firstNode + uint64(j)
		if len(got) < (j+1)*32 {
			w.report(level, node, leafRange, fmt.Errorf("%s: tile ends before node %d", name, j))
			return
		}
		if !bytes.Equal(got[j*32:(j+1)*32], want[j*32:(j+1)*32]) {
			if level == 0 {
				w.report(level, node, leafRange, fmt.Errorf("entry does not hash to leaf %d of %s (entry or tile altered, dropped or reordered)", j, name))
			} else {
				b, e := leafRange(node)
				w.report(level, node, leafRange, fmt.Errorf("node %d of %s, over entries [%d, %d), differs from the tree of the entries", j, name, b, e))
			}
			return
		}
	}
}

func (w *treeWalker) report(level, node uint64, leafRange func(uint64) (uint64, uint64), err error) {
	b, e := leafRange(node)
	if level == 0 {
		w.fails.add(b, FailLeafHash, err)
		return
	}
	w.fails.addRange(b, e, err)
}

// sigPool checks envelopes and record signatures on every core.
type sigPool struct {
	jobs      chan sigJob
	wg        sync.WaitGroup
	mu        sync.Mutex
	agg       sigAgg
	keys      *KeySet
	bodies    BodySource // nil: the source serves no bodies
	fails     *failures
	workers   int
	closeOnce sync.Once
}

type sigJob struct {
	start   uint64
	entries [][]byte
}

type sigAgg struct {
	kinds       map[Kind]uint64
	keyIDs      map[string]uint64
	first, last time.Time
}

func newSigPool(ctx context.Context, keys *KeySet, bodies BodySource, fails *failures) *sigPool {
	p := &sigPool{
		jobs:    make(chan sigJob, 16),
		keys:    keys,
		bodies:  bodies,
		fails:   fails,
		workers: runtime.GOMAXPROCS(0),
		agg:     sigAgg{kinds: map[Kind]uint64{}, keyIDs: map[string]uint64{}},
	}
	for range p.workers {
		p.wg.Add(1)
		go p.work(ctx)
	}
	return p
}

func (p *sigPool) submit(start uint64, entries [][]byte) {
	p.jobs <- sigJob{start: start, entries: entries}
}

// close waits for the workers and returns their totals; it may be called
// more than once.
func (p *sigPool) close() sigAgg {
	p.closeOnce.Do(func() { close(p.jobs) })
	p.wg.Wait()
	return p.agg
}

// recordHead is the part of a record the summary needs.
type recordHead struct {
	ID   string
	Time string
	Kind Kind
	// body is the raw "body" member, nil without one; payload says the
	// record holds a request or result itself.
	body    []byte
	payload bool
}

// bodyRef decodes the record's body reference: nil without one.
func (h *recordHead) bodyRef() (*BodyRef, error) {
	if h.body == nil {
		return nil, nil
	}
	if h.payload {
		return nil, errors.New("record names a body and holds a request or result itself")
	}
	var ref BodyRef
	dec := json.NewDecoder(bytes.NewReader(h.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ref); err != nil {
		return nil, fmt.Errorf("record body: %w", err)
	}
	if !validBodyName(ref.SHA256) || ref.Size <= 0 || ref.Size > MaxBodySize {
		return nil, fmt.Errorf("record body: sha256 %q, size %d: not a body reference", ref.SHA256, ref.Size)
	}
	return &ref, nil
}

// scanRecordHead reads id, kind and time from the top level of a record,
// skipping the other members without decoding them (the signature already
// vouches for the bytes; a full decode doubled the cost of verification).
func scanRecordHead(rec []byte) (recordHead, error) {
	var h recordHead
	p := canonParser{in: rec}
	p.skipSpace()
	if p.pos >= len(rec) || rec[p.pos] != '{' {
		return h, errors.New("record is not an object")
	}
	p.pos++
	for {
		p.skipSpace()
		if p.pos >= len(rec) || rec[p.pos] != '"' {
			return h, errors.New("record: expected a member name")
		}
		key, err := p.headMember()
		if err != nil {
			return h, fmt.Errorf("record: %w", err)
		}
		p.skipSpace()
		if p.pos >= len(rec) || rec[p.pos] != ':' {
			return h, errors.New("record: missing ':'")
		}
		p.pos++
		p.skipSpace()
		switch key {
		case "id", "kind", "time":
			if p.pos >= len(rec) || rec[p.pos] != '"' {
				return h, fmt.Errorf("record: %s is not a string", key)
			}
			v, err := p.str()
			if err != nil {
				return h, fmt.Errorf("record: %s: %w", key, err)
			}
			switch key {
			case "id":
				h.ID = v
			case "kind":
				h.Kind = Kind(v)
			case "time":
				h.Time = v
			}
		case "body":
			start := p.pos
			if err := p.skipValue(); err != nil {
				return h, fmt.Errorf("record: %s: %w", key, err)
			}
			h.body = rec[start:p.pos]
		case "request", "result":
			h.payload = true
			if err := p.skipValue(); err != nil {
				return h, fmt.Errorf("record: %s: %w", key, err)
			}
		default:
			if err := p.skipValue(); err != nil {
				return h, fmt.Errorf("record: %s: %w", key, err)
			}
		}
		p.skipSpace()
		if p.pos >= len(rec) {
			return h, errors.New("record: unexpected end")
		}
		if rec[p.pos] == '}' {
			return h, nil
		}
		if rec[p.pos] != ',' {
			return h, errors.New("record: expected ',' or '}'")
		}
		p.pos++
	}
}

// headMember reads a member name of a record's top level for
// scanRecordHead: "id", "kind", "time", "body", "request" or "result", or
// "" for any other. Names are
// compared where they lie rather than copied, which halves the cost of the
// head (every record read by VerifyLog and ScanWindow has one); a name with
// an escape, which canonical records never have, is decoded by str.
func (p *canonParser) headMember() (string, error) {
	in := p.in
	for i := p.pos + 1; i < len(in); i++ {
		c := in[i]
		if c == '\\' || c < 0x20 {
			break
		}
		if c == '"' {
			name := in[p.pos+1 : i]
			if !utf8.Valid(name) {
				return "", errors.New("invalid UTF-8 in string")
			}
			p.pos = i + 1
			for _, known := range [...]string{"id", "kind", "time", "body", "request", "result"} {
				if string(name) == known {
					return known, nil
				}
			}
			return "", nil
		}
	}
	return p.str()
}

func (p *sigPool) work(ctx context.Context) {
	defer p.wg.Done()
	local := sigAgg{kinds: map[Kind]uint64{}, keyIDs: map[string]uint64{}}
	for job := range p.jobs {
		if ctx.Err() != nil {
			continue
		}
		for i, e := range job.entries {
			idx := job.start + uint64(i)
			env, err := DecodeEnvelope(e)
			if err != nil {
				p.fails.add(idx, FailRecord, err)
				continue
			}
			if err := p.keys.Verify(env); err != nil {
				p.fails.add(idx, FailSignature, err)
				continue
			}
			h, err := scanRecordHead(env.RecordJSON)
			if err != nil {
				p.fails.add(idx, FailRecord, err)
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, h.Time)
			if err != nil || !h.Kind.Valid() || h.ID == "" {
				p.fails.add(idx, FailRecord, fmt.Errorf("record id %q, kind %q, time %q: not a valid record", h.ID, h.Kind, h.Time))
				continue
			}
			ref, err := h.bodyRef()
			if err != nil {
				p.fails.add(idx, FailRecord, err)
				continue
			}
			if ref != nil {
				if _, err := loadBody(ctx, p.bodies, ref); err != nil {
					p.fails.add(idx, FailBody, err)
					continue
				}
			}
			local.kinds[h.Kind]++
			local.keyIDs[env.KeyID]++
			if local.first.IsZero() || t.Before(local.first) {
				local.first = t
			}
			if t.After(local.last) {
				local.last = t
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, n := range local.kinds {
		p.agg.kinds[k] += n
	}
	for k, n := range local.keyIDs {
		p.agg.keyIDs[k] += n
	}
	if !local.first.IsZero() && (p.agg.first.IsZero() || local.first.Before(p.agg.first)) {
		p.agg.first = local.first
	}
	if local.last.After(p.agg.last) {
		p.agg.last = local.last
	}
}
