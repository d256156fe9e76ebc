package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/api/auth"
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

// answer records the decision durably, then answers it; a decision the log
// did not take is not answered (fail: 503).
func (s *Server) answer(c *gin.Context, kind string, body []byte, d *engine.Decision, err error) {
	if err != nil {
		s.fail(c, "decision", err)
		return
	}
	rec, err := decisionRecord(DecisionEntry{Kind: kind, Principal: principal(c), Tenant: callerTenant(c), Request: body, Decision: d})
	if err != nil {
		s.fail(c, "decision", err)
		return
	}
	receipt, err := s.record(c.Request.Context(), rec)
	if err != nil {
		s.fail(c, "decision", err)
		return
	}
	d.Audit = &engine.AuditReceipt{Index: receipt.Index, EntrySHA256: receipt.EntrySHA256}
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

// callerTenant is the authenticated caller's tenant; "" for a service-wide
// caller, and without credentials (every caller is anonymous, loopback only).
func callerTenant(c *gin.Context) string {
	if id := identity(c); id != nil {
		return id.Tenant
	}
	return ""
}

// identity is the authenticated caller; nil without credentials.
func identity(c *gin.Context) *auth.Identity {
	v, _ := c.Get(identityKey)
	id, _ := v.(*auth.Identity)
	return id
}
