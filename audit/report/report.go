package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/sovereign-engine/sovereign/audit"
)

// Query selects the records a report covers. Zero values select
// everything: From/To bound the record time (From inclusive, To exclusive).
type Query struct {
	From    time.Time  `json:"from,omitzero"`
	To      time.Time  `json:"to,omitzero"`
	Tenant  string     `json:"tenant,omitempty"`
	Dataset string     `json:"dataset,omitempty"`
	Site    string     `json:"site,omitempty"`
	Kind    audit.Kind `json:"kind,omitempty"`
	// Confined narrows the report to what a principal of Tenant may read
	// (docs/authz.md): records that belong to Tenant and to no other tenant,
	// and a timeline without refusals, whose reasons may quote any tenant's
	// inventory. Without it, Tenant selects every record that belongs to
	// Tenant, alone or with others. The API sets it for tenant-scoped callers.
	Confined bool `json:"confined,omitempty"`
}

// Filtered reports whether the query narrows records by more than time.
func (q Query) Filtered() bool {
	return q.Tenant != "" || q.Dataset != "" || q.Site != "" || q.Kind != ""
}

func (q Query) inPeriod(t time.Time) bool {
	return (q.From.IsZero() || !t.Before(q.From)) && (q.To.IsZero() || t.Before(q.To))
}

// Outcomes of a record, in Row.Outcome.
const (
	OutcomeAllowed   = "allowed"
	OutcomeDenied    = "denied"
	OutcomeActivated = "activated"
	OutcomeRefused   = "refused"
)

// Row is what a report knows of one record: the record's own fields
// and what it derives from the request and result (tenant, datasets, sites,
// outcome, rules).
type Row struct {
	Index     uint64     `json:"index"`
	ID        string     `json:"id"`
	Time      time.Time  `json:"time"`
	Kind      audit.Kind `json:"kind"`
	Principal string     `json:"principal"`
	// Tenants are the tenants the record belongs to (audit.RecordTenants);
	// Tenant is them as one label, joined by ",", "" for none.
	Tenants  []string `json:"tenants,omitempty"`
	Tenant   string   `json:"tenant,omitempty"`
	Datasets []string `json:"datasets,omitempty"`
	Sites    []string `json:"sites,omitempty"`
	Outcome  string   `json:"outcome,omitempty"`
	// Hypothetical: a what-if decision for another time (the request's
	// `at`), which authorized nothing when it was made.
	Hypothetical bool `json:"hypothetical,omitempty"`
	// Override is what an override record granted: why, until when, on
	// what (its datasets are also in Datasets), for which decision; who
	// granted it is Principal.
	Override      *OverrideGrant  `json:"override,omitempty"`
	AllowedSites  []string        `json:"allowed_sites,omitempty"`
	DeniedSites   []string        `json:"denied_sites,omitempty"`
	Violations    []Finding       `json:"violations,omitempty"`
	Obligations   []Finding       `json:"obligations,omitempty"`
	Exemptions    []string        `json:"exemptions,omitempty"`
	Links         []audit.Link    `json:"links,omitempty"`
	Bundle        audit.BundleRef `json:"bundle,omitzero"`
	Inventory     string          `json:"inventory_revision,omitempty"`
	RequestSHA256 string          `json:"request_sha256,omitempty"`
	EntrySHA256   string          `json:"entry_sha256"`
	// Revision is what an activation or refusal record activated or refused.
	Revision string `json:"revision,omitempty"`
	Source   string `json:"source,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Drift is what a drift record found (counts, and the findings when
	// they fit its entry).
	Drift *audit.DriftResult `json:"drift,omitempty"`
}

// OverrideGrant is what a break-glass override record says (api
// override.go): the request's justification and ticket, the result's
// expiry, overridden decision and resources.
type OverrideGrant struct {
	Justification string `json:"justification,omitempty"`
	Expires       string `json:"expires,omitempty"`
	Ticket        string `json:"ticket,omitempty"`
	// Overrides is the id of the decision overridden; OriginalIndex its
	// index in the log, when the record names it.
	Overrides     string  `json:"overrides,omitempty"`
	OriginalIndex *uint64 `json:"original_index,omitempty"`
	OriginalKind  string  `json:"original_kind,omitempty"`
	// Resources are the Cedar entities the override was authorized on
	// (`Sovereign::Dataset::"x"`, …).
	Resources []string `json:"resources,omitempty"`
}

// Finding is a violation or an obligation of a decision.
type Finding struct {
	Rule     string `json:"rule"`
	Message  string `json:"message,omitempty"`
	Citation string `json:"citation,omitempty"`
	Dataset  string `json:"dataset,omitempty"`
	Site     string `json:"site,omitempty"`
}

// rowRecord is the part of a record's wire form a report reads.
type rowRecord struct {
	ID        string     `json:"id"`
	Time      string     `json:"time"`
	Kind      audit.Kind `json:"kind"`
	Principal string     `json:"principal"`
	// Tenant is the tenant the service recorded (records written since
	// records name it); older records have none. Raw, so that a value of
	// another type derives nothing rather than refusing the record.
	Tenant            json.RawMessage  `json:"tenant"`
	RequestSHA256     string           `json:"request_sha256"`
	Request           json.RawMessage  `json:"request"`
	Result            json.RawMessage  `json:"result"`
	Bundle            *audit.BundleRef `json:"bundle"`
	InventoryRevision string           `json:"inventory_revision"`
	Links             []audit.Link     `json:"links"`
	Tenants           []string         `json:"tenants"`
}

// ref is a dataset or workload given by id or inline.
type ref struct {
	ID       string
	Datasets []string
}

// UnmarshalJSON reads an id or an inline object; any other value leaves r
// empty.
func (r *ref) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return unmarshalRow(b, &r.ID)
	}
	var o struct {
		ID       string   `json:"id"`
		Datasets []string `json:"datasets"`
	}
	if len(b) > 0 && b[0] == '{' {
		if err := unmarshalRow(b, &o); err != nil {
			return err
		}
		r.ID, r.Datasets = o.ID, o.Datasets
	}
	return nil
}

type rowRequest struct {
	Dataset    *ref     `json:"dataset"`
	Workload   *ref     `json:"workload"`
	Candidates []string `json:"candidates"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Namespace  string   `json:"namespace"`
	Site       string   `json:"site"`
}

