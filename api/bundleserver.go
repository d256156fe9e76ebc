package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// maxLongPoll caps how long a bundle download may be held (Prefer: wait=N):
// below the server's 60 s write timeout, or the held answer would be cut off.
const maxLongPoll = 50 * time.Second

var bundleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// bundleFileRoutes makes this server a control plane: it serves the bundle
// files of Config.ServeBundlesDir to sites as OPA's bundle service protocol
// does: an ETag per version, 304 for If-None-Match, and long polling with
// "Prefer: wait=N" (held until the bundle changes or N seconds pass).
func (s *Server) bundleFileRoutes(v1 *gin.RouterGroup) {
	if s.cfg.ServeBundlesDir == "" {
		return
	}
	dir := s.cfg.ServeBundlesDir
	v1.GET("/bundles/:name", func(c *gin.Context) {
		name := c.Param("name")
		if !bundleName.MatchString(name) {
			abortWithError(c, http.StatusNotFound, CodeNotFound, "no such bundle")
			return
		}
		path := filepath.Join(dir, name)
		read := func() ([]byte, string, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, "", err
			}
			sum := sha256.Sum256(b)
			return b, hex.EncodeToString(sum[:]), nil
		}
		b, etag, err := read()
		if errors.Is(err, fs.ErrNotExist) {
			abortWithError(c, http.StatusNotFound, CodeNotFound, "no such bundle: "+name)
			return
		} else if err != nil {
			abortWithError(c, http.StatusServiceUnavailable, CodeInternal, "bundle unavailable")
			return
		}
		have := strings.Trim(c.GetHeader("If-None-Match"), `"`)
		if have != "" && have == etag {
			if wait := preferWait(c.GetHeader("Prefer")); wait > 0 {
				var lastMod time.Time
				var lastSize int64
				if st, err := os.Stat(path); err == nil {
					lastMod, lastSize = st.ModTime(), st.Size()
				}
				deadline := time.Now().Add(wait)
				for have == etag && time.Now().Before(deadline) {
					select {
					case <-c.Request.Context().Done():
						return
					case <-time.After(100 * time.Millisecond):
					}
					// Re-read only when the file changed: a held poll costs a stat
					// every 100 ms, not a read and a hash of the whole bundle.
					if st, err := os.Stat(path); err == nil && (st.ModTime() != lastMod || st.Size() != lastSize) {
						lastMod, lastSize = st.ModTime(), st.Size()
						if nb, ne, err := read(); err == nil {
							b, etag = nb, ne
						}
					}
				}
			}
			if have == etag {
				c.Header("ETag", strconv.Quote(etag))
				c.Status(http.StatusNotModified)
				return
			}
		}
		c.Header("ETag", strconv.Quote(etag))
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "application/vnd.openpolicyagent.bundles", b)
	})
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
