package faultfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/internal/testenv"
)

func mountTest(t *testing.T) *FS {
	t.Helper()
	backing, mnt := t.TempDir(), t.TempDir()
	f, err := MountForTest(t, backing, mnt)
	testenv.Need(t, err == nil, "FUSE (/dev/fuse, and root or fusermount3): "+errString(err))
	return f
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Each fault does what the real one does, only where it is set, and only
// while it is set.
func TestFaults(t *testing.T) {
	f := mountTest(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(f.Dir, "log"), 0o755))
	must(os.MkdirAll(filepath.Join(f.Dir, "journal"), 0o755))
	p := filepath.Join(f.Dir, "log", "a")
	must(os.WriteFile(p, []byte("x"), 0o644))

	f.Set(Faults{ReadOnly: true, Under: "log"})
	if _, err := os.OpenFile(p, os.O_RDWR, 0); !errors.Is(err, syscall.EROFS) {
		t.Errorf("open for writing on a read-only log: %v", err)
	}
	if err := os.WriteFile(filepath.Join(f.Dir, "log", "b"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("create on a read-only log: %v", err)
	}
	if err := os.WriteFile(filepath.Join(f.Dir, "journal", "b"), []byte("y"), 0o644); err != nil {
		t.Errorf("a fault under log reached journal: %v", err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "x" {
		t.Errorf("read on a read-only log: %q %v", b, err)
	}

	f.Set(Faults{FsyncErr: syscall.EIO})
	h, err := os.OpenFile(p, os.O_RDWR, 0)
	must(err)
	if _, err := h.Write([]byte("z")); err != nil {
		t.Errorf("write with fsync failing: %v", err)
	}
	if err := syscall.Fdatasync(int(h.Fd())); !errors.Is(err, syscall.EIO) {
		t.Errorf("fdatasync: %v, want EIO", err)
	}
	f.Set(Faults{FsyncDelay: 300 * time.Millisecond})
	start := time.Now()
	must(h.Sync())
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("fsync took %v with a 300ms delay", d)
	}
	f.Set(Faults{NoSpace: true})
	if _, err := h.Write([]byte("z")); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("write on a full disk: %v", err)
	}
	f.Set(Faults{})
	if _, err := h.Write([]byte("z")); err != nil {
		t.Errorf("write with no fault: %v", err)
	}
	must(h.Close())
}
