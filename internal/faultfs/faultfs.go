// Package faultfs mounts a directory through FUSE with storage faults that a
// test switches on and off: a file system gone read-only, fsync failing with
// EIO, fsync slower than a deadline, writes refused for want of space. The
// fault-injection tests of the audit path (cmd/sovereign) run a real server
// on such a mount, so its own syscalls, and Tessera's, meet the faults.
//
// It needs FUSE: /dev/fuse and the right to mount (root mounts directly;
// otherwise fusermount3 or fusermount must be installed).
package faultfs

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Faults are the faults in force. The zero value is none.
type Faults struct {
	// ReadOnly refuses every change with EROFS, as ext4 does once it has
	// remounted itself read-only after an I/O error: opening for writing,
	// creating, writing, syncing, renaming, removing, changing attributes.
	ReadOnly bool
	// FsyncErr, when set, is what fsync and fdatasync return (EIO).
	FsyncErr syscall.Errno
	// FsyncDelay delays every fsync and fdatasync.
	FsyncDelay time.Duration
	// NoSpace refuses writes and creations with ENOSPC.
	NoSpace bool
	// Under, when set, limits the faults to paths under it (relative to the
	// mount point, such as "log" or "journal").
	Under string
}

// FS is a mounted fault-injecting file system.
type FS struct {
	// Dir is the mount point: use paths under it.
	Dir     string
	backing string
	server  *fuse.Server
	mu      sync.Mutex
	faults  Faults
}

// Mount mounts backing (an existing directory, which keeps the files) at
// mountPoint, with no faults in force.
func Mount(backing, mountPoint string) (*FS, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		return nil, fmt.Errorf("faultfs: %w", err)
	}
	f := &FS{Dir: mountPoint, backing: backing}
	root := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev)}
	root.RootNode = &node{LoopbackNode: &fs.LoopbackNode{RootData: root}, fs: f}
	opts := &fs.Options{MountOptions: fuse.MountOptions{
		FsName: "faultfs", Name: "faultfs",
		// As root, mount(2) directly: fusermount is often missing.
		DirectMount: os.Geteuid() == 0,
		// Every write and sync reaches this process, where the faults are.
		DisableXAttrs: true,
	}}
	// No attribute or entry caching: a fault switched on applies at once.
	zero := time.Duration(0)
	opts.AttrTimeout, opts.EntryTimeout, opts.NegativeTimeout = &zero, &zero, &zero
	server, err := fs.Mount(mountPoint, root.RootNode, opts)
	if err != nil {
		return nil, fmt.Errorf("faultfs: mount %s: %w", mountPoint, err)
	}
	f.server = server
	return f, nil
}

// Set replaces the faults in force.
func (f *FS) Set(faults Faults) {
	f.mu.Lock()
	f.faults = faults
	f.mu.Unlock()
}

// Unmount unmounts the file system (lazily if it is busy).
func (f *FS) Unmount() error {
	err := f.server.Unmount()
	if err != nil {
		// A process killed with files open may keep the mount busy.
		if lerr := syscall.Unmount(f.Dir, syscall.MNT_DETACH); lerr == nil {
			return nil
		}
	}
	return err
}

// fault returns the errno an operation of the kind on path meets (0: none),
// after any delay.
func (f *FS) fault(kind op, path string) syscall.Errno {
	f.mu.Lock()
	ft := f.faults
	f.mu.Unlock()
	if ft.Under != "" && path != ft.Under && !strings.HasPrefix(path, strings.TrimSuffix(ft.Under, "/")+"/") {
		return 0
	}
	switch kind {
	case opSync:
		if ft.FsyncDelay > 0 {
			time.Sleep(ft.FsyncDelay)
		}
		if ft.ReadOnly {
			return syscall.EROFS
		}
		return ft.FsyncErr
	case opWrite:
		if ft.ReadOnly {
			return syscall.EROFS
		}
		if ft.NoSpace {
			return syscall.ENOSPC
		}
	case opChange:
		if ft.ReadOnly {
			return syscall.EROFS
		}
	}
	return 0
}

type op int

const (
	opWrite  op = iota // writing data, creating: EROFS or ENOSPC
	opChange           // renaming, removing, changing attributes: EROFS
	opSync             // fsync, fdatasync
)

// node is a loopback node that asks FS for faults first.
type node struct {
	*fs.LoopbackNode
	fs *FS
}

