package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// Version is the engine version recorded with every decision; set at build time
// with -ldflags "-X github.com/sovereign-engine/sovereign/engine.Version=...".
var Version = "0.1.0-dev"

const (
	placementQuery = "data.sovereign.placement.decision"
	transferQuery  = "data.sovereign.transfer.decision"
)

// ValidationError is a request that cannot be decided: every problem is listed
// with its JSON path. The API answers it with 422.
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("invalid request: %s: %s", e.Problems[0].Path, e.Problems[0].Message)
	}
	return fmt.Sprintf("invalid request: %d problems, first %s: %s", len(e.Problems), e.Problems[0].Path, e.Problems[0].Message)
}

// ErrPolicy wraps an evaluation that did not produce a well-formed answer: the
// request fails (500) rather than being decided by omission.
var ErrPolicy = errors.New("policy evaluation failed")

// Engine evaluates requests against the active policy and inventory. Both are
// swapped together and atomically: a request sees one snapshot from start to end.
type Engine struct {
	state      atomic.Pointer[snapshot]
	activateMu sync.Mutex // one activation at a time (readers never wait)

	cacheEntries int  // per snapshot (cache.go); 0 is the default
	cacheOff     bool // WithDecisionCache(0)
	hits, misses atomic.Uint64
}

// snapshot pairs one policy with one inventory, with the queries prepared on them.
type snapshot struct {
	policy    *Policy
	inventory *Inventory
	placement rego.PreparedEvalQuery
	transfer  rego.PreparedEvalQuery
	datasets  map[string]*ast.Term // inventory datasets as Rego values, converted once

	// cache memoises answers (cache.go); nil when off or the policy may not
	// be memoised. hits and misses are the engine's counters.
	cache        *lru.Cache[string, *cachedEval]
	hits, misses *atomic.Uint64
}

// New prepares an engine on a policy and an inventory. The decision cache is
// on (DefaultDecisionCacheEntries) unless an option says otherwise.
func New(ctx context.Context, p *Policy, inv *Inventory, opts ...Option) (*Engine, error) {
	e := &Engine{}
	e.Configure(opts...)
	if err := e.Activate(ctx, p, inv); err != nil {
		return nil, err
	}
	return e, nil
}

// Activate prepares the queries for a policy and inventory pair and makes it the
// active one. Requests in flight finish on the snapshot they started with. A nil
// argument keeps the active one.
func (e *Engine) Activate(ctx context.Context, p *Policy, inv *Inventory) error {
	return e.ActivateRecorded(ctx, p, inv, nil)
}

// ActivateRecorded is Activate with a step between preparing and switching:
// record is called once the new snapshot is known to work, and the switch
// happens only if it succeeds, so the audit log never claims an activation that
// did not happen nor misses one that did. Activations are serialized: a policy
// swap and an inventory swap running at once cannot lose one of them.
func (e *Engine) ActivateRecorded(ctx context.Context, p *Policy, inv *Inventory, record func(p *Policy, inv *Inventory) error) error {
	e.activateMu.Lock()
	defer e.activateMu.Unlock()
	cur := e.state.Load()
	if cur != nil {
		if p == nil {
			p = cur.policy
		}
		if inv == nil {
			inv = cur.inventory
		}
	}
	if p == nil || inv == nil {
		return errors.New("activate: a policy and an inventory are required")
	}
	s, err := prepare(ctx, p, inv)
	if err != nil {
		return err
	}
	if err := s.newCache(e.cacheCapacity(), &e.hits, &e.misses); err != nil {
		return err
	}
	s.warm(ctx, cur)
	if record != nil {
		if err := record(p, inv); err != nil {
			return fmt.Errorf("not activated: %w", err)
		}
	}
	e.state.Store(s)
	return nil
}

// Policy returns the active policy.
func (e *Engine) Policy() *Policy { return e.state.Load().policy }

// Inventory returns the active inventory.
func (e *Engine) Inventory() *Inventory { return e.state.Load().inventory }

func prepare(ctx context.Context, p *Policy, inv *Inventory) (*snapshot, error) {
	data := make(map[string]any, len(p.Data())+1)
	for k, v := range p.Data() {
		data[k] = v
	}
	data["inventory"] = inv.RegoData()
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))

	s := &snapshot{policy: p, inventory: inv, datasets: make(map[string]*ast.Term, len(inv.Datasets))}
	var err error
	for _, q := range []struct {
		query string
		into  *rego.PreparedEvalQuery
	}{{placementQuery, &s.placement}, {transferQuery, &s.transfer}} {
		*q.into, err = rego.New(
			rego.Query(q.query),
			rego.Compiler(p.compiler),
			rego.Store(store),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("prepare %s: %w", q.query, err)
		}
	}
	for id, ds := range inv.Datasets {
		v, err := regoValue(ds)
		if err != nil {
			return nil, fmt.Errorf("convert dataset %s: %w", id, err)
		}
		s.datasets[id] = ast.NewTerm(v)
	}
	return s, nil
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

