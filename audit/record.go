package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Kind names what a record is about.
type Kind string

// The kinds of record the log holds.
const (
	KindPlacement           Kind = "decision.placement"
	KindTransfer            Kind = "decision.transfer"
	KindAdmission           Kind = "admission"
	KindOverride            Kind = "override"
	KindBundleActivation    Kind = "bundle.activation"
	KindBundleRefusal       Kind = "bundle.refusal"
	KindInventoryActivation Kind = "inventory.activation"
	KindInventoryRefusal    Kind = "inventory.refusal"
	KindAccessDenied        Kind = "access.denied"
	KindDrift               Kind = "drift"
	KindFleetStatus         Kind = "fleet.status"
)

// Kinds lists every record kind, in a stable order.
var Kinds = []Kind{
	KindPlacement, KindTransfer, KindAdmission, KindOverride,
	KindBundleActivation, KindBundleRefusal,
	KindInventoryActivation, KindInventoryRefusal, KindAccessDenied,
	KindDrift, KindFleetStatus,
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, known := range Kinds {
		if k == known {
			return true
		}
	}
	return false
}

// Record is one entry of the audit log (DESIGN §5). Personal data does not
// belong in a record: inventory ids and digests do; fields of the request that
// might carry it are redacted (Options.Redact) before signing.
type Record struct {
	// ID is a UUIDv7; Append assigns one when empty. For a decision it is the
	// decision_id the API answers with.
	ID string
	// Time is when the event happened; Append sets it when zero. Encoded as
	// RFC 3339 with nanoseconds, in UTC.
	Time time.Time
	Kind Kind
	// Principal is who asked (a Cedar principal such as `Tenant::"acme"`), or
	// "system" for the service's own events.
	Principal string
	// Tenants are the tenants the record is about: the caller's tenant, when
	// it is tenant-scoped, and the owners of the datasets and workloads it
	// decided on (docs/audit.md). Readers are confined by them: a
	// tenant-scoped principal reads a record only when it names that tenant
	// and no other. Append sorts them and drops duplicates; empty for none.
	Tenants []string
	// RequestSHA256 is the hex SHA-256 of the canonical JSON of the request,
	// which anyone can recompute from Request. Append computes it when
	// empty, unless redaction changed the request: a plain digest of the
	// unredacted request would let a reader confirm guesses of the redacted
	// values, so such a record carries RequestHMACSHA256 instead.
	RequestSHA256 string
	// RequestHMACSHA256 is the hex HMAC-SHA256 of the canonical JSON of the
	// request before redaction, keyed with the log's request key
	// (RequestKeyFile): whoever holds the key can show which request a
	// redacted record was made for; nobody else can test guesses against it.
	RequestHMACSHA256 string
	// Request is the request as JSON; Append canonicalizes and redacts it.
	Request json.RawMessage
	// Result is the answer (a decision, a refusal reason) as JSON.
	Result json.RawMessage
	// Bundle is the active policy bundle.
	Bundle BundleRef
	// InventoryRevision is the digest of the active inventory ("sha256:…").
	InventoryRevision string
	// EngineVersion is the version of the binary that decided.
	EngineVersion string
	// Links relate this record to others, e.g. an override to the decision it
	// overrides: {Rel: "overrides", ID: "<decision id>"}.
	Links []Link
	// Body, when set, names the body that holds the record's request and
	// result (body.go): Append moves them there when the entry would exceed
	// MaxEntrySize, and sets Version to RecordVersionBody. A record read back
	// through VerifiedEntry.Record has Body and Request and Result.
	Body    *BodyRef
	Version int
}

// BundleRef names a policy bundle by revision and content digest.
type BundleRef struct {
	Revision string `json:"revision,omitempty"`
	Digest   string `json:"digest,omitempty"`
}

// Link points from a record to another record by id.
type Link struct {
	Rel string `json:"rel"`
	ID  string `json:"id"`
}

