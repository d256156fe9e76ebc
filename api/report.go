package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/report"
)

// reportRoutes serves auditor reports of the log this server writes, with the
// parameters of `sovereign audit export`. The report is verified and written
// to a temporary file first: a log that does not verify gets a 409 and no
// partial report.
func (s *Server) reportRoutes(v1 *gin.RouterGroup) {
	l := s.cfg.Audit
	v1.GET("/audit/report", s.reports.limit, func(c *gin.Context) {
		q, format, full, ok := reportQuery(c)
		if !ok {
			return
		}
		// A tenant-scoped caller was authorized on its own tenant's report
		// (never the whole log's): it holds only that tenant's records.
		if t := callerTenant(c); t != "" {
			if q.Tenant != t {
				abortWithError(c, http.StatusForbidden, CodeForbidden, "a tenant-scoped principal reports on its own tenant only: give tenant="+t)
				return
			}
			q.Confined = true
		}
		// The backend's source, so any replica of a shared log answers.
		trusted, err := audit.NewTrustedLog(l.Origin(), l.Source(), l.PublicKeysPEM(), l.VerifierKey())
		if err != nil {
			auditError(c, err)
			return
		}
		tmp, err := os.CreateTemp("", "sovereign-report-*")
		if err != nil {
			auditError(c, fmt.Errorf("%w: %w", audit.ErrUnavailable, err))
			return
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		sum, err := report.Write(c.Request.Context(), report.Options{Log: trusted, Query: q, FullVerify: full}, format, tmp)
		if err != nil {
			var ve *audit.VerifyError
			if errors.As(err, &ve) {
				abortWithError(c, http.StatusConflict, CodeAuditUnverified, "refusing to report: "+err.Error())
				return
			}
			auditError(c, err)
			return
		}
		size, err := tmp.Seek(0, io.SeekCurrent)
		if err == nil {
			_, err = tmp.Seek(0, io.SeekStart)
		}
		if err != nil {
			auditError(c, err)
			return
		}
		name := fmt.Sprintf("audit-report-%d.%s", sum.Checkpoint.Size, format.Extension())
		c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
		c.Header("X-Audit-Checkpoint-Size", strconv.FormatUint(sum.Checkpoint.Size, 10))
		c.Header("X-Audit-Checkpoint-Root", sum.Checkpoint.RootHash)
		c.DataFromReader(http.StatusOK, size, format.ContentType(), tmp, nil)
	})
}

func reportQuery(c *gin.Context) (report.Query, report.Format, bool, bool) {
	var q report.Query
	var details []ErrorDetail
	parseTime := func(name string) time.Time {
		v := c.Query(name)
		if v == "" {
			return time.Time{}
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC()
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t
		}
		details = append(details, ErrorDetail{Path: name, Message: "must be an RFC 3339 time or a date YYYY-MM-DD"})
		return time.Time{}
	}
	q.From, q.To = parseTime("from"), parseTime("to")
	q.Tenant, q.Dataset, q.Site, q.Kind = c.Query("tenant"), c.Query("dataset"), c.Query("site"), audit.Kind(c.Query("kind"))
	if q.Kind != "" && !q.Kind.Valid() {
		details = append(details, ErrorDetail{Path: "kind", Message: "is not a record kind"})
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		details = append(details, ErrorDetail{Path: "to", Message: "must be after from"})
	}
	fs := c.DefaultQuery("format", "json")
	format, err := report.ParseFormat(fs)
	if err != nil {
		details = append(details, ErrorDetail{Path: "format", Message: err.Error()})
	}
	full := false
	if v := c.Query("full_verify"); v != "" {
		if full, err = strconv.ParseBool(v); err != nil {
			details = append(details, ErrorDetail{Path: "full_verify", Message: "must be true or false"})
		}
	}
	if len(details) > 0 {
		abortWithError(c, http.StatusUnprocessableEntity, CodeInvalidRequest, "invalid report query", details...)
		return q, "", false, false
	}
	return q, format, full, true
}
