package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// ScenarioOptions configure a ScenarioRunner.
type ScenarioOptions struct {
	// InventoryRoot holds the inventories scenarios name; empty means the
	// "inventory" directory beside the scenario file's directory
	// (testdata/inventory for testdata/scenarios).
	InventoryRoot string
}

// ScenarioResult is a scenario decided under one policy.
type ScenarioResult struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Name string `json:"name"`
	// Kind is placement or transfer.
	Kind string `json:"kind"`
	// Decision is what the policy decided (nil on Err).
	Decision *Decision `json:"decision,omitempty"`
	// Refused is the server's refusal of the request (422), when the scenario
	// expects one.
	Refused []FieldError `json:"refused,omitempty"`
	// Failures lists every expectation the decision does not meet.
	Failures []string `json:"failures,omitempty"`
	// Err is a scenario that could not be decided: a bad inventory, an
	// unknown dataset, a policy that fails or answers out of contract.
	Err error `json:"-"`
}

// Passed reports whether the scenario was decided as expected.
func (r *ScenarioResult) Passed() bool { return r.Err == nil && len(r.Failures) == 0 }

// ScenarioRunner decides scenarios under one policy; it caches the
// inventories scenarios share. It is not safe for concurrent use.
type ScenarioRunner struct {
	policy *Policy
	opts   ScenarioOptions
	base   map[string]*Inventory
}

// NewScenarioRunner prepares to decide scenarios under p.
func NewScenarioRunner(p *Policy, opts ScenarioOptions) *ScenarioRunner {
	return &ScenarioRunner{policy: p, opts: opts, base: map[string]*Inventory{}}
}

// RunAll decides every scenario of files, in order.
func (r *ScenarioRunner) RunAll(ctx context.Context, files []*ScenarioFile) []ScenarioResult {
	var out []ScenarioResult
	for _, sf := range files {
		for i := range sf.Scenarios {
			out = append(out, r.Run(ctx, sf, &sf.Scenarios[i]))
		}
	}
	return out
}

// Run decides one scenario of sf and checks its expectations.
func (r *ScenarioRunner) Run(ctx context.Context, sf *ScenarioFile, sc *Scenario) ScenarioResult {
	res := ScenarioResult{File: sf.Path, Line: sc.Line, Name: sc.Name, Kind: KindPlacement}
	if sc.Transfer != nil {
		res.Kind = KindTransfer
	}
	d, candidates, err := r.decide(ctx, sf, sc)
	var refused *scenarioRefusal
	switch {
	case errors.As(err, &refused) && sc.Expect.Refused != nil:
		res.Refused = refused.problems
		if f := mismatch("refused", sc.Expect.Refused, refused.paths()); f != "" {
			res.Failures = append(res.Failures, f)
		}
		return res
	case err != nil:
		res.Err = err
		return res
	case sc.Expect.Refused != nil:
		res.Decision = d
		res.Failures = []string{fmt.Sprintf("refused = [], want %v: the server accepts this request", *sc.Expect.Refused)}
		return res
	}
	res.Decision = d
	res.Failures = checkExpectations(sc, d, candidates)
	return res
}

// scenarioRefusal is a scenario's request that the server refuses (422).
type scenarioRefusal struct {
	problems []FieldError // as the API reports them
	msg      string       // with the paths as the scenario file names them
}

func (e *scenarioRefusal) Error() string { return e.msg }

// paths are the request paths of the problems, each once.
func (e *scenarioRefusal) paths() []string {
	var out []string
	for _, p := range e.problems {
		if !slices.Contains(out, p.Path) {
			out = append(out, p.Path)
		}
	}
	slices.Sort(out)
	return out
}

func (r *ScenarioRunner) inventory(sf *ScenarioFile, sc *Scenario) (*Inventory, error) {
	name := cmp.Or(sc.Inventory, sf.Inventory)
	var sites []Site
	var datasets []Dataset
	var workloads []Workload
	if name != "" {
		root := r.opts.InventoryRoot
		if root == "" {
			root = filepath.Join(filepath.Dir(filepath.Dir(sf.Path)), "inventory")
		}
		dir := filepath.Join(root, name)
		base, ok := r.base[dir]
		if !ok {
			var err error
			if base, err = LoadInventory(dir); err != nil {
				return nil, fmt.Errorf("inventory %q: %w", name, err)
			}
			r.base[dir] = base
		}
		for _, id := range base.SiteIDs {
			sites = append(sites, base.Sites[id])
		}
		for _, id := range base.DatasetIDs {
			datasets = append(datasets, base.Datasets[id])
		}
		for _, id := range base.WorkloadIDs {
			workloads = append(workloads, base.Workloads[id])
		}
	}
	sites = slices.Concat(sites, sf.Sites, sc.Sites)
	datasets = slices.Concat(datasets, sf.Datasets, sc.Datasets)
	inv, err := NewInventory(sites, datasets, workloads)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return inv, nil
}

