package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
)

// maxLongPoll caps how long a bundle download may be held (Prefer: wait=N):
// below the server's 60 s write timeout, or the held answer would be cut off.
const maxLongPoll = 50 * time.Second

// longPollInterval is how often a held poll looks at its file (one stat).
var longPollInterval = 100 * time.Millisecond

var bundleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// bundleFiles serves the bundle files of one directory to sites.
//
// Whoever can write the directory controls what is served, but a request must
// not reach beyond it, nor make the server hold more than it streams (issue
// #19 item 6). So: files are opened through an os.Root (openat semantics: a
// symlink or ".." that leaves the directory is refused, whatever the name
// says), only regular files are served (a FIFO is opened non-blocking and
// refused, a device or directory refused), each file is hashed once per
// change (identified by device, inode, size, mtime and ctime) rather than per
// request, answers are streamed from the open file (http.ServeContent), and a
// held long poll keeps a stat, not a copy.
type bundleFiles struct {
	root *os.Root
	mu   sync.Mutex
	tags map[string]*bundleTag
	// stopping is closed when the server shuts down: held polls answer 304 at
	// once instead of holding the shutdown for up to maxLongPoll.
	stopping <-chan struct{}
	// hashed counts the files hashed (tests: once per change, not per GET).
	hashed atomic.Int64
}

// bundleTag is a file's ETag, kept while the file is unchanged; its mutex
// makes concurrent requests after a change share one hash.
type bundleTag struct {
	mu   sync.Mutex
	id   fileID
	etag string
	// revision is the manifest's revision of the version revisionOf (the
	// fleet view reads it once per version: fleet.go).
	revision, revisionOf string
}

// fileID tells whether a file changed: a bundle replaced by rename has a new
// inode, one rewritten in place a new size, mtime or ctime.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func idOf(fi fs.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino
		id.ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return id
}

// errNotServed is a name that is not a regular file inside the directory.
var errNotServed = errors.New("not a bundle file")

func newBundleFiles(dir string, stopping <-chan struct{}) (*bundleFiles, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("api: bundles to serve: %w", err)
	}
	return &bundleFiles{root: root, tags: map[string]*bundleTag{}, stopping: stopping}, nil
}

// bundleFile is an open bundle and its ETag.
type bundleFile struct {
	f    *os.File
	id   fileID
	mod  time.Time
	etag string
}

// open opens name inside the directory, refusing anything but a regular file,
// and returns it with its ETag (hashed now if the file changed).
func (b *bundleFiles) open(name string) (*bundleFile, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	// writer, holding the handler and the shutdown. It does not change
	// reads of a regular file.
	f, err := b.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		// Escaping the root (a symlink out, a loop) or unreadable: both are
		// "no such bundle" to a site.
		return nil, fmt.Errorf("%w: %w", errNotServed, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is a %s", errNotServed, name, fi.Mode().Type())
	}
	id := idOf(fi)
	etag, err := b.etag(name, f, id)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &bundleFile{f: f, id: id, mod: fi.ModTime(), etag: etag}, nil
}

// etag returns the SHA-256 of f's first id.size bytes, hashed only when the
// file differs from the one last hashed under this name.
func (b *bundleFiles) etag(name string, f *os.File, id fileID) (string, error) {
	b.mu.Lock()
	t := b.tags[name]
	if t == nil {
		t = &bundleTag{}
		b.tags[name] = t
	}
	b.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.etag != "" && t.id == id {
		return t.etag, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, id.size)); err != nil {
		return "", err
	}
	t.id, t.etag = id, hex.EncodeToString(h.Sum(nil))
	b.hashed.Add(1)
	return t.etag, nil
}

// changed reports whether name no longer is the file identified by id.
func (b *bundleFiles) changed(name string, id fileID) bool {
	fi, err := b.root.Stat(name)
	return err != nil || idOf(fi) != id
}

// serve answers GET /v1/bundles/:name as OPA's bundle service protocol does:
// an ETag per version, 304 for If-None-Match, and long polling with
// "Prefer: wait=N" (held until the bundle changes or N seconds pass).
func (b *bundleFiles) serve(c *gin.Context) {
	name := c.Param("name")
	if !bundleName.MatchString(name) {
		abortWithError(c, http.StatusNotFound, CodeNotFound, "no such bundle")
		return
	}
	bf, err := b.open(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotServed) {
		abortWithError(c, http.StatusNotFound, CodeNotFound, "no such bundle: "+name)
		return
	} else if err != nil {
		abortWithError(c, http.StatusServiceUnavailable, CodeInternal, "bundle unavailable")
		return
	}
	defer func() { bf.f.Close() }()
	have := strings.Trim(c.GetHeader("If-None-Match"), `"`)
	if have != "" && have == bf.etag {
		if wait := preferWait(c.GetHeader("Prefer")); wait > 0 {
			bf = b.hold(c.Request.Context(), name, bf, wait)
		}
		if bf.etag == have {
			c.Header("ETag", strconv.Quote(bf.etag))
			c.Status(http.StatusNotModified)
			return
		}
	}
	c.Header("ETag", strconv.Quote(bf.etag))
	c.Header("Cache-Control", "no-cache")
	c.Header("Content-Type", "application/vnd.openpolicyagent.bundles")
	// The bytes hashed, from the descriptor hashed: a bundle replaced by
	// rename meanwhile does not mix into this answer.
	http.ServeContent(c.Writer, c.Request, name, bf.mod, io.NewSectionReader(bf.f, 0, bf.id.size))
}

// hold waits until name changes, wait passes, the client leaves or the server
// stops; it returns the file to answer with (bf itself if unchanged). A held
// poll costs one stat per longPollInterval.
func (b *bundleFiles) hold(ctx context.Context, name string, bf *bundleFile, wait time.Duration) *bundleFile {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(longPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return bf
		case <-b.stopping:
			return bf
		case <-deadline.C:
			return bf
		case <-tick.C:
		}
		if !b.changed(name, bf.id) {
			continue
		}
		nf, err := b.open(name)
		if err != nil {
			continue // gone or unreadable for now: keep holding the old one
		}
		if nf.etag == bf.etag {
			bf.f.Close()
			*bf = *nf // touched, same bytes: keep waiting on the new identity
			continue
		}
		bf.f.Close()
		*bf = *nf
		return bf
	}
}

// bundleFileRoutes makes this server a control plane: it serves the bundle
// files of Config.ServeBundlesDir to sites (see bundleFiles).
func (s *Server) bundleFileRoutes(v1 *gin.RouterGroup) (*bundleFiles, error) {
	if s.cfg.ServeBundlesDir == "" {
		return nil, nil
	}
	b, err := newBundleFiles(s.cfg.ServeBundlesDir, s.stopping)
	if err != nil {
		return nil, err
	}
	v1.GET("/bundles/:name", b.serve)
	return b, nil
}

// preferWait reads "Prefer: wait=N" (seconds), capped.
func preferWait(h string) time.Duration {
	for _, part := range strings.Split(h, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "wait="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return 0
			}
			return min(time.Duration(n)*time.Second, maxLongPoll)
		}
	}
	return 0
}
