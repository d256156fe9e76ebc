package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

func (s *Server) placement(c *gin.Context) {
	var req engine.PlacementRequest
	body, ok := s.readRequest(c, &req)
	if !ok {
		return
	}
	if !s.authorize(c, auth.ActionDecide, nil, decisionResources(s.cfg.Engine.Inventory(), req.Dataset, req.Workload)...) {
		return
	}
	d, err := s.cfg.Engine.Placement(c.Request.Context(), &req)
	s.answer(c, engine.KindPlacement, body, d, err)
}

func (s *Server) transfer(c *gin.Context) {
	var req engine.TransferRequest
	body, ok := s.readRequest(c, &req)
	if !ok {
		return
	}
	if !s.authorize(c, auth.ActionDecide, nil, decisionResources(s.cfg.Engine.Inventory(), req.Dataset, nil)...) {
		return
	}
	d, err := s.cfg.Engine.Transfer(c.Request.Context(), &req)
	s.answer(c, engine.KindTransfer, body, d, err)
}

// readRequest decodes strictly and keeps the raw body for the audit record.
func (s *Server) readRequest(c *gin.Context, v any) ([]byte, bool) {
	return decodeStrict(c, s.cfg.MaxBodyBytes, v)
}

// answer logs the decision durably, then answers it; a decision the log did not
// take is not answered (503).
func (s *Server) answer(c *gin.Context, kind string, body []byte, d *engine.Decision, err error) {
	if err != nil {
		var invalid *engine.ValidationError
		switch {
		case errors.As(err, &invalid):
			details := make([]ErrorDetail, len(invalid.Problems))
			for i, p := range invalid.Problems {
				details[i] = ErrorDetail{Path: p.Path, Message: p.Message}
			}
			abortWithError(c, http.StatusUnprocessableEntity, CodeInvalidRequest, invalid.Error(), details...)
		case errors.Is(err, engine.ErrPolicy):
			s.cfg.Logger.Error("policy evaluation failed", "kind", kind, "err", err)
			abortWithError(c, http.StatusInternalServerError, CodePolicyError, err.Error())
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			abortWithError(c, http.StatusServiceUnavailable, CodeInternal, "request cancelled before a decision: "+err.Error())
		default:
			s.cfg.Logger.Error("decision failed", "kind", kind, "err", err)
			abortWithError(c, http.StatusInternalServerError, CodeInternal, "decision failed")
		}
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.LogTimeout)
	defer cancel()
	receipt, err := s.cfg.Log.LogDecision(ctx, DecisionEntry{Kind: kind, Principal: principal(c), Request: body, Decision: d})
	if err != nil {
		s.cfg.Logger.Error("audit log refused a decision; not answering it", "kind", kind, "decision_id", d.DecisionID, "err", err)
		switch {
		case errors.Is(err, ErrDecisionTooLarge):
			abortWithError(c, http.StatusUnprocessableEntity, CodeInvalidRequest,
				"the decision is too large to record in one audit record, so it is not answered: ask about fewer candidates per request",
				ErrorDetail{Path: "candidates", Message: err.Error()})
		case errors.Is(err, audit.ErrInvalidRecord):
			// The record itself is wrong (e.g. larger than a log entry may be):
			// a fault of this request, not of the log.
			abortWithError(c, http.StatusInternalServerError, CodeInternal, "the decision's audit record was refused, so it is not answered: "+err.Error())
		case errors.Is(err, context.Canceled):
			// The client left while its record was being written.
			abortWithError(c, http.StatusServiceUnavailable, CodeAuditUnavailable, "request cancelled before its decision was recorded")
		default:
			s.logFailure.Store(&logFailure{err: err, at: time.Now()})
			c.Header("Retry-After", "1")
			abortWithError(c, http.StatusServiceUnavailable, CodeAuditUnavailable, "the decision could not be recorded in the audit log, so it is not answered; /readyz has the reason")
		}
		return
	}
	if s.logFailure.Load() != nil {
		s.logFailure.Store(nil)
	}
	d.Audit = &receipt
	s.metrics.decision(kind, d.Allowed)
	c.JSON(http.StatusOK, d)
}

// principal names the caller for the audit record: the authenticated
// identity (auth.Identity.String), or "anonymous" when the server runs
// without credentials (loopback only).
func principal(c *gin.Context) string {
	if p, ok := c.Get(principalKey); ok {
		if s, ok := p.(string); ok {
			return s
		}
	}
	return "anonymous"
}

const principalKey = "sovereign.principal"
