package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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

// Error names the first problem and how many there are.
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
// Build one with New; its options are fixed from then on.
type Engine struct {
	state      atomic.Pointer[snapshot]
	activateMu sync.Mutex // one activation at a time (readers never wait)

	cacheEntries int  // per snapshot (cache.go); 0 is the default
	cacheOff     bool // WithDecisionCache(0)
	hits, misses atomic.Uint64
}

// Option configures an Engine built by New.
type Option func(*options)

// options are what New is told; only New reads them.
type options struct {
	cacheEntries int
	cacheOff     bool
	record       func(*Policy, *Inventory) error
}

// WithActivationRecord has New record its first activation as
// ActivateRecorded records the later ones: record is called once the policy
// and inventory are prepared, and if it fails, New fails and no engine is
// made. The audit log thus names every bundle an engine enforced, the first
// included.
func WithActivationRecord(record func(p *Policy, inv *Inventory) error) Option {
	return func(o *options) { o.record = record }
}

// snapshot pairs one policy with one inventory, with the queries prepared on them.
type snapshot struct {
	policy    *Policy
	inventory *Inventory
	placement rego.PreparedEvalQuery
	transfer  rego.PreparedEvalQuery

	// cache memoises answers (cache.go); nil when off or the policy may not
	// be memoised. hits and misses are the engine's counters.
	cache        *lru.Cache[string, *cachedEval]
	cacheBytes   atomic.Int64 // what the cached answers hold (cache.go)
	hits, misses *atomic.Uint64
}

// New prepares an engine on a policy and an inventory. The decision cache is
// on (DefaultDecisionCacheEntries) unless an option says otherwise.
func New(ctx context.Context, p *Policy, inv *Inventory, opts ...Option) (*Engine, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	e := &Engine{cacheEntries: o.cacheEntries, cacheOff: o.cacheOff}
	if err := e.ActivateRecorded(ctx, p, inv, o.record); err != nil {
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
	maps.Copy(data, p.Data())
	data["inventory"] = inv.RegoData()
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))

	s := &snapshot{policy: p, inventory: inv}
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
	return s, nil
}

// Placement decides at which candidate sites a dataset may be stored, or a
// workload may run.
func (e *Engine) Placement(ctx context.Context, req *PlacementRequest) (*Decision, error) {
	s := e.state.Load()
	in, err := PlacementInput(s.inventory, s.policy.floor, req)
	if err != nil {
		return nil, err
	}
	return s.decide(ctx, in)
}

// Transfer decides whether a dataset may move from one site to another.
func (e *Engine) Transfer(ctx context.Context, req *TransferRequest) (*Decision, error) {
	s := e.state.Load()
	in, err := TransferInput(s.inventory, s.policy.floor, req)
	if err != nil {
		return nil, err
	}
	return s.decide(ctx, in)
}

// decide evaluates an input on the snapshot (from its cache when it can) and
// makes the decision.
func (s *snapshot) decide(ctx context.Context, in *Input) (*Decision, error) {
	q := s.placement
	if in.Kind == KindTransfer {
		q = s.transfer
	}
	res, err := s.eval(ctx, in.Kind, q, in.value, in.At)
	if err != nil {
		return nil, err
	}
	d := newDecision(in.Kind, s, in.At)
	d.Tenants = in.Tenants
	if err := verdict(d, in, res); err != nil {
		return nil, err
	}
	return d, nil
}

// verdict fills a decision from the policy's findings on its input: a
// placement's candidates, ranked, allowed when one is; a transfer permitted
// when nothing refuses it.
func verdict(d *Decision, in *Input, res *evalResult) error {
	if in.Kind == KindTransfer {
		transferVerdict(d, res)
		return nil
	}
	sites, err := placementSites(res, in.Candidates)
	if err != nil {
		return err
	}
	d.Sites = sites
	d.Exemptions = slices.Clone(res.exemptions) // res may be shared (cache.go)
	d.Regimes = res.regimes                     // shared with the cache: read-only from here on
	d.Allowed = slices.ContainsFunc(sites, func(sd SiteDecision) bool { return sd.Allowed })
	return nil
}

