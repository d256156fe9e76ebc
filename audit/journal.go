package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/transparency-dev/tessera"
	"golang.org/x/sys/unix"
)

// JournalDir is the write-ahead journal in the data directory (POSIX log
// only): segments journal/<first index>.wal. See journal.
const JournalDir = "journal"

// journal makes an append durable with one write and one fdatasync, and
// integrates it into the Tessera log right after, in the same order.
//
// Why: Tessera's POSIX driver makes a batch durable by replacing three or more
// files (entry bundle, hash tiles, tree state: each a write, an fsync, a rename
// and a directory fsync), ≈ 6 ms at best on the project's disk, with a long
// tail under load. A decision must not be answered before its record is
// durable (DESIGN §5), so that cost was every decision's floor. The journal
// moves the floor to one fdatasync of an append (≈ 0.5 ms here).
//
// How it stays one log: the journal assigns each entry the next index of the
// Tessera log, and one goroutine hands entries to the appender in journal
// order (Tessera guarantees that a later Add lands later), checking that each
// lands at its index; the Tessera log remains the only log, the journal only
// holds entries until they are integrated. After a crash, Open replays the
// entries the tree does not yet hold before taking new ones. The journal is
// written in segments of about 16 MiB; a segment is deleted once the tree
// holds all of it.
//
// On disk: a sequence of batches, each written by one write(2):
//
//	magic "SJB1" | first index u64 | count u32 | payload length u32 | CRC-32C u32 of the payload | payload
//	payload: count × (entry length u32 | entry bytes)
//
// (big-endian), followed by zeros: a segment is zero-filled ahead of the
// writer (see fill), and an all-zero rest of a segment is its end. Only the
// last batch can be torn by a crash (a batch is written after the previous
// one was fdatasync'd), so an incomplete or corrupt last batch is dropped:
// none of its entries was answered. A corrupt batch followed by a valid one is
// damage, and Open refuses to start.
type journal struct {
	dir    string
	lock   *os.File
	f      *os.File // the open segment
	logger *slog.Logger
	// fsyncSeconds observes each fdatasync of a batch (nil: not observed).
	fsyncSeconds prometheus.Observer
	// sealed are the full segments not yet deleted, oldest first.
	segMu  sync.Mutex
	sealed []segment

	add tessera.AddFn
	// checkTree, when set, checks what the driver needs to sequence a batch
	// (see checkTreeStateLock), for Ready on an idle log; handMu is held
	// while entries are handed over, so that check never runs beside a
	// batch being sequenced.
	checkTree func() error
	handMu    sync.Mutex
	// max bounds a journal batch (one write and fdatasync); chunk is the
	// Tessera batch size the integrator adds at a time.
	max   int
	chunk int
	queue *appendQueue
	done  chan struct{}

	// next is the index the next journaled entry gets; integrated is how many
	// entries the Tessera tree holds (as far as the journal knows).
	next       atomic.Uint64
	integrated atomic.Uint64
	// maxOutstanding bounds journaled-but-not-integrated entries: past it,
	// appends fail (ErrUnavailable) rather than grow the journal without end.
	maxOutstanding uint64
	// failed is set when integration went wrong (an error, or an entry that
	// landed at another index): the log then takes no more appends.
	failed atomic.Pointer[error]
	// lagErr is why integration is being retried, nil when it is not.
	lagErr atomic.Pointer[error]

	// intQueue holds journaled entries for the integrator, in order. It is
	// not a bounded channel: a bound in batches stalled a lone writer (one
	// entry a batch) behind Tessera's batch age; submit's backpressure
	// (maxOutstanding entries) bounds it instead.
	intMu2    sync.Mutex
	intQueue  []journalItem
	intClosed bool
	intWake   chan struct{}
	intDone   chan struct{}
	// integratedCh is closed and replaced whenever integrated grows.
	intMu        sync.Mutex
	integratedCh chan struct{}
	// fileMu orders the writer's batch writes and the zero filler's writes
	// to the open segment (f, fillF, size and zeroed change under it).
	fileMu sync.Mutex
	// fillF is the filler's own handle on the open segment (nil: no
	// filling). Its own open file description, so that a write-back error
	// its sync meets is still reported to the writer's fdatasync: Linux
	// reports such an error once per open file description.
	fillF *os.File
	// size is the open segment's length in batches.
	size int64
	// zeroed: the open segment is zero-filled and synced up to here (see
	// fill); fillWake, fillStop and fillDone drive the filler.
	zeroed   int64
	fillWake chan struct{}
	fillStop chan struct{}
	fillDone chan struct{}
	stopFill sync.Once
}

