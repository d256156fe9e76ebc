package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	goyaml "github.com/goccy/go-yaml"
	yast "github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"sigs.k8s.io/yaml"
)

// ScenarioFile is one file of golden scenarios (testdata/scenarios): defaults
// for its scenarios, then the scenarios. A scenario is a request, the
// inventory it is decided on, and what the decision must say.
type ScenarioFile struct {
	// Path is where the file was read from.
	Path string `json:"-"`
	// Inventory names a directory under the inventory root (ScenarioOptions).
	Inventory string            `json:"inventory"`
	Sites     []json.RawMessage `json:"sites"`    // added to the inventory, validated as Site
	Datasets  []json.RawMessage `json:"datasets"` // added to the inventory, validated as Dataset
	At        string            `json:"at"`
	Scenarios []Scenario        `json:"scenarios"`
}

// Scenario is one golden case. Fields left empty take the file's.
type Scenario struct {
	Name       string             `json:"name"`
	Inventory  string             `json:"inventory"`
	Sites      []json.RawMessage  `json:"sites"`
	Datasets   []json.RawMessage  `json:"datasets"`
	Exemptions []map[string]any   `json:"exemptions"` // given to the policy as they are, invalid ones included
	At         string             `json:"at"`
	Placement  *ScenarioPlacement `json:"placement"`
	Transfer   *ScenarioTransfer  `json:"transfer"`
	Expect     ScenarioExpect     `json:"expect"`
	// Line is the scenario's line in its file (0 if unknown).
	Line int `json:"-"`
}

// ScenarioPlacement is a placement request of a scenario. Unlike the API, it
// may name several datasets (ids or inline objects, given to the policy as
// they are).
type ScenarioPlacement struct {
	Datasets   []any    `json:"datasets"`
	Operation  string   `json:"operation"`
	Candidates []string `json:"candidates"`
}

// ScenarioTransfer is a transfer request of a scenario.
type ScenarioTransfer struct {
	Dataset   any            `json:"dataset"`
	From      string         `json:"from"`
	To        string         `json:"to"`
	Type      string         `json:"type"`
	Frequency string         `json:"frequency"`
	Mechanism map[string]any `json:"mechanism"`
}

// ScenarioExpect is what a scenario's decision must say; an absent field is
// not checked, a present one must match exactly (as sets of rule ids).
type ScenarioExpect struct {
	Allowed     *[]string           `json:"allowed"`   // placement: the allowed candidates
	Permitted   *bool               `json:"permitted"` // transfer
	Violations  *[]string           `json:"violations"`
	At          map[string][]string `json:"at"` // placement: rule ids refusing each named site
	Obligations *[]string           `json:"obligations"`
	Warnings    *[]string           `json:"warnings"`
	Exemptions  *[]string           `json:"exemptions"`
}

// DefaultScenarioTime is the decision time of a scenario that names none.
const DefaultScenarioTime = "2026-11-27T10:00:00Z"

// LoadScenarios reads every *.yaml and *.yml file directly in dir, in name
// order. Decoding is strict: an unknown field, a scenario without a name, a
// name used twice, a scenario with neither or both of placement and transfer,
// or one that expects nothing is an error naming the file and the scenario.
func LoadScenarios(dir string) ([]*ScenarioFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	var files []*ScenarioFile
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		sf, err := ReadScenarioFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files = append(files, sf)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("scenarios: no *.yaml files in %s", dir)
	}
	return files, nil
}