// placementSites attributes a placement's findings to its candidates and ranks
// them.
func placementSites(res *evalResult, candidates []string) ([]SiteDecision, error) {
	bySite := make(map[string]*SiteDecision, len(candidates))
	sites := make([]SiteDecision, len(candidates))
	for i, c := range candidates {
		sites[i] = SiteDecision{Site: c, Allowed: true, Obligations: []Obligation{}}
		bySite[c] = &sites[i]
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
	rankSites(sites)
	return sites, nil
}

// PolicyInput returns the Rego input document the engine would evaluate for a
// placement or transfer request (docs/policy-contract.md), as JSON: what to give
// `opa eval` or `opa run --server` to reproduce a decision outside Sovereign.
func (e *Engine) PolicyInput(req any) ([]byte, error) {
	s := e.state.Load()
	var in *Input
	var err error
	switch r := req.(type) {
	case *PlacementRequest:
		in, err = PlacementInput(s.inventory, s.policy.floor, r)
	case *TransferRequest:
		in, err = TransferInput(s.inventory, s.policy.floor, r)
	default:
		return nil, fmt.Errorf("policy input: unsupported request %T", req)
	}
	if err != nil {
		return nil, err
	}
	return []byte(in.String()), nil
}

// rankSites puts allowed sites first, then those with fewer obligations, and
// otherwise keeps the candidates' order (the sort is stable).
func rankSites(sites []SiteDecision) {
	slices.SortStableFunc(sites, func(a, b SiteDecision) int {
		switch {
		case a.Allowed != b.Allowed:
			if a.Allowed {
				return -1
			}
			return 1
		case a.Allowed:
			return cmp.Compare(len(a.Obligations), len(b.Obligations))
		}
		return 0
	})
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
	d.Regimes = res.regimes                     // shared with the cache: read-only from here on
	d.Allowed = len(d.Violations) == 0
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
	regimes     []RegimeNote
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
	if raw, ok := obj["regimes"]; ok {
		if res.regimes, err = regimeNotes(raw); err != nil {
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

// regimeNotes reads the policy's regimes list (docs/policy-contract.md, "The
// regimes list"), refusing one of the wrong shape as a policy error: a regime
// without a key, a dataset entry without its id, applies flag or reason, a
// ground without site, dataset and text. Extra keys are the policy's own.
func regimeNotes(raw any) ([]RegimeNote, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: decision.regimes is %T, want an array or set", ErrPolicy, raw)
	}
	objects := func(path string, raw any) ([]map[string]any, error) {
		if raw == nil {
			return nil, nil
		}
		l, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s is %T, want an array or set", ErrPolicy, path, raw)
		}
		out := make([]map[string]any, len(l))
		for i, el := range l {
			if out[i], ok = el.(map[string]any); !ok {
				return nil, fmt.Errorf("%w: %s[%d] is not an object", ErrPolicy, path, i)
			}
		}
		return out, nil
	}
	// str reads an optional string; null reads as absent.
	str := func(path string, m map[string]any, k string, required bool) (string, error) {
		v, ok := m[k]
		if !ok || v == nil {
			if required {
				return "", fmt.Errorf("%w: %s has no %q", ErrPolicy, path, k)
			}
			return "", nil
		}
		s, ok := v.(string)
		if !ok || (required && s == "") {
			return "", fmt.Errorf("%w: %s.%s is not a non-empty string", ErrPolicy, path, k)
		}
		return s, nil
	}
	out := make([]RegimeNote, 0, len(list))
	for i, el := range list {
		path := fmt.Sprintf("decision.regimes[%d]", i)
		m, ok := el.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s is not an object", ErrPolicy, path)
		}
		var n RegimeNote
		var err error
		if n.Regime, err = str(path, m, "regime", true); err != nil {
			return nil, err
		}
		if n.Name, err = str(path, m, "name", false); err != nil {
			return nil, err
		}
		if p, ok := m["period"].(map[string]any); ok {
			pp := path + ".period"
			n.Period = &RegimePeriod{}
			for k, dst := range map[string]*string{"id": &n.Period.ID, "name": &n.Period.Name, "source": &n.Period.Source,
				"valid_from": &n.Period.ValidFrom, "valid_until": &n.Period.ValidUntil} {
				if *dst, err = str(pp, p, k, false); err != nil {
					return nil, err
				}
			}
			if n.Period.Status, err = str(pp, p, "status", true); err != nil {
				return nil, err
			}
		} else if p, ok := m["period"]; ok && p != nil {
			return nil, fmt.Errorf("%w: %s.period is %T, want an object", ErrPolicy, path, p)
		}
		ds, err := objects(path+".datasets", m["datasets"])
		if err != nil {
			return nil, err
		}
		n.Datasets = make([]RegimeDataset, len(ds))
		for j, d := range ds {
			dp := fmt.Sprintf("%s.datasets[%d]", path, j)
			applies, ok := d["applies"].(bool)
			if !ok {
				return nil, fmt.Errorf("%w: %s.applies is not a boolean", ErrPolicy, dp)
			}
			n.Datasets[j].Applies = applies
			if n.Datasets[j].Dataset, err = str(dp, d, "dataset", true); err != nil {
				return nil, err
			}
			if n.Datasets[j].Why, err = str(dp, d, "why", true); err != nil {
				return nil, err
			}
		}
		gs, err := objects(path+".grounds", m["grounds"])
		if err != nil {
			return nil, err
		}
		if len(gs) > 0 {
			n.Grounds = make([]RegimeGround, len(gs))
		}
		for j, g := range gs {
			gp := fmt.Sprintf("%s.grounds[%d]", path, j)
			for k, dst := range map[string]*string{"site": &n.Grounds[j].Site, "dataset": &n.Grounds[j].Dataset, "ground": &n.Grounds[j].Ground} {
				if *dst, err = str(gp, g, k, true); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, n)
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
