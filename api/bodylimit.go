package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// Large request bodies are admitted a few at a time. A request is held to
// MaxBodyBytes (1 MiB), but deciding one costs many times its size: a body of
// 100,000 bad candidates held ~35 MiB while it was validated, and 16 of them
// at once grew a server by 580 MiB (issue #19, memory bounds). Real requests
// are a few KiB, so the bound costs them nothing: only bodies over
// largeBodyBytes wait for one of MaxLargeRequests slots.
const (
	// DefaultMaxLargeRequests is how many requests with a body over
	// largeBodyBytes are read and decided at once.
	DefaultMaxLargeRequests = 4
	// largeBodyBytes: a body up to this size needs no slot.
	largeBodyBytes = 64 << 10
)

// largeBodyWait is how long a large request waits for a slot before it is
// refused with 503 and Retry-After (a variable for tests).
var largeBodyWait = 10 * time.Second

// largeBodies is the middleware that admits large bodies through slots.
type largeBodies struct {
	slots chan struct{}
}

func newLargeBodies(n int) *largeBodies { return &largeBodies{slots: make(chan struct{}, n)} }

// limit peeks at up to largeBodyBytes of a body (by Content-Length when the
// client gave one); a larger body waits for a slot, held until the request
// is answered.
func (l *largeBodies) limit(c *gin.Context) {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody || (r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch) {
		c.Next()
		return
	}
	if r.ContentLength >= 0 && r.ContentLength <= largeBodyBytes {
		c.Next()
		return
	}
	if r.ContentLength < 0 {
		// Chunked: read what a small body would be, and put it back.
		head, err := io.ReadAll(io.LimitReader(r.Body, largeBodyBytes+1))
		r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		if err != nil || len(head) <= largeBodyBytes {
			c.Next()
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), largeBodyWait)
	defer cancel()
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		c.Header("Retry-After", strconv.Itoa(1))
		abortWithError(c, http.StatusServiceUnavailable, CodeBusy, "too many large requests are being decided; try again later")
		return
	}
	defer func() { <-l.slots }()
	c.Next()
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}