// segment is a sealed journal file and the index after its last entry.
type segment struct {
	path string
	end  uint64
}

type journalItem struct {
	index uint64
	entry *tessera.Entry
}

const (
	journalMagic     = "SJB1"
	journalHeaderLen = 4 + 8 + 4 + 4 + 4
)

// journalBatchAge is Tessera's batch age when the journal feeds it: a batch
// smaller than BatchMaxSize is sequenced this long after its first entry. No
// answer waits for it (answers wait for the journal only); it bounds how soon
// an entry is in the tree and readable. It is long so that a batch's timer
// does not fire while the integrator is still adding it, and a goroutine
// would have to stall this long for two batches to be sequenced out of order
// (see integrateItems). A light load is gathered before it gets here (journalGather).
const journalBatchAge = 50 * time.Millisecond

// journalGather is how long the integrator lets a light load accumulate
// before it hands a batch smaller than a chunk to Tessera: each hand-over
// rewrites the log's partial entry bundle and tiles, each file fsync'd, on
// the disk the journal's fdatasync - which every answer waits for - uses too.
// A full chunk goes at once, so a heavy load is not slowed. Admission reviews
// at 200/s, same run, two rounds: p99 8.9-9.9 ms integrating every 50 ms,
// 6.0-7.7 ms every 250 ms. (Setting Tessera's batch age to 250 ms instead
// did the same at light load but held every partial batch under heavy load:
// 1,024 writers fell from 11.8k-15.2k to 8.9k-9.6k records/s.)
var journalGather = 200 * time.Millisecond

// journalChunk is the Tessera batch size when the journal feeds it: no answer
// waits for a Tessera batch any more, so it is sized for throughput (each
// batch replaces several files; at 256 writers, 2,048-entry batches took
// 8.5k records/s where 256-entry ones took 5.5k, same run).
const journalChunk = 2048

// journalSegmentSize: a segment this long is sealed and a new one begun (a
// variable for tests).
var journalSegmentSize int64 = 16 << 20

// Zero filling (see fill): once a segment holds zeroStart bytes, it is kept
// zero-filled and synced zeroLead bytes ahead of the writer, zeroChunk at a
// time, up to journalSegmentSize (variables for tests).
var (
	zeroStart int64 = 64 << 10
	zeroChunk int64 = 1 << 20
	zeroLead  int64 = 2 << 20
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// openJournal opens and locks the journal directory (created 0700), replays
// the entries the tree does not hold yet through add, and starts the writer
// and the integrator. treeSize is the Tessera log's integrated size.
func openJournal(ctx context.Context, dir string, tree Source, treeSize uint64, add tessera.AddFn, checkTree func() error, max, chunk int, maxOutstanding uint64, fsync prometheus.Observer, logger *slog.Logger) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: journal: %w", ErrUnavailable, err)
	}
	if reason, err := os.ReadFile(filepath.Join(dir, journalFailedFile)); err == nil {
		return nil, fmt.Errorf("journal %s stopped the log earlier: %s; compare the journal with the log's entries, then remove %s to start again", dir, bytes.TrimSpace(reason), journalFailedFile)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: journal: %w", ErrUnavailable, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w: journal %s is locked by another process (one server per data directory): %w", ErrUnavailable, dir, err)
	}
	j := &journal{
		dir: dir, lock: lock, logger: logger, fsyncSeconds: fsync, add: add, checkTree: checkTree, max: max, chunk: chunk, maxOutstanding: maxOutstanding,
		queue: newAppendQueue(max), done: make(chan struct{}),
		intWake: make(chan struct{}, 1), intDone: make(chan struct{}),
		integratedCh: make(chan struct{}),
		fillWake:     make(chan struct{}, 1), fillStop: make(chan struct{}), fillDone: make(chan struct{}),
	}
	if err := j.recover(ctx, tree, treeSize); err != nil {
		lock.Close()
		if j.f != nil {
			j.closeFiles()
		}
		return nil, err
	}
	go j.integrate()
	go j.fill()
	go j.run()
	return j, nil
}

