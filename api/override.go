package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// DefaultMaxOverride bounds how long a break-glass override lasts.
const DefaultMaxOverride = 7 * 24 * time.Hour

// Bounds of an override's justification, in characters: at most
// maxJustification in all, at least minJustification of them letters or
// digits (see checkText).
const (
	minJustification = 20
	maxJustification = 2048
)

// OverrideRequest is the body of POST /v1/decisions/{id}/override.
type OverrideRequest struct {
	// Justification says why the denial is overridden: it is signed into the
	// audit record and shown in reports. No personal data.
	Justification string `json:"justification"`
	// Expires is when the override ends (RFC 3339), within MaxOverride.
	Expires string `json:"expires"`
	// Ticket optionally references the change or incident record.
	Ticket string `json:"ticket,omitempty"`
}

// OverrideResponse is the answer to an override.
type OverrideResponse struct {
	OverrideID string              `json:"override_id"`
	Overrides  string              `json:"overrides"`
	Kind       string              `json:"kind"`
	Expires    string              `json:"expires"`
	Audit      engine.AuditReceipt `json:"audit"`
}

// override records a break-glass override of a denied decision: a new signed
// record linked to the original ({"rel": "overrides"}). It does not change
// the original record (the log is append-only) nor the policy: it is the
// signed statement that someone allowed to override did so, why, and until
// when.
func (s *Server) override(c *gin.Context) {
	id := c.Param("id")
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		abortWithError(c, http.StatusNotFound, CodeNotFound, "no decision "+fmt.Sprintf("%q", id)+": a decision id is a UUIDv7", ErrorDetail{Path: "id", Message: "is not a decision id"})
		return
	}
	var req OverrideRequest
	body, ok := s.readRequest(c, &req)
	if !ok {
		return
	}
	now := time.Now().UTC()
	expires, details := req.check(now, s.cfg.MaxOverride)
	if len(details) > 0 {
		abortWithError(c, http.StatusUnprocessableEntity, CodeInvalidRequest, "invalid override: "+details[0].Path+": "+details[0].Message, details...)
		return
	}
	orig, err := s.findDecision(c.Request.Context(), u)
	if err != nil {
		auditError(c, err)
		return
	}
	rec := orig.Record
	resources := overriddenResources(s.cfg.Engine.Inventory(), rec)
	ctx := cedar.RecordMap{
		"justification":      cedar.String(req.Justification),
		"expires_in_seconds": cedar.Long(expires.Sub(now) / time.Second),
	}
	if !s.authorize(c, auth.ActionOverride, ctx, resources...) {
		return
	}
	reason, err := notOverridable(id, rec)
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, CodeInternal, "the decision's record cannot be read: "+err.Error())
		return
	}
	if reason != "" {
		abortWithError(c, http.StatusConflict, CodeNotOverridable, reason)
		return
	}
	tenants := withTenant(slices.Concat(overriddenTenants(s.cfg.Engine.Inventory(), rec), orig.Record.BelongsTo()), callerTenant(c))
	r, err := s.overrideRecord(id, orig, now, expires, principal(c), tenants, body, resources)
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, CodeInternal, "override failed")
		return
	}
	receipt, err := s.record(c.Request.Context(), r)
	if err != nil {
		s.fail(c, "override", err)
		return
	}
	s.cfg.Logger.Warn("break-glass override recorded", "override_id", r.ID, "overrides", id, "principal", r.Principal, "expires", expires)
	c.JSON(http.StatusCreated, OverrideResponse{
		OverrideID: r.ID, Overrides: id, Kind: strings.TrimPrefix(string(rec.Kind), "decision."), Expires: expires.Format(time.RFC3339),
		Audit: engine.AuditReceipt{Index: receipt.Index, EntrySHA256: receipt.EntrySHA256},
	})
}

