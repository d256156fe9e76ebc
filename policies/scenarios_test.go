package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"sigs.k8s.io/yaml"

	"github.com/sovereign-engine/sovereign/engine"
)

// scenarioFile is one file of the golden scenario suite (testdata/scenarios):
// defaults for its scenarios, then the scenarios.
type scenarioFile struct {
	Inventory string            `json:"inventory"` // directory under testdata/inventory
	Sites     []json.RawMessage `json:"sites"`     // added to the inventory, validated as engine.Site
	Datasets  []json.RawMessage `json:"datasets"`  // added to the inventory, validated as engine.Dataset
	At        string            `json:"at"`
	Scenarios []scenario        `json:"scenarios"`
}

type scenario struct {
	Name       string            `json:"name"`
	Inventory  string            `json:"inventory"`
	Sites      []json.RawMessage `json:"sites"`
	Datasets   []json.RawMessage `json:"datasets"`
	Exemptions []map[string]any  `json:"exemptions"`
	At         string            `json:"at"`
	Placement  *struct {
		Datasets   []any    `json:"datasets"` // ids or inline objects (given to the policy as they are)
		Operation  string   `json:"operation"`
		Candidates []string `json:"candidates"`
	} `json:"placement"`
	Transfer *struct {
		Dataset   any            `json:"dataset"`
		From      string         `json:"from"`
		To        string         `json:"to"`
		Type      string         `json:"type"`
		Frequency string         `json:"frequency"`
		Mechanism map[string]any `json:"mechanism"`
	} `json:"transfer"`
	Expect struct {
		Allowed     *[]string           `json:"allowed"`   // placement: the allowed candidates, exactly
		Permitted   *bool               `json:"permitted"` // transfer
		Violations  *[]string           `json:"violations"`
		At          map[string][]string `json:"at"` // placement: rule ids refusing each named site, exactly
		Obligations *[]string           `json:"obligations"`
		Warnings    *[]string           `json:"warnings"`
		Exemptions  *[]string           `json:"exemptions"`
	} `json:"expect"`
}

// TestScenarios runs the golden scenarios: inventory (validated by the engine),
// request and decision time in, allowed sites, violated rule ids, obligations,
// warnings and applied exemptions out.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "scenarios", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	compiler := compileBundle(t)
	total := 0
	names := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sf scenarioFile
		if err := yaml.UnmarshalStrict(raw, &sf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, sc := range sf.Scenarios {
			total++
			name := filepath.Base(f) + "/" + sc.Name
			if names[name] {
				t.Errorf("%s: scenario name used twice", name)
			}
			names[name] = true
			t.Run(name, func(t *testing.T) { runScenario(t, compiler, sf, sc) })
		}
	}
	if total < 60 {
		t.Errorf("%d golden scenarios, want at least 60", total)
	}
	t.Logf("%d golden scenarios", total)
}

func compileBundle(t testing.TB) *ast.Compiler {
	t.Helper()
	b := readBundle(t)
	mods := map[string]*ast.Module{}
	for _, m := range b.Modules {
		mods[m.Path] = m.Parsed
	}
	c := ast.NewCompiler()
	if c.Compile(mods); c.Failed() {
		t.Fatal(c.Errors)
	}
	return c
}