// fill keeps the open segment zero-filled and synced ahead of the writer.
//
// Why: a batch appended past the end of the file changes its size, so its
// fdatasync must commit ext4's journal, and waits for whatever else that
// commit carries: here, the Tessera tiles and bundles the integrator writes
// and fsyncs. A batch written over zeros already on disk changes no
// metadata, and its fdatasync only writes the data and flushes the disk
// cache. Measured beside an fsync-heavy neighbour (scripts/fsyncbench,
// BENCHMARKS.md): p50 8-20 % lower in each of 9 rounds, p99 lower in 6 of 9;
// admission reviews at 200/s: p50 2.14 ms against 2.32-2.42 ms.
// fallocate does not do this: its unwritten extents are converted, in the
// journal, by the first write into them.
//
// The zeros cost one extra write of the journal's bytes, in chunks, each
// synced (one fdatasync of the writer's in zeroChunk of entries waits for
// it). A segment ends in zeros after its last batch, which parseJournal reads
// as its end. Zero filling is an optimisation: if it fails, the writer
// appends as before.
func (j *journal) fill() {
	defer close(j.fillDone)
	zeros := make([]byte, zeroChunk)
	for {
		select {
		case <-j.fillStop:
			return
		case <-j.fillWake:
		}
		for {
			j.fileMu.Lock()
			f, from := j.fillF, max(j.zeroed, j.size)
			if f == nil || from >= j.fillTarget(zeroLead) {
				j.fileMu.Unlock()
				break
			}
			n := min(zeroChunk, journalSegmentSize-from)
			// Under fileMu and at or past the writer's end: no batch is
			// written over, and the writer's next batch waits for this
			// write (not its sync).
			_, err := f.WriteAt(zeros[:n], from)
			j.fileMu.Unlock()
			if err == nil {
				err = f.Sync() // *os.File: safe against the writer closing f on a new segment
			}
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					j.logger.Warn("audit journal: zero filling the segment ahead failed; appending without it", "err", err)
				}
				break
			}
			j.fileMu.Lock()
			if j.fillF == f && from+n > j.zeroed {
				j.zeroed = from + n
			}
			j.fileMu.Unlock()
		}
	}
}

// fillTarget is how far the open segment should be zero-filled to keep lead
// bytes ahead of the writer (0: not yet); fileMu is held.
func (j *journal) fillTarget(lead int64) int64 {
	if j.size < zeroStart {
		return 0
	}
	return min(j.size+lead, journalSegmentSize)
}

// wakeFill asks the filler to look again once less than half the lead is
// left; fileMu is held.
func (j *journal) wakeFill() {
	if j.zeroed < j.fillTarget(zeroLead/2) {
		select {
		case j.fillWake <- struct{}{}:
		default:
		}
	}
}

// segments lists the journal's segment files, oldest first.
func (j *journal) segments() ([]string, error) {
	names, err := filepath.Glob(filepath.Join(j.dir, "*.wal"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names) // zero-padded first index
	return names, nil
}

// recover reads the journal, checks the entries the tree already holds
// against it, replays into the tree what it does not hold, deletes the old
// segments and opens a new one.
func (j *journal) recover(ctx context.Context, tree Source, treeSize uint64) error {
	names, err := j.segments()
	if err != nil {
		return fmt.Errorf("%w: journal: %w", ErrUnavailable, err)
	}
	// Only the last segment with any bytes can end in a torn batch: a crash
	// may leave empty segments after it.
	lastWritten := -1
	for i, name := range names {
		if fi, err := os.Stat(name); err == nil && fi.Size() > 0 {
			lastWritten = i
		}
	}
	var items []journalItem
	for i, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("%w: read journal: %w", ErrUnavailable, err)
		}
		seg, dropped, err := parseJournal(raw, i == lastWritten)
		if err != nil {
			return fmt.Errorf("journal %s: %w", name, err)
		}
		if dropped > 0 {
			j.logger.Warn("audit journal: dropped a torn last batch (never synced, never answered)", "file", name, "bytes", dropped)
		}
		items = append(items, seg...)
	}
	var replay, held []journalItem
	for _, it := range items {
		if it.index >= treeSize {
			replay = append(replay, it)
		} else {
			held = append(held, it)
		}
	}
	if len(replay) > 0 && replay[0].index != treeSize {
		return fmt.Errorf("journal %s: its entries resume at index %d but the log holds %d: entries %d..%d are missing", j.dir, replay[0].index, treeSize, treeSize, replay[0].index-1)
	}
	for i := 1; i < len(replay); i++ {
		if replay[i].index != replay[i-1].index+1 {
			return fmt.Errorf("journal %s: entry %d follows %d", j.dir, replay[i].index, replay[i-1].index)
		}
	}
	// What the journal answered and the tree already holds must be the
	// same entries at the same indices.
	if err := j.checkHeld(ctx, tree, treeSize, held); err != nil {
		return err
	}
	if len(replay) > 0 {
		j.logger.Warn("audit journal: replaying entries journaled before a crash", "from", replay[0].index, "count", len(replay))
		if _, err := j.integrateItems(ctx, replay, j.chunk); err != nil {
			if errors.Is(err, errMisplaced) {
				j.markFailed(err)
			}
			return fmt.Errorf("%w: journal replay: %w", ErrUnavailable, err)
		}
	}
	end := treeSize + uint64(len(replay))
	j.next.Store(end)
	j.integrated.Store(end)
	// Everything is in the tree now: delete the old segments first (a new
	// segment may have an old one's name), then start afresh.
	for _, name := range names {
		if err := os.Remove(name); err != nil {
			return fmt.Errorf("%w: journal: %w", ErrUnavailable, err)
		}
	}
	if err := syncDir(j.dir); err != nil {
		return fmt.Errorf("%w: journal: %w", ErrUnavailable, err)
	}
	return j.openSegment(end)
}

