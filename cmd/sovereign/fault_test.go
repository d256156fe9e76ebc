package main

// The fault-injection suite of the audit path (issue #19): a real server on
// storage that fails as disks and file systems fail. Each test ends as an
// auditor would: every decision that was answered 200 is in the log at the
// index it was answered with, byte for byte, and `audit verify` passes. And
// while the fault lasts the server lives on, answering 503, with /readyz
// false: no fault in storage may crash it.
//
// Faults come from internal/faultfs (FUSE: read-only, EIO on fsync, slow
// fsync), a real tmpfs that fills up (disk full), a real permission flip
// under a server running as an unprivileged user, and SIGKILL.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/internal/faultfs"
	"github.com/sovereign-engine/sovereign/internal/testenv"
)

// lockedBuffer is a bytes.Buffer a running process writes to while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// faultServer is `sovereign serve` under test, and whether it has exited.
type faultServer struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
	exited chan struct{}
	err    error // after exited
}

type faultStart struct {
	binary, inventory, dataDir string
	attr                       *syscall.SysProcAttr
	extra                      []string
}

// startFaultServer starts serve and returns at once (a replay may hold it
// before it listens); waitReady waits for /readyz.
func startFaultServer(t *testing.T, o faultStart) *faultServer {
	t.Helper()
	if o.binary == "" {
		o.binary = binary
	}
	if o.inventory == "" {
		o.inventory = demoInventory
	}
	addr := freeAddr(t)
	args := append([]string{"serve", "--addr", addr, "--inventory", o.inventory, "--data-dir", o.dataDir}, o.extra...)
	cmd := exec.Command(o.binary, args...)
	cmd.SysProcAttr = o.attr
	s := &faultServer{cmd: cmd, addr: addr, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = cmd.Process.Kill()
			<-s.exited
		}
	})
	return s
}

func (s *faultServer) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// waitReady waits until /readyz answers 200, failing t if the server exits
// or d passes.
func (s *faultServer) waitReady(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !s.alive() {
			t.Fatalf("server exited (%v):\n%s", s.err, s.stderr)
		}
		if s.ready() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready after %v:\n%s", d, s.stderr)
}

func (s *faultServer) ready() bool {
	resp, err := http.Get("http://" + s.addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop ends the server with SIGTERM and waits.
func (s *faultServer) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not stop:\n%s", s.stderr)
	}
}

