package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Operations a placement asks about.
const (
	OperationStore   = "store"
	OperationProcess = "process"
)

// PlacementRequest asks at which sites a dataset may be stored, or a workload run.
// Exactly one of Dataset and Workload is set; each names an inventory entry or is
// given inline. Candidates default to every site of the inventory.
type PlacementRequest struct {
	Dataset    *DatasetRef  `json:"dataset,omitempty"`
	Workload   *WorkloadRef `json:"workload,omitempty"`
	Operation  string       `json:"operation" validate:"required,oneof=store process"`
	Candidates []string     `json:"candidates,omitempty" validate:"omitnil,min=1,dive,required"`
	At         string       `json:"at,omitempty" validate:"omitempty,datetime=2006-01-02T15:04:05Z07:00"`
}

// TransferRequest asks whether a dataset may move from one site to another.
type TransferRequest struct {
	Dataset   *DatasetRef `json:"dataset" validate:"required"`
	From      string      `json:"from" validate:"required"`
	To        string      `json:"to" validate:"required"`
	Type      string      `json:"type" validate:"required,oneof=replicate migrate backup remote-access"`
	Frequency string      `json:"frequency,omitempty" validate:"omitempty,oneof=one-off repeated continuous"`
	Mechanism *Mechanism  `json:"mechanism,omitempty"`
	At        string      `json:"at,omitempty" validate:"omitempty,datetime=2006-01-02T15:04:05Z07:00"`
}

// Mechanism is the legal instrument a transfer relies on (GDPR Art. 46/47/49, the
// UK IDTA, China's standard contract, ...). The policy decides whether it suffices.
type Mechanism struct {
	Kind         string `json:"kind" validate:"required,oneof=scc bcr derogation ad-hoc-clauses code-of-conduct certification idta uk-addendum cn-standard-contract cn-security-assessment cn-certification tr-standard-contract"`
	Module       string `json:"module,omitempty" validate:"omitempty,oneof=C2C C2P P2P P2C"`
	Derogation   string `json:"derogation,omitempty" validate:"omitempty,max=32"` // required when Kind is derogation: see validateMechanism
	Reference    string `json:"reference,omitempty" validate:"omitempty,max=256"`
	TIAReference string `json:"tia_reference,omitempty" validate:"omitempty,max=256"`
}

// DatasetRef is a dataset named by inventory id ("customer-pii-eu") or given inline
// as an object with the fields of Dataset.
type DatasetRef struct {
	ID     string
	Inline *Dataset `validate:"-"` // validated where the reference is resolved, under its own path
}

// UnmarshalJSON accepts a string id or a strictly decoded Dataset object.
func (r *DatasetRef) UnmarshalJSON(b []byte) error {
	return decodeRef("dataset", b, &r.ID, func() any { r.Inline = &Dataset{}; return r.Inline })
}

// MarshalJSON writes the id, or the inline object.
func (r DatasetRef) MarshalJSON() ([]byte, error) {
	if r.Inline != nil {
		return json.Marshal(r.Inline)
	}
	return json.Marshal(r.ID)
}

// WorkloadRef is a workload named by inventory id or given inline.
type WorkloadRef struct {
	ID     string
	Inline *Workload `validate:"-"` // validated where the reference is resolved, under its own path
}

// UnmarshalJSON accepts a string id or a strictly decoded Workload object.
func (r *WorkloadRef) UnmarshalJSON(b []byte) error {
	return decodeRef("workload", b, &r.ID, func() any { r.Inline = &Workload{}; return r.Inline })
}

// MarshalJSON writes the id, or the inline object.
func (r WorkloadRef) MarshalJSON() ([]byte, error) {
	if r.Inline != nil {
		return json.Marshal(r.Inline)
	}
	return json.Marshal(r.ID)
}

// refError is a dataset or workload given as neither an id nor an object
// (ClassifyDecodeError makes it a 422 on field).
type refError struct {
	field string
}

func (e *refError) Error() string {
	return fmt.Sprintf("%s: must be an id string or an object", e.field)
}

func decodeRef(field string, b []byte, id *string, inline func() any) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, id)
	case len(b) > 0 && b[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		return dec.Decode(inline())
	default:
		return &refError{field: field}
	}
}