type rowResult struct {
	Allowed      *bool `json:"allowed"`
	Hypothetical bool  `json:"hypothetical"`
	Sites        []struct {
		Site        string    `json:"site"`
		Allowed     bool      `json:"allowed"`
		Violations  []Finding `json:"violations"`
		Obligations []Finding `json:"obligations"`
	} `json:"sites"`
	Violations  []Finding         `json:"violations"`
	Obligations []Finding         `json:"obligations"`
	Exemptions  []json.RawMessage `json:"exemptions"`
}

// TenantOf derives the tenant from a Cedar principal `Tenant::"acme"` (also
// `…::Tenant::"acme"`); other principals name no tenant. It is
// audit.PrincipalTenant.
func TenantOf(principal string) string { return audit.PrincipalTenant(principal) }

// unmarshalRow decodes the parts of a verified record a report reads. It is
// goccy/go-json, a drop-in for encoding/json's Unmarshal: 13 µs instead of
// 60–90 µs a placement record here (BenchmarkParseReportRow), which is most of
// a large export's CPU besides the signature check. TestParseReportRowDecoders
// checks it derives the same rows as encoding/json.
var unmarshalRow = gojson.Unmarshal

// parseRow decodes a record's canonical JSON into a Row. Request
// and result shapes it does not know leave the derived fields empty.
func parseRow(rec []byte) (*Row, error) {
	var r rowRecord
	if err := unmarshalRow(rec, &r); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil {
		return nil, fmt.Errorf("record time: %w", err)
	}
	if !r.Kind.Valid() || r.ID == "" {
		return nil, fmt.Errorf("record id %q, kind %q: not a valid record", r.ID, r.Kind)
	}
	row := &Row{ID: r.ID, Time: t, Kind: r.Kind, Principal: r.Principal, Links: r.Links,
		Inventory: r.InventoryRevision, RequestSHA256: r.RequestSHA256, Tenants: audit.RecordTenants(r.Tenants, r.Principal)}
	row.Tenant = strings.Join(row.Tenants, ",")
	if r.Bundle != nil {
		row.Bundle = *r.Bundle
	}
	var req rowRequest
	var res rowResult
	// A request or result of another shape is not an error: the record is
	// signed and valid, the report just derives less from it.
	if len(r.Request) > 0 && r.Request[0] == '{' {
		_ = unmarshalRow(r.Request, &req)
	}
	if len(r.Result) > 0 && r.Result[0] == '{' {
		_ = unmarshalRow(r.Result, &res)
	}
	if r.Kind.IsSystem() {
		// Read with the types the service wrote them with; a payload of
		// another shape derives nothing, as above.
		ev, _ := audit.DecodeSystem(r.Kind, r.Request, r.Result)
		row.setSystemOutcome(ev)
		return row, nil
	}
	if r.Kind == audit.KindOverride {
		row.setOverride(r.Request, r.Result)
		return row, nil
	}
	row.addParties(&req)
	row.addFindings(&res)
	row.setOutcome(&req, &res)
	return row, nil
}

