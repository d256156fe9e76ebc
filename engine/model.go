// Package engine decides placement and transfer questions: it owns the domain model
// (sites, datasets, workloads, requests, decisions), validates inventories, and
// evaluates the Rego policy bundle against them with OPA embedded as a library.
package engine

import "time"

// Site is a place where data can be stored or a workload can run: a public-cloud
// region, an on-prem data centre or an edge site. Field names are snake_case in
// YAML, JSON and Rego alike (DESIGN §3).
//
// A list whose absence means "not stated" keeps that absence through to the
// policy (omitzero: a nil list is left out, an empty one is written []), so the
// policy can tell "unknown" from "none": personnel_countries absent is not
// stated, [] states that no one administers the site remotely; likewise
// operator.parent_countries (absent: the ownership chain is unknown; []: the
// operator has no parent). omitempty would write both as absent, and an
// unknown chain would read as "no foreign parent".
type Site struct {
	ID                 string            `json:"id" validate:"required,dns_label"`
	Kind               string            `json:"kind" validate:"required,oneof=cloud-region on-prem edge"`
	Provider           string            `json:"provider,omitempty" validate:"omitempty,max=64"`
	Region             string            `json:"region,omitempty" validate:"omitempty,max=64"`
	Partition          string            `json:"partition,omitempty" validate:"omitempty,max=64"`
	Country            string            `json:"country" validate:"required,iso3166_1_alpha2"`
	Subdivision        string            `json:"subdivision,omitempty" validate:"omitempty,iso3166_2"`
	Operator           Operator          `json:"operator" validate:"required"`
	PersonnelCountries []string          `json:"personnel_countries,omitzero" validate:"omitempty,dive,iso3166_1_alpha2"`
	Certifications     []Certification   `json:"certifications,omitempty" validate:"omitempty,dive"`
	KeyCustody         string            `json:"key_custody,omitempty" validate:"omitempty,oneof=customer provider in-country-hsm"`
	Labels             map[string]string `json:"labels,omitempty" validate:"omitempty,dive,keys,required,max=317,endkeys,max=63"`
}

// Operator is the legal entity that runs a site. ParentCountries lists the
// jurisdictions up its ownership chain: compulsion reaches data through a parent
// (CLOUD Act exposure follows the chain, not the site's country).
type Operator struct {
	Name            string   `json:"name" validate:"required,max=256"`
	Country         string   `json:"country" validate:"required,iso3166_1_alpha2"`
	ParentCountries []string `json:"parent_countries,omitzero" validate:"omitempty,dive,iso3166_1_alpha2"`
}

// Certification is an attestation a site holds, such as BSI C5 Type 2 or ISO 27001.
// ValidUntil is a calendar date (YYYY-MM-DD); an expired certification does not count.
type Certification struct {
	Scheme     string `json:"scheme" validate:"required,max=64"`
	Level      string `json:"level,omitempty" validate:"omitempty,max=64"`
	ValidUntil string `json:"valid_until,omitempty" validate:"omitempty,datetime=2006-01-02"`
}

// Dataset describes data whose location is regulated. It carries categories and
// jurisdictions, never personal data itself.
//
// As for Site, lists whose absence differs from their being empty keep the
// difference (omitzero): residency absent bounds nothing while [] allows no
// location at all; allowed_jurisdictions absent defaults to EU while [] allows
// none; categories and subject_jurisdictions absent are not stated.
type Dataset struct {
	ID                     string      `json:"id" validate:"required,max=253"`
	Tenant                 string      `json:"tenant,omitempty" validate:"omitempty,max=253"`
	Classification         string      `json:"classification" validate:"required,oneof=public internal confidential restricted sovereign"`
	Categories             []string    `json:"categories,omitzero" validate:"omitempty,dive,required,max=64"`
	SubjectJurisdictions   []string    `json:"subject_jurisdictions,omitzero" validate:"omitempty,dive,jurisdiction"`
	SubjectCount           int64       `json:"subject_count,omitempty" validate:"gte=0"`
	OriginCountry          string      `json:"origin_country,omitempty" validate:"omitempty,iso3166_1_alpha2"`
	Residency              []string    `json:"residency,omitzero" validate:"omitempty,dive,jurisdiction"`
	ResidencyDeny          []string    `json:"residency_deny,omitempty" validate:"omitempty,dive,jurisdiction"`
	AllowedJurisdictions   []string    `json:"allowed_jurisdictions,omitzero" validate:"omitempty,dive,jurisdiction"`
	RequiredCertifications []string    `json:"required_certifications,omitempty" validate:"omitempty,dive,required,max=64"`
	Encryption             *Encryption `json:"encryption,omitempty"`
}

