package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
)

// sealN signs n records with l's key without appending them.
func sealN(t *testing.T, l *Log, from, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := from; i < from+n; i++ {
		r := testRecord(i)
		if err := r.prepare(time.Now(), nil, nil); err != nil {
			t.Fatal(err)
		}
		e, err := l.sealer.seal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// batchBytes is one journal batch as the writer lays it out.
func batchBytes(first uint64, entries [][]byte) []byte {
	var payload bytes.Buffer
	for _, e := range entries {
		binary.Write(&payload, binary.BigEndian, uint32(len(e)))
		payload.Write(e)
	}
	h := make([]byte, journalHeaderLen)
	copy(h, journalMagic)
	binary.BigEndian.PutUint64(h[4:], first)
	binary.BigEndian.PutUint32(h[12:], uint32(len(entries)))
	binary.BigEndian.PutUint32(h[16:], uint32(payload.Len()))
	binary.BigEndian.PutUint32(h[20:], crc32.Checksum(payload.Bytes(), crc32c))
	return append(h, payload.Bytes()...)
}

func verifyTest(t *testing.T, dir string) Summary {
	t.Helper()
	pubs, v := auditorKeys(t, dir)
	src, err := NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := VerifyLog(context.Background(), src, pubs, v, nil)
	if err != nil {
		t.Fatalf("VerifyLog: %v", err)
	}
	return res
}

// TestJournalReplay: entries journaled but not integrated when the process
// died are integrated at their journaled indices on the next Open, before
// any new append; a torn last batch (never fdatasync'd, never answered) is
// dropped.
func TestJournalReplay(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	appendN(t, l, 5, 1)
	pending := sealN(t, l, 5, 7)
	closeTest(t, l)

	// What a crash leaves: two fdatasync'd batches and a torn third one.
	seg := batchBytes(5, pending[:3])
	seg = append(seg, batchBytes(8, pending[3:6])...)
	torn := batchBytes(11, pending[6:])
	seg = append(seg, torn[:len(torn)-10]...)
	if err := os.WriteFile(filepath.Join(dir, JournalDir, "00000000000000000005.wal"), seg, 0o600); err != nil {
		t.Fatal(err)
	}

	l = openTest(t, dir)
	if n, err := l.Size(context.Background()); err != nil || n != 11 {
		t.Fatalf("size after replay = %d, %v; want 11 (5 + 6 replayed, the torn batch dropped)", n, err)
	}
	for i := 5; i < 11; i++ {
		e, err := l.Entry(context.Background(), uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Entry, pending[i-5]) {
			t.Errorf("entry %d is not the journaled one", i)
		}
	}
	if rec, err := l.Append(context.Background(), testRecord(99)); err != nil || rec.Index != 11 {
		t.Errorf("first append after replay = %+v, %v; want index 11", rec, err)
	}
	closeTest(t, l)
	if res := verifyTest(t, dir); res.TreeSize != 12 {
		t.Errorf("verified %d records, want 12", res.TreeSize)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, JournalDir, "*.wal")); len(names) != 0 {
		t.Errorf("a clean stop left journal segments: %v", names)
	}
}

// TestJournalRefusesDamage: a journal that would lose answered records is
// not silently repaired: damage before a valid batch, a gap between the
// tree and the journal, and a second server on the same data directory.
func TestJournalRefusesDamage(t *testing.T) {
	newLog := func(t *testing.T) (string, [][]byte) {
		dir := t.TempDir()
		l := openTest(t, dir)
		appendN(t, l, 2, 1)
		pending := sealN(t, l, 2, 4)
		closeTest(t, l)
		return dir, pending
	}
	cases := map[string]func(pending [][]byte) []byte{
		"damaged batch before a valid one": func(p [][]byte) []byte {
			b1 := batchBytes(2, p[:2])
			b1[len(b1)-3] ^= 0xff
			return append(b1, batchBytes(4, p[2:])...)
		},
		"gap after the tree": func(p [][]byte) []byte { return batchBytes(3, p[:2]) },
		"batches out of order": func(p [][]byte) []byte {
			return append(batchBytes(2, p[:2]), batchBytes(5, p[2:])...)
		},
	}
	for name, seg := range cases {
		t.Run(name, func(t *testing.T) {
			dir, pending := newLog(t)
			if err := os.WriteFile(filepath.Join(dir, JournalDir, "00000000000000000002.wal"), seg(pending), 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := Open(context.Background(), Options{DataDir: dir})
			if err == nil {
				l.Close(context.Background())
				t.Fatal("Open accepted a damaged journal")
			}
			if !strings.Contains(err.Error(), "journal") {
				t.Errorf("error %v does not name the journal", err)
			}
			t.Log(err)
		})
	}

	t.Run("second server", func(t *testing.T) {
		dir := t.TempDir()
		l := openTest(t, dir)
		defer closeTest(t, l)
		if l2, err := Open(context.Background(), Options{DataDir: dir}); err == nil {
			l2.Close(context.Background())
			t.Fatal("a second Open of one data directory succeeded")
		} else if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "locked") {
			t.Errorf("second Open: %v", err)
		}
	})
}

// TestJournalSegments: the journal rolls over to new segments and deletes
// the ones the tree holds, under concurrent appends; the log verifies.
func TestJournalSegments(t *testing.T) {
	old := journalSegmentSize
	journalSegmentSize = 8 << 10
	defer func() { journalSegmentSize = old }()
	dir := t.TempDir()
	l := openTest(t, dir)
	appendN(t, l, 600, 16)
	waitPublished(t, l, 600)
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.journal.segMu.Lock()
		sealed := len(l.journal.sealed)
		l.journal.segMu.Unlock()
		if sealed == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	names, _ := filepath.Glob(filepath.Join(dir, JournalDir, "*.wal"))
	if len(names) != 1 {
		t.Errorf("%d segments left after everything was integrated, want the open one: %v", len(names), names)
	}
	closeTest(t, l)
	if res := verifyTest(t, dir); res.TreeSize != 600 {
		t.Errorf("verified %d records, want 600", res.TreeSize)
	}
}

// TestJournalMisplacedEntryIsFatal: if an entry lands at another index than
// the journal gave it (another writer on the same tree), the log stops
// taking records instead of answering with wrong indices.
func TestJournalMisplacedEntryIsFatal(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	defer l.Close(context.Background())
	appendN(t, l, 1, 1)
	// Another writer slips an entry into the tree behind the journal's back.
	if _, err := l.appender.Add(context.Background(), tessera.NewEntry(sealN(t, l, 50, 1)[0]))(); err != nil {
		t.Fatal(err)
	}
	l.Append(context.Background(), testRecord(2)) // journaled at 1, lands at 2
	deadline := time.Now().Add(5 * time.Second)
	for l.journal.failed.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := l.Append(context.Background(), testRecord(3)); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "another writer") {
		t.Errorf("Append after a misplaced entry = %v, want a refusal naming the cause", err)
	}
}

