package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// breakTreeStateLock makes the POSIX driver's lock file unopenable for
// writing (a directory in its place: EISDIR, which root cannot override as
// it does permission bits), the fault that made Tessera panic in its own
// goroutine; the returned func repairs it.
func breakTreeStateLock(t *testing.T, logDir string) func() {
	t.Helper()
	p := filepath.Join(logDir, tesseraStateDir, tesseraStateLock)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// A tree state the POSIX driver cannot lock (issue #19 item 5: a read-only
// log/.state panicked the server after one decision, in Tessera's queue
// goroutine) is an error: the decision already journaled is kept and
// integrated after the repair, new appends get ErrUnavailable and Ready says
// why meanwhile, and the process lives on. With upstream's driver this test
// binary dies in that panic.
func TestTreeStateFaultIsAnErrorNotACrash(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	appendN(t, l, 1, 1)
	waitPublished(t, l, 1)

	repair := breakTreeStateLock(t, l.Dir())
	// Idle: no decision has met the fault yet, but Ready finds it.
	time.Sleep(1100 * time.Millisecond) // Ready caches its answer for a second
	if err := l.Ready(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tesseraStateLock) {
		t.Fatalf("Ready with the tree state unlockable = %v, want ErrUnavailable naming %s", err, tesseraStateLock)
	}
	// Durable in the journal, so answered; its integration then fails.
	rec, err := l.Append(context.Background(), testRecord(1))
	if err != nil || rec.Index != 1 {
		t.Fatalf("Append = %+v, %v; want index 1 from the journal", rec, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = l.Append(context.Background(), testRecord(2))
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tesseraStateLock) {
		t.Fatalf("Append while the tree state cannot be locked = %v, want ErrUnavailable naming %s", err, tesseraStateLock)
	}

	repair()
	deadline = time.Now().Add(15 * time.Second)
	for {
		rec, err = l.Append(context.Background(), testRecord(3))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Append after the repair: %v", err)
	}
	waitPublished(t, l, rec.Index+1)
	time.Sleep(1100 * time.Millisecond)
	if err := l.Ready(); err != nil {
		t.Errorf("Ready after the repair = %v", err)
	}
	closeTest(t, l)
	if s := verifyTest(t, dir); s.TreeSize != rec.Index+1 {
		t.Errorf("verified %d entries, want %d", s.TreeSize, rec.Index+1)
	}
}

// Opening a log whose tree state cannot be locked is refused with the reason
// (Tessera's initialisation would otherwise panic in Open).
func TestOpenWithUnlockableTreeState(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	appendN(t, l, 1, 1)
	closeTest(t, l)
	repair := breakTreeStateLock(t, filepath.Join(dir, LogDir))
	if _, err := Open(context.Background(), Options{DataDir: dir}); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tesseraStateLock) {
		t.Fatalf("Open = %v, want ErrUnavailable naming %s", err, tesseraStateLock)
	}
	repair()
	l = openTest(t, dir)
	closeTest(t, l)
}