// kill ends the server with SIGKILL and waits.
func (s *faultServer) kill(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// tally is what a load saw.
type tally struct {
	mu       sync.Mutex
	answered []answered
	statuses map[int]int
	refused  int // connection errors
}

func (ty *tally) count(status int) int {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	return ty.statuses[status]
}

// load sends decisions from workers until d passes, adding what it sees to
// ty; every 200 must carry an audit receipt.
func load(t *testing.T, addr string, workers int, d time.Duration, ty *tally) {
	t.Helper()
	ty.mu.Lock()
	if ty.statuses == nil {
		ty.statuses = map[int]int{}
	}
	ty.mu.Unlock()
	bodies := []string{
		`{"dataset": "customer-pii-eu", "operation": "store"}`,
		`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "mechanism": {"kind": "scc", "module": "C2P"}}`,
	}
	client := &http.Client{Timeout: 15 * time.Second}
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				path, body := "/v1/decisions/placement", bodies[0]
				if (w+i)%2 == 1 {
					path, body = "/v1/decisions/transfer", bodies[1]
				}
				resp, err := client.Post("http://"+addr+path, "application/json", strings.NewReader(body))
				if err != nil {
					ty.mu.Lock()
					ty.refused++
					ty.mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					// An answer cut while being sent was never received.
					ty.mu.Lock()
					ty.refused++
					ty.mu.Unlock()
					continue
				}
				ty.mu.Lock()
				ty.statuses[resp.StatusCode]++
				ty.mu.Unlock()
				if resp.StatusCode != http.StatusOK {
					if resp.StatusCode != http.StatusServiceUnavailable {
						t.Errorf("%s: %d %s (want 200, or 503 while the log cannot take the record)", path, resp.StatusCode, b)
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				var a answered
				if err := json.Unmarshal(b, &a); err != nil || a.Audit.EntrySHA256 == "" {
					t.Errorf("a 200 without an audit receipt: %s", b)
					continue
				}
				ty.mu.Lock()
				ty.answered = append(ty.answered, a)
				ty.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// waitUnready waits until /readyz answers 503 while the server stays alive.
func (s *faultServer) waitUnready(t *testing.T, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !s.alive() {
			t.Fatalf("server exited under the fault (%v):\n%s", s.err, s.stderr)
		}
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				return string(b)
			}
		}
		// Decisions are what meet most faults first.
		resp, err = http.Post("http://"+s.addr+"/v1/decisions/placement", "application/json", strings.NewReader(`{"dataset": "customer-pii-eu", "operation": "store"}`))
		if err == nil {
			resp.Body.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("/readyz still 200 %v into the fault:\n%s", d, s.stderr)
	return ""
}

// checkLog is the auditor's end of every test: the log in dataDir verifies,
// and holds every answered decision at its index, byte for byte.
func checkLog(t *testing.T, dataDir string, answered []answered) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"audit", "verify", "--log", filepath.Join(dataDir, "log"), "--public-key", filepath.Join(dataDir, "signing.pub")}, nil, &out, &errb)
	if code := exitCode(err, &errb); code != 0 {
		t.Fatalf("audit verify: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	src, err := audit.NewSource(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := src.ReadCheckpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := audit.PeekCheckpoint(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]string{}
	for _, a := range answered {
		if prev, dup := want[a.Audit.Index]; dup {
			t.Fatalf("index %d answered twice (%s and %s)", a.Audit.Index, prev, a.Audit.EntrySHA256)
		}
		if a.Audit.Index >= cp.Size {
			t.Fatalf("answered index %d is beyond the log's %d entries", a.Audit.Index, cp.Size)
		}
		want[a.Audit.Index] = a.Audit.EntrySHA256
	}
	found := 0
	for e, err := range audit.Entries(t.Context(), src, cp.Size, 0, cp.Size) {
		if err != nil {
			t.Fatal(err)
		}
		sha, ok := want[e.Index]
		if !ok {
			continue
		}
		sum := sha256.Sum256(e.Data)
		if got := hex.EncodeToString(sum[:]); got != sha {
			t.Fatalf("entry %d is not the answered decision: sha256 %s, answered %s", e.Index, got, sha)
		}
		found++
	}
	if found != len(want) {
		t.Fatalf("%d of %d answered decisions found in the log", found, len(want))
	}
	t.Logf("audit verify passed; all %d answered decisions are in the log of %d entries", found, cp.Size)
}

// mountFaults mounts a fault-injecting file system for a data directory.
func mountFaults(t *testing.T) (*faultfs.FS, string) {
	t.Helper()
	backing, mnt := t.TempDir(), t.TempDir()
	f, err := faultfs.MountForTest(t, backing, mnt)
	msg := "FUSE for the fault-injecting file system (/dev/fuse, run as root or install fuse3)"
	if err != nil {
		msg += ": " + err.Error()
	}
	testenv.Need(t, err == nil, msg)
	// The mount point is the data directory: faults' paths (Under) are
	// relative to it.
	return f, mnt
}

// faultCase runs the common shape: decisions, the fault, decisions under it,
// the repair (with a restart when the log stopped itself), decisions again,
// and the auditor's check.
type faultCase struct {
	fault faultfs.Faults
	// restart: the fault stops the log until a restart (a failed fdatasync
	// leaves the journal's state unknown); otherwise it recovers in place.
	restart bool
	extra   []string
}

func runFaultCase(t *testing.T, fc faultCase) {
	if testing.Short() {
		t.Skip("runs a server on a faulty file system")
	}
	f, dataDir := mountFaults(t)
	s := startFaultServer(t, faultStart{dataDir: dataDir, extra: fc.extra})
	s.waitReady(t, 30*time.Second)
	var ty tally
	load(t, s.addr, 8, time.Second, &ty)
	before := len(ty.answered)
	if before < 5 {
		t.Fatalf("only %d decisions before the fault: the test proves nothing", before)
	}
	f.Set(fc.fault)
	load(t, s.addr, 8, 2*time.Second, &ty)
	why := s.waitUnready(t, 20*time.Second)
	t.Logf("under the fault: /readyz %s", strings.TrimSpace(why))
	load(t, s.addr, 4, 500*time.Millisecond, &ty)
	if !s.alive() {
		t.Fatalf("server exited under the fault (%v):\n%s", s.err, s.stderr)
	}
	if ty.count(http.StatusServiceUnavailable) == 0 {
		t.Errorf("no 503 under the fault")
	}
	f.Set(faultfs.Faults{})
	if fc.restart {
		s.stop(t)
		s = startFaultServer(t, faultStart{dataDir: dataDir, extra: fc.extra})
	}
	s.waitReady(t, 60*time.Second)
	n := len(ty.answered)
	load(t, s.addr, 8, time.Second, &ty)
	if len(ty.answered) == n {
		t.Errorf("no decision answered after the repair")
	}
	t.Logf("answered %d (before the fault %d), 503 %d, connection errors %d", len(ty.answered), before, ty.count(503), ty.refused)
	s.stop(t)
	checkLog(t, dataDir, ty.answered)
}

// The log's directory goes read-only (as ext4 does after an I/O error): the
// tree cannot be written, Tessera cannot lock its state (it panicked there,
// issue #19 item 5); decisions are refused with 503 until it is writable
// again, and then continue without a restart.
func TestFaultLogReadOnly(t *testing.T) {
	runFaultCase(t, faultCase{fault: faultfs.Faults{ReadOnly: true, Under: "log"}})
}

// The whole data directory goes read-only: the journal cannot take records
// either, and stops; a restart on the repaired storage replays what it holds.
func TestFaultDataDirReadOnly(t *testing.T) {
	runFaultCase(t, faultCase{fault: faultfs.Faults{ReadOnly: true}, restart: true})
}

// fdatasync of the journal fails with EIO: the file's state is unknown, so
// the journal takes no more records until a restart.
func TestFaultJournalFsyncEIO(t *testing.T) {
	runFaultCase(t, faultCase{fault: faultfs.Faults{FsyncErr: syscall.EIO, Under: "journal"}, restart: true})
}

// fsync of the tree's files fails with EIO: the journaled records are kept
// and retried; new decisions are refused meanwhile; they continue once the
// tree takes writes again.
func TestFaultLogFsyncEIO(t *testing.T) {
	runFaultCase(t, faultCase{fault: faultfs.Faults{FsyncErr: syscall.EIO, Under: "log"}})
}

// The journal's fdatasync takes longer than --log-timeout: decisions are
// refused with 503 (their records may still land: the log then holds
// decisions nobody received, never the other way round).
func TestFaultSlowFsync(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server on a faulty file system")
	}
	f, dataDir := mountFaults(t)
	extra := []string{"--log-timeout", "500ms"}
	s := startFaultServer(t, faultStart{dataDir: dataDir, extra: extra})
	s.waitReady(t, 30*time.Second)
	var ty tally
	load(t, s.addr, 8, time.Second, &ty)
	f.Set(faultfs.Faults{FsyncDelay: 1500 * time.Millisecond, Under: "journal"})
	load(t, s.addr, 8, 4*time.Second, &ty)
	if !s.alive() {
		t.Fatalf("server exited under slow fsync:\n%s", s.stderr)
	}
	if ty.count(http.StatusServiceUnavailable) == 0 {
		t.Errorf("no 503 with fdatasync beyond --log-timeout")
	}
	f.Set(faultfs.Faults{})
	s.waitReady(t, 60*time.Second)
	n := len(ty.answered)
	load(t, s.addr, 8, time.Second, &ty)
	if len(ty.answered) == n {
		t.Errorf("no decision answered after the disk recovered")
	}
	t.Logf("answered %d, 503 %d", len(ty.answered), ty.count(503))
	s.stop(t)
	checkLog(t, dataDir, ty.answered)
}

// SIGKILL while the journal is being replayed into the tree (the tree's
// fsync slowed, so the journal got ahead of it and the replay takes a
// while): the next start replays again, and nothing answered is lost.
func TestFaultKillDuringReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server on a faulty file system")
	}
	f, dataDir := mountFaults(t)
	s := startFaultServer(t, faultStart{dataDir: dataDir})
	s.waitReady(t, 30*time.Second)
	var ty tally
	f.Set(faultfs.Faults{FsyncDelay: 150 * time.Millisecond, Under: "log"})
	load(t, s.addr, 32, 3*time.Second, &ty)
	s.kill(t)
	if len(ty.answered) < 50 {
		t.Fatalf("only %d decisions answered: the test proves nothing", len(ty.answered))
	}
	// Restart with the tree still slow: kill it while it replays.
	s = startFaultServer(t, faultStart{dataDir: dataDir})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.stderr.String(), "replaying entries journaled before a crash") {
		if time.Now().After(deadline) || !s.alive() {
			t.Fatalf("no replay seen (alive %v):\n%s", s.alive(), s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	replaying := !s.ready()
	s.kill(t)
	t.Logf("killed during the replay (still replaying: %v): %d answered decisions", replaying, len(ty.answered))
	f.Set(faultfs.Faults{})
	s = startFaultServer(t, faultStart{dataDir: dataDir})
	s.waitReady(t, 120*time.Second)
	load(t, s.addr, 4, 500*time.Millisecond, &ty)
	s.stop(t)
	checkLog(t, dataDir, ty.answered)
}

// The disk fills up (a real tmpfs, filled by a ballast file): decisions are
// refused with 503, nothing is answered unlogged; with space again and a
// restart, the log continues and verifies.
func TestFaultDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs and fills it")
	}
	mnt := t.TempDir()
	err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=96m")
	testenv.Need(t, err == nil, fmt.Sprintf("a tmpfs mount for the disk-full test (root): %v", err))
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	dataDir := filepath.Join(mnt, "data")
	s := startFaultServer(t, faultStart{dataDir: dataDir})
	s.waitReady(t, 30*time.Second)
	var ty tally
	load(t, s.addr, 8, time.Second, &ty)
	// Fill what is left.
	ballast := filepath.Join(mnt, "ballast")
	bf, err := os.Create(ballast)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := bf.Write(chunk); err != nil {
			break
		}
	}
	bf.Close()
	load(t, s.addr, 8, 2*time.Second, &ty)
	why := s.waitUnready(t, 20*time.Second)
	t.Logf("disk full: /readyz %s", strings.TrimSpace(why))
	if !s.alive() {
		t.Fatalf("server exited on a full disk:\n%s", s.stderr)
	}
	if ty.count(http.StatusServiceUnavailable) == 0 {
		t.Errorf("no 503 on a full disk")
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	s.stop(t)
	s = startFaultServer(t, faultStart{dataDir: dataDir})
	s.waitReady(t, 60*time.Second)
	n := len(ty.answered)
	load(t, s.addr, 8, time.Second, &ty)
	if len(ty.answered) == n {
		t.Errorf("no decision answered with space again")
	}
	t.Logf("answered %d, 503 %d", len(ty.answered), ty.count(503))
	s.stop(t)
	checkLog(t, dataDir, ty.answered)
}

