package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// ErrDecisionTooLarge is a decision that does not fit one audit record even
// without its message texts (a placement over many hundreds of candidates): it
// is refused (422 on candidates) rather than answered unlogged.
var ErrDecisionTooLarge = errors.New("decision too large for one audit record")

// recordHeadroom is what a record needs besides its request and result: the
// other fields, the signature and the envelope.
const recordHeadroom = 2048

// LogDecision signs the decision's record and returns once it is durably
// sequenced. The record's id is the decision id; its result is the decision as
// answered, less the audit receipt, which only exists once the record does.
//
// A log entry holds at most audit.MaxEntrySize bytes. A result too large for it
// is recorded compact: the same shape without message texts (rule ids,
// citations, sites and datasets stay), marked "messages_omitted" and carrying
// "result_sha256", the SHA-256 of the full answer, so the answer a client kept
// can still be matched to its record.
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
	if len(result)+len(e.Request)+recordHeadroom > audit.MaxEntrySize {
		if result, err = compactResult(&d, result); err != nil {
			return engine.AuditReceipt{}, err
		}
		if len(result)+len(e.Request)+recordHeadroom > audit.MaxEntrySize {
			return engine.AuditReceipt{}, fmt.Errorf("%w: %d bytes even without messages (limit %d)", ErrDecisionTooLarge, len(result), audit.MaxEntrySize)
		}
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

// compactResult is the decision without message texts, with the digest of the
// full result.
func compactResult(d *engine.Decision, full []byte) ([]byte, error) {
	sum := sha256.Sum256(full)
	c := *d
	strip := func(vs []engine.Violation) []engine.Violation {
		out := make([]engine.Violation, len(vs))
		for i, v := range vs {
			v.Message = ""
			out[i] = v
		}
		return out
	}
	c.Violations, c.Obligations, c.Warnings = strip(c.Violations), strip(c.Obligations), strip(c.Warnings)
	c.Sites = make([]engine.SiteDecision, len(d.Sites))
	for i, s := range d.Sites {
		s.Violations, s.Obligations, s.Warnings = strip(s.Violations), strip(s.Obligations), strip(s.Warnings)
		s.Exemptions = nil // listed once at the top
		c.Sites[i] = s
	}
	b, err := json.Marshal(struct {
		engine.Decision
		MessagesOmitted bool   `json:"messages_omitted"`
		ResultSHA256    string `json:"result_sha256"`
	}{c, true, hex.EncodeToString(sum[:])})
	if err != nil {
		return nil, fmt.Errorf("audit: encode compact decision: %w", err)
	}
	return b, nil
}
