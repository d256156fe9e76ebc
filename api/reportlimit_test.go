package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
)

// Reports beyond the limit are refused at once with 429 and Retry-After
// (six concurrent PDF reports took 1.25 GB); a slot freed is taken again.
func TestReportSlots(t *testing.T) {
	slots := newReportSlots(2)
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/report", slots.limit, func(c *gin.Context) {
		started <- struct{}{}
		<-release
		c.String(http.StatusOK, "report")
	})
	do := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/report", nil))
		return w
	}
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		wg.Go(func() { codes <- do().Code })
	}
	<-started
	<-started
	w := do()
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("third report at once: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if !strings.Contains(w.Body.String(), `"code":"`+CodeTooManyReports+`"`) {
		t.Fatalf("refusal body %s", w.Body.String())
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("admitted report: %d", c)
		}
	}
	if w := do(); w.Code != http.StatusOK {
		t.Fatalf("report after the others finished: %d", w.Code)
	}
}
