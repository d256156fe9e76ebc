package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// The built-in library may be memoised: it calls no non-deterministic
// built-in and reads the time only as a date.
func TestDeterministicBuiltinLibrary(t *testing.T) {
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := engine.Deterministic(p.Modules()); !ok {
		t.Fatalf("built-in library: %s", why)
	}
	if st := demoEngine(t).CacheStats(); !st.Enabled || st.Capacity != engine.DefaultDecisionCacheEntries {
		t.Fatalf("cache stats %+v, want enabled with the default capacity", st)
	}
}

func TestDeterministicRefusesNondeterministicBuiltins(t *testing.T) {
	for _, call := range []string{
		`time.now_ns()`,
		`http.send({"method": "GET", "url": "http://127.0.0.1:1"})`,
		`rand.intn("x", 10)`,
		`uuid.rfc4122("x")`,
		`opa.runtime()`,
		`net.lookup_ip_addr("example.com")`,
	} {
		name := call[:strings.IndexByte(call, '(')]
		t.Run(name, func(t *testing.T) {
			src := "package x\nv := " + call + "\n"
			mods := map[string]*ast.Module{"x.rego": ast.MustParseModule(src)}
			ok, why := engine.Deterministic(mods)
			if ok || !strings.Contains(why, name) || !strings.Contains(why, "x.rego") {
				t.Fatalf("Deterministic = %v, %q; want false naming %s and the file", ok, why, name)
			}
			// The same call in a test module does not count.
			mods = map[string]*ast.Module{"x_test.rego": ast.MustParseModule(src)}
			if ok, why := engine.Deterministic(mods); !ok {
				t.Fatalf("a test module counted: %s", why)
			}
		})
	}
}

// An answer comes from the cache only for the same input on the same UTC
// day; each answer is still a decision of its own.
func TestDecisionCacheHitsSameDayOnly(t *testing.T) {
	e := demoEngine(t)
	ctx := context.Background()
	ask := func(at string) *engine.Decision {
		t.Helper()
		d, err := e.Placement(ctx, &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", At: at})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := ask("2026-06-01T08:00:00Z")
	if st := e.CacheStats(); st.Hits != 0 || st.Misses != 1 || st.Entries != 1 {
		t.Fatalf("after one request: %+v", st)
	}
	second := ask("2026-06-01T23:59:59.5Z")
	if st := e.CacheStats(); st.Hits != 1 || st.Misses != 1 {
		t.Fatalf("same input, same day: %+v, want one hit", st)
	}
	if first.DecisionID == second.DecisionID || second.EvaluatedAt != "2026-06-01T23:59:59.5Z" {
		t.Fatalf("a cached answer must still be its own decision: ids %s %s, evaluated_at %s", first.DecisionID, second.DecisionID, second.EvaluatedAt)
	}
	if !reflect.DeepEqual(first.Sites, second.Sites) {
		t.Fatalf("cached answer differs:\n%+v\n%+v", first.Sites, second.Sites)
	}
	// A caller changing its decision does not change the next answer.
	first.Sites[0].Violations = append(first.Sites[0].Violations, engine.Violation{Rule: "tampered"})
	first.Sites[0].Allowed = !first.Sites[0].Allowed
	if third := ask("2026-06-01T12:00:00Z"); !reflect.DeepEqual(third.Sites, second.Sites) {
		t.Fatal("changing a returned decision changed the cached answer")
	}
	ask("2026-06-02T08:00:00Z")
	if st := e.CacheStats(); st.Misses != 2 {
		t.Fatalf("another day must be evaluated: %+v", st)
	}
	// Each answer equals an uncached evaluation.
	off, err := engine.New(ctx, e.Policy(), e.Inventory(), engine.WithDecisionCache(0))
	if err != nil {
		t.Fatal(err)
	}
	want, err := off.Placement(ctx, &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", At: "2026-06-01T10:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want.Sites, second.Sites) {
		t.Fatal("cached answer differs from an uncached evaluation")
	}
	if st := off.CacheStats(); st.Enabled || st.Reason != "turned off" || st.Hits+st.Misses != 0 {
		t.Fatalf("cache off: %+v", st)
	}
}

// A new inventory gets a fresh cache: the answers warmed into it before the
// swap are evaluated on the new inventory, never carried over.
func TestDecisionCacheNewInventoryNeverSeesOldAnswers(t *testing.T) {
	e := demoEngine(t)
	ctx := context.Background()
	req := func() *engine.PlacementRequest {
		return &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", Candidates: []string{"fra-1"}, At: "2026-06-01T08:00:00Z"}
	}
	d, err := e.Placement(ctx, req())
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allowed {
		t.Fatalf("fra-1 (DE) should take EU personal data: %+v", d.Sites)
	}
	// The same inventory with fra-1 moved to India.
	dir := t.TempDir()
	for _, f := range []string{"datasets.yaml", "sites-eu.yaml", "sites-world.yaml"} {
		b, err := os.ReadFile(filepath.Join(demoInventory, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "sites-eu.yaml" {
			s := string(b)
			i := strings.Index(s, "id: fra-1")
			j := i + strings.Index(s[i:], "country: DE")
			b = []byte(s[:j] + "country: IN" + s[j+len("country: DE"):])
		}
		write(t, filepath.Join(dir, f), string(b))
	}
	inv, err := engine.LoadInventory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Activate(ctx, nil, inv); err != nil {
		t.Fatal(err)
	}
	before := e.CacheStats()
	if before.Entries != 1 {
		t.Fatalf("the new snapshot should hold the warmed request: %+v", before)
	}
	d, err = e.Placement(ctx, req())
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.InventoryRevision != inv.Revision {
		t.Fatalf("after the swap fra-1 is in IN and must be refused: allowed=%v revision %s", d.Allowed, d.InventoryRevision)
	}
	if after := e.CacheStats(); after.Hits != before.Hits+1 {
		t.Fatalf("the warmed answer should have been used: %+v then %+v", before, after)
	}
}

// A policy the proof cannot admit is evaluated every time, and the stats say
// why.
func TestDecisionCacheOffForClockReadingPolicy(t *testing.T) {
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	e := policyEngine(t, t.TempDir(), inv, `package sovereign.placement
decision := {"violations": v, "obligations": []} if {
	v := [x | some id in input.candidates; time.now_ns() < 0; x := {"site": id, "rule": "r", "message": "m", "citation": "c"}]
}
`)
	for range 2 {
		if _, err := e.Placement(context.Background(), &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", Candidates: []string{"fra-1"}}); err != nil {
			t.Fatal(err)
		}
	}
	st := e.CacheStats()
	if st.Enabled || st.Hits+st.Misses != 0 || !strings.Contains(st.Reason, "time.now_ns") {
		t.Fatalf("cache stats %+v, want off because of time.now_ns", st)
	}
}
