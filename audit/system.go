package audit

import (
	"encoding/json"
	"fmt"
)

// System records say what the service itself did: which bundle and which
// inventory it decided on, from when, which it refused and why, and which
// callers it turned away. Their payloads are the types below, written by the
// constructors and read back by DecodeSystem, so the writer and every reader
// (the auditor's report among them) agree on one shape. The JSON field names
// are those of the records written before the types existed, so old and new
// records read alike.

// SourceRequest is the request of a bundle or inventory record: where the
// service read it.
type SourceRequest struct {
	Source string `json:"source"`
}

// BundleActivation is the result of a bundle.activation record.
type BundleActivation struct {
	Revision string `json:"revision"`
	Digest   string `json:"digest"`
}

// BundleRefusal is the result of a bundle.refusal record: the source's
// version (ETag) that was refused, and why. Revision and digest are empty:
// a refused bundle is not known to be what its manifest says.
type BundleRefusal struct {
	Revision string `json:"revision"`
	Digest   string `json:"digest"`
	ETag     string `json:"etag"`
	Error    string `json:"error"`
}

// InventoryActivation is the result of an inventory.activation record.
type InventoryActivation struct {
	Revision  string `json:"revision"`
	Sites     int    `json:"sites"`
	Datasets  int    `json:"datasets"`
	Workloads int    `json:"workloads"`
}

// InventoryRefusal is the result of an inventory.refusal record.
type InventoryRefusal struct {
	Error string `json:"error"`
}

// AccessRequest is the request of an access.denied record: what the caller
// asked for, never its credentials or body.
type AccessRequest struct {
	Method    string   `json:"method"`
	Route     string   `json:"route"`
	Action    string   `json:"action"`
	Resources []string `json:"resources"`
}

// AccessDenial is the result of an access.denied record: the answer given
// (401 or 403), its code, the message and the machine reason.
type AccessDenial struct {
	Status     int    `json:"status"`
	Code       string `json:"code"`
	Reason     string `json:"reason"`
	ReasonCode string `json:"reason_code"`
}

// DriftRequest is the request of a drift record: what was asked (GET
// /v1/drift's query), or, for a background audit of a Kubernetes cluster's
// workloads, Source "kubernetes" and what started the run (Trigger: start,
// bundle, inventory, admission-config, date).
type DriftRequest struct {
	Until   string `json:"until,omitempty"`
	Tenant  string `json:"tenant,omitempty"`
	Source  string `json:"source,omitempty"`
	Trigger string `json:"trigger,omitempty"`
}

// DriftResult is the result of a drift record: the counts and what is out
// of compliance, by rule, and ResultSHA256, the hex SHA-256 of the report
// as answered (its JSON without the audit receipt), so the full report a
// caller kept can be matched to its record. Items lists every finding in
// short form when they fit one log entry; otherwise ItemsOmitted is set and
// the digest alone binds them.
type DriftResult struct {
	EvaluatedAt     string      `json:"evaluated_at"`
	Until           string      `json:"until,omitempty"`
	Datasets        int         `json:"datasets"`
	Stored          int         `json:"stored"`
	Flows           int         `json:"flows"`
	Workloads       int         `json:"workloads,omitempty"`
	OutOfCompliance int         `json:"out_of_compliance"`
	Forecast        int         `json:"forecast"`
	Items           []DriftItem `json:"items,omitempty"`
	ItemsOmitted    bool        `json:"items_omitted,omitempty"`
	ResultSHA256    string      `json:"result_sha256"`
}

