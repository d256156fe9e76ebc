package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// Source is read access to a log in the C2SP tlog-tiles layout.
// client.FileFetcher, *client.HTTPFetcher and tessera.LogReader satisfy it.
type Source interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// NewSource opens a log at location: an http(s) URL of the tiles root (the
// directory holding "checkpoint" and "tile/"), or a local directory (a log
// directory, or a data directory holding one in log/).
func NewSource(location string) (Source, error) {
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		u, err := url.Parse(location)
		if err != nil {
			return nil, fmt.Errorf("log URL: %w", err)
		}
		hc := &http.Client{Timeout: 30 * time.Second}
		f, err := client.NewHTTPFetcher(u, hc)
		if err != nil {
			return nil, err
		}
		return withBodies{f, httpBodies{base: u, hc: hc}}, nil
	}
	dir := location
	if _, err := os.Stat(filepath.Join(dir, "checkpoint")); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, LogDir, "checkpoint")); err == nil {
			dir = filepath.Join(dir, LogDir)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint")); err != nil {
		return nil, fmt.Errorf("log directory %s: no checkpoint: %w", location, err)
	}
	return withBodies{client.FileFetcher{Root: dir}, dirBodies{dir}}, nil
}

// Checkpoint is a verified C2SP tlog-checkpoint.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
	// Raw is the signed note as published.
	Raw []byte
}

// ParseCheckpoint checks the note signature on raw with v and parses it; the
// checkpoint's origin must be the verifier's name.
func ParseCheckpoint(raw []byte, v note.Verifier) (*Checkpoint, error) {
	cp, _, _, err := f_log.ParseCheckpoint(raw, v.Name(), v)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Origin: cp.Origin, Size: cp.Size, Root: cp.Hash, Raw: raw}, nil
}

// Checkpoint returns the latest published checkpoint, a signed note.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	cp, err := l.source.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: read checkpoint: %w", ErrUnavailable, err)
	}
	return cp, nil
}

// latestCheckpoint reads and verifies the published checkpoint.
func (l *Log) latestCheckpoint(ctx context.Context) (*Checkpoint, error) {
	raw, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	cp, err := ParseCheckpoint(raw, l.noteV)
	if err != nil {
		return nil, fmt.Errorf("%w: own checkpoint does not verify: %w", ErrUnavailable, err)
	}
	return cp, nil
}