// Placement decides at which candidate sites a dataset may be stored, or a
// workload may run.
func (e *Engine) Placement(ctx context.Context, req *PlacementRequest) (*Decision, error) {
	s := e.state.Load()
	in, err := s.placementInput(req)
	if err != nil {
		return nil, err
	}
	res, err := s.eval(ctx, KindPlacement, s.placement, in.value, in.at)
	if err != nil {
		return nil, err
	}
	sites, err := placementSites(res, in.candidates)
	if err != nil {
		return nil, err
	}
	d := newDecision(KindPlacement, s, in.at)
	d.Sites = sites
	d.Exemptions = slices.Clone(res.exemptions) // res may be shared (cache.go)
	for _, sd := range sites {
		if sd.Allowed {
			d.Allowed = true
			break
		}
	}
	return d, nil
}

// placementSites attributes a placement's findings to its candidates and ranks
// them.
func placementSites(res *evalResult, candidates []string) ([]SiteDecision, error) {
	bySite := make(map[string]*SiteDecision, len(candidates))
	order := make(map[string]int, len(candidates))
	sites := make([]SiteDecision, len(candidates))
	for i, c := range candidates {
		sites[i] = SiteDecision{Site: c, Allowed: true, Obligations: []Obligation{}}
		bySite[c] = &sites[i]
		order[c] = i
	}
	// A finding that names no candidate cannot be attributed: dropping it would
	// leave a site allowed that the policy meant to refuse, so the request fails.
	for _, v := range res.violations {
		sd := bySite[v.site]
		if sd == nil {
			return nil, fmt.Errorf("%w: violation %s names site %q, which is not a candidate", ErrPolicy, v.Rule, v.site)
		}
		sd.Violations = append(sd.Violations, v.Violation)
		sd.Allowed = false
	}
	for _, o := range res.obligations {
		sd := bySite[o.site]
		if sd == nil {
			return nil, fmt.Errorf("%w: obligation %s names site %q, which is not a candidate", ErrPolicy, o.Rule, o.site)
		}
		sd.Obligations = append(sd.Obligations, o.Violation)
	}
	for _, w := range res.warnings {
		sd := bySite[w.site]
		if sd == nil {
			return nil, fmt.Errorf("%w: warning %s names site %q, which is not a candidate", ErrPolicy, w.Rule, w.site)
		}
		sd.Warnings = append(sd.Warnings, w.Violation)
	}
	for _, e := range res.exemptions {
		if sd := bySite[e.Site]; sd != nil {
			sd.Exemptions = append(sd.Exemptions, e)
		}
	}
	rankSites(sites, order)
	return sites, nil
}

// PolicyInput returns the Rego input document the engine would evaluate for a
// placement or transfer request (docs/policy-contract.md), as JSON: what to give
// `opa eval` or `opa run --server` to reproduce a decision outside Sovereign.
func (e *Engine) PolicyInput(req any) ([]byte, error) {
	s := e.state.Load()
	var in *policyInput
	var err error
	switch r := req.(type) {
	case *PlacementRequest:
		in, err = s.placementInput(r)
	case *TransferRequest:
		in, err = s.transferInput(r)
	default:
		return nil, fmt.Errorf("policy input: unsupported request %T", req)
	}
	if err != nil {
		return nil, err
	}
	return []byte(in.value.String()), nil
}

// policyInput is a validated request turned into the policy's input.
type policyInput struct {
	value      ast.Value
	at         time.Time
	candidates []string
}

func (s *snapshot) placementInput(req *PlacementRequest) (*policyInput, error) {
	var problems []FieldError
	problems = append(problems, ValidateStruct(req, "")...)
	at, p := decisionTime(req.At)
	problems = append(problems, p...)

	datasets, workload, p := s.resolvePlacementSubject(req)
	problems = append(problems, p...)

	candidates := req.Candidates
	if candidates == nil {
		candidates = s.inventory.SiteIDs
	}
	seen := make(map[string]bool, len(candidates))
	for i, c := range candidates {
		switch {
		case c == "":
			// reported by ValidateStruct
		case seen[c]:
			problems = append(problems, FieldError{Path: fmt.Sprintf("candidates[%d]", i), Message: fmt.Sprintf("site %q is listed twice", c)})
		case !s.inventory.hasSite(c):
			problems = append(problems, FieldError{Path: fmt.Sprintf("candidates[%d]", i), Message: fmt.Sprintf("unknown site %q", c)})
		}
		seen[c] = true
	}
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
	return &policyInput{value: ast.NewObject(items...), at: at, candidates: candidates}, nil
}