// appendUnique appends v to list unless it is empty or there already.
func appendUnique(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// addParties derives where and on which datasets a request is about. Whom
// it is about is the record's own tenants (parseRow): a tenant the request
// names (an inline dataset's) was authorized only when the record says so.
func (row *Row) addParties(req *rowRequest) {
	if req.Dataset != nil {
		row.Datasets = appendUnique(row.Datasets, req.Dataset.ID)
	}
	if req.Workload != nil {
		for _, d := range req.Workload.Datasets {
			row.Datasets = appendUnique(row.Datasets, d)
		}
	}
	for _, s := range req.Candidates {
		row.Sites = appendUnique(row.Sites, s)
	}
	row.Sites = appendUnique(row.Sites, req.From)
	row.Sites = appendUnique(row.Sites, req.To)
	row.Sites = appendUnique(row.Sites, req.Site)
}

// addFindings derives from a result the sites it allowed and denied, its
// violations and obligations (by site where it names one), the datasets
// the violations name and the exemptions it applied.
func (row *Row) addFindings(res *rowResult) {
	for _, s := range res.Sites {
		row.Sites = appendUnique(row.Sites, s.Site)
		if s.Allowed {
			row.AllowedSites = append(row.AllowedSites, s.Site)
		} else {
			row.DeniedSites = append(row.DeniedSites, s.Site)
		}
		for _, v := range s.Violations {
			v.Site = s.Site
			row.Violations = append(row.Violations, v)
		}
		for _, o := range s.Obligations {
			o.Site = s.Site
			row.Obligations = append(row.Obligations, o)
		}
	}
	row.Violations = append(row.Violations, res.Violations...)
	row.Obligations = append(row.Obligations, res.Obligations...)
	for _, v := range row.Violations {
		row.Datasets = appendUnique(row.Datasets, v.Dataset)
	}
	for _, e := range res.Exemptions {
		var id string
		if unmarshalRow(e, &id) != nil {
			var o struct {
				ID string `json:"id"`
			}
			_ = unmarshalRow(e, &o)
			id = o.ID
		}
		if id != "" {
			row.Exemptions = append(row.Exemptions, id)
		}
	}
}

// setOverride reads what an override granted. An override is not a
// decision: it has no outcome of its own, and is counted apart.
func (row *Row) setOverride(request, result json.RawMessage) {
	var req struct {
		Justification string `json:"justification"`
		Ticket        string `json:"ticket"`
	}
	var res struct {
		Overrides     string   `json:"overrides"`
		OriginalIndex *uint64  `json:"original_index"`
		OriginalKind  string   `json:"original_kind"`
		Expires       string   `json:"expires"`
		Resources     []string `json:"resources"`
	}
	if len(request) > 0 && request[0] == '{' {
		_ = unmarshalRow(request, &req)
	}
	if len(result) > 0 && result[0] == '{' {
		_ = unmarshalRow(result, &res)
	}
	g := &OverrideGrant{Justification: req.Justification, Ticket: req.Ticket, Expires: res.Expires,
		Overrides: res.Overrides, OriginalIndex: res.OriginalIndex, OriginalKind: res.OriginalKind, Resources: res.Resources}
	for _, l := range row.Links {
		if l.Rel == "overrides" {
			g.Overrides = cmp.Or(g.Overrides, l.ID)
		}
	}
	for _, uid := range res.Resources {
		if id, ok := entityID(uid, "Dataset"); ok {
			row.Datasets = appendUnique(row.Datasets, id)
		}
	}
	row.Override = g
}

// entityID is the id of a Cedar entity `…Type::"id"` of type typ.
func entityID(uid, typ string) (string, bool) {
	i := strings.LastIndex(uid, typ+`::"`)
	if i < 0 || (i > 0 && uid[i-1] != ':') || !strings.HasSuffix(uid, `"`) {
		return "", false
	}
	id := uid[i+len(typ)+3 : len(uid)-1]
	return id, id != "" && !strings.Contains(id, `"`)
}

// setSystemOutcome derives the outcome of a system record: an activation,
// a refusal or an access denial.
func (row *Row) setSystemOutcome(ev audit.SystemEvent) {
	row.Revision, row.Source, row.Reason, row.Drift = ev.Revision, ev.Source, ev.Reason, ev.Drift
	switch row.Kind {
	case audit.KindBundleActivation, audit.KindInventoryActivation:
		row.Outcome = OutcomeActivated
	case audit.KindBundleRefusal, audit.KindInventoryRefusal:
		row.Outcome = OutcomeRefused
	case audit.KindAccessDenied:
		row.Outcome = OutcomeDenied
	}
}

// setOutcome derives the outcome of a decision: allowed or denied.
func (row *Row) setOutcome(req *rowRequest, res *rowResult) {
	row.Hypothetical = res.Hypothetical
	if res.Allowed != nil {
		row.Outcome = OutcomeDenied
		if *res.Allowed {
			row.Outcome = OutcomeAllowed
		}
	}
	// A transfer is decided for its destination: so are its findings.
	if row.Kind == audit.KindTransfer && req.To != "" {
		for i := range row.Violations {
			row.Violations[i].Site = cmp.Or(row.Violations[i].Site, req.To)
		}
		for i := range row.Obligations {
			row.Obligations[i].Site = cmp.Or(row.Obligations[i].Site, req.To)
		}
	}
	if row.Kind == audit.KindTransfer && req.To != "" && len(res.Sites) == 0 {
		if row.Outcome == OutcomeAllowed {
			row.AllowedSites = []string{req.To}
		} else if row.Outcome == OutcomeDenied {
			row.DeniedSites = []string{req.To}
		}
	}
}

// matches reports whether a row falls in the query.
func (q Query) matches(r *Row) bool {
	if !q.inPeriod(r.Time) {
		return false
	}
	if q.Kind != "" && r.Kind != q.Kind {
		return false
	}
	if q.Tenant != "" && !slices.Contains(r.Tenants, q.Tenant) {
		return false
	}
	if q.Confined && !audit.OnlyTenant(r.Tenants, q.Tenant) {
		return false
	}
	if q.Dataset != "" && !slices.Contains(r.Datasets, q.Dataset) {
		return false
	}
	if q.Site != "" && !slices.Contains(r.Sites, q.Site) {
		return false
	}
	return true
}

// Checkpoint is the checkpoint a report was verified against.
type Checkpoint struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	// RootHash is hex; Signature is the note's signature lines.
	RootHash  string `json:"root_hash"`
	Signature string `json:"signature"`
	// Note is the whole signed checkpoint as published.
	Note string `json:"note"`
}