// decide builds the scenario's request, checks it and builds its input with
// the engine's own builder (so the policy sees what the server would give it),
// and evaluates it with the engine's checks of the answer.
func (r *ScenarioRunner) decide(ctx context.Context, sf *ScenarioFile, sc *Scenario) (*Decision, []string, error) {
	inv, err := r.inventory(sf, sc)
	if err != nil {
		return nil, nil, err
	}
	req, err := scenarioRequest(sf, sc)
	if err != nil {
		return nil, nil, err
	}
	in, err := scenarioInput(inv, r.policy.floor, sc, req)
	if err != nil {
		return nil, nil, err
	}
	q, err := r.query(ctx, inv, sc.Exemptions, in.Kind)
	if err != nil {
		return nil, nil, err
	}
	res, err := evalQuery(ctx, q, in.value, in.At)
	if err != nil {
		return nil, nil, err
	}
	d := &Decision{
		Kind:              in.Kind,
		Violations:        []Violation{},
		Obligations:       []Obligation{},
		Bundle:            r.policy.Info(),
		InventoryRevision: inv.Revision,
		EvaluatedAt:       in.At.Format(time.RFC3339Nano),
	}
	if err := verdict(d, in, res); err != nil {
		return nil, nil, err
	}
	return d, in.Candidates, nil
}

// scenarioRequest is the API request a scenario asks: its placement or
// transfer, at the scenario's time (else the file's, else
// DefaultScenarioTime), with the operation and transfer type defaulted.
func scenarioRequest(sf *ScenarioFile, sc *Scenario) (any, error) {
	at := cmp.Or(sc.At, sf.At, DefaultScenarioTime)
	if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
		return nil, fmt.Errorf("at: must be an RFC 3339 time, got %q", at)
	}
	switch {
	case sc.Placement != nil:
		p := sc.Placement
		req := &PlacementRequest{Workload: p.Workload, Operation: cmp.Or(p.Operation, OperationStore), Candidates: p.Candidates, At: at}
		if len(p.Datasets) > 0 {
			req.Dataset = &p.Datasets[0]
		}
		return req, nil
	case sc.Transfer != nil:
		x := sc.Transfer
		return &TransferRequest{Dataset: x.Dataset, From: x.From, To: x.To, Type: cmp.Or(x.Type, "replicate"),
			Frequency: x.Frequency, Mechanism: x.Mechanism, At: at}, nil
	default:
		return nil, errors.New("scenario has neither placement nor transfer")
	}
}

// scenarioInput builds a scenario's input with the engine's builder; a
// request it refuses names each problem by its path in the scenario.
func scenarioInput(inv *Inventory, floor *Floor, sc *Scenario, req any) (*Input, error) {
	var in *Input
	var err error
	var prefix string
	switch r := req.(type) {
	case *PlacementRequest:
		in, err = PlacementInput(inv, floor, r)
		prefix = "placement."
	case *TransferRequest:
		in, err = TransferInput(inv, floor, r)
		prefix = "transfer."
	}
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		return in, err
	}
	lines := make([]string, len(invalid.Problems))
	for i, p := range invalid.Problems {
		path := p.Path
		// The request's dataset is the scenario's list of one.
		if rest, ok := strings.CutPrefix(path, "dataset"); ok && sc.Placement != nil && (rest == "" || rest[0] == '.') {
			path = "datasets" + rest
			if len(sc.Placement.Datasets) == 1 {
				path = "datasets[0]" + rest
			}
		}
		lines[i] = FieldError{Path: prefix + path, Message: p.Message}.String()
	}
	return nil, &scenarioRefusal{problems: invalid.Problems, msg: "invalid request: " + strings.Join(lines, "; ")}
}

