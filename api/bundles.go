package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/bundles"
)

// bundleRoutes serves the policy bundle's status: the active revision and
// digest, the last attempt to update it and its error.
func (s *Server) bundleRoutes(v1 *gin.RouterGroup) {
	v1.GET("/bundles/status", func(c *gin.Context) {
		var st bundles.Status
		if s.cfg.BundleStatus != nil {
			st = s.cfg.BundleStatus()
		} else {
			p := s.cfg.Engine.Policy()
			st = bundles.Status{Source: "engine", ActiveRevision: p.Revision, ActiveDigest: p.Digest}
		}
		c.JSON(http.StatusOK, st)
	})
}
