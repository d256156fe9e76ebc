package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
)

// auditRoutes serves the log's read API: the checkpoint, the tiles (C2SP
// tlog-tiles, so standard tile clients read them), entries with inclusion
// proofs, and the keys an auditor needs to verify offline.
func (s *Server) auditRoutes(v1 *gin.RouterGroup) {
	l := s.cfg.Audit
	checkpointVerifier, verr := audit.NoteVerifier(l.VerifierKey())
	tiles := http.StripPrefix("/v1/audit/log", l.Handler())
	v1.GET("/audit/log/*path", gin.WrapH(tiles))
	v1.HEAD("/audit/log/*path", gin.WrapH(tiles))
	v1.GET("/audit/checkpoint", func(c *gin.Context) {
		cp, err := l.Checkpoint(c.Request.Context())
		if err != nil {
			auditError(c, err)
			return
		}
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/plain; charset=utf-8", cp)
	})
	v1.GET("/audit/keys", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{
			"origin":              l.Origin(),
			"log_verifier_key":    l.VerifierKey(),
			"signing_key_id":      l.KeyID(),
			"signing_public_keys": string(l.PublicKeysPEM()),
		})
	})
	v1.GET("/audit/entries/:index", func(c *gin.Context) {
		index, ok := uintParam(c, "index", c.Param("index"))
		if !ok {
			return
		}
		// Whether an index exists is the tree's to say: a caller that may
		// not read the tree learns nothing, not even that.
		if !s.authorize(c, auth.ActionAuditRead, nil, auth.Ref(auth.TypeTree, "audit")) {
			return
		}
		e, err := l.Entry(c.Request.Context(), index)
		if err != nil {
			auditError(c, err)
			return
		}
		// Every index below the tree size exists (the checkpoint, which
		// every reader may have, says so), so a record the caller may not
		// read is a 403, the same for any record not its tenant's alone.
		if !s.authorize(c, auth.ActionAuditRead, nil, auth.AuditRecord(index, e.Record.BelongsTo())) {
			return
		}
		c.JSON(http.StatusOK, e)
	})
	v1.GET("/audit/proof/:index", func(c *gin.Context) {
		index, ok := uintParam(c, "index", c.Param("index"))
		if !ok {
			return
		}
		var size uint64
		if q := c.Query("tree_size"); q != "" {
			if size, ok = uintParam(c, "tree_size", q); !ok {
				return
			}
		} else {
			raw, err := l.Checkpoint(c.Request.Context())
			if err != nil {
				auditError(c, err)
				return
			}
			if verr != nil {
				auditError(c, verr)
				return
			}
			cp, err := audit.ParseCheckpoint(raw, checkpointVerifier)
			if err != nil {
				auditError(c, err)
				return
			}
			size = cp.Size
		}
		p, err := l.InclusionProof(c.Request.Context(), index, size)
		if err != nil {
			auditError(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"index": index, "tree_size": size, "inclusion_proof": p})
	})
}

func uintParam(c *gin.Context, name, v string) (uint64, bool) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		abortWithError(c, http.StatusBadRequest, CodeInvalidRequest, name+" must be a non-negative integer, got "+strconv.Quote(v),
			ErrorDetail{Path: name, Message: "must be a non-negative integer"})
		return 0, false
	}
	return n, true
}