// recordJSON is the wire form of Record; field names are the documented
// record format (docs/audit.md).
type recordJSON struct {
	ID                string          `json:"id"`
	Time              string          `json:"time"`
	Kind              Kind            `json:"kind"`
	Principal         string          `json:"principal"`
	RequestSHA256     string          `json:"request_sha256,omitempty"`
	RequestHMACSHA256 string          `json:"request_hmac_sha256,omitempty"`
	Request           json.RawMessage `json:"request,omitempty"`
	Result            json.RawMessage `json:"result,omitempty"`
	Bundle            *BundleRef      `json:"bundle,omitempty"`
	InventoryRevision string          `json:"inventory_revision,omitempty"`
	EngineVersion     string          `json:"engine_version"`
	Links             []Link          `json:"links,omitempty"`
	Tenants           []string        `json:"tenants,omitempty"`
	Body              *BodyRef        `json:"body,omitempty"`
	Version           int             `json:"version,omitempty"`
}

// MarshalJSON encodes r in its canonical form (see Canonicalize).
func (r Record) MarshalJSON() ([]byte, error) {
	return r.encode(false)
}

// encode writes the canonical record directly, members in sorted key order.
// With canonicalParts, Request and Result are known canonical (prepare made
// them so) and are copied as they are.
func (r *Record) encode(canonicalParts bool) ([]byte, error) {
	req, res := r.Request, r.Result
	if !canonicalParts {
		var err error
		if len(req) > 0 {
			if req, err = Canonicalize(req); err != nil {
				return nil, fmt.Errorf("request: %w", err)
			}
		}
		if len(res) > 0 {
			if res, err = Canonicalize(res); err != nil {
				return nil, fmt.Errorf("result: %w", err)
			}
		}
	}
	var b bytes.Buffer
	b.Grow(256 + len(req) + len(res))
	b.WriteByte('{')
	r.encodeBodyRef(&b)
	if r.Bundle != (BundleRef{}) {
		b.WriteString(`"bundle":{`)
		sep := ""
		if r.Bundle.Digest != "" {
			b.WriteString(`"digest":`)
			writeCanonString(&b, r.Bundle.Digest)
			sep = ","
		}
		if r.Bundle.Revision != "" {
			b.WriteString(sep + `"revision":`)
			writeCanonString(&b, r.Bundle.Revision)
		}
		b.WriteString("},")
	}
	b.WriteString(`"engine_version":`)
	writeCanonString(&b, r.EngineVersion)
	b.WriteString(`,"id":`)
	writeCanonString(&b, r.ID)
	if r.InventoryRevision != "" {
		b.WriteString(`,"inventory_revision":`)
		writeCanonString(&b, r.InventoryRevision)
	}
	b.WriteString(`,"kind":`)
	writeCanonString(&b, string(r.Kind))
	if len(r.Links) > 0 {
		b.WriteString(`,"links":[`)
		for i, l := range r.Links {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"id":`)
			writeCanonString(&b, l.ID)
			b.WriteString(`,"rel":`)
			writeCanonString(&b, l.Rel)
			b.WriteByte('}')
		}
		b.WriteByte(']')
	}
	b.WriteString(`,"principal":`)
	writeCanonString(&b, r.Principal)
	if len(req) > 0 {
		b.WriteString(`,"request":`)
		b.Write(req)
	}
	if r.RequestHMACSHA256 != "" {
		b.WriteString(`,"request_hmac_sha256":`)
		writeCanonString(&b, r.RequestHMACSHA256)
	}
	if r.RequestSHA256 != "" {
		b.WriteString(`,"request_sha256":`)
		writeCanonString(&b, r.RequestSHA256)
	}
	if len(res) > 0 {
		b.WriteString(`,"result":`)
		b.Write(res)
	}
	if len(r.Tenants) > 0 {
		b.WriteString(`,"tenants":[`)
		for i, t := range r.Tenants {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonString(&b, t)
		}
		b.WriteByte(']')
	}
	b.WriteString(`,"time":`)
	writeCanonString(&b, r.Time.UTC().Format(time.RFC3339Nano))
	r.encodeVersion(&b)
	b.WriteByte('}')
	if !utf8.Valid(b.Bytes()) {
		return nil, errors.New("record has invalid UTF-8")
	}
	return b.Bytes(), nil
}

// UnmarshalJSON decodes the wire form of a record.
func (r *Record) UnmarshalJSON(b []byte) error {
	// Unknown fields are accepted so that older verifiers read newer records.
	var w recordJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return fmt.Errorf("record time: %w", err)
	}
	*r = Record{
		ID:                w.ID,
		Time:              t,
		Kind:              w.Kind,
		Principal:         w.Principal,
		RequestSHA256:     w.RequestSHA256,
		RequestHMACSHA256: w.RequestHMACSHA256,
		Request:           w.Request,
		Result:            w.Result,
		InventoryRevision: w.InventoryRevision,
		EngineVersion:     w.EngineVersion,
		Links:             w.Links,
		Tenants:           w.Tenants,
		Body:              w.Body,
		Version:           w.Version,
	}
	if w.Bundle != nil {
		r.Bundle = *w.Bundle
	}
	return nil
}

// RequestDigest returns the hex SHA-256 of the canonical form of a request.
func RequestDigest(request json.RawMessage) (string, error) {
	c, err := Canonicalize(request)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// prepare fills in the defaults Append promises (ID, Time, RequestSHA256 or
// RequestHMACSHA256), canonicalizes Request and Result, redacts Request, and
// checks the record. requestKey keys the digest of a redacted request.
func (r *Record) prepare(now time.Time, redact []string, requestKey []byte) error {
	if r.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("record id: %w", err)
		}
		r.ID = id.String()
	}
	if r.Time.IsZero() {
		r.Time = now
	}
	r.Time = r.Time.UTC()
	if len(r.Request) > 0 {
		c, err := Canonicalize(r.Request)
		if err != nil {
			return fmt.Errorf("%w: request: %w", ErrInvalidRecord, err)
		}
		redacted := c
		if len(redact) > 0 {
			if redacted, err = Redact(c, redact); err != nil {
				return fmt.Errorf("%w: request: %w", ErrInvalidRecord, err)
			}
		}
		if bytes.Equal(redacted, c) {
			if r.RequestSHA256 == "" {
				sum := sha256.Sum256(c)
				r.RequestSHA256 = hex.EncodeToString(sum[:])
			}
		} else {
			if len(requestKey) == 0 {
				return fmt.Errorf("%w: request: redaction needs the log's request key", ErrInvalidRecord)
			}
			// A caller's plain digest would undo the redaction.
			r.RequestSHA256 = ""
			mac := hmac.New(sha256.New, requestKey)
			mac.Write(c)
			r.RequestHMACSHA256 = hex.EncodeToString(mac.Sum(nil))
		}
		r.Request = redacted
	}
	if len(r.Result) > 0 {
		c, err := Canonicalize(r.Result)
		if err != nil {
			return fmt.Errorf("%w: result: %w", ErrInvalidRecord, err)
		}
		r.Result = c
	}
	if len(r.Tenants) > 0 {
		r.Tenants = slices.Compact(slices.Sorted(slices.Values(r.Tenants)))
	}
	return r.validate()
}

func (r *Record) validate() error {
	var errs []error
	if _, err := uuid.Parse(r.ID); err != nil {
		errs = append(errs, fmt.Errorf("id %q is not a UUID", r.ID))
	}
	if !r.Kind.Valid() {
		errs = append(errs, fmt.Errorf("kind %q is not a record kind", r.Kind))
	}
	for _, d := range [...]struct{ name, digest string }{{"request_sha256", r.RequestSHA256}, {"request_hmac_sha256", r.RequestHMACSHA256}} {
		name, digest := d.name, d.digest
		if digest == "" {
			continue
		}
		if b, err := hex.DecodeString(digest); err != nil || len(b) != sha256.Size {
			errs = append(errs, fmt.Errorf("%s %q is not a hex SHA-256", name, digest))
		}
	}
	for i, l := range r.Links {
		if l.Rel == "" || l.ID == "" {
			errs = append(errs, fmt.Errorf("links[%d]: rel and id are required", i))
		}
	}
	for i, t := range r.Tenants {
		if t == "" || !utf8.ValidString(t) {
			errs = append(errs, fmt.Errorf("tenants[%d] %q is not a tenant name", i, t))
		}
	}
	errs = append(errs, r.validateBody()...)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRecord, errors.Join(errs...))
	}
	return nil
}

// RecordTenants are the tenants a record belongs to, from its "tenants" and
// its principal: the tenants it names when it names any; a record without
// them (written before records named tenants, or about no tenant's data) belongs
// to the tenant of its principal when that is tenant-scoped
// (`…::Tenant::"acme"`), else to none. Records that belong to no tenant are
// read only by principals without a tenant (docs/audit.md).
func RecordTenants(tenants []string, principal string) []string {
	if len(tenants) > 0 {
		return tenants
	}
	if t := PrincipalTenant(principal); t != "" {
		return []string{t}
	}
	return nil
}

// BelongsTo is the tenants the record belongs to (RecordTenants).
func (r *Record) BelongsTo() []string { return RecordTenants(r.Tenants, r.Principal) }

// PrincipalTenant derives the tenant from a Cedar principal `Tenant::"acme"`
// (also `…::Tenant::"acme"`, and `Sovereign::Principal::"ci" in
// Sovereign::Tenant::"acme"` as the API records a tenant-scoped caller);
// other principals name no tenant.
func PrincipalTenant(principal string) string {
	i := strings.LastIndex(principal, `Tenant::"`)
	if i < 0 || (i > 0 && principal[i-1] != ':') {
		return ""
	}
	rest := principal[i+len(`Tenant::"`):]
	if j := strings.IndexByte(rest, '"'); j > 0 {
		return rest[:j]
	}
	return ""
}

// OnlyTenant reports whether tenants name tenant and no other: the records a
// principal of that tenant may read.
func OnlyTenant(tenants []string, tenant string) bool {
	return tenant != "" && len(tenants) == 1 && tenants[0] == tenant
}

// encodeBodyRef writes the "body" member, the first in key order, with its
// separator.
func (r *Record) encodeBodyRef(b *bytes.Buffer) {
	if r.Body == nil {
		return
	}
	b.WriteString(`"body":{"sha256":`)
	writeCanonString(b, r.Body.SHA256)
	b.WriteString(`,"size":`)
	b.WriteString(strconv.FormatInt(r.Body.Size, 10))
	b.WriteString("},")
}

// encodeVersion writes the "version" member, the last in key order: only
// records of a later version than 1 carry one.
func (r *Record) encodeVersion(b *bytes.Buffer) {
	if r.Version == 0 {
		return
	}
	b.WriteString(`,"version":`)
	b.WriteString(strconv.Itoa(r.Version))
}

// validateBody checks the body reference and the version that goes with it.
func (r *Record) validateBody() []error {
	switch {
	case r.Body == nil && r.Version == 0:
		return nil
	case r.Body == nil:
		return []error{fmt.Errorf("version %d without a body: only records with a body have a version", r.Version)}
	case r.Version != RecordVersionBody:
		return []error{fmt.Errorf("a record with a body is version %d, not %d", RecordVersionBody, r.Version)}
	case !validBodyName(r.Body.SHA256) || r.Body.Size <= 0 || r.Body.Size > MaxBodySize:
		return []error{fmt.Errorf("body sha256 %q, size %d: not a body reference", r.Body.SHA256, r.Body.Size)}
	case len(r.Request) > 0 || len(r.Result) > 0:
		return []error{errors.New("a record with a body holds no request or result itself")}
	}
	return nil
}