func decodeStrict[T any](t *testing.T, raws []json.RawMessage) []T {
	t.Helper()
	out := make([]T, 0, len(raws))
	for _, r := range raws {
		var v T
		dec := json.NewDecoder(strings.NewReader(string(r)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("inline %T %s: %v", v, r, err)
		}
		out = append(out, v)
	}
	return out
}

func runScenario(t *testing.T, compiler *ast.Compiler, sf scenarioFile, sc scenario) {
	invDir := cmp(sc.Inventory, sf.Inventory)
	var sites []engine.Site
	var datasets []engine.Dataset
	var workloads []engine.Workload
	if invDir != "" {
		base, err := engine.LoadInventory(filepath.Join("..", "testdata", "inventory", invDir))
		if err != nil {
			t.Fatal(err)
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
	sites = append(sites, decodeStrict[engine.Site](t, append(slices.Clone(sf.Sites), sc.Sites...))...)
	datasets = append(datasets, decodeStrict[engine.Dataset](t, append(slices.Clone(sf.Datasets), sc.Datasets...))...)
	inv, err := engine.NewInventory(sites, datasets, workloads)
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	invData := map[string]any{}
	for k, v := range inv.RegoData() {
		invData[k] = v
	}
	if len(sc.Exemptions) > 0 {
		exs := map[string]any{}
		for _, e := range sc.Exemptions {
			exs[e["id"].(string)] = e
		}
		invData["exemptions"] = exs
	}
	b := readBundle(t)
	doc := dataDocument(t, b, invData)
	resolve := func(ref any) any {
		if id, ok := ref.(string); ok {
			d, ok := doc["inventory"].(map[string]any)["datasets"].(map[string]any)[id]
			if !ok {
				t.Fatalf("unknown dataset %q", id)
			}
			return d
		}
		return ref
	}
	at := cmp(sc.At, sf.At)
	if at == "" {
		at = "2026-11-27T10:00:00Z"
	}
	var input map[string]any
	var query string
	switch {
	case sc.Placement != nil:
		p := sc.Placement
		ds := make([]any, 0, len(p.Datasets))
		for _, r := range p.Datasets {
			ds = append(ds, resolve(r))
		}
		cands := p.Candidates
		if cands == nil {
			cands = inv.SiteIDs
		}
		input = map[string]any{"kind": "placement", "operation": cmp(p.Operation, "store"), "time": at, "datasets": ds, "candidates": cands}
		query = "data.sovereign.placement.decision"
	case sc.Transfer != nil:
		x := sc.Transfer
		input = map[string]any{"kind": "transfer", "time": at, "datasets": []any{resolve(x.Dataset)}, "from": x.From, "to": x.To, "type": cmp(x.Type, "replicate")}
		if x.Frequency != "" {
			input["frequency"] = x.Frequency
		}
		if x.Mechanism != nil {
			input["mechanism"] = x.Mechanism
		}
		query = "data.sovereign.transfer.decision"
	default:
		t.Fatal("scenario has neither placement nor transfer")
	}
	store := inmem.NewFromObjectWithOpts(doc, inmem.OptRoundTripOnWrite(false))
	rs, err := rego.New(rego.Compiler(compiler), rego.Store(store), rego.Query(query), rego.Input(input)).Eval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("decision undefined for %v", input)
	}
	dec := rs[0].Expressions[0].Value.(map[string]any)
	rules := func(key string) []string {
		set := map[string]bool{}
		for _, el := range dec[key].([]any) {
			m := el.(map[string]any)
			if key == "exemptions" {
				set[m["exemption"].(string)] = true
			} else {
				set[m["rule"].(string)] = true
			}
		}
		return sortedKeys(set)
	}
	e := sc.Expect
	check := func(what string, want *[]string, got []string) {
		if want == nil {
			return
		}
		w := slices.Clone(*want)
		sort.Strings(w)
		if !slices.Equal(w, got) && !(len(w) == 0 && len(got) == 0) {
			t.Errorf("%s = %v, want %v", what, got, w)
		}
	}
	check("violations", e.Violations, rules("violations"))
	check("obligations", e.Obligations, rules("obligations"))
	check("warnings", e.Warnings, rules("warnings"))
	check("exemptions", e.Exemptions, rules("exemptions"))
	bySite := map[string]map[string]bool{}
	for _, el := range dec["violations"].([]any) {
		m := el.(map[string]any)
		s, _ := m["site"].(string)
		if bySite[s] == nil {
			bySite[s] = map[string]bool{}
		}
		bySite[s][m["rule"].(string)] = true
	}
	if sc.Placement != nil {
		if e.Allowed != nil {
			var allowed []string
			for _, c := range input["candidates"].([]string) {
				if bySite[c] == nil {
					allowed = append(allowed, c)
				}
			}
			sort.Strings(allowed)
			check("allowed", e.Allowed, allowed)
		}
		for site, want := range e.At {
			check(fmt.Sprintf("rules at %s", site), &want, sortedKeys(bySite[site]))
		}
	}
	if e.Permitted != nil && *e.Permitted != (len(dec["violations"].([]any)) == 0) {
		t.Errorf("permitted = %v, want %v (violations %v)", !*e.Permitted, *e.Permitted, rules("violations"))
	}
	if e.Allowed == nil && e.Permitted == nil && e.Violations == nil && e.At == nil {
		t.Error("scenario expects nothing")
	}
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