// Encryption states how a dataset is protected and who holds its keys.
type Encryption struct {
	AtRest    bool   `json:"at_rest"`
	EndToEnd  bool   `json:"end_to_end"`
	KeyHolder string `json:"key_holder,omitempty" validate:"omitempty,oneof=customer provider in-country-hsm"`
}

// Workload is something that runs and touches datasets: its placement is bounded
// by the constraints of every dataset it uses.
type Workload struct {
	ID       string   `json:"id" validate:"required,max=253"`
	Tenant   string   `json:"tenant,omitempty" validate:"omitempty,max=253"`
	Datasets []string `json:"datasets" validate:"required,min=1,dive,required"`
}

// Exemption waives the results of named rules within a scope until it expires
// (docs/policy-contract.md, "Exemptions"). Every decision lists the exemptions
// it applied; the policy decides which rules may not be waived.
type Exemption struct {
	ID        string         `json:"id" validate:"required,max=128"`
	Rules     []string       `json:"rules" validate:"required,min=1,dive,required,max=128"`
	Scope     ExemptionScope `json:"scope"`
	Reason    string         `json:"reason" validate:"required,max=2048"`
	Category  string         `json:"category,omitempty" validate:"omitempty,oneof=waiver mitigated"`
	ValidFrom string         `json:"valid_from,omitempty" validate:"omitempty,datetime=2006-01-02"`
	Expires   string         `json:"expires" validate:"required,datetime=2006-01-02"`
}

// ExemptionScope limits an exemption; an absent list matches everything, but
// at least one must be given. An empty list matches nothing, and stays empty
// on its way to the policy (omitzero): written as absent, it would widen the
// exemption to everything.
type ExemptionScope struct {
	Sites    []string `json:"sites,omitzero" validate:"omitempty,dive,required"`
	Datasets []string `json:"datasets,omitzero" validate:"omitempty,dive,required"`
	Tenants  []string `json:"tenants,omitzero" validate:"omitempty,dive,required"`
}

