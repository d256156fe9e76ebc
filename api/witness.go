package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Witness is the control plane's tlog-witness (package audit/witness).
type Witness interface {
	// Handler serves the add-checkpoint protocol.
	Handler() http.Handler
	// VerifierKey is the key sites and auditors check cosignatures with.
	VerifierKey() string
}

// witnessRoutes serve C2SP tlog-witness at /v1/witness: sites' logs POST
// each new checkpoint to /v1/witness/add-checkpoint and get it cosigned when
// it extends the last one cosigned. The log's signature on the checkpoint is
// the authentication: the route takes no bearer token, so that a site needs
// no credential of the control plane to be witnessed. Without a witness
// configured both answer 404.
func (s *Server) witnessRoutes(v1 *gin.RouterGroup) {
	w := s.cfg.Witness
	notWitness := func(c *gin.Context) {
		abortWithError(c, http.StatusNotFound, CodeNotFound, "this server is not a witness (serve --witness-logs DIR)")
	}
	if w == nil {
		v1.POST("/witness/add-checkpoint", notWitness)
		v1.GET("/witness/key", notWitness)
		return
	}
	v1.POST("/witness/add-checkpoint", gin.WrapH(w.Handler()))
	v1.GET("/witness/key", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(w.VerifierKey()+"\n"))
	})
}
