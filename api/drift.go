package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/drift"
	"github.com/sovereign-engine/sovereign/engine"
)

// driftRoutes serves GET /v1/drift: the inventory's current state judged
// under the active bundle now (docs/drift.md). A drift run decides many
// questions, so it takes a report slot (reportlimit.go).
func (s *Server) driftRoutes(v1 *gin.RouterGroup) {
	v1.GET("/drift", s.reports.limit, s.drift)
}

// WorkloadDrift is what a background audit of a cluster (kubeaudit.Auditor)
// knows of its workloads: how many it judged and those out of compliance,
// only those of tenant when it is set; ok is false until it has listed them.
type WorkloadDrift interface {
	Findings(tenant string) (judged int, out []drift.Finding, ok bool)
}

type workloadDrift struct{ WorkloadDrift }

// SetWorkloadDrift makes GET /v1/drift list the workloads w found out of
// compliance beside the inventory's stored copies and flows.
func (s *Server) SetWorkloadDrift(w WorkloadDrift) { s.workloads.Store(&workloadDrift{w}) }

// driftAnswer is the report with the receipt of its audit record.
type driftAnswer struct {
	*drift.Report
	Audit *engine.AuditReceipt `json:"audit"`
}

func (s *Server) drift(c *gin.Context) {
	req := audit.DriftRequest{Until: c.Query("until"), Tenant: c.Query("tenant")}
	o := drift.Options{Engine: s.cfg.Engine, Tenant: req.Tenant, At: time.Now().UTC()}
	if req.Until != "" {
		u, err := time.Parse(time.DateOnly, req.Until)
		if err == nil && u.Format(time.DateOnly) <= o.At.Format(time.DateOnly) {
			err = fmt.Errorf("must be after today (%s)", o.At.Format(time.DateOnly))
		} else if err != nil {
			err = fmt.Errorf("must be a date YYYY-MM-DD, got %q", req.Until)
		}
		if err != nil {
			abortWithError(c, http.StatusUnprocessableEntity, CodeInvalidRequest, "invalid drift query", ErrorDetail{Path: "until", Message: err.Error()})
			return
		}
		o.Until = u
	}
	r, err := drift.Run(c.Request.Context(), o)
	if err != nil {
		s.fail(c, "drift", err)
		return
	}
	if w := s.workloads.Load(); w != nil {
		// What the background audit found when it last judged each
		// workload: as of its last judgement, not judged anew here.
		if judged, found, ok := w.Findings(req.Tenant); ok {
			r.Checked.Workloads = judged
			r.OutOfCompliance = append(r.OutOfCompliance, found...)
		}
	}
	rec, err := driftRecord(principal(c), req, r)
	if err != nil {
		s.fail(c, "drift", err)
		return
	}
	receipt, err := s.record(c.Request.Context(), rec)
	if err != nil {
		s.fail(c, "drift", err)
		return
	}
	c.JSON(http.StatusOK, driftAnswer{Report: r, Audit: &engine.AuditReceipt{Index: receipt.Index, EntrySHA256: receipt.EntrySHA256}})
}

// driftRecord is the signed record of a drift run: counts, the findings in
// short form when they fit one entry, and the digest of the report as
// answered (its JSON, less the receipt).
func driftRecord(principal string, req audit.DriftRequest, r *drift.Report) (*audit.Record, error) {
	full, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("drift: encode report: %w", err)
	}
	sum := sha256.Sum256(full)
	res := audit.DriftResult{
		EvaluatedAt: r.EvaluatedAt, Until: r.Until,
		Datasets: r.Checked.Datasets, Stored: r.Checked.Stored, Flows: r.Checked.Flows, Workloads: r.Checked.Workloads,
		OutOfCompliance: len(r.OutOfCompliance), Forecast: len(r.Forecast),
		ResultSHA256: hex.EncodeToString(sum[:]),
	}
	item := func(f *drift.Finding) audit.DriftItem {
		return audit.DriftItem{Kind: f.Kind, Dataset: f.Dataset, Tenant: f.Tenant, Object: f.Object, Site: f.Site, From: f.From, To: f.To, Type: f.Type,
			Rules: f.Rules(), Since: f.Since, On: f.On}
	}
	// The items and count are of the inventory's state this run judged;
	// workloads in the answer are the background audit's findings, which
	// it records itself (source kubernetes). The digest binds the whole
	// answer.
	res.OutOfCompliance = 0
	for i := range r.OutOfCompliance {
		if r.OutOfCompliance[i].Kind == drift.KindWorkload {
			continue
		}
		res.OutOfCompliance++
		res.Items = append(res.Items, item(&r.OutOfCompliance[i]))
	}
	for i := range r.Forecast {
		res.Items = append(res.Items, item(&r.Forecast[i]))
	}
	bundle := audit.BundleRef{Revision: r.Bundle.Revision, Digest: r.Bundle.Digest}
	c := audit.Context{Bundle: bundle, InventoryRevision: r.InventoryRevision, EngineVersion: engine.Version}
	rec, err := audit.NewDrift(principal, req, res, c)
	if err != nil {
		return nil, err
	}
	if len(rec.Request)+len(rec.Result)+driftRecordHeadroom > audit.MaxEntrySize {
		// The log would keep a larger record in a body; the counts and the
		// digest are what a drift record is for, and they fit an entry on
		// every backend.
		res.Items, res.ItemsOmitted = nil, true
		if rec, err = audit.NewDrift(principal, req, res, c); err != nil {
			return nil, err
		}
	}
	// A run confined to one tenant is that tenant's record; an unconfined
	// run, about every tenant's data, belongs to none (read only by
	// principals without a tenant, docs/authz.md).
	if req.Tenant != "" {
		rec.Tenants = []string{req.Tenant}
	}
	return rec, nil
}

// driftRecordHeadroom is what a record needs besides its request and result:
// the id, kind, principal, bundle, inventory, engine version and time.
const driftRecordHeadroom = 2048
