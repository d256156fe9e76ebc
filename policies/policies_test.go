package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"sigs.k8s.io/yaml"
)

// minCoverage is the share of non-test policy lines the Rego tests must reach.
const minCoverage = 90.0

// readBundle reads the embedded bundle the way the engine does.
func readBundle(t testing.TB) *bundle.Bundle {
	t.Helper()
	loader, err := bundle.NewFSLoader(Bundle)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewCustomReader(loader).
		WithProcessAnnotations(true).
		WithSkipBundleVerification(true).
		Read()
	if err != nil {
		t.Fatalf("read embedded bundle: %v", err)
	}
	return &b
}

// TestBundleFiles checks that go:embed took every policy file on disk - a file or
// directory named with a leading "." or "_" would be silently left out - and the
// manifest.
func TestBundleFiles(t *testing.T) {
	var embedded []string
	if err := fs.WalkDir(Bundle, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			embedded = append(embedded, path)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, root := range []string{"sovereign", "reference"} {
		if err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				onDisk = append(onDisk, filepath.ToSlash(path))
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	onDisk = append(onDisk, ".manifest")
	sort.Strings(embedded)
	sort.Strings(onDisk)
	if !slices.Equal(embedded, onDisk) {
		t.Fatalf("embedded files differ from the files on disk\nembedded: %v\non disk:  %v", embedded, onDisk)
	}
	for _, want := range []string{".manifest", "reference/data.json", "sovereign/placement.rego", "sovereign/transfer.rego"} {
		if !slices.Contains(embedded, want) {
			t.Errorf("%s is not embedded", want)
		}
	}

	b := readBundle(t)
	if !strings.HasPrefix(b.Manifest.Revision, "builtin-") {
		t.Errorf("manifest revision %q does not start with builtin-", b.Manifest.Revision)
	}
	if b.Manifest.Roots == nil || !slices.Equal(*b.Manifest.Roots, []string{"sovereign", "reference", "authz"}) {
		t.Errorf("manifest roots = %v, want [sovereign reference authz]", b.Manifest.Roots)
	}
	if _, ok := b.Data["reference"]; !ok {
		t.Error("bundle data has no reference document")
	}
}

// TestRego runs every Rego test in the embedded bundle and measures coverage of
// the non-test modules.
func TestRego(t *testing.T) {
	ctx := context.Background()
	b := readBundle(t)

	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn := storage.NewTransactionOrDie(ctx, store, storage.WriteParams)
	defer store.Abort(ctx, txn)

	cov := cover.New()
	runner := tester.NewRunner().
		SetStore(store).
		SetBundles(map[string]*bundle.Bundle{"builtin": b}).
		SetCoverageQueryTracer(cov).
		SetTimeout(time.Minute)
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		t.Fatalf("compile bundle for tests: %v", err)
	}
	var passed, failed int
	for r := range ch {
		switch {
		case r.Error != nil:
			failed++
			t.Errorf("%s.%s (%s): error: %v", r.Package, r.Name, r.Location, r.Error)
		case r.Fail:
			failed++
			t.Errorf("%s.%s (%s): FAIL", r.Package, r.Name, r.Location)
		case r.Skip:
			t.Logf("%s.%s: skipped", r.Package, r.Name)
		default:
			passed++
		}
	}
	if passed+failed == 0 {
		t.Fatal("no Rego tests ran")
	}
	t.Logf("%d Rego tests passed, %d failed", passed, failed)

	// Coverage of the policy proper: the test modules are left out.
	mods := map[string]*ast.Module{}
	for _, m := range b.Modules {
		if !strings.HasSuffix(m.Path, "_test.rego") {
			mods[m.Parsed.Package.Location.File] = m.Parsed
		}
	}
	if len(mods) == 0 {
		t.Fatal("bundle has no policy modules")
	}
	report := cov.Report(mods)
	var covered, notCovered int
	files := make([]string, 0, len(mods))
	for f := range mods {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		fr := report.Files[f]
		if fr == nil {
			t.Errorf("%s: no coverage recorded", f)
			continue
		}
		covered += fr.CoveredLines
		notCovered += fr.NotCoveredLines
		var gaps []string
		for _, r := range fr.NotCovered {
			gaps = append(gaps, fmt.Sprintf("%d-%d", r.Start.Row, r.End.Row))
		}
		t.Logf("coverage %6.2f%%  %s  not covered: %s", fr.Coverage, f, strings.Join(gaps, " "))
	}
	if covered+notCovered == 0 {
		t.Fatal("coverage report is empty")
	}
	pct := 100 * float64(covered) / float64(covered+notCovered)
	t.Logf("coverage of non-test policy files: %.2f%% (%d of %d lines)", pct, covered, covered+notCovered)
	if pct < minCoverage {
		t.Errorf("coverage of non-test policy files is %.2f%%, below %.0f%%", pct, minCoverage)
	}
}

// TestRegimesAreCollected checks that every regime package under
// data.sovereign.rules defines the four rules the decisions collect and its
// report for the regimes list, and that
// data.sovereign.placement and data.sovereign.transfer reference them: a regime
// that is not listed there would silently never refuse anything.
func TestRegimesAreCollected(t *testing.T) {
	b := readBundle(t)
	prefix := ast.MustParseRef("data.sovereign.rules")
	// report is the regime's entry in the decision's regimes list: a regime
	// missing there would be considered without the answer saying so.
	kinds := []string{"placement_violations", "placement_obligations", "transfer_violations", "transfer_obligations", "report"}
	defined := map[string]map[string]bool{} // regime -> rule names
	used := map[string]bool{}               // refs in the decision packages
	for _, m := range b.Modules {
		pkg := m.Parsed.Package.Path
		switch {
		case pkg.Equal(ast.MustParseRef("data.sovereign.placement")), pkg.Equal(ast.MustParseRef("data.sovereign.transfer")):
			ast.WalkRefs(m.Parsed, func(r ast.Ref) bool {
				used[r.String()] = true
				return false
			})
		case len(pkg) == len(prefix)+1 && pkg.HasPrefix(prefix) && !strings.HasSuffix(m.Path, "_test.rego"):
			name := strings.Trim(pkg[len(prefix)].String(), `"`)
			if defined[name] == nil {
				defined[name] = map[string]bool{}
			}
			for _, r := range m.Parsed.Rules {
				defined[name][r.Head.Name.String()] = true
				if len(r.Head.Reference) > 0 {
					defined[name][strings.Trim(r.Head.Reference[0].String(), `"`)] = true
				}
			}
		}
	}
	if len(defined) == 0 {
		t.Fatal("no regime packages under data.sovereign.rules")
	}
	for regime, rules := range defined {
		for _, k := range kinds {
			if !rules[k] {
				t.Errorf("regime %s does not define %s", regime, k)
			}
			if ref := "data.sovereign.rules." + regime + "." + k; !used[ref] {
				t.Errorf("%s is not collected by data.sovereign.placement / data.sovereign.transfer", ref)
			}
		}
	}
}

// demoInventory reads testdata/inventory/demo into the shape the engine writes
// under data.inventory: sites, datasets and workloads keyed by id.
func demoInventory(t testing.TB) map[string]map[string]any {
	t.Helper()
	inv := map[string]map[string]any{"sites": {}, "datasets": {}, "workloads": {}}
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "inventory", "demo", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no demo inventory files: %v", err)
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string][]map[string]any
		if err := yaml.UnmarshalStrict(raw, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for kind, items := range doc {
			if kind == "current" {
				continue // where data is today (docs/drift.md): not policy data
			}
			byID, ok := inv[kind]
			if !ok {
				t.Fatalf("%s: unknown list %q", p, kind)
			}
			for _, it := range items {
				id, _ := it["id"].(string)
				if id == "" || byID[id] != nil {
					t.Fatalf("%s: %s id %q missing or duplicated", p, kind, id)
				}
				byID[id] = it
			}
		}
	}
	return inv
}

