package audit

import (
	"encoding/json"
	"fmt"
	gojson "github.com/goccy/go-json"
	"sort"
	"strings"
	"time"
)

// ReportQuery selects the records a report covers. Zero values select
// everything: From/To bound the record time (From inclusive, To exclusive).
type ReportQuery struct {
	From    time.Time `json:"from,omitzero"`
	To      time.Time `json:"to,omitzero"`
	Tenant  string    `json:"tenant,omitempty"`
	Dataset string    `json:"dataset,omitempty"`
	Site    string    `json:"site,omitempty"`
	Kind    Kind      `json:"kind,omitempty"`
}

// Filtered reports whether the query narrows records by more than time.
func (q ReportQuery) Filtered() bool {
	return q.Tenant != "" || q.Dataset != "" || q.Site != "" || q.Kind != ""
}

func (q ReportQuery) inPeriod(t time.Time) bool {
	return (q.From.IsZero() || !t.Before(q.From)) && (q.To.IsZero() || t.Before(q.To))
}

// Outcomes of a record, in ReportRow.Outcome.
const (
	OutcomeAllowed   = "allowed"
	OutcomeDenied    = "denied"
	OutcomeActivated = "activated"
	OutcomeRefused   = "refused"
)

// ReportRow is what a report knows of one record: the record's own fields
// and what it derives from the request and result (tenant, datasets, sites,
// outcome, rules).
type ReportRow struct {
	Index     uint64    `json:"index"`
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Kind      Kind      `json:"kind"`
	Principal string    `json:"principal"`
	Tenant    string    `json:"tenant,omitempty"`
	Datasets  []string  `json:"datasets,omitempty"`
	Sites     []string  `json:"sites,omitempty"`
	Outcome   string    `json:"outcome,omitempty"`
	// Hypothetical: a what-if decision for another time (the request's
	// `at`), which authorized nothing when it was made.
	Hypothetical  bool      `json:"hypothetical,omitempty"`
	AllowedSites  []string  `json:"allowed_sites,omitempty"`
	DeniedSites   []string  `json:"denied_sites,omitempty"`
	Violations    []Finding `json:"violations,omitempty"`
	Obligations   []Finding `json:"obligations,omitempty"`
	Exemptions    []string  `json:"exemptions,omitempty"`
	Links         []Link    `json:"links,omitempty"`
	Bundle        BundleRef `json:"bundle,omitzero"`
	Inventory     string    `json:"inventory_revision,omitempty"`
	RequestSHA256 string    `json:"request_sha256,omitempty"`
	EntrySHA256   string    `json:"entry_sha256"`
	// Revision is what an activation or refusal record activated or refused.
	Revision string `json:"revision,omitempty"`
	Source   string `json:"source,omitempty"`
	Reason   string `json:"reason,omitempty"`
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
	ID                string          `json:"id"`
	Time              string          `json:"time"`
	Kind              Kind            `json:"kind"`
	Principal         string          `json:"principal"`
	RequestSHA256     string          `json:"request_sha256"`
	Request           json.RawMessage `json:"request"`
	Result            json.RawMessage `json:"result"`
	Bundle            *BundleRef      `json:"bundle"`
	InventoryRevision string          `json:"inventory_revision"`
	Links             []Link          `json:"links"`
}

// ref is a dataset or workload given by id or inline.
type ref struct {
	ID       string
	Tenant   string
	Datasets []string
}

func (r *ref) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return unmarshalRow(b, &r.ID)
	}
	var o struct {
		ID       string   `json:"id"`
		Tenant   string   `json:"tenant"`
		Datasets []string `json:"datasets"`
	}
	if len(b) > 0 && b[0] == '{' {
		if err := unmarshalRow(b, &o); err != nil {
			return err
		}
		r.ID, r.Tenant, r.Datasets = o.ID, o.Tenant, o.Datasets
	}
	return nil
}