// waitCheckpoint returns the first published checkpoint of at least size
// entries, polling until ctx ends. Appended entries get one within about
// CheckpointInterval.
func (l *Log) waitCheckpoint(ctx context.Context, size uint64) (*Checkpoint, error) {
	const poll = 5 * time.Millisecond
	for {
		cp, err := l.latestCheckpoint(ctx)
		if err != nil {
			return nil, err
		}
		if cp.Size >= size {
			return cp, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting for a checkpoint of size %d: %w", ErrUnavailable, size, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// sequencedSize is how many entries have an index: journaled (and being
// integrated) or, without the journal, integrated.
func (l *Log) sequencedSize(ctx context.Context) (uint64, error) {
	if l.journal != nil {
		return l.journal.next.Load(), nil
	}
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return size, nil
}

// EntryProof is one log entry with its record and an inclusion proof to a
// checkpoint.
type EntryProof struct {
	Index uint64 `json:"index"`
	// Entry is the raw log entry (the signed envelope).
	Entry       []byte `json:"entry"`
	EntrySHA256 string `json:"entry_sha256"`
	// Record is the decoded record; RecordJSON is its signed canonical form.
	Record     *Record `json:"record"`
	RecordJSON []byte  `json:"-"`
	KeyID      string  `json:"key_id"`
	Signature  []byte  `json:"signature"`
	// Checkpoint is the signed checkpoint the proof leads to; TreeSize and
	// Root are its size and root hash.
	Checkpoint     []byte   `json:"checkpoint"`
	TreeSize       uint64   `json:"tree_size"`
	Root           []byte   `json:"root"`
	InclusionProof [][]byte `json:"inclusion_proof"`
}

// Entry returns the entry at index with its record, signature and an
// inclusion proof to the latest checkpoint. An entry appended but not yet
// covered by a checkpoint is waited for until ctx ends (ErrUnavailable then);
// an index the log has not reached is ErrNotFound.
func (l *Log) Entry(ctx context.Context, index uint64) (*EntryProof, error) {
	size, err := l.sequencedSize(ctx)
	if err != nil {
		return nil, err
	}
	if index >= size {
		return nil, fmt.Errorf("%w: index %d, log size %d", ErrNotFound, index, size)
	}
	// A checkpoint covers a new entry within CheckpointInterval; waiting much
	// longer means checkpoints stalled, and the handler must not pile up.
	wctx, cancel := context.WithTimeout(ctx, 2*l.opts.CheckpointInterval+time.Second)
	defer cancel()
	if l.journal != nil {
		if err := l.journal.awaitIntegrated(wctx, index+1); err != nil {
			return nil, fmt.Errorf("%w: waiting for entry %d to be integrated: %w", ErrUnavailable, index, err)
		}
	}
	cp, err := l.waitCheckpoint(wctx, index+1)
	if err != nil {
		return nil, err
	}
	entry, err := ReadEntry(ctx, l.source, index, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	env, err := DecodeEnvelope(entry)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	rec, err := env.Record()
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	if rec.Body != nil {
		// What was decided, not only its digest: the body is read through
		// the log and checked against the signed record.
		body, err := loadBody(ctx, bodiesOf(l.source), rec.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %w", ErrUnavailable, index, err)
		}
		if rec.Request, rec.Result, err = decodeBody(body); err != nil {
			return nil, fmt.Errorf("entry %d: %w", index, err)
		}
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, l.source.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	incl, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("%w: inclusion proof: %w", ErrUnavailable, err)
	}
	// A proof that does not verify means the tiles on disk are damaged:
	// better no answer than a wrong one.
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, rfc6962.DefaultHasher.HashLeaf(entry), incl, cp.Root); err != nil {
		return nil, fmt.Errorf("%w: inclusion proof for %d does not verify: %w", ErrUnavailable, index, err)
	}
	sum := sha256.Sum256(entry)
	return &EntryProof{
		Index:          index,
		Entry:          entry,
		EntrySHA256:    hex.EncodeToString(sum[:]),
		Record:         rec,
		RecordJSON:     env.RecordJSON,
		KeyID:          env.KeyID,
		Signature:      env.Signature,
		Checkpoint:     cp.Raw,
		TreeSize:       cp.Size,
		Root:           cp.Root,
		InclusionProof: incl,
	}, nil
}

// InclusionProof proves that the entry at index is in the tree of treeSize
// entries; treeSize must not exceed the latest checkpoint's size.
func (l *Log) InclusionProof(ctx context.Context, index, treeSize uint64) ([][]byte, error) {
	cp, err := l.latestCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	if treeSize > cp.Size || index >= treeSize {
		return nil, fmt.Errorf("%w: index %d in tree size %d (published size %d)", ErrNotFound, index, treeSize, cp.Size)
	}
	pb, err := client.NewProofBuilder(ctx, treeSize, l.source.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	p, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("%w: inclusion proof: %w", ErrUnavailable, err)
	}
	return p, nil
}

// ConsistencyProof proves that the tree of size from is a prefix of the tree
// of size to; to must not exceed the latest checkpoint's size.
func (l *Log) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	cp, err := l.latestCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	if to > cp.Size || from > to {
		return nil, fmt.Errorf("%w: consistency %d→%d (published size %d)", ErrNotFound, from, to, cp.Size)
	}
	pb, err := client.NewProofBuilder(ctx, to, l.source.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	p, err := pb.ConsistencyProof(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("%w: consistency proof: %w", ErrUnavailable, err)
	}
	return p, nil
}

// ReadEntry returns the raw entry at index of a tree of treeSize entries.
func ReadEntry(ctx context.Context, src Source, index, treeSize uint64) ([]byte, error) {
	if index >= treeSize {
		return nil, fmt.Errorf("%w: index %d, tree size %d", ErrNotFound, index, treeSize)
	}
	bundleIdx := index / layout.EntryBundleWidth
	raw, err := src.ReadEntryBundle(ctx, bundleIdx, layout.PartialTileSize(0, bundleIdx, treeSize))
	if err != nil {
		return nil, fmt.Errorf("entry bundle %d: %w", bundleIdx, err)
	}
	entries, err := splitBundle(raw)
	off := index % layout.EntryBundleWidth
	if uint64(len(entries)) <= off {
		if err == nil {
			err = errors.New("too short")
		}
		return nil, fmt.Errorf("entry bundle %d: entry %d: %w", bundleIdx, index, err)
	}
	return entries[off], nil
}

// LogEntry is one raw entry and its index.
type LogEntry struct {
	Index uint64
	Data  []byte
}

// Entries streams the raw entries [from, to) of a tree of treeSize entries,
// fetching bundles ahead in parallel.
func Entries(ctx context.Context, src Source, treeSize, from, to uint64) iter.Seq2[LogEntry, error] {
	return func(yield func(LogEntry, error) bool) {
		if to > treeSize {
			to = treeSize
		}
		if from >= to {
			return
		}
		size := func(context.Context) (uint64, error) { return treeSize, nil }
		for b, err := range client.EntryBundles(ctx, 4, size, src.ReadEntryBundle, from, to-from) {
			if err != nil {
				yield(LogEntry{Index: b.RangeInfo.Index * layout.EntryBundleWidth}, err)
				return
			}
			start := b.RangeInfo.Index * layout.EntryBundleWidth
			entries, perr := splitBundle(b.Data)
			for i := uint64(b.RangeInfo.First); i < uint64(b.RangeInfo.First)+uint64(b.RangeInfo.N); i++ {
				if start+i >= to {
					// client.EntryBundles (v1.0.4) reads past from+N when
					// from > 0; stop at the end asked for.
					return
				}
				if i >= uint64(len(entries)) {
					if perr == nil {
						perr = errors.New("bundle too short")
					}
					yield(LogEntry{Index: start + i}, fmt.Errorf("entry %d: %w", start+i, perr))
					return
				}
				if !yield(LogEntry{Index: start + i, Data: entries[i]}, nil) {
					return
				}
			}
		}
	}
}

// splitBundle parses a tlog-tiles entry bundle (big-endian uint16 length,
// then the entry, repeated). It returns the entries parsed before any error,
// so a damaged bundle names the first entry that cannot be read.
func splitBundle(raw []byte) ([][]byte, error) {
	entries := make([][]byte, 0, layout.EntryBundleWidth)
	for len(raw) > 0 {
		if len(raw) < 2 {
			return entries, errors.New("truncated entry length")
		}
		n := int(binary.BigEndian.Uint16(raw))
		raw = raw[2:]
		if len(raw) < n {
			return entries, fmt.Errorf("truncated entry: %d of %d bytes", len(raw), n)
		}
		entries = append(entries, raw[:n:n])
		raw = raw[n:]
	}
	return entries, nil
}

// Handler serves the log read-only in the C2SP tlog-tiles layout: paths
// "checkpoint", "tile/<L>/<N>[.p/<W>]" and "tile/entries/<N>[.p/<W>]",
// relative to where it is mounted (use http.StripPrefix). It reads through
// the backend, so every replica of a shared log serves the same bytes.
func (l *Log) Handler() http.Handler { return SourceHandler(l.source) }

// TileHandler serves a log directory read-only in the C2SP tlog-tiles
// layout. Nothing else in the directory (Tessera's .state) is reachable.
func TileHandler(dir string) http.Handler {
	return SourceHandler(withBodies{exactSource{client.FileFetcher{Root: dir}}, dirBodies{dir}})
}

// SourceHandler serves src read-only in the C2SP tlog-tiles layout, and the
// record bodies at bodies/<hex SHA-256> when src reads them (BodySource).
func SourceHandler(src Source) http.Handler {
	bodies := bodiesOf(src)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		path := strings.TrimPrefix(r.URL.Path, "/")
		if sum, ok := parseBodyPath(path); ok && bodies != nil {
			serveBody(w, r, bodies, sum)
			return
		}
		req, ok := parseTilePath(path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		var data []byte
		var err error
		switch req.kind {
		case tileCheckpoint:
			data, err = src.ReadCheckpoint(r.Context())
		case tileEntries:
			data, err = src.ReadEntryBundle(r.Context(), req.index, req.width)
		default:
			data, err = src.ReadTile(r.Context(), req.level, req.index, req.width)
		}
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		} else if err != nil {
			http.Error(w, "log unavailable", http.StatusServiceUnavailable)
			return
		}
		if req.kind == tileCheckpoint {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/octet-stream")
		}
		if req.kind != tileCheckpoint && req.width == 0 {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			return
		}
		_, _ = w.Write(data)
	})
}

// serveBody serves a record body: immutable, as its name is its digest. It
// is served as stored; the reader checks it against the record.
func serveBody(w http.ResponseWriter, r *http.Request, bodies BodySource, sum string) {
	data, err := bodies.ReadBody(r.Context(), sum)
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	} else if err != nil {
		http.Error(w, "log unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data)
}

type tileKind int

const (
	tileCheckpoint tileKind = iota
	tileHashes
	tileEntries
)

type tileRequest struct {
	kind         tileKind
	level, index uint64
	width        uint8 // 0: a full tile
}

// TreePath reports whether path, relative to the tiles root as SourceHandler
// reads it, names the checkpoint or a hash tile: the log's tree, which commits
// to every entry and reveals none (a leaf is the hash of an entry holding the
// log's signature, which nobody else can make, so it cannot be matched
// against a guess). An entry bundle, which holds the records, is not; nor is
// a path that names nothing. The API lets tenants read the tree, not the
// entries (docs/authz.md).
func TreePath(path string) bool {
	req, ok := parseTilePath(strings.TrimPrefix(path, "/"))
	return ok && req.kind != tileEntries
}

// parseTilePath validates a request path against the tlog-tiles layout; only
// the canonical spelling of a path is accepted.
func parseTilePath(p string) (tileRequest, bool) {
	if p == layout.CheckpointPath {
		return tileRequest{kind: tileCheckpoint}, true
	}
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return tileRequest{}, false
	}
	level, index, ok := strings.Cut(rest, "/")
	if !ok {
		return tileRequest{}, false
	}
	n, w, err := layout.ParseTileIndexPartial(index)
	if err != nil {
		return tileRequest{}, false
	}
	req := tileRequest{kind: tileEntries, index: n, width: w}
	var canon string
	if level == "entries" {
		canon = layout.EntriesPath(n, w)
	} else {
		l, err := layout.ParseTileLevel(level)
		if err != nil {
			return tileRequest{}, false
		}
		req.kind, req.level = tileHashes, l
		canon = layout.TilePath(l, n, w)
	}
	if canon != p {
		return tileRequest{}, false
	}
	return req, true
}

// exactSource trims what a backend returns to what was asked for: the MySQL
// driver answers a request for a partial tile or entry bundle with the
// largest one it holds, and a reader of the checkpoint's tree (a proof, a
// tlog-tiles client) must see that tree's tile, not a later one.
type exactSource struct{ src Source }

func (s exactSource) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return s.src.ReadCheckpoint(ctx)
}

