package api

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// AuditDecisionLog records decisions in the signed audit log.
type AuditDecisionLog struct {
	Log *audit.Log
}

var _ DecisionLog = AuditDecisionLog{}

var decisionKinds = map[string]audit.Kind{
	engine.KindPlacement: audit.KindPlacement,
	engine.KindTransfer:  audit.KindTransfer,
}

// LogDecision signs the decision's record and returns once it is durably
// sequenced. The record's id is the decision id; its result is the decision as
// answered, less the audit receipt, which only exists once the record does.
func (l AuditDecisionLog) LogDecision(ctx context.Context, e DecisionEntry) (engine.AuditReceipt, error) {
	kind, ok := decisionKinds[e.Kind]
	if !ok {
		return engine.AuditReceipt{}, fmt.Errorf("audit: no record kind for decision kind %q", e.Kind)
	}
	d := *e.Decision
	d.Audit = nil
	result, err := json.Marshal(&d)
	if err != nil {
		return engine.AuditReceipt{}, fmt.Errorf("audit: encode decision: %w", err)
	}
	r, err := l.Log.Append(ctx, &audit.Record{
		ID:                d.DecisionID,
		Kind:              kind,
		Principal:         e.Principal,
		Request:           e.Request,
		Result:            result,
		Bundle:            audit.BundleRef{Revision: d.Bundle.Revision, Digest: d.Bundle.Digest},
		InventoryRevision: d.InventoryRevision,
		EngineVersion:     engine.Version,
	})
	if err != nil {
		return engine.AuditReceipt{}, err
	}
	return engine.AuditReceipt{Index: r.Index, EntrySHA256: r.EntrySHA256}, nil
}