func checkpointOf(cp *audit.Checkpoint) Checkpoint {
	raw := string(cp.Raw)
	_, sig, _ := strings.Cut(raw, "\n\n")
	return Checkpoint{Origin: cp.Origin, Size: cp.Size, RootHash: fmt.Sprintf("%x", cp.Root), Signature: strings.TrimSpace(sig), Note: raw}
}

// Verification says what was checked before the report was written.
type Verification struct {
	// Mode is "window": the checkpoint's signature, every record in the index
	// window (signature, and its place in the checkpoint's tree by a range
	// proof); or "full": all of that after audit.VerifyLog over the whole log.
	Mode string `json:"mode"`
	// FirstIndex and EndIndex bound the index window read, [first, end).
	FirstIndex uint64 `json:"first_index"`
	EndIndex   uint64 `json:"end_index"`
	Records    uint64 `json:"records_verified"`
	// TimeSkew is the tolerance for records out of time order around the
	// window's edges; OutOfOrder counts records whose time is earlier than a
	// preceding record's by more than TimeSkew (0 in a healthy log).
	TimeSkew   string `json:"time_skew"`
	OutOfOrder uint64 `json:"out_of_order"`
}

// Count is a number of records by outcome.
type Count struct {
	Total     uint64 `json:"total"`
	Allowed   uint64 `json:"allowed,omitempty"`
	Denied    uint64 `json:"denied,omitempty"`
	Activated uint64 `json:"activated,omitempty"`
	Refused   uint64 `json:"refused,omitempty"`
}

func (c *Count) add(outcome string) {
	c.Total++
	switch outcome {
	case OutcomeAllowed:
		c.Allowed++
	case OutcomeDenied:
		c.Denied++
	case OutcomeActivated:
		c.Activated++
	case OutcomeRefused:
		c.Refused++
	}
}

// Totals counts the selected records.
type Totals struct {
	Records uint64 `json:"records"`
	// ByKind counts every record; what-if decisions in Total only.
	ByKind    map[string]Count  `json:"by_kind"`
	ByOutcome map[string]uint64 `json:"by_outcome"`
	// BySite counts per-site outcomes: a placement is allowed at some
	// candidates and denied at others; a transfer is decided for its
	// destination.
	BySite    map[string]Count `json:"by_site"`
	ByDataset map[string]Count `json:"by_dataset"`
	// ByTenant counts by the tenants a record belongs to, joined by ","
	// (Row.Tenant); "" is records that belong to no tenant.
	ByTenant map[string]Count `json:"by_tenant"`
	// ByRule counts violations by rule id: the decisions that violated it,
	// and its findings (one a site).
	ByRule map[string]RuleCount `json:"by_rule"`
	// Hypothetical counts what-if decisions (HypotheticalDenied of them
	// denied): answers for another time that authorized nothing. They are
	// counted here, in Records and in ByKind's totals, and nowhere else.
	Hypothetical       uint64 `json:"hypothetical,omitempty"`
	HypotheticalDenied uint64 `json:"hypothetical_denied,omitempty"`
	// Denials are the records listed under Denials: decisions denied,
	// access denials, and SiteDenials decisions allowed at some sites that
	// refused others.
	Denials     uint64 `json:"denials"`
	SiteDenials uint64 `json:"site_denials"`
	// Overrides counts override records; Exempted, decisions that applied
	// an exemption.
	Overrides uint64 `json:"overrides"`
	Exempted  uint64 `json:"exempted"`
}