// rankSites puts allowed sites first, then those with fewer obligations, and
// otherwise keeps the candidates' order.
func rankSites(sites []SiteDecision, order map[string]int) {
	sort.SliceStable(sites, func(i, j int) bool {
		a, b := sites[i], sites[j]
		if a.Allowed != b.Allowed {
			return a.Allowed
		}
		if a.Allowed && len(a.Obligations) != len(b.Obligations) {
			return len(a.Obligations) < len(b.Obligations)
		}
		return order[a.Site] < order[b.Site]
	})
}

// Transfer decides whether a dataset may move from one site to another.
func (e *Engine) Transfer(ctx context.Context, req *TransferRequest) (*Decision, error) {
	s := e.state.Load()
	in, err := s.transferInput(req)
	if err != nil {
		return nil, err
	}
	res, err := s.eval(ctx, KindTransfer, s.transfer, in.value, in.at)
	if err != nil {
		return nil, err
	}
	d := newDecision(KindTransfer, s, in.at)
	transferVerdict(d, res)
	return d, nil
}

// transferVerdict fills a transfer decision from the policy's findings.
func transferVerdict(d *Decision, res *evalResult) {
	for _, v := range res.violations {
		d.Violations = append(d.Violations, v.Violation)
	}
	for _, o := range res.obligations {
		d.Obligations = append(d.Obligations, o.Violation)
	}
	for _, w := range res.warnings {
		d.Warnings = append(d.Warnings, w.Violation)
	}
	d.Exemptions = slices.Clone(res.exemptions) // res may be shared (cache.go)
	d.Allowed = len(d.Violations) == 0
}

