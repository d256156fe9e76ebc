package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Input is the document a policy decides on for one request
// (docs/policy-contract.md, "Input"): the request checked against an
// inventory, every dataset it names resolved to its full object. It is built
// in one place, PlacementInput or TransferInput, for the server, `sovereign
// eval`, the audit replay and the golden scenarios alike.
type Input struct {
	// Kind is KindPlacement or KindTransfer.
	Kind string
	// At is the decision time, in UTC: the request's `at`, or when the input
	// was built.
	At time.Time
	// Candidates are the sites a placement asks about, in the request's order
	// (every site of the inventory when it names none); nil for a transfer.
	Candidates []string
	// Tenants own the datasets and workloads of the request (OwningTenants).
	Tenants []string

	value ast.Value
}

// OwningTenants are the tenants owning what a request decides on, sorted and
// without duplicates: an inventory dataset's or workload's tenant, an inline
// one's own, and those of the inventory datasets a workload uses. Unknown ids
// and entries without a tenant add none.
func OwningTenants(inv *Inventory, ds *DatasetRef, wl *WorkloadRef) []string {
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if ds != nil {
		if ds.Inline != nil {
			add(ds.Inline.Tenant)
		} else if d, ok := inv.Datasets[ds.ID]; ok {
			add(d.Tenant)
		}
	}
	if wl != nil {
		w := wl.Inline
		if w == nil {
			if found, ok := inv.Workloads[wl.ID]; ok {
				w = &found
			}
		}
		if w != nil {
			add(w.Tenant)
			for _, id := range w.Datasets {
				if d, ok := inv.Datasets[id]; ok {
					add(d.Tenant)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// String is the input document as JSON: what to give `opa eval --input` to
// reproduce a decision outside Sovereign.
func (in *Input) String() string { return in.value.String() }

// PlacementInput checks a placement request against an inventory and the
// floor of the policy that will decide it (nil: none) and builds the policy's
// input for it. A request that cannot be decided is a *ValidationError listing
// every problem with its JSON path.
func PlacementInput(inv *Inventory, floor *Floor, req *PlacementRequest) (*Input, error) {
	if n := len(req.Candidates); n > len(inv.SiteIDs) {
		// More candidates than sites must repeat or name unknown ones: one
		// problem, rather than one per entry (100,000 of them took seconds
		// to list), and the request's other fields checked as usual.
		rest := *req
		rest.Candidates = nil
		problems := append(ValidateStruct(&rest, ""), FieldError{Path: "candidates",
			Message: fmt.Sprintf("%d sites listed, more than the %d of the inventory: list each inventory site at most once", n, len(inv.SiteIDs))})
		if _, p := decisionTime(req.At, floor); p != nil {
			problems = append(problems, p...)
		}
		return nil, &ValidationError{Problems: problems}
	}
	var problems []FieldError
	problems = append(problems, ValidateStruct(req, "")...)
	at, p := decisionTime(req.At, floor)
	problems = append(problems, p...)
	datasets, workload, p := resolvePlacementSubject(inv, req)
	problems = append(problems, p...)
	candidates := req.Candidates
	if candidates == nil {
		candidates = inv.SiteIDs
	}
	problems = append(problems, checkCandidates(inv, candidates)...)
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}

	cands := make([]*ast.Term, len(candidates))
	for i, c := range candidates {
		cands[i] = ast.StringTerm(c)
	}
	items := [][2]*ast.Term{
		ast.Item(ast.StringTerm("kind"), ast.StringTerm(KindPlacement)),
		ast.Item(ast.StringTerm("operation"), ast.StringTerm(req.Operation)),
		ast.Item(ast.StringTerm("time"), ast.StringTerm(at.Format(time.RFC3339Nano))),
		ast.Item(ast.StringTerm("datasets"), ast.ArrayTerm(datasets...)),
		ast.Item(ast.StringTerm("candidates"), ast.ArrayTerm(cands...)),
	}
	if workload != nil {
		items = append(items, ast.Item(ast.StringTerm("workload"), workload))
	}
	return &Input{Kind: KindPlacement, At: at, Candidates: candidates, Tenants: OwningTenants(inv, req.Dataset, req.Workload), value: ast.NewObject(items...)}, nil
}

// checkCandidates refuses a candidate listed twice or not in the inventory.
func checkCandidates(inv *Inventory, candidates []string) []FieldError {
	var problems []FieldError
	seen := make(map[string]bool, len(candidates))
	for i, c := range candidates {
		switch {
		case c == "":
			// reported by ValidateStruct
		case seen[c]:
			problems = append(problems, FieldError{Path: fmt.Sprintf("candidates[%d]", i), Message: fmt.Sprintf("site %q is listed twice", c)})
		case !inv.hasSite(c):
			problems = append(problems, FieldError{Path: fmt.Sprintf("candidates[%d]", i), Message: fmt.Sprintf("unknown site %q", c)})
		}
		seen[c] = true
	}
	return problems
}

// TransferInput checks a transfer request against an inventory and a floor
// and builds the policy's input for it, as PlacementInput does a placement's.
func TransferInput(inv *Inventory, floor *Floor, req *TransferRequest) (*Input, error) {
	var problems []FieldError
	problems = append(problems, ValidateStruct(req, "")...)
	at, p := decisionTime(req.At, floor)
	problems = append(problems, p...)
	var dataset *ast.Term
	if req.Dataset != nil {
		dataset, p = resolveDataset(inv, req.Dataset, "dataset")
		problems = append(problems, p...)
	}
	for _, f := range []struct{ path, id string }{{"from", req.From}, {"to", req.To}} {
		if f.id != "" && !inv.hasSite(f.id) {
			problems = append(problems, FieldError{Path: f.path, Message: fmt.Sprintf("unknown site %q", f.id)})
		}
	}
	if req.From != "" && req.From == req.To {
		problems = append(problems, FieldError{Path: "to", Message: "must differ from \"from\""})
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}

	items := [][2]*ast.Term{
		ast.Item(ast.StringTerm("kind"), ast.StringTerm(KindTransfer)),
		ast.Item(ast.StringTerm("time"), ast.StringTerm(at.Format(time.RFC3339Nano))),
		ast.Item(ast.StringTerm("datasets"), ast.ArrayTerm(dataset)),
		ast.Item(ast.StringTerm("from"), ast.StringTerm(req.From)),
		ast.Item(ast.StringTerm("to"), ast.StringTerm(req.To)),
		ast.Item(ast.StringTerm("type"), ast.StringTerm(req.Type)),
	}
	if req.Frequency != "" {
		items = append(items, ast.Item(ast.StringTerm("frequency"), ast.StringTerm(req.Frequency)))
	}
	if req.Mechanism != nil {
		mv, err := regoValue(req.Mechanism)
		if err != nil {
			return nil, fmt.Errorf("convert mechanism: %w", err)
		}
		items = append(items, ast.Item(ast.StringTerm("mechanism"), ast.NewTerm(mv)))
	}
	return &Input{Kind: KindTransfer, At: at, Tenants: OwningTenants(inv, req.Dataset, nil), value: ast.NewObject(items...)}, nil
}

// decisionTime is the request's `at`, or now. A time the policy cannot be
// asked about is refused: one OPA's nanosecond clock cannot hold (it would
// reach the policy as no time at all), or one before the floor.
func decisionTime(at string, floor *Floor) (time.Time, []FieldError) {
	t := time.Now().UTC()
	if at != "" {
		parsed, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return time.Time{}, []FieldError{{Path: "at", Message: fmt.Sprintf("must be an RFC 3339 time, got %q", at)}}
		}
		t = parsed.UTC()
	}
	if !representable(t) {
		return time.Time{}, []FieldError{{Path: "at", Message: fmt.Sprintf("%s is outside the times the policy engine can represent (%s to %s)",
			at, minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339))}}
	}
	if p := floor.check(t); p != nil {
		return time.Time{}, []FieldError{*p}
	}
	return t, nil
}

func resolvePlacementSubject(inv *Inventory, req *PlacementRequest) (datasets []*ast.Term, workload *ast.Term, problems []FieldError) {
	switch {
	case req.Dataset != nil && req.Workload != nil:
		return nil, nil, []FieldError{{Path: "workload", Message: "give either dataset or workload, not both"}}
	case req.Dataset != nil:
		t, p := resolveDataset(inv, req.Dataset, "dataset")
		if t == nil {
			return nil, nil, p
		}
		return []*ast.Term{t}, nil, p
	case req.Workload != nil:
		return resolveWorkload(inv, req.Workload)
	default:
		return nil, nil, []FieldError{{Path: "dataset", Message: "is required (or give workload)"}}
	}
}

func resolveDataset(inv *Inventory, ref *DatasetRef, path string) (*ast.Term, []FieldError) {
	if ref.Inline != nil {
		if p := ValidateStruct(ref.Inline, path); len(p) > 0 {
			return nil, p
		}
		// An inline dataset may not pose as an inventory one with weaker
		// attributes: the decision would name the inventory id.
		if _, known := inv.datasetTerms[ref.Inline.ID]; known {
			return nil, []FieldError{{Path: path + ".id", Message: fmt.Sprintf("%q is an inventory dataset: name it by id, or give the inline dataset another id", ref.Inline.ID)}}
		}
		v, err := regoValue(ref.Inline)
		if err != nil {
			return nil, []FieldError{{Path: path, Message: err.Error()}}
		}
		return ast.NewTerm(v), nil
	}
	if ref.ID == "" {
		return nil, []FieldError{{Path: path, Message: "is required"}}
	}
	t, ok := inv.datasetTerms[ref.ID]
	if !ok {
		return nil, []FieldError{{Path: path, Message: fmt.Sprintf("unknown dataset %q", ref.ID)}}
	}
	return t, nil
}

func resolveWorkload(inv *Inventory, ref *WorkloadRef) ([]*ast.Term, *ast.Term, []FieldError) {
	w := ref.Inline
	if w != nil {
		if p := ValidateStruct(w, "workload"); len(p) > 0 {
			return nil, nil, p
		}
	} else {
		found, ok := inv.Workloads[ref.ID]
		if !ok {
			return nil, nil, []FieldError{{Path: "workload", Message: fmt.Sprintf("unknown workload %q", ref.ID)}}
		}
		w = &found
	}
	var problems []FieldError
	var datasets []*ast.Term
	for i, id := range w.Datasets {
		t, ok := inv.datasetTerms[id]
		if !ok {
			problems = append(problems, FieldError{Path: fmt.Sprintf("workload.datasets[%d]", i), Message: fmt.Sprintf("unknown dataset %q", id)})
			continue
		}
		datasets = append(datasets, t)
	}
	wv, err := regoValue(w)
	if err != nil {
		problems = append(problems, FieldError{Path: "workload", Message: err.Error()})
	}
	if len(problems) > 0 {
		return nil, nil, problems
	}
	return datasets, ast.NewTerm(wv), nil
}

// regoDatasets are an inventory's datasets as Rego values, by id.
type regoDatasets map[string]*ast.Term

// datasetTerms converts an inventory's datasets to Rego values once, when the
// inventory is built: every input that names one shares its value.
func datasetTerms(datasets map[string]Dataset) (regoDatasets, error) {
	terms := make(regoDatasets, len(datasets))
	for id, ds := range datasets {
		v, err := regoValue(ds)
		if err != nil {
			return nil, fmt.Errorf("convert dataset %s: %w", id, err)
		}
		terms[id] = ast.NewTerm(v)
	}
	return terms, nil
}

// regoValue converts a typed value to a Rego value through its JSON form, so the
// field names are the snake_case JSON names.
func regoValue(v any) (ast.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return ast.ValueFromReader(bytes.NewReader(b))
}