// RuleCount is how often a rule was violated or an obligation raised:
// Decisions is how many decisions, Count how many findings (a placement
// that violates a rule at three candidate sites is one decision and three
// findings).
type RuleCount struct {
	Count     uint64 `json:"count"`
	Decisions uint64 `json:"decisions"`
	Citation  string `json:"citation,omitempty"`
}

// Activation is one step of the timeline of policy and inventory.
type Activation struct {
	Index    uint64     `json:"index"`
	Time     time.Time  `json:"time"`
	Kind     audit.Kind `json:"kind"`
	Revision string     `json:"revision,omitempty"`
	Digest   string     `json:"digest,omitempty"`
	Source   string     `json:"source,omitempty"`
	Reason   string     `json:"reason,omitempty"`
}

// InForce is a period during which decisions were made on one bundle
// revision and inventory revision, as the decision records say.
type InForce struct {
	BundleRevision    string    `json:"bundle_revision"`
	BundleDigest      string    `json:"bundle_digest,omitempty"`
	InventoryRevision string    `json:"inventory_revision,omitempty"`
	From              time.Time `json:"from"`
	To                time.Time `json:"to"`
	FirstIndex        uint64    `json:"first_index"`
	LastIndex         uint64    `json:"last_index"`
	Decisions         uint64    `json:"decisions"`
}

// SeriesPoint counts decisions in one time bucket, from Start.
type SeriesPoint struct {
	Start   time.Time `json:"start"`
	Allowed uint64    `json:"allowed"`
	Denied  uint64    `json:"denied"`
}

// Summary is everything in a report but the per-record rows.
type Summary struct {
	Format       string       `json:"format"`
	GeneratedAt  time.Time    `json:"generated_at"`
	Query        Query        `json:"query"`
	Checkpoint   Checkpoint   `json:"checkpoint"`
	Verification Verification `json:"verification"`
	FirstTime    time.Time    `json:"first_time,omitzero"`
	LastTime     time.Time    `json:"last_time,omitzero"`
	Totals       Totals       `json:"totals"`
	// Denials, Overrides (override records and decisions that applied an
	// exemption) and Hypothetical (what-if decisions) are the first
	// PDFListLimit of each in index order, for the PDF report; the HTML
	// report streams all of them, the JSON, CSV and evidence reports hold
	// them in their records. Totals says how many there are.
	Denials      []Row `json:"-"`
	Overrides    []Row `json:"-"`
	Hypothetical []Row `json:"-"`
	// Overridden maps the id of each decision overridden in the period to
	// the ids of the override records.
	Overridden  map[string][]string  `json:"overridden"`
	Timeline    []Activation         `json:"timeline"`
	InForce     []InForce            `json:"in_force"`
	Obligations map[string]RuleCount `json:"obligations"`
	// Series is decisions (placement, transfer, admission; not overrides nor
	// what-ifs) over time, every bucket of SeriesBucket from the first
	// decision's to the last's, which ends at SeriesEnd. The bucket is
	// chosen from that span: at most a few dozen bars.
	Series       []SeriesPoint `json:"series"`
	SeriesBucket string        `json:"series_bucket"`
	SeriesEnd    time.Time     `json:"series_end,omitzero"`
	// OutOfCompliance is what the newest drift run of the period found out
	// of compliance, one run per scope (all tenants, or one tenant), by
	// scope. Empty when no drift run falls in the period: that says
	// nothing about compliance (docs/drift.md).
	OutOfCompliance []DriftRun `json:"out_of_compliance_now"`
}

// DriftRun is the newest drift record of one scope in the period: what was
// checked, and what it found out of compliance then (Now) and by its
// forecast date (Forecast). Items outside the query's dataset or site are
// left out and counted in Filtered. ItemsOmitted: the record holds only
// counts and the digest of the report as answered (too many findings for
// one entry).
type DriftRun struct {
	Index     uint64    `json:"index"`
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Tenant    string    `json:"tenant,omitempty"`
	// Source is what was judged: "" the inventory's current state,
	// "kubernetes" a cluster's running workloads (background audit).
	Source            string            `json:"source,omitempty"`
	BundleRevision    string            `json:"bundle_revision,omitempty"`
	InventoryRevision string            `json:"inventory_revision,omitempty"`
	Result            audit.DriftResult `json:"result"`
	Now               []audit.DriftItem `json:"now"`
	Forecast          []audit.DriftItem `json:"forecast"`
	Filtered          int               `json:"filtered,omitempty"`
}