// notOverridable says why the decision recorded in rec cannot be overridden,
// or "" when it can: only a denied placement or transfer decision can.
func notOverridable(id string, rec *audit.Record) (string, error) {
	if rec.Kind != audit.KindPlacement && rec.Kind != audit.KindTransfer {
		return fmt.Sprintf("record %s is a %s record: only placement and transfer decisions can be overridden", id, rec.Kind), nil
	}
	var result struct {
		Allowed bool `json:"allowed"`
	}
	if err := json.Unmarshal(rec.Result, &result); err != nil {
		return "", err
	}
	if result.Allowed {
		return "decision " + id + " was allowed: there is nothing to override", nil
	}
	return "", nil
}

// overrideRecord is the signed statement of an override, linked to the
// decision id (as the caller named it) whose record is orig: who, why (the
// request as sent), until when, and on which dataset and workload.
func (s *Server) overrideRecord(id string, orig *audit.EntryProof, now, expires time.Time, principal string, tenants []string, body []byte, resources []auth.Resource) (*audit.Record, error) {
	res, err := json.Marshal(map[string]any{
		"overrides":      id,
		"original_index": orig.Index,
		"original_kind":  string(orig.Record.Kind),
		"allowed":        true,
		"expires":        expires.Format(time.RFC3339),
		"resources":      resourceUIDs(resources),
	})
	if err != nil {
		return nil, err
	}
	p, inv := s.cfg.Engine.Policy(), s.cfg.Engine.Inventory()
	return &audit.Record{
		Kind:              audit.KindOverride,
		Time:              now,
		Principal:         principal,
		Tenants:           tenants,
		Request:           body,
		Result:            res,
		Bundle:            audit.BundleRef{Revision: p.Revision, Digest: p.Digest},
		InventoryRevision: inv.Revision,
		EngineVersion:     engine.Version,
		Links:             []audit.Link{{Rel: "overrides", ID: id}},
	}, nil
}

// check validates the request; every problem is listed with its field.
func (r *OverrideRequest) check(now time.Time, maxDuration time.Duration) (time.Time, []ErrorDetail) {
	var details []ErrorDetail
	just := strings.TrimSpace(r.Justification)
	n := utf8.RuneCountInString(just)
	switch meaningful, bad := checkText(just); {
	case bad != "":
		details = append(details, ErrorDetail{Path: "justification", Message: "must be printable text: " + bad})
	case n > maxJustification:
		details = append(details, ErrorDetail{Path: "justification", Message: fmt.Sprintf("must be at most %d characters", maxJustification)})
	case meaningful < minJustification:
		details = append(details, ErrorDetail{Path: "justification", Message: fmt.Sprintf("is required: at least %d letters or digits saying why", minJustification)})
	}
	var expires time.Time
	if r.Expires == "" {
		details = append(details, ErrorDetail{Path: "expires", Message: "is required (RFC 3339): an override always ends"})
	} else if t, err := time.Parse(time.RFC3339, r.Expires); err != nil {
		details = append(details, ErrorDetail{Path: "expires", Message: "must be an RFC 3339 time"})
	} else {
		expires = t.UTC()
		switch {
		case !expires.After(now):
			details = append(details, ErrorDetail{Path: "expires", Message: "must be in the future"})
		case expires.Sub(now) > maxDuration:
			details = append(details, ErrorDetail{Path: "expires", Message: fmt.Sprintf("must be within %s from now", maxDuration)})
		}
	}
	if len(r.Ticket) > 256 {
		details = append(details, ErrorDetail{Path: "ticket", Message: "must be at most 256 characters"})
	} else if _, bad := checkText(r.Ticket); bad != "" {
		details = append(details, ErrorDetail{Path: "ticket", Message: "must be printable text: " + bad})
	}
	return expires, details
}