func (s exactSource) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	t, err := s.src.ReadTile(ctx, level, index, p)
	if err != nil {
		return nil, err
	}
	want := int(p) * sha256.Size
	if p == 0 {
		want = layout.TileWidth * sha256.Size
	}
	if len(t) < want {
		return nil, fmt.Errorf("tile %d/%d: %d bytes, want %d: %w", level, index, len(t), want, fs.ErrNotExist)
	}
	return t[:want:want], nil
}

func (s exactSource) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	b, err := s.src.ReadEntryBundle(ctx, index, p)
	if err != nil {
		return nil, err
	}
	n := int(p)
	if p == 0 {
		n = layout.EntryBundleWidth
	}
	off := 0
	for i := 0; i < n; i++ {
		if off+2 > len(b) {
			return nil, fmt.Errorf("entry bundle %d: %d entries, want %d: %w", index, i, n, fs.ErrNotExist)
		}
		off += 2 + int(binary.BigEndian.Uint16(b[off:]))
		if off > len(b) {
			return nil, fmt.Errorf("entry bundle %d: entry %d truncated", index, i)
		}
	}
	return b[:off:off], nil
}

// PeekCheckpoint parses a checkpoint without checking its signature, for
// display only; anything trusted must come from ParseCheckpoint.
func PeekCheckpoint(raw []byte) (*Checkpoint, error) {
	body, _, ok := strings.Cut(string(raw), "\n\n")
	if !ok {
		return nil, errors.New("checkpoint: not a signed note")
	}
	var cp f_log.Checkpoint
	if _, err := cp.Unmarshal([]byte(body + "\n")); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return &Checkpoint{Origin: cp.Origin, Size: cp.Size, Root: cp.Hash, Raw: raw}, nil
}

// EntryJSON is a decoded log entry as JSON lines and the API show it.
type EntryJSON struct {
	Index       uint64          `json:"index"`
	EntrySHA256 string          `json:"entry_sha256"`
	KeyID       string          `json:"key_id"`
	Record      json.RawMessage `json:"record"`
	Signature   []byte          `json:"signature"`
}

// DecodeEntry decodes a raw entry for display; it does not check the
// signature.
func DecodeEntry(e LogEntry) (EntryJSON, error) {
	env, err := DecodeEnvelope(e.Data)
	if err != nil {
		return EntryJSON{}, err
	}
	sum := sha256.Sum256(e.Data)
	return EntryJSON{Index: e.Index, EntrySHA256: hex.EncodeToString(sum[:]), KeyID: env.KeyID, Record: env.RecordJSON, Signature: env.Signature}, nil
}
