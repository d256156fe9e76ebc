package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// record appends r to the audit log and returns once it is durably
// sequenced, waiting at most Config.LogTimeout. Every record the API writes
// goes through here, so that every kind fails alike: a record the log did not
// take is a *recordError, which fail answers (503 audit_unavailable: nothing
// is answered as decided unlogged), and a failure of the log itself (not of
// the record, nor of a caller's own end: a client that left, an admission
// review's deadline) is kept for /readyz until a later record succeeds.
func (s *Server) record(ctx context.Context, r *audit.Record) (audit.Receipt, error) {
	lctx, cancel := context.WithTimeout(ctx, s.cfg.LogTimeout)
	defer cancel()
	receipt, err := s.cfg.Audit.Append(lctx, r)
	if err != nil {
		if !errors.Is(err, audit.ErrInvalidRecord) && !errors.Is(err, audit.ErrRecordTooLarge) && ctx.Err() == nil {
			s.logFailure.Store(&logFailure{kind: r.Kind, err: err, at: time.Now()})
		}
		return audit.Receipt{}, &recordError{kind: r.Kind, id: r.ID, err: err}
	}
	if s.logFailure.Load() != nil {
		s.logFailure.Store(nil)
	}
	return receipt, nil
}

// recordError is a record the audit log did not take.
type recordError struct {
	kind audit.Kind
	id   string
	err  error
}

func (e *recordError) Error() string {
	return fmt.Sprintf("audit log did not take the %s record %s: %v", e.kind, e.id, e.err)
}

func (e *recordError) Unwrap() error { return e.err }

// answer is what the client is told: a record that is wrong is our bug (500,
// as audit.ErrInvalidRecord documents); any other refusal means the log could
// not take it (503 with Retry-After, as audit.ErrUnavailable documents).
func (e *recordError) answer() errorAnswer {
	what := recordedAs(e.kind)
	switch {
	case errors.Is(e.err, audit.ErrInvalidRecord):
		return errorAnswer{status: http.StatusInternalServerError, code: CodeInternal, logged: true,
			message: "the " + what + "'s audit record was refused, so it is not answered: " + e.err.Error()}
	case errors.Is(e.err, context.Canceled):
		// The client left while its record was being written.
		return errorAnswer{status: http.StatusServiceUnavailable, code: CodeAuditUnavailable,
			message: "request cancelled before its " + what + " was recorded"}
	}
	a := errorAnswer{status: http.StatusServiceUnavailable, code: CodeAuditUnavailable, retryAfter: true, logged: true,
		message: "the decision could not be recorded in the audit log, so it is not answered; /readyz has the reason"}
	switch e.kind {
	case audit.KindAdmission:
		a.message = "the admission decision could not be recorded in the audit log, so it is not answered: " + e.err.Error()
	case audit.KindOverride:
		a.message = "the override could not be recorded in the audit log, so it did not happen"
	case audit.KindFleetStatus:
		a.message = "the site's status change could not be recorded in the audit log, so the report was not taken; send it again"
	}
	return a
}

// recordedAs names what a record of the kind records, for messages.
func recordedAs(k audit.Kind) string {
	switch k {
	case audit.KindAdmission:
		return "admission decision"
	case audit.KindOverride:
		return "override"
	case audit.KindAccessDenied:
		return "refused access attempt"
	case audit.KindFleetStatus:
		return "site status change"
	}
	return "decision"
}