// WrapChild puts every node the loopback makes behind the faults too.
func (n *node) WrapChild(_ context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	if lb, ok := ops.(*fs.LoopbackNode); ok {
		return &node{LoopbackNode: lb, fs: n.fs}
	}
	return ops
}

func (n *node) path(name string) string {
	p := n.Path(nil)
	if name == "" {
		return p
	}
	if p == "" {
		return name
	}
	return p + "/" + name
}

func writeFlags(flags uint32) bool {
	return flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC) != 0
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if writeFlags(flags) {
		if e := n.fs.fault(opChange, n.path("")); e != 0 {
			return nil, 0, e
		}
	}
	fh, fl, e := n.LoopbackNode.Open(ctx, flags)
	if e != 0 {
		return nil, 0, e
	}
	return n.wrap(fh, n.path("")), fl, 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if e := n.fs.fault(opWrite, n.path(name)); e != 0 {
		return nil, nil, 0, e
	}
	in, fh, fl, e := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if e != 0 {
		return nil, nil, 0, e
	}
	return in, n.wrap(fh, n.path(name)), fl, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if e := n.fs.fault(opWrite, n.path(name)); e != 0 {
		return nil, e
	}
	return n.LoopbackNode.Mkdir(ctx, name, mode, out)
}

func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if e := n.fs.fault(opWrite, n.path(name)); e != 0 {
		return nil, e
	}
	return n.LoopbackNode.Mknod(ctx, name, mode, rdev, out)
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if e := n.fs.fault(opChange, n.path(name)); e != 0 {
		return e
	}
	return n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	if e := n.fs.fault(opChange, n.path(name)); e != 0 {
		return e
	}
	return n.LoopbackNode.Unlink(ctx, name)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	if e := n.fs.fault(opChange, n.path(name)); e != 0 {
		return e
	}
	return n.LoopbackNode.Rmdir(ctx, name)
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if e := n.fs.fault(opChange, n.path("")); e != 0 {
		return e
	}
	if h, ok := f.(*handle); ok {
		f = h.LoopbackFile
	}
	return n.LoopbackNode.Setattr(ctx, f, in, out)
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if e := n.fs.fault(opWrite, n.path(name)); e != 0 {
		return nil, e
	}
	return n.LoopbackNode.Symlink(ctx, target, name, out)
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if e := n.fs.fault(opWrite, n.path(name)); e != 0 {
		return nil, e
	}
	return n.LoopbackNode.Link(ctx, target, name, out)
}

// wrap puts an open file's handle behind the faults.
func (n *node) wrap(fh fs.FileHandle, path string) fs.FileHandle {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return fh
	}
	return &handle{LoopbackFile: lf, fs: n.fs, path: path}
}

// handle is an open file whose writes and syncs meet the faults.
type handle struct {
	*fs.LoopbackFile
	fs   *FS
	path string
}

// PassthroughFd says no: with FUSE passthrough the kernel would read and
// write the backing file itself, past the faults.
func (h *handle) PassthroughFd() (int, bool) { return -1, false }

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if e := h.fs.fault(opWrite, h.path); e != 0 {
		return 0, e
	}
	return h.LoopbackFile.Write(ctx, data, off)
}

func (h *handle) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	if e := h.fs.fault(opWrite, h.path); e != 0 {
		return 0, e
	}
	return h.LoopbackFile.Writev(ctx, data, off)
}

func (h *handle) Allocate(ctx context.Context, off uint64, size uint64, mode uint32) syscall.Errno {
	if e := h.fs.fault(opWrite, h.path); e != 0 {
		return e
	}
	return h.LoopbackFile.Allocate(ctx, off, size, mode)
}

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if e := h.fs.fault(opSync, h.path); e != 0 {
		return e
	}
	return h.LoopbackFile.Fsync(ctx, flags)
}

func (h *handle) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if e := h.fs.fault(opChange, h.path); e != 0 {
		return e
	}
	return h.LoopbackFile.Setattr(ctx, in, out)
}

// MountForTest mounts backing at mountPoint for t, unmounting at cleanup; it
// reports whether FUSE could be used, with the reason when not.
func MountForTest(t interface {
	Helper()
	Cleanup(func())
	Logf(string, ...any)
}, backing, mountPoint string) (*FS, error) {
	t.Helper()
	f, err := Mount(backing, mountPoint)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := f.Unmount(); err != nil {
			t.Logf("faultfs: unmount %s: %v", mountPoint, err)
		}
	})
	return f, nil
}