// placement prepares the placement query over the embedded bundle and the demo
// inventory, with a store that keeps AST values (as a read-optimised engine would).
func placement(t testing.TB, inv map[string]map[string]any) rego.PreparedEvalQuery {
	return prepare(t, inv, "data.sovereign.placement.decision")
}

func prepare(t testing.TB, inv map[string]map[string]any, query string) rego.PreparedEvalQuery {
	t.Helper()
	b := readBundle(t)
	doc := dataDocument(t, b, inv)
	store := inmem.NewFromObjectWithOpts(doc, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	mods := make([]func(*rego.Rego), 0, len(b.Modules)+2)
	for _, m := range b.Modules {
		mods = append(mods, rego.ParsedModule(m.Parsed))
	}
	mods = append(mods, rego.Store(store), rego.Query(query))
	pq, err := rego.New(mods...).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pq
}

func placementInput(inv map[string]map[string]any, at string, datasets ...string) map[string]any {
	ds := make([]any, 0, len(datasets))
	for _, id := range datasets {
		ds = append(ds, inv["datasets"][id])
	}
	candidates := make([]any, 0, len(inv["sites"]))
	for id := range inv["sites"] {
		candidates = append(candidates, id)
	}
	return map[string]any{"kind": "placement", "operation": "store", "time": at, "datasets": ds, "candidates": candidates}
}

// allowedSites evaluates a placement and returns the candidates without a violation.
func allowedSites(t testing.TB, pq rego.PreparedEvalQuery, inv map[string]map[string]any, input map[string]any) []string {
	t.Helper()
	rs, err := pq.Eval(context.Background(), rego.EvalInput(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("placement decision undefined for %v", input)
	}
	dec := rs[0].Expressions[0].Value.(map[string]any)
	denied := map[string]bool{}
	for _, v := range dec["violations"].([]any) {
		vm := v.(map[string]any)
		for _, k := range []string{"site", "dataset", "rule", "message", "citation"} {
			if s, _ := vm[k].(string); s == "" {
				t.Errorf("violation without %s: %v", k, vm)
			}
		}
		denied[vm["site"].(string)] = true
	}
	var allowed []string
	for id := range inv["sites"] {
		if !denied[id] {
			allowed = append(allowed, id)
		}
	}
	sort.Strings(allowed)
	return allowed
}

// TestDemoPlacements pins the placement of every demo dataset over every demo site.
func TestDemoPlacements(t *testing.T) {
	inv := demoInventory(t)
	if n := len(inv["sites"]); n < 14 {
		t.Errorf("demo inventory has %d sites, want at least 14", n)
	}
	if n := len(inv["datasets"]); n < 8 {
		t.Errorf("demo inventory has %d datasets, want at least 8", n)
	}
	pq := placement(t, inv)
	all := make([]string, 0, len(inv["sites"]))
	for id := range inv["sites"] {
		all = append(all, id)
	}
	sort.Strings(all)
	const at = "2026-11-27T10:00:00Z"
	want := map[string][]string{
		"customer-pii-eu":    {"ams-1", "ber-1", "fra-1", "fra-2", "gru-1", "iad-1", "lon-1", "muc-edge-1", "osl-1", "par-1", "rey-edge-1", "sel-1", "tyo-1", "yul-1", "zrh-1"},
		"patient-records-de": {"ber-1", "fra-1"}, // ams-1: no German establishment (§393 SGB V)
		"payments-in":        {"bom-1"},
		"citizens-ru":        {"mow-1"},
		"tax-records-fr":     {"par-1"}, // SecNumCloud
		"public-catalogue":   all,
		"itar-designs":       {"iad-1", "us-east-1"},
		"uk-customers":       {"ams-1", "ber-1", "fra-1", "fra-2", "lon-1", "muc-edge-1", "osl-1", "par-1", "rey-edge-1", "sel-1", "tyo-1", "yul-1", "zrh-1"},
		"hr-records-nordics": {"ams-1", "ber-1", "fra-1", "fra-2", "muc-edge-1", "osl-1", "par-1", "rey-edge-1"},
	}
	for ds, sites := range want {
		if inv["datasets"][ds] == nil {
			t.Errorf("demo dataset %s is missing", ds)
			continue
		}
		if got := allowedSites(t, pq, inv, placementInput(inv, at, ds)); !slices.Equal(got, sites) {
			t.Errorf("%s: allowed at %v, want %v", ds, got, sites)
		}
	}
	for ds := range inv["datasets"] {
		if _, ok := want[ds]; !ok {
			t.Errorf("demo dataset %s has no expected placement here", ds)
		}
	}
	// A workload is bounded by every dataset it uses: billing-api needs EEA or
	// adequacy for customer-pii-eu and India for payments-in.
	if got := allowedSites(t, pq, inv, placementInput(inv, at, "customer-pii-eu", "payments-in")); len(got) != 0 {
		t.Errorf("billing-api: allowed at %v, want nowhere", got)
	}
	// Brazil's adequacy decision applies from 26 Jan 2026.
	if got := allowedSites(t, pq, inv, placementInput(inv, "2026-01-25T23:59:59Z", "customer-pii-eu")); slices.Contains(got, "gru-1") {
		t.Error("gru-1 allowed for customer-pii-eu before Brazil's adequacy decision")
	}
}

// BenchmarkPlacement measures the placement of customer-pii-eu over every demo
// site, prepared and evaluated as the engine does (AST store, parsed input). For
// profiling, SOVEREIGN_BENCH_QUERY evaluates another query over the same input
// and SOVEREIGN_BENCH_SITES (comma-separated ids) narrows the candidates.
func BenchmarkPlacement(b *testing.B) {
	inv := demoInventory(b)
	q, cands := os.Getenv("SOVEREIGN_BENCH_QUERY"), os.Getenv("SOVEREIGN_BENCH_SITES")
	if q == "" {
		q = "data.sovereign.placement.decision"
	}
	pq := prepare(b, inv, q)
	input := placementInput(inv, "2026-11-27T10:00:00Z", "customer-pii-eu")
	if cands != "" {
		input["candidates"] = strings.Split(cands, ",")
	}
	parsed := parsedInput(b, input)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pq.Eval(ctx, rego.EvalParsedInput(parsed)); err != nil {
			b.Fatal(err)
		}
	}
}

// dataDocument is the bundle's data with the inventory at data.inventory,
// round-tripped through JSON so the store holds plain JSON types.
func dataDocument[T any](t testing.TB, b *bundle.Bundle, inv T) map[string]any {
	t.Helper()
	data := map[string]any{"inventory": inv}
	for k, v := range b.Data {
		data[k] = v
	}
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}