// ReadScenarioFile reads and checks one scenario file.
func ReadScenarioFile(path string) (*ScenarioFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	var sf ScenarioFile
	if err := yaml.UnmarshalStrict(raw, &sf); err != nil {
		return nil, fmt.Errorf("%s:%s", path, locateUnknownField(raw, err))
	}
	sf.Path = path
	if len(sf.Scenarios) == 0 {
		return nil, fmt.Errorf("%s: scenarios: none", path)
	}
	lines := scenarioLines(raw, len(sf.Scenarios))
	seen := map[string]bool{}
	var problems []string
	for i := range sf.Scenarios {
		sc := &sf.Scenarios[i]
		sc.Line = lines[i]
		where := fmt.Sprintf("%s:%d: scenarios[%d]", path, sc.Line, i)
		switch {
		case sc.Name == "":
			problems = append(problems, where+".name: is required")
		case seen[sc.Name]:
			problems = append(problems, fmt.Sprintf("%s.name: %q is used twice", where, sc.Name))
		}
		seen[sc.Name] = true
		if (sc.Placement == nil) == (sc.Transfer == nil) {
			problems = append(problems, where+": give exactly one of placement and transfer")
		}
		e := sc.Expect
		if e.Allowed == nil && e.Permitted == nil && e.Violations == nil && e.At == nil && e.Obligations == nil && e.Warnings == nil && e.Exemptions == nil {
			problems = append(problems, where+".expect: expects nothing")
		}
		if sc.Transfer != nil && (e.Allowed != nil || e.At != nil) {
			problems = append(problems, where+".expect: allowed and at are for placements; a transfer expects permitted")
		}
		if sc.Placement != nil && e.Permitted != nil {
			problems = append(problems, where+".expect: permitted is for transfers; a placement expects allowed")
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return &sf, nil
}

// locateUnknownField words a strict decoding error about an unknown field
// with the field's line and path, which the JSON decoder behind
// sigs.k8s.io/yaml does not know.
func locateUnknownField(raw []byte, err error) string {
	_, rest, ok := strings.Cut(err.Error(), "unknown field \"")
	name, _, ok2 := strings.Cut(rest, "\"")
	if !ok || !ok2 {
		return " " + err.Error()
	}
	f, perr := parser.ParseBytes(raw, 0)
	if perr != nil {
		return " " + err.Error()
	}
	v := &keyFinder{name: name}
	for _, doc := range f.Docs {
		yast.Walk(v, doc)
	}
	if v.found == nil {
		return " " + err.Error()
	}
	return fmt.Sprintf("%d: %s: unknown field", v.found.GetToken().Position.Line, strings.TrimPrefix(v.found.GetPath(), "$."))
}

// keyFinder finds the first mapping key with a name.
type keyFinder struct {
	name  string
	found yast.Node
}

func (k *keyFinder) Visit(n yast.Node) yast.Visitor {
	if n == nil || k.found != nil {
		return nil
	}
	if kv, ok := n.(*yast.MappingValueNode); ok && kv.Key != nil && kv.Key.String() == k.name {
		k.found = kv.Value
		if kv.Value == nil {
			k.found = kv
		}
		return nil
	}
	return k
}

// scenarioLines finds the line of each scenario (best effort: 0 if the YAML
// cannot be walked, which UnmarshalStrict already accepted).
func scenarioLines(raw []byte, n int) []int {
	lines := make([]int, n)
	f, err := parser.ParseBytes(raw, 0)
	if err != nil {
		return lines
	}
	for i := range lines {
		p, err := goyaml.PathString(fmt.Sprintf("$.scenarios[%d]", i))
		if err != nil {
			continue
		}
		if node, err := p.FilterFile(f); err == nil && node != nil && node.GetToken() != nil {
			lines[i] = node.GetToken().Position.Line
		}
	}
	return lines
}

// ScenarioOptions configure RunScenario.
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
	if err != nil {
		res.Err = err
		return res
	}
	res.Decision = d
	res.Failures = checkExpectations(sc, d, candidates)
	return res
}

func (r *ScenarioRunner) inventory(sf *ScenarioFile, sc *Scenario) (*Inventory, error) {
	name := cmpStr(sc.Inventory, sf.Inventory)
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
	s, err := decodeInline[Site]("sites", append(slices.Clone(sf.Sites), sc.Sites...))
	if err != nil {
		return nil, err
	}
	d, err := decodeInline[Dataset]("datasets", append(slices.Clone(sf.Datasets), sc.Datasets...))
	if err != nil {
		return nil, err
	}
	inv, err := NewInventory(append(sites, s...), append(datasets, d...), workloads)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return inv, nil
}

func decodeInline[T any](what string, raws []json.RawMessage) ([]T, error) {
	out := make([]T, 0, len(raws))
	for i, raw := range raws {
		var v T
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// decide builds the policy input as the engine would (docs/policy-contract.md)
// and evaluates it with the engine's own checks of the answer.
func (r *ScenarioRunner) decide(ctx context.Context, sf *ScenarioFile, sc *Scenario) (*Decision, []string, error) {
	inv, err := r.inventory(sf, sc)
	if err != nil {
		return nil, nil, err
	}
	invData := make(map[string]any, len(inv.RegoData())+1)
	for k, v := range inv.RegoData() {
		invData[k] = v
	}
	if len(sc.Exemptions) > 0 {
		exs := map[string]any{}
		for i, e := range sc.Exemptions {
			id, ok := e["id"].(string)
			if !ok || id == "" {
				return nil, nil, fmt.Errorf("exemptions[%d].id: is required", i)
			}
			exs[id] = e
		}
		invData["exemptions"] = exs
	}
	atStr := cmpStr(cmpStr(sc.At, sf.At), DefaultScenarioTime)
	at, err := time.Parse(time.RFC3339Nano, atStr)
	if err != nil {
		return nil, nil, fmt.Errorf("at: must be an RFC 3339 time, got %q", atStr)
	}
	at = at.UTC()
	resolve := func(path string, ref any) (any, error) {
		if id, ok := ref.(string); ok {
			d, ok := inv.RegoData()["datasets"].(map[string]any)[id]
			if !ok {
				return nil, fmt.Errorf("%s: unknown dataset %q", path, id)
			}
			return d, nil
		}
		return ref, nil
	}
	var input map[string]any
	var query string
	var candidates []string
	switch {
	case sc.Placement != nil:
		p := sc.Placement
		ds := make([]any, 0, len(p.Datasets))
		for i, ref := range p.Datasets {
			d, err := resolve(fmt.Sprintf("placement.datasets[%d]", i), ref)
			if err != nil {
				return nil, nil, err
			}
			ds = append(ds, d)
		}
		candidates = p.Candidates
		if candidates == nil {
			candidates = inv.SiteIDs
		}
		input = map[string]any{"kind": KindPlacement, "operation": cmpStr(p.Operation, OperationStore),
			"time": at.Format(time.RFC3339Nano), "datasets": ds, "candidates": candidates}
		query = placementQuery
	case sc.Transfer != nil:
		x := sc.Transfer
		d, err := resolve("transfer.dataset", x.Dataset)
		if err != nil {
			return nil, nil, err
		}
		input = map[string]any{"kind": KindTransfer, "time": at.Format(time.RFC3339Nano), "datasets": []any{d},
			"from": x.From, "to": x.To, "type": cmpStr(x.Type, "replicate")}
		if x.Frequency != "" {
			input["frequency"] = x.Frequency
		}
		if x.Mechanism != nil {
			input["mechanism"] = x.Mechanism
		}
		query = transferQuery
	default:
		return nil, nil, errors.New("scenario has neither placement nor transfer")
	}
	inputValue, err := ast.InterfaceToValue(input)
	if err != nil {
		return nil, nil, fmt.Errorf("input: %w", err)
	}

	data := make(map[string]any, len(r.policy.Data())+1)
	for k, v := range r.policy.Data() {
		data[k] = v
	}
	data["inventory"] = invData
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false))
	q, err := rego.New(rego.Query(query), rego.Compiler(r.policy.compiler), rego.Store(store)).PrepareForEval(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("prepare %s: %w", query, err)
	}
	res, err := evalQuery(ctx, q, inputValue, at)
	if err != nil {
		return nil, nil, err
	}
	d := &Decision{
		Violations:        []Violation{},
		Obligations:       []Obligation{},
		Bundle:            r.policy.Info(),
		InventoryRevision: inv.Revision,
		EvaluatedAt:       at.Format(time.RFC3339Nano),
	}
	if sc.Placement != nil {
		d.Kind = KindPlacement
		if d.Sites, err = placementSites(res, candidates); err != nil {
			return nil, nil, err
		}
		d.Exemptions = res.exemptions
		for _, s := range d.Sites {
			d.Allowed = d.Allowed || s.Allowed
		}
	} else {
		d.Kind = KindTransfer
		transferVerdict(d, res)
	}
	return d, candidates, nil
}

// checkExpectations compares a decision with what the scenario expects.
func checkExpectations(sc *Scenario, d *Decision, candidates []string) []string {
	var failures []string
	check := func(what string, want *[]string, got []string) {
		if want == nil {
			return
		}
		w := slices.Clone(*want)
		sort.Strings(w)
		w = slices.Compact(w)
		if !slices.Equal(w, got) {
			failures = append(failures, fmt.Sprintf("%s = %v, want %v", what, got, w))
		}
	}
	e := sc.Expect
	check("violations", e.Violations, RuleIDs(AllViolations(d)))
	check("obligations", e.Obligations, RuleIDs(AllObligations(d)))
	check("warnings", e.Warnings, RuleIDs(AllWarnings(d)))
	ex := map[string]bool{}
	for _, a := range d.Exemptions {
		ex[a.Exemption] = true
	}
	check("exemptions", e.Exemptions, sortedSet(ex))
	if d.Kind == KindPlacement {
		bySite := map[string][]Violation{}
		allowed := []string{}
		for _, s := range d.Sites {
			bySite[s.Site] = s.Violations
			if s.Allowed {
				allowed = append(allowed, s.Site)
			}
		}
		sort.Strings(allowed)
		check("allowed", e.Allowed, allowed)
		sites := make([]string, 0, len(e.At))
		for s := range e.At {
			sites = append(sites, s)
		}
		sort.Strings(sites)
		for _, s := range sites {
			want := e.At[s]
			if !slices.Contains(candidates, s) {
				failures = append(failures, fmt.Sprintf("expect.at names %s, which is not a candidate", s))
				continue
			}
			check("rules at "+s, &want, RuleIDs(bySite[s]))
		}
	}
	if e.Permitted != nil && *e.Permitted != d.Allowed {
		failures = append(failures, fmt.Sprintf("permitted = %v, want %v (violations %v)", d.Allowed, *e.Permitted, RuleIDs(d.Violations)))
	}
	return failures
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
	set := make(map[string]bool, len(vs))
	for _, v := range vs {
		set[v.Rule] = true
	}
	return sortedSet(set)
}

func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