func (s *snapshot) transferInput(req *TransferRequest) (*policyInput, error) {
	var problems []FieldError
	problems = append(problems, ValidateStruct(req, "")...)
	at, p := decisionTime(req.At)
	problems = append(problems, p...)
	var dataset *ast.Term
	if req.Dataset != nil {
		dataset, p = s.resolveDataset(req.Dataset, "dataset")
		problems = append(problems, p...)
	}
	for _, f := range []struct{ path, id string }{{"from", req.From}, {"to", req.To}} {
		if f.id != "" && !s.inventory.hasSite(f.id) {
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
	return &policyInput{value: ast.NewObject(items...), at: at}, nil
}

func newDecision(kind string, s *snapshot, at time.Time) *Decision {
	id, err := uuid.NewV7()
	if err != nil { // only when the system's random source fails
		id = uuid.New()
	}
	now := time.Now()
	return &Decision{
		Hypothetical:      at.Before(now.Add(-HypotheticalSkew)) || at.After(now.Add(HypotheticalSkew)),
		DecisionID:        id.String(),
		Kind:              kind,
		Violations:        []Violation{},
		Obligations:       []Obligation{},
		Bundle:            s.policy.Info(),
		InventoryRevision: s.inventory.Revision,
		EvaluatedAt:       at.Format(time.RFC3339Nano),
	}
}

// decisionTime is the request's `at`, or now.
func decisionTime(at string) (time.Time, []FieldError) {
	if at == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, []FieldError{{Path: "at", Message: fmt.Sprintf("must be an RFC 3339 time, got %q", at)}}
	}
	return t.UTC(), nil
}

func (s *snapshot) resolvePlacementSubject(req *PlacementRequest) (datasets []*ast.Term, workload *ast.Term, problems []FieldError) {
	switch {
	case req.Dataset != nil && req.Workload != nil:
		return nil, nil, []FieldError{{Path: "workload", Message: "give either dataset or workload, not both"}}
	case req.Dataset != nil:
		t, p := s.resolveDataset(req.Dataset, "dataset")
		if t == nil {
			return nil, nil, p
		}
		return []*ast.Term{t}, nil, p
	case req.Workload != nil:
		return s.resolveWorkload(req.Workload)
	default:
		return nil, nil, []FieldError{{Path: "dataset", Message: "is required (or give workload)"}}
	}
}

func (s *snapshot) resolveDataset(ref *DatasetRef, path string) (*ast.Term, []FieldError) {
	if ref.Inline != nil {
		if p := ValidateStruct(ref.Inline, path); len(p) > 0 {
			return nil, p
		}
		// An inline dataset may not pose as an inventory one with weaker
		// attributes: the decision would name the inventory id.
		if _, known := s.datasets[ref.Inline.ID]; known {
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
	t, ok := s.datasets[ref.ID]
	if !ok {
		return nil, []FieldError{{Path: path, Message: fmt.Sprintf("unknown dataset %q", ref.ID)}}
	}
	return t, nil
}

func (s *snapshot) resolveWorkload(ref *WorkloadRef) ([]*ast.Term, *ast.Term, []FieldError) {
	w := ref.Inline
	if w != nil {
		if p := ValidateStruct(w, "workload"); len(p) > 0 {
			return nil, nil, p
		}
	} else {
		found, ok := s.inventory.Workloads[ref.ID]
		if !ok {
			return nil, nil, []FieldError{{Path: "workload", Message: fmt.Sprintf("unknown workload %q", ref.ID)}}
		}
		w = &found
	}
	var problems []FieldError
	var datasets []*ast.Term
	for i, id := range w.Datasets {
		t, ok := s.datasets[id]
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

// finding is one result element of the policy: a violation or obligation, with
// the site it concerns for a placement.
type finding struct {
	Violation
	site string
}

type evalResult struct {
	violations  []finding
	obligations []finding
	warnings    []finding
	exemptions  []AppliedExemption
}

// evalQuery evaluates a prepared decision query and checks the answer's shape
// (docs/policy-contract.md).
func evalQuery(ctx context.Context, q rego.PreparedEvalQuery, input ast.Value, at time.Time) (*evalResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluation not started: %w", err) // the caller already left
	}
	rs, err := q.Eval(ctx, rego.EvalParsedInput(input), rego.EvalTime(at))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("evaluation stopped: %w", cerr) // the caller left; not the policy's fault
		}
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, fmt.Errorf("%w: the policy's decision is undefined", ErrPolicy)
	}
	obj, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: decision is %T, want an object", ErrPolicy, rs[0].Expressions[0].Value)
	}
	var res evalResult
	if res.violations, err = findings(obj, "violations"); err != nil {
		return nil, err
	}
	if res.obligations, err = findings(obj, "obligations"); err != nil {
		return nil, err
	}
	// warnings and exemptions are optional in the contract: a policy without
	// them still decides correctly.
	if _, ok := obj["warnings"]; ok {
		if res.warnings, err = findings(obj, "warnings"); err != nil {
			return nil, err
		}
	}
	if raw, ok := obj["exemptions"]; ok {
		if res.exemptions, err = appliedExemptions(raw); err != nil {
			return nil, err
		}
	}
	return &res, nil
}

func findings(obj map[string]any, key string) ([]finding, error) {
	raw, ok := obj[key]
	if !ok {
		return nil, fmt.Errorf("%w: decision has no %q", ErrPolicy, key)
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: decision.%s is %T, want an array or set", ErrPolicy, key, raw)
	}
	out := make([]finding, 0, len(list))
	for i, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: decision.%s[%d] is not an object", ErrPolicy, key, i)
		}
		var f finding
		for field, v := range m {
			var dst *string
			switch field {
			case "rule":
				dst = &f.Rule
			case "message":
				dst = &f.Message
			case "citation":
				dst = &f.Citation
			case "dataset":
				dst = &f.Dataset
			case "site":
				dst = &f.site
			default:
				continue // extra fields are the policy's own business
			}
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%w: decision.%s[%d].%s is not a string", ErrPolicy, key, i, field)
			}
			*dst = str
		}
		if f.Rule == "" || f.Message == "" || f.Citation == "" {
			return nil, fmt.Errorf("%w: decision.%s[%d] lacks a rule, message or citation", ErrPolicy, key, i)
		}
		out = append(out, f)
	}
	return out, nil
}

func appliedExemptions(raw any) ([]AppliedExemption, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: decision.exemptions is %T, want an array or set", ErrPolicy, raw)
	}
	out := make([]AppliedExemption, 0, len(list))
	for i, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: decision.exemptions[%d] is not an object", ErrPolicy, i)
		}
		str := func(k string) string { v, _ := m[k].(string); return v }
		e := AppliedExemption{Exemption: str("exemption"), Rule: str("rule"), Site: str("site"), Dataset: str("dataset"),
			Category: str("category"), Reason: str("reason"), Expires: str("expires"), Waived: str("waived")}
		if e.Exemption == "" || e.Rule == "" {
			return nil, fmt.Errorf("%w: decision.exemptions[%d] lacks an exemption id or a rule", ErrPolicy, i)
		}
		out = append(out, e)
	}
	return out, nil
}