// Scope names what a drift run judged and for whom: "All tenants",
// "Tenant acme", "Kubernetes workloads, all tenants".
func (d DriftRun) Scope() string {
	scope := "All tenants"
	if d.Tenant != "" {
		scope = "Tenant " + d.Tenant
	}
	if d.Source == "kubernetes" {
		return "Kubernetes workloads, " + strings.ToLower(scope[:1]) + scope[1:]
	}
	return scope
}

// DriftWhat is a drift item in words: "stored at fra-2", "replicate fra-1 ->
// iad-1".
func DriftWhat(it audit.DriftItem) string {
	if it.Object != "" {
		return it.Object
	}
	if it.From == "" && it.To == "" {
		return "stored at " + it.Site
	}
	return cmp.Or(it.Type, it.Kind) + " " + it.From + " -> " + it.To
}

// FormatVersion names the layout of the JSON report and evidence pack.
const FormatVersion = "sovereign-audit-report/v1"

// The lists of records a report shows.
type list int

const (
	listDenials list = iota
	listOverrides
	listHypothetical
)

// listSink receives the rows of the lists, in index order: the HTML report
// spills them to files, the PDF keeps the first of each.
type listSink interface {
	add(l list, r *Row) error
}

// builder accumulates a Summary from rows in index order.
type builder struct {
	q       Query
	sum     Summary
	series  series
	maxTime time.Time
	skew    time.Duration
	inForce *InForce
	lists   listSink
	// firstOutOfOrder is the index of the first row out of order by more
	// than the skew (Verification.OutOfOrder counts them).
	firstOutOfOrder uint64
}

func newBuilder(q Query, skew time.Duration) *builder {
	return &builder{
		q:    q,
		skew: skew,
		sum: Summary{
			Format: FormatVersion, Query: q,
			Totals: Totals{ByKind: map[string]Count{}, ByOutcome: map[string]uint64{}, BySite: map[string]Count{},
				ByDataset: map[string]Count{}, ByTenant: map[string]Count{}, ByRule: map[string]RuleCount{}},
			Obligations: map[string]RuleCount{}, Overridden: map[string][]string{},
			Timeline: []Activation{}, InForce: []InForce{}, OutOfCompliance: []DriftRun{},
		},
		series: series{points: map[int64]*SeriesPoint{}},
	}
}

// observe sees every verified row of the window, selected or not; it
// returns whether the row is selected.
func (b *builder) observe(r *Row) (bool, error) {
	if r.Time.Before(b.maxTime.Add(-b.skew)) {
		if b.sum.Verification.OutOfOrder == 0 {
			b.firstOutOfOrder = r.Index
		}
		b.sum.Verification.OutOfOrder++
	}
	if r.Time.After(b.maxTime) {
		b.maxTime = r.Time
	}
	activation := r.Kind == audit.KindBundleActivation || r.Kind == audit.KindInventoryActivation ||
		r.Kind == audit.KindBundleRefusal || r.Kind == audit.KindInventoryRefusal
	refusal := r.Kind == audit.KindBundleRefusal || r.Kind == audit.KindInventoryRefusal
	if activation && b.q.inPeriod(r.Time) && !(refusal && b.q.Confined) {
		a := Activation{Index: r.Index, Time: r.Time, Kind: r.Kind, Revision: r.Revision, Source: r.Source, Reason: r.Reason}
		if r.Kind == audit.KindBundleActivation {
			a.Digest = r.Bundle.Digest
			a.Revision = cmp.Or(a.Revision, r.Bundle.Revision)
		} else if r.Kind == audit.KindInventoryActivation {
			a.Revision = cmp.Or(a.Revision, r.Inventory)
		}
		b.sum.Timeline = append(b.sum.Timeline, a)
	}
	if r.Kind == audit.KindDrift && r.Drift != nil && b.q.seesDrift(r) {
		b.drift(r)
	}
	// A denial is marked overridden by any override of the period, whether
	// or not the override itself matches the query's filters.
	if r.Override != nil && r.Override.Overrides != "" && b.q.inPeriod(r.Time) {
		b.sum.Overridden[r.Override.Overrides] = append(b.sum.Overridden[r.Override.Overrides], r.ID)
	}
	if !b.q.matches(r) {
		return false, nil
	}
	// Activations are system events: a report narrowed to a tenant, dataset
	// or site lists them in the timeline only.
	if activation && (b.q.Tenant != "" || b.q.Dataset != "" || b.q.Site != "") {
		return false, nil
	}
	return true, b.add(r)
}

