package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
)

// bundleRoutes serves the policy bundle's status: the active revision and
// digest, the last attempt to update it and its error, and the decision cache
// of the active bundle and inventory.
func (s *Server) bundleRoutes(v1 *gin.RouterGroup) {
	v1.GET("/bundles/status", func(c *gin.Context) {
		var st bundles.Status
		if s.cfg.BundleStatus != nil {
			st = s.cfg.BundleStatus()
		} else {
			p := s.cfg.Engine.Policy()
			st = bundles.Status{Source: "engine", ActiveRevision: p.Revision, ActiveDigest: p.Digest}
		}
		c.JSON(http.StatusOK, struct {
			bundles.Status
			DecisionCache engine.CacheStats `json:"decision_cache"`
		}{st, s.cfg.Engine.CacheStats()})
	})
}