// TestJournalRestartStates: states a crash can leave, found in review.
func TestJournalRestartStates(t *testing.T) {
	ctx := context.Background()
	newLog := func(t *testing.T, n int) (string, [][]byte) {
		dir := t.TempDir()
		l := openTest(t, dir)
		appendN(t, l, n, 1)
		pending := sealN(t, l, n, 4)
		closeTest(t, l)
		return dir, pending
	}
	seg := func(dir string, first uint64) string {
		return filepath.Join(dir, JournalDir, fmt.Sprintf("%020d.wal", first))
	}

	t.Run("killed before the first append", func(t *testing.T) {
		// The segment a new journal opened is empty and has the name the
		// next one gets: the new one must not be deleted under the writer.
		dir, _ := newLog(t, 3)
		if err := os.WriteFile(seg(dir, 3), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		l := openTest(t, dir)
		if _, err := l.Append(ctx, testRecord(9)); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(l.journal.f.Name()); err != nil || fi.Size() == 0 {
			t.Fatalf("the journal writes to %s: %v, %v; want a file on disk holding the batch", l.journal.f.Name(), fi, err)
		}
		closeTest(t, l)
	})

	t.Run("torn tail before an empty segment", func(t *testing.T) {
		// Killed after replaying a torn segment and opening the next one,
		// before deleting the old: the torn tail is still the last written.
		dir, pending := newLog(t, 3)
		b := batchBytes(3, pending[:2])
		torn := batchBytes(5, pending[2:])
		if err := os.WriteFile(seg(dir, 3), append(b, torn[:len(torn)/2]...), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(seg(dir, 5), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		l := openTest(t, dir)
		if n, _ := l.Size(ctx); n != 5 {
			t.Errorf("size %d, want 5", n)
		}
		closeTest(t, l)
	})

	t.Run("journal and tree disagree", func(t *testing.T) {
		// The journal answered entry 1 with bytes the tree does not hold
		// there: the log stops, and stays stopped across restarts.
		dir, pending := newLog(t, 3)
		if err := os.WriteFile(seg(dir, 1), batchBytes(1, pending[:1]), 0o600); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			l, err := Open(ctx, Options{DataDir: dir, Origin: "sovereign/test"})
			if err == nil {
				l.Close(ctx)
				t.Fatal("Open accepted a journal that disagrees with the log")
			}
			if !strings.Contains(err.Error(), "another entry there") && !strings.Contains(err.Error(), journalFailedFile) {
				t.Errorf("error %v", err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, JournalDir, journalFailedFile)); err != nil {
			t.Errorf("no failure marker: %v", err)
		}
	})

	t.Run("no journal while it holds entries", func(t *testing.T) {
		dir, pending := newLog(t, 3)
		if err := os.WriteFile(seg(dir, 3), batchBytes(3, pending[:2]), 0o600); err != nil {
			t.Fatal(err)
		}
		if l, err := Open(ctx, Options{DataDir: dir, Origin: "sovereign/test", NoJournal: true}); err == nil {
			l.Close(ctx)
			t.Fatal("NoJournal opened over journaled entries, which would reuse their indices")
		}
		l := openTest(t, dir) // the journal replays them
		if n, _ := l.Size(ctx); n != 5 {
			t.Errorf("size %d after replay, want 5", n)
		}
		closeTest(t, l)
	})
}

// TestJournalZeroFill: with the segment zero-filled ahead of the writer
// under concurrent appends, no batch is written over, the segment on disk
// (batches, then zeros) reads back to exactly the answered entries, whether
// read as the last segment or as a sealed one, and the log verifies.
func TestJournalZeroFill(t *testing.T) {
	defer func(seg, start, chunk, lead int64) {
		journalSegmentSize, zeroStart, zeroChunk, zeroLead = seg, start, chunk, lead
	}(journalSegmentSize, zeroStart, zeroChunk, zeroLead)
	journalSegmentSize, zeroStart, zeroChunk, zeroLead = 256<<10, 0, 4<<10, 16<<10

	dir := t.TempDir()
	l := openTest(t, dir)
	const n = 400
	appendN(t, l, n, 16)
	j := l.journal
	j.fileMu.Lock()
	size, zeroed, name := j.size, j.zeroed, j.f.Name()
	j.fileMu.Unlock()
	if zeroed <= size {
		// The filler may be one chunk behind; give it a moment.
		time.Sleep(200 * time.Millisecond)
		j.fileMu.Lock()
		size, zeroed = j.size, j.zeroed
		j.fileMu.Unlock()
	}
	if zeroed <= size {
		t.Fatalf("segment zero-filled to %d, the writer is at %d: nothing ahead", zeroed, size)
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(raw)) < zeroed || !allZero(raw[size:]) {
		t.Fatalf("segment of %d bytes: want batches to %d and zeros to at least %d", len(raw), size, zeroed)
	}
	// Every batch was synced before its answer, so every segment on disk,
	// the open one too, reads strictly (as a sealed one), ending in zeros,
	// and together they hold a contiguous run of entries ending at n-1.
	segments, _ := filepath.Glob(filepath.Join(dir, JournalDir, "*.wal"))
	var all []journalItem
	for _, s := range segments {
		raw, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		items, dropped, err := parseJournal(raw, false)
		if err != nil || dropped != 0 {
			t.Fatalf("segment %s: %d bytes dropped, %v", s, dropped, err)
		}
		all = append(all, items...)
	}
	if len(all) == 0 || all[len(all)-1].index != n-1 {
		t.Fatalf("the journal holds %d entries, the last not %d", len(all), n-1)
	}
	for i := 1; i < len(all); i++ {
		if all[i].index != all[i-1].index+1 {
			t.Fatalf("entry %d follows %d", all[i].index, all[i-1].index)
		}
	}
	closeTest(t, l)
	if res := verifyTest(t, dir); res.TreeSize != n {
		t.Errorf("verified %d records, want %d", res.TreeSize, n)
	}
}

// TestParseJournalZeroTail: zeros after the last batch end a segment, sealed
// or not; a torn batch before zeros is still dropped in the last one only.
func TestParseJournalZeroTail(t *testing.T) {
	entries := [][]byte{[]byte("a"), []byte("bb"), []byte("ccc")}
	seg := append(batchBytes(7, entries[:2]), batchBytes(9, entries[2:])...)
	padded := append(bytes.Clone(seg), make([]byte, 4096)...)
	for _, last := range []bool{true, false} {
		items, dropped, err := parseJournal(padded, last)
		if err != nil || dropped != 0 || len(items) != 3 || items[2].index != 9 {
			t.Errorf("last=%v: %d items, %d dropped, %v", last, len(items), dropped, err)
		}
	}
	torn := append(bytes.Clone(seg), batchBytes(10, entries[:1])[:journalHeaderLen+2]...)
	torn = append(torn, make([]byte, 4096)...)
	if items, dropped, err := parseJournal(torn, true); err != nil || len(items) != 3 || dropped == 0 {
		t.Errorf("torn last batch before zeros: %d items, %d dropped, %v", len(items), dropped, err)
	}
	if _, _, err := parseJournal(torn, false); err == nil {
		t.Error("a torn batch in a sealed segment was accepted")
	}
}

// splitTree is a Tessera stand-in that sequences entries in the order their
// futures are resolved, failing the first failures of them: as the POSIX
// driver does when its state directory cannot be locked until it heals, and
// a chunk split between two batches resolves its parts apart.
type splitTree struct {
	mu       sync.Mutex
	failures int
	size     uint64
	calls    int
}

func (s *splitTree) add(_ context.Context, _ *tessera.Entry) tessera.IndexFuture {
	return func() (tessera.Index, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls++
		if s.failures > 0 {
			s.failures--
			return tessera.Index{}, errors.New("lock treeState.lock: permission denied")
		}
		s.size++
		return tessera.Index{Index: s.size - 1}, nil
	}
}

// TestJournalRetriesOneEntryAtATime: after a failed hand-over the journal
// retries one entry until the storage takes one. Retrying the whole chunk
// would let the storage heal between its entries: the first fails, the
// rest are sequenced at the first's indices, and the log stops for good
// (errMisplaced) after a transient fault.
func TestJournalRetriesOneEntryAtATime(t *testing.T) {
	tree := &splitTree{failures: 5} // the first chunk of 4 fails, and one retry
	j, err := openJournal(context.Background(), t.TempDir(), nil, 0, tree.add, nil, 64, 4, 1<<20, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer j.close(context.Background())
	var ps []*pendingAppend
	for i := range 8 {
		p := &pendingAppend{ctx: context.Background(), entry: tessera.NewEntry([]byte(fmt.Sprintf("entry %d", i))), result: make(chan appendResult, 1)}
		if err := j.submit(p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for i, p := range ps {
		if res := <-p.result; res.err != nil || res.idx.Index != uint64(i) {
			t.Fatalf("entry %d journaled at %d, %v", i, res.idx.Index, res.err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j.awaitIntegrated(ctx, 8); err != nil {
		t.Fatalf("not integrated after the storage healed: %v (failed: %v)", err, j.failed.Load())
	}
	if tree.size != 8 {
		t.Errorf("tree size %d, want 8", tree.size)
	}
}