// checkHeld compares journaled entries below treeSize with the tree's.
func (j *journal) checkHeld(ctx context.Context, tree Source, treeSize uint64, held []journalItem) error {
	if len(held) == 0 {
		return nil
	}
	from, to := held[0].index, held[len(held)-1].index+1
	byIndex := make(map[uint64][]byte, len(held))
	for _, it := range held {
		byIndex[it.index] = it.entry.Data()
	}
	for e, err := range Entries(ctx, tree, treeSize, from, to) {
		if err != nil {
			return fmt.Errorf("%w: journal: read the log to check it: %w", ErrUnavailable, err)
		}
		if want, ok := byIndex[e.Index]; ok && !bytes.Equal(want, e.Data) {
			err := fmt.Errorf("%w: the journal answered entry %d, but the log holds another entry there", errMisplaced, e.Index)
			j.markFailed(err)
			return err
		}
	}
	return nil
}

// journalPending reports whether dir holds journaled entries (a non-empty
// segment): a log opened without the journal must not leave them behind.
func journalPending(dir string) bool {
	names, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	for _, name := range names {
		if fi, err := os.Stat(name); err == nil && fi.Size() > 0 {
			return true
		}
	}
	return false
}

// journalFailedFile marks a journal that found the log's entries at other
// indices than it answered: Open refuses until an operator has looked.
const journalFailedFile = "FAILED"

func (j *journal) markFailed(err error) {
	if werr := WriteFileAtomic(filepath.Join(j.dir, journalFailedFile), []byte(err.Error()+"\n"), 0o600); werr != nil {
		j.logger.Error("audit journal: could not record the failure", "err", werr)
	}
}