// DriftItem is one finding of a drift record: "stored" at Site, a flow
// From -> To, or a "workload" of a cluster (Object, "Kind namespace/name");
// Since (out of compliance now) or On (forecast).
type DriftItem struct {
	Kind    string `json:"kind"`
	Dataset string `json:"dataset,omitempty"`
	// Tenant is the dataset's tenant (records since session 6).
	Tenant string `json:"tenant,omitempty"`
	// Object is a Kubernetes workload (background audit).
	Object string `json:"object,omitempty"`
	Site   string `json:"site,omitempty"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	// Type is a flow's type: replicate, migrate, backup, remote-access
	// (records since session 6).
	Type  string   `json:"type,omitempty"`
	Rules []string `json:"rules"`
	Since string   `json:"since,omitempty"`
	On    string   `json:"on,omitempty"`
}

// NewDrift is the record of a drift run asked for by principal.
func NewDrift(principal string, req DriftRequest, res DriftResult, c Context) (*Record, error) {
	return systemRecord(KindDrift, principal, req, res, c)
}

// FleetRequest is the request of a fleet.status record: the site whose
// status changed.
type FleetRequest struct {
	Site string `json:"site"`
}

// FleetState is what the control plane judges of a site (package fleet).
type FleetState struct {
	Revision string `json:"revision"`
	Refusing bool   `json:"refusing"`
	Stale    bool   `json:"stale"`
	Lagging  bool   `json:"lagging"`
}

// FleetStatus is the result of a fleet.status record: a site's state before
// and after, what changed (revision, refusing, stale, lagging), whether it
// is the site's first report, and the site's last refusal when it starts
// refusing.
type FleetStatus struct {
	Site    string     `json:"site"`
	New     bool       `json:"new,omitempty"`
	From    FleetState `json:"from"`
	To      FleetState `json:"to"`
	Changed []string   `json:"changed"`
	Reason  string     `json:"reason,omitempty"`
}

// NewFleetStatus is the record of a site's status changing on the control
// plane: principal is the site's credential when a report changed it, or
// SystemPrincipal when time did (it went stale, or started lagging).
func NewFleetStatus(principal string, s FleetStatus, c Context) (*Record, error) {
	return systemRecord(KindFleetStatus, principal, FleetRequest{s.Site}, s, c)
}

// SystemPrincipal is the principal of the records the service writes of
// its own accord.
const SystemPrincipal = "system"

// Context is what every system record names: the bundle and inventory in
// force when it was written, and the engine's version.
type Context struct {
	Bundle            BundleRef
	InventoryRevision string
	EngineVersion     string
}

// NewBundleActivation is the record of activating a bundle read from source.
// The bundle it names is the one activated.
func NewBundleActivation(source string, activated BundleRef, c Context) (*Record, error) {
	c.Bundle = activated
	return systemRecord(KindBundleActivation, SystemPrincipal, SourceRequest{source}, BundleActivation(activated), c)
}

// NewBundleRefusal is the record of refusing the version etag of source.
func NewBundleRefusal(source, etag string, why error, c Context) (*Record, error) {
	c.Bundle = BundleRef{}
	return systemRecord(KindBundleRefusal, SystemPrincipal, SourceRequest{source}, BundleRefusal{ETag: etag, Error: errorText(why)}, c)
}

// NewInventoryActivation is the record of activating an inventory read
// from source; c.InventoryRevision is its revision.
func NewInventoryActivation(source string, a InventoryActivation, c Context) (*Record, error) {
	c.InventoryRevision = a.Revision
	return systemRecord(KindInventoryActivation, SystemPrincipal, SourceRequest{source}, a, c)
}

// NewInventoryRefusal is the record of refusing the inventory at source;
// c names the inventory that stays in force.
func NewInventoryRefusal(source string, why error, c Context) (*Record, error) {
	return systemRecord(KindInventoryRefusal, SystemPrincipal, SourceRequest{source}, InventoryRefusal{errorText(why)}, c)
}

// NewAccessDenial is the record of turning a caller away.
func NewAccessDenial(principal string, req AccessRequest, d AccessDenial, c Context) (*Record, error) {
	return systemRecord(KindAccessDenied, principal, req, d, c)
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func systemRecord(kind Kind, principal string, req, res any, c Context) (*Record, error) {
	rq, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("audit: encode %s request: %w", kind, err)
	}
	rs, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("audit: encode %s result: %w", kind, err)
	}
	return &Record{
		Kind:              kind,
		Principal:         principal,
		Request:           rq,
		Result:            rs,
		Bundle:            c.Bundle,
		InventoryRevision: c.InventoryRevision,
		EngineVersion:     c.EngineVersion,
	}, nil
}

// SystemEvent is what a reader needs of a system record, decoded with the
// types its writer used.
type SystemEvent struct {
	// Source is where a bundle or inventory was read.
	Source string
	// Revision is what was activated or refused (empty for a refused
	// bundle, which is not known to be what it says).
	Revision string
	// Reason is why it was refused or access was denied.
	Reason string
	// Drift is the result of a drift record.
	Drift *DriftResult
}

// IsSystem reports whether records of kind k are system records, which
// DecodeSystem reads.
func (k Kind) IsSystem() bool {
	switch k {
	case KindBundleActivation, KindBundleRefusal, KindInventoryActivation, KindInventoryRefusal, KindAccessDenied, KindDrift, KindFleetStatus:
		return true
	}
	return false
}

// DecodeSystem reads the request and result of a system record of kind k.
func DecodeSystem(k Kind, request, result []byte) (SystemEvent, error) {
	var e SystemEvent
	var src SourceRequest
	decode := func(raw []byte, v any) error {
		if len(raw) == 0 {
			return nil
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("audit: %s record: %w", k, err)
		}
		return nil
	}
	var err error
	switch k {
	case KindBundleActivation:
		var r BundleActivation
		err = decode(request, &src)
		if err == nil {
			err = decode(result, &r)
		}
		e = SystemEvent{Source: src.Source, Revision: r.Revision}
	case KindBundleRefusal:
		var r BundleRefusal
		err = decode(request, &src)
		if err == nil {
			err = decode(result, &r)
		}
		e = SystemEvent{Source: src.Source, Revision: r.Revision, Reason: r.Error}
	case KindInventoryActivation:
		var r InventoryActivation
		err = decode(request, &src)
		if err == nil {
			err = decode(result, &r)
		}
		e = SystemEvent{Source: src.Source, Revision: r.Revision}
	case KindInventoryRefusal:
		var r InventoryRefusal
		err = decode(request, &src)
		if err == nil {
			err = decode(result, &r)
		}
		e = SystemEvent{Source: src.Source, Reason: r.Error}
	case KindAccessDenied:
		var r AccessDenial
		err = decode(result, &r)
		e = SystemEvent{Reason: r.Reason}
	case KindDrift:
		var q DriftRequest
		var r DriftResult
		if err = decode(request, &q); err == nil {
			err = decode(result, &r)
		}
		if err == nil {
			e.Source, e.Drift = q.Source, &r
		}
	case KindFleetStatus:
		var r FleetStatus
		err = decode(result, &r)
		e = SystemEvent{Source: r.Site, Revision: r.To.Revision, Reason: r.Reason}
	default:
		return e, fmt.Errorf("audit: %s is not a system record", k)
	}
	return e, err
}