// query prepares the query of one kind on the scenario's inventory, with its
// exemptions given to the policy as they are (invalid ones included, which an
// inventory would refuse: the policy must not trust them either).
func (r *ScenarioRunner) query(ctx context.Context, inv *Inventory, exemptions []map[string]any, kind string) (rego.PreparedEvalQuery, error) {
	invData := maps.Clone(inv.RegoData())
	if len(exemptions) > 0 {
		exs := map[string]any{}
		for i, e := range exemptions {
			id, ok := e["id"].(string)
			if !ok || id == "" {
				return rego.PreparedEvalQuery{}, fmt.Errorf("exemptions[%d].id: is required", i)
			}
			exs[id] = e
		}
		invData["exemptions"] = exs
	}
	data := maps.Clone(r.policy.Data())
	if data == nil {
		data = map[string]any{}
	}
	data["inventory"] = invData
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false))
	query := placementQuery
	if kind == KindTransfer {
		query = transferQuery
	}
	q, err := rego.New(rego.Query(query), rego.Compiler(r.policy.compiler), rego.Store(store)).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("prepare %s: %w", query, err)
	}
	return q, nil
}

// checkExpectations compares a decision with what the scenario expects.
func checkExpectations(sc *Scenario, d *Decision, candidates []string) []string {
	var failures []string
	add := func(failure string) {
		if failure != "" {
			failures = append(failures, failure)
		}
	}
	e := &sc.Expect
	add(mismatch("violations", e.Violations, RuleIDs(AllViolations(d))))
	add(mismatch("obligations", e.Obligations, RuleIDs(AllObligations(d))))
	add(mismatch("warnings", e.Warnings, RuleIDs(AllWarnings(d))))
	add(mismatch("exemptions", e.Exemptions, exemptionIDs(d.Exemptions)))
	if d.Kind == KindPlacement {
		failures = append(failures, placementFailures(e, d, candidates)...)
	}
	if e.Permitted != nil && *e.Permitted != d.Allowed {
		add(fmt.Sprintf("permitted = %v, want %v (violations %v)", d.Allowed, *e.Permitted, RuleIDs(d.Violations)))
	}
	return failures
}

// placementFailures compares a placement's sites with the allowed ones and
// the rules at each site the scenario expects.
func placementFailures(e *ScenarioExpect, d *Decision, candidates []string) []string {
	var failures []string
	bySite := make(map[string][]Violation, len(d.Sites))
	allowed := []string{}
	for _, s := range d.Sites {
		bySite[s.Site] = s.Violations
		if s.Allowed {
			allowed = append(allowed, s.Site)
		}
	}
	slices.Sort(allowed)
	if f := mismatch("allowed", e.Allowed, allowed); f != "" {
		failures = append(failures, f)
	}
	for _, site := range slices.Sorted(maps.Keys(e.At)) {
		if !slices.Contains(candidates, site) {
			failures = append(failures, fmt.Sprintf("expect.at names %s, which is not a candidate", site))
			continue
		}
		want := e.At[site]
		if f := mismatch("rules at "+site, &want, RuleIDs(bySite[site])); f != "" {
			failures = append(failures, f)
		}
	}
	return failures
}

// mismatch says how a decided set of ids (sorted, distinct) differs from the
// expected one; "" when it does not or when nothing is expected.
func mismatch(what string, want *[]string, got []string) string {
	if want == nil {
		return ""
	}
	w := slices.Compact(slices.Sorted(slices.Values(*want)))
	if slices.Equal(w, got) {
		return ""
	}
	return fmt.Sprintf("%s = %v, want %v", what, got, w)
}

// AllViolations returns a decision's violations: a transfer's, or those of
// every site of a placement.
func AllViolations(d *Decision) []Violation {
	out := slices.Clone(d.Violations)
	for _, s := range d.Sites {
		out = append(out, s.Violations...)
	}
	return out
}

// AllObligations returns a decision's obligations, of every site for a placement.
func AllObligations(d *Decision) []Obligation {
	out := slices.Clone(d.Obligations)
	for _, s := range d.Sites {
		out = append(out, s.Obligations...)
	}
	return out
}

// AllWarnings returns a decision's warnings, of every site for a placement.
func AllWarnings(d *Decision) []Violation {
	out := slices.Clone(d.Warnings)
	for _, s := range d.Sites {
		out = append(out, s.Warnings...)
	}
	return out
}

// RuleIDs returns the distinct rule ids of vs, sorted (never nil).
func RuleIDs(vs []Violation) []string {
	ids := make([]string, 0, len(vs))
	for _, v := range vs {
		ids = append(ids, v.Rule)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// exemptionIDs returns the distinct ids of applied exemptions, sorted (never
// nil).
func exemptionIDs(as []AppliedExemption) []string {
	ids := make([]string, 0, len(as))
	for _, a := range as {
		ids = append(ids, a.Exemption)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