// openSegment begins a new segment whose first entry gets index first.
func (j *journal) openSegment(first uint64) error {
	f, err := os.OpenFile(filepath.Join(j.dir, fmt.Sprintf("%020d.wal", first)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("%w: journal: %w", ErrUnavailable, err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return fmt.Errorf("%w: journal: %w", ErrUnavailable, err)
	}
	ff, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		j.logger.Warn("audit journal: cannot open the segment for zero filling; appending without it", "err", err)
		ff = nil
	}
	old := j.f
	if old != nil {
		j.segMu.Lock()
		j.sealed = append(j.sealed, segment{path: old.Name(), end: first})
		j.segMu.Unlock()
	}
	j.fileMu.Lock()
	oldFill := j.fillF
	j.f, j.fillF, j.size, j.zeroed = f, ff, 0, 0
	j.fileMu.Unlock()
	if old != nil {
		old.Close()
	}
	if oldFill != nil {
		oldFill.Close()
	}
	return nil
}

// closeFiles closes the open segment's handles.
func (j *journal) closeFiles() error {
	j.fileMu.Lock()
	f, ff := j.f, j.fillF
	j.fileMu.Unlock()
	if ff != nil {
		ff.Close()
	}
	return f.Close()
}

// dropIntegrated deletes the sealed segments the tree holds all of.
func (j *journal) dropIntegrated(integrated uint64) {
	j.segMu.Lock()
	defer j.segMu.Unlock()
	for len(j.sealed) > 0 && j.sealed[0].end <= integrated {
		if err := os.Remove(j.sealed[0].path); err != nil {
			j.logger.Error("audit journal: remove integrated segment", "path", j.sealed[0].path, "err", err)
			return
		}
		j.sealed = j.sealed[1:]
	}
}

// parseJournal decodes the batches of a segment. In the last segment, a
// torn last batch (cut short, or failing its checksum with nothing valid
// after it) is dropped: it was never fdatasync'd, so none of its entries was
// answered. Anything else that does not decode is damage.
func parseJournal(raw []byte, last bool) (items []journalItem, dropped int, err error) {
	off := 0
	for off < len(raw) {
		if allZero(raw[off:]) {
			break // the zero-filled rest of the segment (see fill)
		}
		b, n, err := parseBatch(raw[off:])
		if err != nil {
			if !last {
				return nil, 0, fmt.Errorf("batch at offset %d is damaged (%v) in a sealed segment", off, err)
			}
			// Torn tail: nothing valid may follow.
			if _, _, err2 := nextValidBatch(raw[off+1:]); err2 == nil {
				return nil, 0, fmt.Errorf("batch at offset %d is damaged (%v) and valid batches follow it", off, err)
			}
			return items, len(bytes.TrimRight(raw[off:], "\x00")), nil
		}
		if len(items) > 0 && len(b) > 0 && b[0].index != items[len(items)-1].index+1 {
			return nil, 0, fmt.Errorf("batch at offset %d starts at index %d, after %d", off, b[0].index, items[len(items)-1].index)
		}
		items = append(items, b...)
		off += n
	}
	return items, 0, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// nextValidBatch looks for any valid batch in raw.
func nextValidBatch(raw []byte) ([]journalItem, int, error) {
	for i := 0; ; {
		k := bytes.Index(raw[i:], []byte(journalMagic))
		if k < 0 {
			return nil, 0, io.EOF
		}
		if b, n, err := parseBatch(raw[i+k:]); err == nil {
			return b, n, nil
		}
		i += k + 1
	}
}

func parseBatch(raw []byte) ([]journalItem, int, error) {
	if len(raw) < journalHeaderLen {
		return nil, 0, io.ErrUnexpectedEOF
	}
	if string(raw[:4]) != journalMagic {
		return nil, 0, errors.New("bad magic")
	}
	first := binary.BigEndian.Uint64(raw[4:])
	count := binary.BigEndian.Uint32(raw[12:])
	plen := binary.BigEndian.Uint32(raw[16:])
	sum := binary.BigEndian.Uint32(raw[20:])
	if uint64(len(raw)-journalHeaderLen) < uint64(plen) {
		return nil, 0, io.ErrUnexpectedEOF
	}
	payload := raw[journalHeaderLen : journalHeaderLen+int(plen)]
	if crc32.Checksum(payload, crc32c) != sum {
		return nil, 0, errors.New("checksum mismatch")
	}
	items := make([]journalItem, 0, count)
	for p := 0; uint32(len(items)) < count; {
		if len(payload)-p < 4 {
			return nil, 0, errors.New("entry count exceeds payload")
		}
		n := int(binary.BigEndian.Uint32(payload[p:]))
		p += 4
		if len(payload)-p < n {
			return nil, 0, errors.New("entry length exceeds payload")
		}
		items = append(items, journalItem{index: first + uint64(len(items)), entry: tessera.NewEntry(bytes.Clone(payload[p : p+n]))})
		p += n
	}
	return items, journalHeaderLen + int(plen), nil
}

// submit queues an append; false if the journal is closed.
func (j *journal) submit(p *pendingAppend) error {
	if errp := j.failed.Load(); errp != nil {
		return refused(RefusedStorageFailed, *errp)
	}
	// Fail closed while the tree cannot be written: what is journaled is
	// durable and will reach the tree, but no more decisions are taken on
	// the strength of a log that is not growing.
	if lag := j.lagErr.Load(); lag != nil {
		return refused(RefusedStorageFailing, fmt.Errorf("%w: the log's storage is failing (records journaled so far are kept and retried): %w", ErrUnavailable, *lag))
	}
	// Backpressure: past maxOutstanding entries awaiting integration, wait
	// for the tree to catch up (as long as the caller waits).
	for {
		j.intMu.Lock()
		ch := j.integratedCh
		j.intMu.Unlock()
		out := j.next.Load() - j.integrated.Load()
		if out < j.maxOutstanding {
			break
		}
		select {
		case <-ch:
		case <-p.ctx.Done():
			return refused(RefusedBacklog, fmt.Errorf("%w: %d entries await integration into the log (limit %d): %w", ErrUnavailable, out, j.maxOutstanding, p.ctx.Err()))
		}
		if errp := j.failed.Load(); errp != nil {
			return refused(RefusedStorageFailed, *errp)
		}
	}
	if !j.queue.push(p) {
		return refused(RefusedClosed, fmt.Errorf("%w: log is closed", ErrUnavailable))
	}
	return nil
}

// run is the writer: it forms a batch of whatever is pending when the
// previous batch is durable (group commit), writes and fdatasyncs it, answers
// its appends with their indices, and hands it to the integrator.
func (j *journal) run() {
	defer close(j.done)
	defer j.closeIntegration()
	var buf bytes.Buffer
	j.queue.groups(func(group []*pendingAppend) { j.writeBatch(&buf, group) })
}

func (j *journal) writeBatch(buf *bytes.Buffer, group []*pendingAppend) {
	fail := func(err error) {
		for _, p := range group {
			p.result <- appendResult{err: err}
		}
	}
	if errp := j.failed.Load(); errp != nil {
		fail(refused(RefusedStorageFailed, *errp))
		return
	}
	first := j.next.Load()
	buf.Reset()
	buf.Write(make([]byte, journalHeaderLen))
	var lenBuf [4]byte
	for _, p := range group {
		b := p.entry.Data()
		binary.BigEndian.PutUint32(lenBuf[:], uint32(len(b)))
		buf.Write(lenBuf[:])
		buf.Write(b)
	}
	raw := buf.Bytes()
	payload := raw[journalHeaderLen:]
	copy(raw, journalMagic)
	binary.BigEndian.PutUint64(raw[4:], first)
	binary.BigEndian.PutUint32(raw[12:], uint32(len(group)))
	binary.BigEndian.PutUint32(raw[16:], uint32(len(payload)))
	binary.BigEndian.PutUint32(raw[20:], crc32.Checksum(payload, crc32c))
	j.fileMu.Lock()
	_, err := j.f.WriteAt(raw, j.size)
	if err == nil {
		j.size += int64(len(raw))
		j.wakeFill()
	}
	j.fileMu.Unlock()
	if err != nil {
		j.fail(fmt.Errorf("journal write: %w", err))
		fail(refused(RefusedStorageFailed, *j.failed.Load()))
		return
	}
	syncStart := time.Now()
	err = unix.Fdatasync(int(j.f.Fd()))
	if j.fsyncSeconds != nil {
		j.fsyncSeconds.Observe(time.Since(syncStart).Seconds())
	}
	if err != nil {
		// After a failed fsync the file's state is unknown: stop.
		j.fail(fmt.Errorf("journal fdatasync: %w", err))
		fail(refused(RefusedStorageFailed, *j.failed.Load()))
		return
	}
	items := make([]journalItem, len(group))
	for i, p := range group {
		items[i] = journalItem{index: first + uint64(i), entry: p.entry}
	}
	// Before any answer: a reader given an index must find it sequenced.
	j.next.Store(first + uint64(len(group)))
	for i, p := range group {
		p.result <- appendResult{idx: tessera.Index{Index: first + uint64(i)}}
	}
	j.queueIntegration(items)
	// Let the appends just answered run before the next fdatasync. Each
	// answer readies its caller on this goroutine's P; a goroutine in a
	// blocking syscall keeps its P until sysmon takes it back (20 us to
	// 10 ms), so under load the callers of one group waited out the next
	// group's fdatasync, and the writer saw groups of one: at 64 concurrent
	// placements the server used 1.2 of 2 cores. With the yield, groups grow
	// (median 1 -> 7) and saturation throughput rose from 2,395 to
	// 3,180-3,450 decisions/s (BENCHMARKS.md, session 4).
	runtime.Gosched()
	if j.size >= journalSegmentSize {
		if err := j.openSegment(first + uint64(len(group))); err != nil {
			j.fail(err)
		}
	}
}

// integrate hands journaled batches to Tessera in order and checks where
// each entry lands. When the tree cannot be written (a full disk, a broken
// directory), it retries the same entries with backoff: they are durable in
// the journal, new appends are refused until it succeeds, and Ready reports
// the failure meanwhile. An entry landing at another index than
// the journal gave it is fatal.
func (j *journal) queueIntegration(items []journalItem) {
	j.intMu2.Lock()
	j.intQueue = append(j.intQueue, items...)
	j.intMu2.Unlock()
	select {
	case j.intWake <- struct{}{}:
	default:
	}
}

func (j *journal) closeIntegration() {
	j.intMu2.Lock()
	j.intClosed = true
	j.intMu2.Unlock()
	select {
	case j.intWake <- struct{}{}:
	default:
	}
}

// nextForIntegration waits for queued entries and takes them all; nil once
// the writer has stopped and everything was taken.
func (j *journal) nextForIntegration() []journalItem {
	for {
		j.intMu2.Lock()
		items, closed := j.intQueue, j.intClosed
		j.intQueue = nil
		j.intMu2.Unlock()
		if len(items) > 0 {
			return items
		}
		if closed {
			return nil
		}
		<-j.intWake
	}
}

// gather adds what is queued for integration to items until there is a
// chunk, journalGather has passed, or the journal is closing.
func (j *journal) gather(items []journalItem) []journalItem {
	deadline := time.Now().Add(journalGather)
	for len(items) < j.chunk {
		d := time.Until(deadline)
		if d <= 0 {
			break
		}
		t := time.NewTimer(d)
		select {
		case <-j.intWake:
		case <-t.C:
		}
		t.Stop()
		j.intMu2.Lock()
		items = append(items, j.intQueue...)
		j.intQueue = nil
		closed := j.intClosed
		j.intMu2.Unlock()
		if closed {
			break
		}
	}
	return items
}

func (j *journal) integrate() {
	defer close(j.intDone)
	for {
		items := j.nextForIntegration()
		if items == nil {
			return
		}
		items = j.gather(items)
		backoff := 50 * time.Millisecond
		retrying := false
		for len(items) > 0 && j.failed.Load() == nil {
			batch := items
			if retrying {
				batch = items[:1]
			}
			n, err := j.integrateItems(context.Background(), batch, j.chunk)
			items = items[n:]
			j.dropIntegrated(j.integrated.Load())
			if err == nil && retrying && len(items) > 0 {
				// The storage took an entry again: the rest in chunks.
				retrying = false
				continue
			}
			if err == nil {
				j.lagErr.Store(nil)
				break
			}
			if errors.Is(err, errMisplaced) {
				j.markFailed(err)
				j.fail(err)
				break
			}
			j.lagErr.Store(&err)
			// Retry one entry at a time until one lands: a chunk split
			// between two of Tessera's batches, whose first part fails
			// and whose second part is sequenced once the storage heals,
			// would put the second part at the first part's indices
			// (errMisplaced, which stops the log). A single entry cannot
			// be split. Chunks resume once one entry lands.
			retrying = true
			j.logger.Error("audit journal: integration into the log failed; retrying", "from", items[0].index, "pending", len(items), "err", err)
			if j.isClosed() && backoff >= 5*time.Second {
				j.fail(fmt.Errorf("closing with entries not integrated: %w", err))
				break
			}
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

var errMisplaced = errors.New("journaled entry landed at another index: another writer appends to this log")

// integrateItems adds items to the tree in order, returning how many were
// integrated before an error.
//
// Tessera's queue hands a batch to its sequencer from whichever goroutine
// closed it: the adder when the batch is full, a timer goroutine when it is
// old. Two batches in flight at once can reach the sequencer out of order:
// seen here with 1,024 entries added at once (entry 1646 landing at 2158), and
// again, rarely, under heavy load when full batches were pipelined (entry
// 421702 at 421746: a batch split by its timer while being added). So the
// integrator adds one chunk (at most a batch) to an empty queue and waits for
// all of it before adding more. A chunk split by its timer (its add loop
// taking longer than journalBatchAge) is still sequenced in order unless the
// first part's timer goroutine stalls longer than journalBatchAge before
// handing it over; that remaining case is caught (errMisplaced) and stops the
// log rather than answer with a wrong index.
//
// It holds handMu throughout: Ready's checkTree opens and closes the tree
// state's lock file, which would drop the driver's fcntl lock on it (POSIX
// locks belong to the process, and any close releases them) while a batch
// is being sequenced.
func (j *journal) integrateItems(ctx context.Context, items []journalItem, size int) (int, error) {
	j.handMu.Lock()
	defer j.handMu.Unlock()
	done := 0
	for len(items) > 0 {
		chunk := items[:min(len(items), size)]
		items = items[len(chunk):]
		futures := make([]tessera.IndexFuture, len(chunk))
		for i, it := range chunk {
			futures[i] = j.add(ctx, it.entry)
		}
		var firstErr error
		for i, f := range futures {
			idx, err := f()
			if firstErr != nil {
				if err == nil && !errors.Is(firstErr, errMisplaced) {
					// A later part of the chunk was sequenced after an
					// earlier part failed: it sits at the earlier part's
					// indices, and a retry would add it twice.
					firstErr = fmt.Errorf("%w: entry %d was sequenced at %d after an earlier entry of its batch failed (%v)", errMisplaced, chunk[i].index, idx.Index, firstErr)
				}
				continue
			}
			if err != nil {
				firstErr = fmt.Errorf("integrate journaled entry %d: %w", chunk[i].index, err)
				continue
			}
			if idx.Index != chunk[i].index {
				firstErr = fmt.Errorf("%w: entry %d landed at %d", errMisplaced, chunk[i].index, idx.Index)
				continue
			}
			j.setIntegrated(chunk[i].index + 1)
			done++
		}
		if firstErr != nil {
			return done, firstErr
		}
	}
	return done, nil
}

// checkIdle runs checkTree unless a hand-over is in progress (which reports
// its own failures): Ready's view of a log nobody is writing to.
func (j *journal) checkIdle() error {
	if j.checkTree == nil || !j.handMu.TryLock() {
		return nil
	}
	defer j.handMu.Unlock()
	return j.checkTree()
}

func (j *journal) isClosed() bool { return j.queue.isClosed() }

func (j *journal) setIntegrated(n uint64) {
	j.integrated.Store(n)
	j.intMu.Lock()
	close(j.integratedCh)
	j.integratedCh = make(chan struct{})
	j.intMu.Unlock()
}

// awaitIntegrated waits until the tree holds n entries.
func (j *journal) awaitIntegrated(ctx context.Context, n uint64) error {
	for {
		j.intMu.Lock()
		ch := j.integratedCh
		j.intMu.Unlock()
		if j.integrated.Load() >= n {
			return nil
		}
		if errp := j.failed.Load(); errp != nil {
			return *errp
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (j *journal) fail(err error) {
	if !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if j.failed.CompareAndSwap(nil, &err) {
		j.logger.Error("audit journal failed: the log takes no more records", "err", err)
		j.intMu.Lock()
		close(j.integratedCh)
		j.integratedCh = make(chan struct{})
		j.intMu.Unlock()
	}
}

// close stops taking appends, writes and integrates what is queued, and
// closes the file.
func (j *journal) close(ctx context.Context) error {
	j.queue.close()
	j.stopFill.Do(func() { close(j.fillStop) })
	// Out of time: what is journaled is durable and replayed at the next
	// start (a zero chunk still syncing is not needed by anything answered).
	abandon := func(what string) error {
		j.closeFiles()
		j.lock.Close()
		return fmt.Errorf("journal: %s: %w", what, ctx.Err())
	}
	for _, stage := range []struct {
		done <-chan struct{}
		what string
	}{{j.done, "appends still queued"}, {j.intDone, "entries still integrating"}, {j.fillDone, "zero filling still syncing"}} {
		select {
		case <-stage.done:
		case <-ctx.Done():
			return abandon(stage.what)
		}
	}
	defer j.lock.Close()
	if errp := j.failed.Load(); errp != nil {
		j.closeFiles()
		return *errp
	}
	if err := j.closeFiles(); err != nil {
		return err
	}
	// Everything is in the tree: a clean stop leaves no journal behind.
	names, err := j.segments()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := os.Remove(name); err != nil {
			return err
		}
	}
	return syncDir(j.dir)
}