// AppliedExemption is an exemption a decision applied, with what it waived.
type AppliedExemption struct {
	Exemption string `json:"exemption"`
	Rule      string `json:"rule"`
	Site      string `json:"site,omitempty"`
	Dataset   string `json:"dataset,omitempty"`
	Category  string `json:"category,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Expires   string `json:"expires,omitempty"`
	Waived    string `json:"waived,omitempty"`
}

// RegimeNote is one legal (or contractual) regime the policy considered for a
// decision: its period on the decision date, whether it applied to each
// dataset and why (or why not), and the affirmative grounds of the sites the
// data may be at (docs/policy-contract.md, "The regimes list"). It names ids,
// dates and sources only, never personal data.
type RegimeNote struct {
	Regime   string          `json:"regime"`
	Name     string          `json:"name,omitempty"`
	Period   *RegimePeriod   `json:"period,omitempty"`
	Datasets []RegimeDataset `json:"datasets"`
	Grounds  []RegimeGround  `json:"grounds,omitempty"`
}

// RegimePeriod is the version of a regime in force on the decision date.
// Status is modelled, not_in_force, not_modelled or before_modelled_period.
type RegimePeriod struct {
	ID         string `json:"id,omitempty"`
	Name       string `json:"name,omitempty"`
	Status     string `json:"status"`
	Source     string `json:"source,omitempty"`
	ValidFrom  string `json:"valid_from,omitempty"`
	ValidUntil string `json:"valid_until,omitempty"`
}

// RegimeDataset says whether a regime applied to a dataset, and why.
type RegimeDataset struct {
	Dataset string `json:"dataset"`
	Applies bool   `json:"applies"`
	Why     string `json:"why"`
}

// RegimeGround is the affirmative basis on which a regime lets a dataset be at
// a site.
type RegimeGround struct {
	Site    string `json:"site"`
	Dataset string `json:"dataset"`
	Ground  string `json:"ground"`
}

// Violation is one reason a site is refused or a transfer is not permitted.
// Rule is a stable id (gdpr.chapter5.no_basis), Citation the legal source.
type Violation struct {
	Rule     string `json:"rule"`
	Message  string `json:"message,omitempty"` // always set in answers (and in audit records, whole)
	Citation string `json:"citation"`
	Dataset  string `json:"dataset,omitempty"`
}

// Obligation is something that must be done for an allowed outcome to be lawful
// (a transfer impact assessment, a filing, a return of data within 24 hours).
type Obligation = Violation

// SiteDecision is the verdict for one candidate site of a placement.
type SiteDecision struct {
	Site        string             `json:"site"`
	Allowed     bool               `json:"allowed"`
	Violations  []Violation        `json:"violations,omitempty"`
	Obligations []Obligation       `json:"obligations"`
	Warnings    []Violation        `json:"warnings,omitempty"`
	Exemptions  []AppliedExemption `json:"exemptions,omitempty"`
}

// BundleInfo identifies the policy that made a decision.
type BundleInfo struct {
	Revision string `json:"revision"`
	Digest   string `json:"digest"`
}

// AuditReceipt says where a decision's signed record sits in the audit log.
type AuditReceipt struct {
	Index       uint64 `json:"index"`
	EntrySHA256 string `json:"entry_sha256"`
}

// Decision is the answer to a placement or transfer request. A deny is an answer,
// not an error.
type Decision struct {
	DecisionID  string         `json:"decision_id"`
	Kind        string         `json:"kind"`
	Allowed     bool           `json:"allowed"`
	Sites       []SiteDecision `json:"sites,omitempty"`
	Violations  []Violation    `json:"violations"`
	Obligations []Obligation   `json:"obligations"`
	// Warnings are risks to acknowledge (a transfer's; a placement's are per site).
	Warnings []Violation `json:"warnings,omitempty"`
	// Exemptions lists every exemption the decision applied.
	Exemptions []AppliedExemption `json:"exemptions,omitempty"`
	// Regimes lists the regimes the policy considered, when it reports them.
	Regimes           []RegimeNote `json:"regimes,omitempty"`
	Bundle            BundleInfo   `json:"bundle"`
	InventoryRevision string       `json:"inventory_revision"`
	EvaluatedAt       string       `json:"evaluated_at"`
	// Hypothetical marks a what-if answer: the request asked for a time (`at`)
	// more than HypotheticalSkew away from when it was decided, so the answer
	// says what the policy would have decided then, and authorizes nothing now.
	Hypothetical bool          `json:"hypothetical,omitempty"`
	Audit        *AuditReceipt `json:"audit,omitempty"`
	// Tenants own the datasets and workloads decided on, in the inventory the
	// decision was made with (an inline entry's own tenant), sorted: the audit
	// record names them so that each tenant reads its own records (issue #19).
	// Not part of the answer.
	Tenants []string `json:"-"`
}

// HypotheticalSkew is how far a request's `at` may be from the clock before
// the decision is marked Hypothetical: room for clock skew between client and
// server, not for a backdated answer.
const HypotheticalSkew = 5 * time.Minute

// Decision kinds.
const (
	KindPlacement = "placement"
	KindTransfer  = "transfer"
)
