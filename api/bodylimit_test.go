package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// Only bodies over 64 KiB (by Content-Length, or by reading, when chunked)
// wait for a slot; small ones never do; a large one that finds no slot in
// time is refused with 503 and Retry-After, and gets its body back intact
// when it is admitted.
func TestLargeBodies(t *testing.T) {
	defer func(d time.Duration) { largeBodyWait = d }(largeBodyWait)
	largeBodyWait = 200 * time.Millisecond
	l := newLargeBodies(1)
	release := make(chan struct{})
	held := make(chan struct{})
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(l.limit)
	r.POST("/hold", func(c *gin.Context) { close(held); <-release; c.Status(http.StatusOK) })
	r.POST("/echo", func(c *gin.Context) {
		b, _ := io.ReadAll(c.Request.Body)
		c.String(http.StatusOK, "%d", len(b))
	})
	post := func(path string, body io.Reader, length int64) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, body)
		req.ContentLength = length
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	big := strings.Repeat("x", largeBodyBytes+1)
	go post("/hold", strings.NewReader(big), int64(len(big)))
	<-held
	for name, w := range map[string]*httptest.ResponseRecorder{
		"small, with length": post("/echo", strings.NewReader("{}"), 2),
		"small, chunked":     post("/echo", strings.NewReader("{}"), -1),
	} {
		if w.Code != http.StatusOK || w.Body.String() != "2" {
			t.Errorf("%s while the slot is taken: %d %q", name, w.Code, w.Body)
		}
	}
	for name, length := range map[string]int64{"large, with length": int64(len(big)), "large, chunked": -1} {
		w := post("/echo", strings.NewReader(big), length)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), CodeBusy) {
			t.Errorf("%s with no slot: %d %q", name, w.Code, w.Body)
		}
	}
	close(release)
	time.Sleep(50 * time.Millisecond)
	if w := post("/echo", strings.NewReader(big), -1); w.Code != http.StatusOK || w.Body.String() != "65537" {
		t.Errorf("large, chunked, with a slot: %d %q (the body must reach the handler whole)", w.Code, w.Body)
	}
}
