package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// DefaultMaxConcurrentReports bounds the reports built at once: each verifies
// its window on every core and an HTML or PDF report holds its summary in
// memory (6 concurrent PDF reports over 70k records took 30 s each and
// 1.25 GB: issue #19 item 7).
const DefaultMaxConcurrentReports = 2

// reportRetryAfter is the Retry-After of a report refused for want of a slot:
// a report takes seconds to tens of seconds.
const reportRetryAfter = 10 * time.Second

// reportSlots admits at most cap(slots) reports at once; the rest are refused
// at once (429 with Retry-After) rather than queued, so a burst of report
// requests neither piles up memory nor holds connections.
type reportSlots struct {
	slots chan struct{}
}

func newReportSlots(n int) *reportSlots {
	return &reportSlots{slots: make(chan struct{}, n)}
}

// limit is the middleware in front of GET /v1/audit/report.
func (r *reportSlots) limit(c *gin.Context) {
	select {
	case r.slots <- struct{}{}:
	default:
		c.Header("Retry-After", strconv.Itoa(int(reportRetryAfter.Seconds())))
		abortWithError(c, http.StatusTooManyRequests, CodeTooManyReports,
			fmt.Sprintf("%d reports are being built, the most this server builds at once; try again later", cap(r.slots)))
		return
	}
	defer func() { <-r.slots }()
	c.Next()
}