// The issue's own reproduction of item 5, as a real deployment meets it: the
// server runs as an unprivileged user and log/.state is made read-only under
// it. It answered one decision and died in Tessera's panic; now it answers
// 503 with /readyz false, and continues once the permissions are back.
func TestFaultStateDirPermissionFlip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server as another user")
	}
	testenv.Need(t, os.Geteuid() == 0, "root, to run the server as an unprivileged user")
	const uid, gid = 65534, 65534 // nobody, nogroup
	// Not t.TempDir: its parent is private to root.
	base, err := os.MkdirTemp("", "sovereign-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	// The binary and the inventory where that user can read them.
	bin := filepath.Join(base, "sovereign")
	raw, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(base, "inventory")
	if err := os.CopyFS(inv, os.DirFS(demoInventory)); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(base, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	chownAll := func(p string) {
		_ = filepath.Walk(p, func(path string, _ os.FileInfo, err error) error {
			if err == nil {
				err = os.Lchown(path, uid, gid)
			}
			return err
		})
	}
	chownAll(inv)
	chownAll(dataDir)
	start := faultStart{binary: bin, inventory: inv, dataDir: dataDir,
		attr: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}}
	s := startFaultServer(t, start)
	s.waitReady(t, 30*time.Second)
	var ty tally
	load(t, s.addr, 4, time.Second, &ty)

	state := filepath.Join(dataDir, "log", ".state")
	if err := os.Chmod(filepath.Join(state, "treeState.lock"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o555); err != nil {
		t.Fatal(err)
	}
	load(t, s.addr, 4, 2*time.Second, &ty)
	why := s.waitUnready(t, 20*time.Second)
	t.Logf("log/.state read-only: /readyz %s", strings.TrimSpace(why))
	if !strings.Contains(why, "permission denied") {
		t.Errorf("/readyz does not say why: %s", why)
	}
	if ty.count(http.StatusServiceUnavailable) == 0 {
		t.Errorf("no 503 with log/.state read-only")
	}
	if err := os.Chmod(state, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(state, "treeState.lock"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t, 60*time.Second)
	n := len(ty.answered)
	load(t, s.addr, 4, time.Second, &ty)
	if len(ty.answered) == n {
		t.Errorf("no decision answered after the permissions came back")
	}
	s.stop(t)
	if s.err != nil {
		t.Errorf("serve exited with %v:\n%s", s.err, s.stderr)
	}
	checkLog(t, dataDir, ty.answered)
}