func withArticle(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

// AuditDecisionLog records decisions in the signed audit log as the server
// does, for tools that decide outside a server (policyci's replay).
type AuditDecisionLog struct {
	Log *audit.Log
}

// DecisionEntry is what the log keeps of one decision.
type DecisionEntry struct {
	Kind      string
	Principal string
	// Tenant is the caller's tenant when it is tenant-scoped: the record
	// belongs to it as well as to the owners of what was decided on.
	Tenant   string
	Request  []byte // the request body as received
	Decision *engine.Decision
}

var decisionKinds = map[string]audit.Kind{
	engine.KindPlacement: audit.KindPlacement,
	engine.KindTransfer:  audit.KindTransfer,
}

// ErrDecisionTooLarge is a decision whose record the log cannot keep: its
// body over audit.MaxBodySize. It is refused (422 on candidates) rather than
// answered unlogged.
var ErrDecisionTooLarge = audit.ErrRecordTooLarge

// LogDecision signs the decision's record and returns once it is durably
// sequenced.
func (l AuditDecisionLog) LogDecision(ctx context.Context, e DecisionEntry) (engine.AuditReceipt, error) {
	r, err := decisionRecord(e)
	if err != nil {
		return engine.AuditReceipt{}, err
	}
	receipt, err := l.Log.Append(ctx, r)
	if err != nil {
		return engine.AuditReceipt{}, err
	}
	return engine.AuditReceipt{Index: receipt.Index, EntrySHA256: receipt.EntrySHA256}, nil
}

// decisionRecord is the audit record of a decision. The record's id is the
// decision id; its result is the decision as answered, less the audit
// receipt, which only exists once the record does. A record too large for
// one log entry keeps its request and result in a body beside the log
// (audit.BodyRef), so every decision is recorded whole, messages and all.
func decisionRecord(e DecisionEntry) (*audit.Record, error) {
	kind, ok := decisionKinds[e.Kind]
	if !ok {
		return nil, fmt.Errorf("audit: no record kind for decision kind %q", e.Kind)
	}
	d := *e.Decision
	d.Audit = nil
	answer, err := json.Marshal(&d) // what the client got, less its receipt
	if err != nil {
		return nil, fmt.Errorf("audit: encode decision: %w", err)
	}
	// The regimes are kept abridged (auditRegimes); a record too large for
	// one entry keeps its request and result in a body (audit.BodyRef).
	result := answer
	if d.Regimes != nil {
		d.Regimes = auditRegimes(d.Regimes)
		if result, err = json.Marshal(&d); err != nil {
			return nil, fmt.Errorf("audit: encode decision: %w", err)
		}
	}
	return &audit.Record{
		ID:                d.DecisionID,
		Kind:              kind,
		Principal:         e.Principal,
		Tenants:           withTenant(d.Tenants, e.Tenant),
		Request:           e.Request,
		Result:            result,
		Bundle:            audit.BundleRef{Revision: d.Bundle.Revision, Digest: d.Bundle.Digest},
		InventoryRevision: d.InventoryRevision,
		EngineVersion:     engine.Version,
	}, nil
}

// withTenant is tenants and tenant, sorted, without duplicates and empties: the
// tenants of a record made by a caller of tenant (none: "").
func withTenant(tenants []string, tenant ...string) []string {
	out := make([]string, 0, len(tenants)+len(tenant))
	for _, t := range append(slices.Clone(tenants), tenant...) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// auditRegimes is the regimes list as the audit record keeps it: each regime
// with its period's id, status and dates, the datasets it applied to and why,
// and its grounds. Names, sources and the reasons a regime did not apply are
// left out (the bundle digest in the record identifies them, and replaying the
// request gives them back). Measured on customer-pii-eu over the 21 demo sites:
// the answer is 13.4 KB (3.4 KB without regimes), its record's result 8.0 KB.
func auditRegimes(rs []engine.RegimeNote) []engine.RegimeNote {
	if rs == nil {
		return nil
	}
	out := make([]engine.RegimeNote, len(rs))
	for i, r := range rs {
		n := engine.RegimeNote{Regime: r.Regime, Grounds: r.Grounds, Datasets: []engine.RegimeDataset{}}
		if r.Period != nil {
			n.Period = &engine.RegimePeriod{ID: r.Period.ID, Status: r.Period.Status, ValidFrom: r.Period.ValidFrom, ValidUntil: r.Period.ValidUntil}
		}
		for _, d := range r.Datasets {
			if d.Applies {
				n.Datasets = append(n.Datasets, d)
			}
		}
		out[i] = n
	}
	return out
}