type rowRequest struct {
	Dataset    *ref     `json:"dataset"`
	Workload   *ref     `json:"workload"`
	Candidates []string `json:"candidates"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Source     string   `json:"source"`
	Tenant     string   `json:"tenant"`
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
	Revision    string            `json:"revision"`
	Reason      string            `json:"reason"`
	Error       string            `json:"error"`
}

// TenantOf derives the tenant from a Cedar principal `Tenant::"acme"` (also
// `…::Tenant::"acme"`); other principals name no tenant.
func TenantOf(principal string) string {
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

// unmarshalRow decodes the parts of a verified record a report reads. It is
// goccy/go-json, a drop-in for encoding/json's Unmarshal: 13 µs instead of
// 60–90 µs a placement record here (BenchmarkParseReportRow), which is most of
// a large export's CPU besides the signature check. TestParseReportRowDecoders
// checks it derives the same rows as encoding/json.
var unmarshalRow = gojson.Unmarshal

// parseReportRow decodes a record's canonical JSON into a ReportRow. Request
// and result shapes it does not know leave the derived fields empty.
func parseReportRow(rec []byte) (*ReportRow, error) {
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
	row := &ReportRow{ID: r.ID, Time: t, Kind: r.Kind, Principal: r.Principal, Links: r.Links,
		Inventory: r.InventoryRevision, RequestSHA256: r.RequestSHA256, Tenant: TenantOf(r.Principal)}
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
	addUnique := func(list []string, v string) []string {
		if v == "" {
			return list
		}
		for _, x := range list {
			if x == v {
				return list
			}
		}
		return append(list, v)
	}
	for _, x := range []*ref{req.Dataset, req.Workload} {
		if x == nil {
			continue
		}
		if row.Tenant == "" {
			row.Tenant = x.Tenant
		}
	}
	if req.Dataset != nil {
		row.Datasets = addUnique(row.Datasets, req.Dataset.ID)
	}
	if req.Workload != nil {
		for _, d := range req.Workload.Datasets {
			row.Datasets = addUnique(row.Datasets, d)
		}
	}
	if row.Tenant == "" {
		row.Tenant = req.Tenant
	}
	for _, s := range req.Candidates {
		row.Sites = addUnique(row.Sites, s)
	}
	row.Sites = addUnique(row.Sites, req.From)
	row.Sites = addUnique(row.Sites, req.To)
	row.Sites = addUnique(row.Sites, req.Site)
	for _, s := range res.Sites {
		row.Sites = addUnique(row.Sites, s.Site)
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
		row.Datasets = addUnique(row.Datasets, v.Dataset)
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
	switch r.Kind {
	case KindBundleActivation, KindInventoryActivation:
		row.Outcome = OutcomeActivated
		row.Revision, row.Source = res.Revision, req.Source
	case KindBundleRefusal, KindInventoryRefusal:
		row.Outcome = OutcomeRefused
		row.Revision, row.Source = res.Revision, req.Source
		row.Reason = res.Reason
		if row.Reason == "" {
			row.Reason = res.Error
		}
	case KindAccessDenied:
		row.Outcome = OutcomeDenied
		row.Reason = res.Reason
	default:
		row.Hypothetical = res.Hypothetical
		if res.Allowed != nil {
			row.Outcome = OutcomeDenied
			if *res.Allowed {
				row.Outcome = OutcomeAllowed
			}
		}
		// A transfer is decided for its destination.
		if r.Kind == KindTransfer && req.To != "" && len(res.Sites) == 0 {
			if row.Outcome == OutcomeAllowed {
				row.AllowedSites = []string{req.To}
			} else if row.Outcome == OutcomeDenied {
				row.DeniedSites = []string{req.To}
			}
		}
	}
	return row, nil
}

// matches reports whether a row falls in the query.
func (q ReportQuery) matches(r *ReportRow) bool {
	if !q.inPeriod(r.Time) {
		return false
	}
	if q.Kind != "" && r.Kind != q.Kind {
		return false
	}
	if q.Tenant != "" && r.Tenant != q.Tenant {
		return false
	}
	if q.Dataset != "" && !contains(r.Datasets, q.Dataset) {
		return false
	}
	if q.Site != "" && !contains(r.Sites, q.Site) {
		return false
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// ReportCheckpoint is the checkpoint a report was verified against.
type ReportCheckpoint struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	// RootHash is hex; Signature is the note's signature lines.
	RootHash  string `json:"root_hash"`
	Signature string `json:"signature"`
	// Note is the whole signed checkpoint as published.
	Note string `json:"note"`
}

func reportCheckpoint(cp *Checkpoint) ReportCheckpoint {
	raw := string(cp.Raw)
	_, sig, _ := strings.Cut(raw, "\n\n")
	return ReportCheckpoint{Origin: cp.Origin, Size: cp.Size, RootHash: fmt.Sprintf("%x", cp.Root), Signature: strings.TrimSpace(sig), Note: raw}
}

// Verification says what was checked before the report was written.
type Verification struct {
	// Mode is "window": the checkpoint's signature, every record in the index
	// window (signature, and its place in the checkpoint's tree by a range
	// proof); or "full": all of that after VerifyLog over the whole log.
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
	Records   uint64            `json:"records"`
	ByKind    map[string]Count  `json:"by_kind"`
	ByOutcome map[string]uint64 `json:"by_outcome"`
	// BySite counts per-site outcomes: a placement is allowed at some
	// candidates and denied at others; a transfer is decided for its
	// destination.
	BySite    map[string]Count `json:"by_site"`
	ByDataset map[string]Count `json:"by_dataset"`
	// ByTenant counts by derived tenant; "" is records whose tenant is unknown.
	ByTenant map[string]Count `json:"by_tenant"`
	// ByRule counts violations by rule id (a decision may violate several).
	ByRule map[string]RuleCount `json:"by_rule"`
	// Hypothetical counts what-if decisions (also counted above): answers
	// for another time that authorized nothing.
	Hypothetical uint64 `json:"hypothetical,omitempty"`
}

// RuleCount is how often a rule was violated or an obligation raised.
type RuleCount struct {
	Count    uint64 `json:"count"`
	Citation string `json:"citation,omitempty"`
}

// Activation is one step of the timeline of policy and inventory.
type Activation struct {
	Index    uint64    `json:"index"`
	Time     time.Time `json:"time"`
	Kind     Kind      `json:"kind"`
	Revision string    `json:"revision,omitempty"`
	Digest   string    `json:"digest,omitempty"`
	Source   string    `json:"source,omitempty"`
	Reason   string    `json:"reason,omitempty"`
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

// SeriesPoint counts decisions in one time bucket.
type SeriesPoint struct {
	Start   time.Time `json:"start"`
	Allowed uint64    `json:"allowed"`
	Denied  uint64    `json:"denied"`
}

// ReportSummary is everything in a report but the per-record rows.
type ReportSummary struct {
	Format       string           `json:"format"`
	GeneratedAt  time.Time        `json:"generated_at"`
	Query        ReportQuery      `json:"query"`
	Checkpoint   ReportCheckpoint `json:"checkpoint"`
	Verification Verification     `json:"verification"`
	FirstTime    time.Time        `json:"first_time,omitzero"`
	LastTime     time.Time        `json:"last_time,omitzero"`
	Totals       Totals           `json:"totals"`
	// Denials, Overrides: every such record, in index order, for the HTML
	// and PDF reports; the JSON report omits them, its records hold them.
	// Overrides holds override records and decisions that applied an
	// exemption.
	Denials     []ReportRow          `json:"denials,omitempty"`
	Overrides   []ReportRow          `json:"overrides,omitempty"`
	Timeline    []Activation         `json:"timeline"`
	InForce     []InForce            `json:"in_force"`
	Obligations map[string]RuleCount `json:"obligations"`
	// Series is decisions over time, in buckets of SeriesBucket.
	Series       []SeriesPoint `json:"series"`
	SeriesBucket string        `json:"series_bucket"`
}

// ReportFormatVersion names the layout of the JSON report and evidence pack.
const ReportFormatVersion = "sovereign-audit-report/v1"

// reportBuilder accumulates a ReportSummary from rows in index order.
type reportBuilder struct {
	q        ReportQuery
	sum      ReportSummary
	hourly   map[int64]*SeriesPoint
	maxTime  time.Time
	skew     time.Duration
	inForce  *InForce
	noDetail bool
}

func newReportBuilder(q ReportQuery, skew time.Duration) *reportBuilder {
	return &reportBuilder{
		q:    q,
		skew: skew,
		sum: ReportSummary{
			Format: ReportFormatVersion, Query: q,
			Totals: Totals{ByKind: map[string]Count{}, ByOutcome: map[string]uint64{}, BySite: map[string]Count{},
				ByDataset: map[string]Count{}, ByTenant: map[string]Count{}, ByRule: map[string]RuleCount{}},
			Obligations: map[string]RuleCount{},
			Denials:     []ReportRow{}, Overrides: []ReportRow{}, Timeline: []Activation{}, InForce: []InForce{},
		},
		hourly: map[int64]*SeriesPoint{},
	}
}

// observe sees every verified row of the window, selected or not; it
// returns whether the row is selected.
func (b *reportBuilder) observe(r *ReportRow) bool {
	if r.Time.Before(b.maxTime.Add(-b.skew)) {
		b.sum.Verification.OutOfOrder++
	}
	if r.Time.After(b.maxTime) {
		b.maxTime = r.Time
	}
	activation := r.Kind == KindBundleActivation || r.Kind == KindInventoryActivation ||
		r.Kind == KindBundleRefusal || r.Kind == KindInventoryRefusal
	if activation && b.q.inPeriod(r.Time) {
		a := Activation{Index: r.Index, Time: r.Time, Kind: r.Kind, Revision: r.Revision, Source: r.Source, Reason: r.Reason}
		if r.Kind == KindBundleActivation {
			a.Digest = r.Bundle.Digest
			if a.Revision == "" {
				a.Revision = r.Bundle.Revision
			}
		} else if r.Kind == KindInventoryActivation && a.Revision == "" {
			a.Revision = r.Inventory
		}
		b.sum.Timeline = append(b.sum.Timeline, a)
	}
	if !b.q.matches(r) {
		return false
	}
	// Activations are system events: a report narrowed to a tenant, dataset
	// or site lists them in the timeline only.
	if activation && (b.q.Tenant != "" || b.q.Dataset != "" || b.q.Site != "") {
		return false
	}
	b.add(r)
	return true
}

func (b *reportBuilder) add(r *ReportRow) {
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
	bump(t.ByKind, string(r.Kind), r.Outcome)
	if r.Hypothetical {
		t.Hypothetical++
	}
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
	for _, v := range r.Violations {
		rc := t.ByRule[v.Rule]
		rc.Count++
		if rc.Citation == "" {
			rc.Citation = v.Citation
		}
		t.ByRule[v.Rule] = rc
	}
	for _, o := range r.Obligations {
		rc := s.Obligations[o.Rule]
		rc.Count++
		if rc.Citation == "" {
			rc.Citation = o.Citation
		}
		s.Obligations[o.Rule] = rc
	}
	decision := r.Outcome == OutcomeAllowed || r.Outcome == OutcomeDenied
	if decision {
		h := r.Time.Truncate(time.Hour).Unix()
		p := b.hourly[h]
		if p == nil {
			p = &SeriesPoint{Start: time.Unix(h, 0).UTC()}
			b.hourly[h] = p
		}
		if r.Outcome == OutcomeAllowed {
			p.Allowed++
		} else {
			p.Denied++
		}
	}
	if decision && r.Bundle.Revision != "" && r.Kind != KindAccessDenied {
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
	if !b.noDetail {
		if r.Outcome == OutcomeDenied {
			s.Denials = append(s.Denials, *r)
		}
		if r.Kind == KindOverride || len(r.Exemptions) > 0 {
			s.Overrides = append(s.Overrides, *r)
		}
	}
}

// finish orders the series into buckets of a readable size.
func (b *reportBuilder) finish() *ReportSummary {
	s := &b.sum
	hours := make([]int64, 0, len(b.hourly))
	for h := range b.hourly {
		hours = append(hours, h)
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i] < hours[j] })
	from, to := s.Query.From, s.Query.To
	if from.IsZero() {
		from = s.FirstTime
	}
	if to.IsZero() {
		to = s.LastTime
	}
	span := to.Sub(from)
	bucket, name := time.Hour, "hour"
	switch {
	case span > 400*24*time.Hour:
		bucket, name = 7*24*time.Hour, "week"
	case span > 4*24*time.Hour:
		bucket, name = 24*time.Hour, "day"
	}
	s.SeriesBucket = name
	s.Series = []SeriesPoint{}
	for _, h := range hours {
		p := b.hourly[h]
		start := p.Start.Truncate(bucket)
		if n := len(s.Series); n > 0 && s.Series[n-1].Start.Equal(start) {
			s.Series[n-1].Allowed += p.Allowed
			s.Series[n-1].Denied += p.Denied
			continue
		}
		s.Series = append(s.Series, SeriesPoint{Start: start, Allowed: p.Allowed, Denied: p.Denied})
	}
	return s
}

// TopRules returns the rules of m by count, most first, at most n.
func TopRules(m map[string]RuleCount, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]].Count != m[keys[j]].Count {
			return m[keys[i]].Count > m[keys[j]].Count
		}
		return keys[i] < keys[j]
	})
	if n > 0 && len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// SortedKeys returns the keys of a count map in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