// seesDrift reports whether the drift record r belongs in the report's
// "Out of compliance now": a run in the period, and, for a report on one
// tenant, a run confined to that tenant (an unconfined run covers every
// tenant's data, and its findings do not name tenants).
func (q Query) seesDrift(r *Row) bool {
	if !q.inPeriod(r.Time) || (q.Kind != "" && q.Kind != audit.KindDrift) {
		return false
	}
	if q.Tenant != "" && !slices.Contains(r.Tenants, q.Tenant) {
		return false
	}
	return !q.Confined || audit.OnlyTenant(r.Tenants, q.Tenant)
}

// drift keeps r as its scope's newest drift run.
func (b *builder) drift(r *Row) {
	run := DriftRun{Index: r.Index, Time: r.Time, Principal: r.Principal, Tenant: r.Tenant, Source: r.Source,
		BundleRevision: r.Bundle.Revision, InventoryRevision: r.Inventory, Result: *r.Drift}
	run.Result.Items = nil
	for _, it := range r.Drift.Items {
		if (b.q.Dataset != "" && it.Dataset != b.q.Dataset) ||
			(b.q.Site != "" && it.Site != b.q.Site && it.From != b.q.Site && it.To != b.q.Site) {
			run.Filtered++
			continue
		}
		if it.On != "" {
			run.Forecast = append(run.Forecast, it)
		} else {
			run.Now = append(run.Now, it)
		}
	}
	runs := b.sum.OutOfCompliance
	i := slices.IndexFunc(runs, func(d DriftRun) bool { return d.Tenant == run.Tenant && d.Source == run.Source })
	switch {
	case i < 0:
		runs = append(runs, run)
		slices.SortFunc(runs, func(a, b DriftRun) int {
			return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.Tenant, b.Tenant))
		})
	case !run.Time.Before(runs[i].Time):
		runs[i] = run
	}
	b.sum.OutOfCompliance = runs
}

// IsDenial reports whether a report lists r under Denials: a decision
// denied, an access denial, or a decision allowed at some sites that
// refused others (marked "allowed elsewhere"). What-if decisions are
// listed apart.
func (r *Row) IsDenial() bool {
	if r.Hypothetical {
		return false
	}
	return r.Outcome == OutcomeDenied || (r.Outcome == OutcomeAllowed && len(r.DeniedSites) > 0)
}

func (b *builder) list(l list, r *Row) error {
	if b.lists == nil {
		return nil
	}
	return b.lists.add(l, r)
}

func (b *builder) add(r *Row) error {
	s := &b.sum
	t := &s.Totals
	t.Records++
	if s.FirstTime.IsZero() || r.Time.Before(s.FirstTime) {
		s.FirstTime = r.Time
	}
	if r.Time.After(s.LastTime) {
		s.LastTime = r.Time
	}
	bump := func(m map[string]Count, k, outcome string) {
		c := m[k]
		c.add(outcome)
		m[k] = c
	}
	if r.Hypothetical {
		// Counted apart: a what-if authorized nothing.
		t.Hypothetical++
		if r.Outcome == OutcomeDenied {
			t.HypotheticalDenied++
		}
		bump(t.ByKind, string(r.Kind), "")
		return b.list(listHypothetical, r)
	}
	bump(t.ByKind, string(r.Kind), r.Outcome)
	if r.Outcome != "" {
		t.ByOutcome[r.Outcome]++
	}
	bump(t.ByTenant, r.Tenant, r.Outcome)
	for _, d := range r.Datasets {
		bump(t.ByDataset, d, r.Outcome)
	}
	for _, site := range r.AllowedSites {
		bump(t.BySite, site, OutcomeAllowed)
	}
	for _, site := range r.DeniedSites {
		bump(t.BySite, site, OutcomeDenied)
	}
	countRules(t.ByRule, r.Violations)
	countRules(s.Obligations, r.Obligations)
	decision := (r.Outcome == OutcomeAllowed || r.Outcome == OutcomeDenied) && !r.Kind.IsSystem() && r.Kind != audit.KindOverride
	if decision {
		b.series.add(r.Time, r.Outcome == OutcomeAllowed)
	}
	if decision && r.Bundle.Revision != "" {
		f := b.inForce
		if f == nil || f.BundleRevision != r.Bundle.Revision || f.BundleDigest != r.Bundle.Digest || f.InventoryRevision != r.Inventory {
			s.InForce = append(s.InForce, InForce{BundleRevision: r.Bundle.Revision, BundleDigest: r.Bundle.Digest,
				InventoryRevision: r.Inventory, From: r.Time, FirstIndex: r.Index})
			b.inForce = &s.InForce[len(s.InForce)-1]
			f = b.inForce
		}
		f.To, f.LastIndex = r.Time, r.Index
		f.Decisions++
	}
	if r.IsDenial() {
		t.Denials++
		if r.Outcome == OutcomeAllowed {
			t.SiteDenials++
		}
		if err := b.list(listDenials, r); err != nil {
			return err
		}
	}
	if r.Override != nil || len(r.Exemptions) > 0 {
		if r.Override != nil {
			t.Overrides++
		} else {
			t.Exempted++
		}
		return b.list(listOverrides, r)
	}
	return nil
}