// checkText counts the letters and digits of s and names the first character
// that is not printable text, "" when all are. A justification is signed into
// the log and read by people in reports: 25 NUL characters were accepted as
// one (issue #19 item 7), and control or format characters (bidi overrides,
// zero-width spaces, escapes) could make the text read otherwise than it is.
// Allowed: letters, marks, digits, punctuation, symbols, spaces, line breaks
// and tabs; not U+FFFD, which stands for bytes that were not UTF-8.
func checkText(s string) (meaningful int, bad string) {
	for i, r := range s {
		switch {
		case r == '\n' || r == '\t':
		case r == utf8.RuneError || !unicode.IsGraphic(r):
			return meaningful, fmt.Sprintf("character %U at byte %d is a control, format or invalid character", r, i)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			meaningful++
		}
	}
	return meaningful, ""
}

// maxOverrideScan bounds how many records findDecision reads past the
// decision's time before giving up.
const maxOverrideScan = 100_000

// findDecision finds the record of a decision by its id. A decision id is a
// UUIDv7 whose time is (to within the log's skew) its record's, so the log is
// searched from that time, not read whole.
func (s *Server) findDecision(ctx context.Context, id uuid.UUID) (*audit.EntryProof, error) {
	l := s.cfg.Audit
	// A decision answered a moment ago may still be on its way from the
	// journal to the tree.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := l.AwaitIntegrated(wctx)
	cancel()
	if err != nil {
		return nil, err
	}
	size, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	src := l.Source() // the backend's reader: POSIX files or the database
	sec, nsec := id.Time().UnixTime()
	at := time.Unix(sec, nsec)
	from, err := audit.FindIndexByTime(ctx, src, size, at.Add(-audit.DefaultTimeSkew))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", audit.ErrUnavailable, err)
	}
	want := id.String()
	to := min(size, from+maxOverrideScan)
	for e, err := range audit.Entries(ctx, src, size, from, to) {
		if err != nil {
			return nil, fmt.Errorf("%w: %w", audit.ErrUnavailable, err)
		}
		env, err := audit.DecodeEnvelope(e.Data)
		if err != nil {
			continue
		}
		var head struct {
			ID   string `json:"id"`
			Time string `json:"time"`
		}
		if json.Unmarshal(env.RecordJSON, &head) != nil {
			continue
		}
		if head.ID == want {
			// Read it again through the log, which proves its inclusion.
			return l.Entry(ctx, e.Index)
		}
		if t, err := time.Parse(time.RFC3339Nano, head.Time); err == nil && t.After(at.Add(audit.DefaultTimeSkew)) {
			break
		}
	}
	return nil, fmt.Errorf("%w: no decision %s in the audit log", audit.ErrNotFound, want)
}

// overriddenRequest is the dataset and workload of a decision's request, as
// its record shows them.
type overriddenRequest struct {
	Dataset  *engine.DatasetRef  `json:"dataset"`
	Workload *engine.WorkloadRef `json:"workload"`
}

// overriddenTenants own the dataset and workload the original decision was
// about, in the inventory in force: an override belongs to them, to the
// decision's own tenants and to the caller's.
func overriddenTenants(inv *engine.Inventory, rec *audit.Record) []string {
	var req overriddenRequest
	if err := json.Unmarshal(rec.Request, &req); err != nil {
		return nil
	}
	return engine.OwningTenants(inv, req.Dataset, req.Workload)
}

// overriddenResources are the dataset and workload the original decision was
// about, read from its record. A request the record does not show (redacted)
// is authorized as an unknown dataset, which only a service-wide principal
// may override.
func overriddenResources(inv *engine.Inventory, rec *audit.Record) []auth.Resource {
	var req overriddenRequest
	if err := json.Unmarshal(rec.Request, &req); err != nil {
		return []auth.Resource{auth.Ref(auth.TypeDataset, "")}
	}
	rs := decisionResources(inv, req.Dataset, req.Workload)
	if len(rs) == 0 {
		return []auth.Resource{auth.Ref(auth.TypeDataset, "")}
	}
	return rs
}

func resourceUIDs(rs []auth.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.UID.String()
	}
	return out
}