// countRules counts findings by rule: each finding, and each decision once
// per rule however many sites it names.
func countRules(m map[string]RuleCount, findings []Finding) {
	for i, f := range findings {
		rc := m[f.Rule]
		rc.Count++
		if !slices.ContainsFunc(findings[:i], func(g Finding) bool { return g.Rule == f.Rule }) {
			rc.Decisions++
		}
		rc.Citation = cmp.Or(rc.Citation, f.Citation)
		m[f.Rule] = rc
	}
}

// finish lays out the series.
func (b *builder) finish() *Summary {
	s := &b.sum
	s.Series, s.SeriesBucket, s.SeriesEnd = b.series.finish()
	return s
}

// seriesSteps are the bucket sizes of the series, finest first.
var seriesSteps = []struct {
	step time.Duration
	name string
}{
	{time.Minute, "minute"}, {5 * time.Minute, "5 minutes"}, {15 * time.Minute, "15 minutes"},
	{time.Hour, "hour"}, {6 * time.Hour, "6 hours"}, {24 * time.Hour, "day"},
	{7 * 24 * time.Hour, "week"}, {28 * 24 * time.Hour, "4 weeks"},
}

const (
	// maxSeriesBars: the series uses the finest step that gives fewer bars.
	maxSeriesBars = 90
	// maxSeriesKept bounds the buckets held while reading: past it they
	// are merged into the next step (decisions may come from any time).
	maxSeriesKept = 8192
)

// series counts decisions by time in buckets of seriesSteps[level].
type series struct {
	level       int
	points      map[int64]*SeriesPoint
	first, last time.Time
}

func (s *series) step() time.Duration { return seriesSteps[s.level].step }

func (s *series) add(t time.Time, allowed bool) {
	if s.first.IsZero() || t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
	start := t.Truncate(s.step()).UTC()
	p := s.points[start.Unix()]
	if p == nil {
		p = &SeriesPoint{Start: start}
		s.points[start.Unix()] = p
	}
	if allowed {
		p.Allowed++
	} else {
		p.Denied++
	}
	for len(s.points) > maxSeriesKept && s.level < len(seriesSteps)-1 {
		s.coarsen(s.level + 1)
	}
}

// coarsen merges the buckets into those of seriesSteps[level].
func (s *series) coarsen(level int) {
	if level == s.level {
		return
	}
	s.level = level
	old := s.points
	s.points = make(map[int64]*SeriesPoint, len(old))
	for _, p := range old {
		start := p.Start.Truncate(s.step()).UTC()
		q := s.points[start.Unix()]
		if q == nil {
			q = &SeriesPoint{Start: start}
			s.points[start.Unix()] = q
		}
		q.Allowed += p.Allowed
		q.Denied += p.Denied
	}
}

// finish returns every bucket from the first decision's to the last's, of
// the finest step that makes at most maxSeriesBars of them, its name, and
// when the last bucket ends.
func (s *series) finish() ([]SeriesPoint, string, time.Time) {
	points := []SeriesPoint{}
	if len(s.points) == 0 {
		return points, seriesSteps[s.level].name, time.Time{}
	}
	level := s.level
	for level < len(seriesSteps)-1 {
		st := seriesSteps[level].step
		if (s.last.Truncate(st).Sub(s.first.Truncate(st)))/st+1 <= maxSeriesBars {
			break
		}
		level++
	}
	s.coarsen(level)
	st := s.step()
	last := s.last.Truncate(st).UTC()
	for t := s.first.Truncate(st).UTC(); !t.After(last); t = t.Add(st) {
		if p := s.points[t.Unix()]; p != nil {
			points = append(points, *p)
		} else {
			points = append(points, SeriesPoint{Start: t})
		}
	}
	return points, seriesSteps[level].name, last.Add(st)
}

// TopRules returns the rules of m by decisions, then findings, most first,
// at most n.
func TopRules(m map[string]RuleCount, n int) []string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b].Decisions, m[a].Decisions), cmp.Compare(m[b].Count, m[a].Count), strings.Compare(a, b))
	})
	if n > 0 && len(keys) > n {
		keys = keys[:n]
	}
	return keys
}
