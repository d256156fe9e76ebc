package engine_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"

	"github.com/sovereign-engine/sovereign/internal/testenv"
)

const demoInventory = "../testdata/inventory/demo"

func demoEngine(t testing.TB, opts ...engine.Option) *engine.Engine {
	t.Helper()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatalf("built-in bundle: %v", err)
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatalf("demo inventory: %v", err)
	}
	e, err := engine.New(context.Background(), p, inv, opts...)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return e
}

func TestPlacementRanksAndAttributes(t *testing.T) {
	e := demoEngine(t)
	d, err := e.Placement(context.Background(), &engine.PlacementRequest{
		Dataset:   &engine.DatasetRef{ID: "customer-pii-eu"},
		Operation: engine.OperationStore,
		At:        "2026-06-01T00:00:00Z",
	})
	if err != nil {
		t.Fatal(err)
	}
	inv := e.Inventory()
	if len(d.Sites) != len(inv.SiteIDs) {
		t.Fatalf("default candidates must be every site: got %d, want %d", len(d.Sites), len(inv.SiteIDs))
	}
	seenDenied := false
	for _, s := range d.Sites {
		if s.Allowed && seenDenied {
			t.Fatalf("allowed site %s ranked after a denied one", s.Site)
		}
		if !s.Allowed {
			seenDenied = true
			if len(s.Violations) == 0 {
				t.Errorf("denied site %s has no violation", s.Site)
			}
		}
		for _, v := range s.Violations {
			if v.Dataset != "customer-pii-eu" {
				t.Errorf("violation at %s not attributed to the dataset: %+v", s.Site, v)
			}
		}
	}
	if !d.Allowed || !seenDenied {
		t.Fatalf("EU personal data must have both lawful and unlawful sites in the demo: %+v", d.Sites)
	}
	if d.EvaluatedAt != "2026-06-01T00:00:00Z" {
		t.Errorf("evaluated_at = %q, want the request's at", d.EvaluatedAt)
	}
}

// TestHypotheticalDecisions: an answer for a time other than now is marked, so
// a backdated what-if cannot pass for an authorization; skew within
// HypotheticalSkew is not.
func TestHypotheticalDecisions(t *testing.T) {
	e := demoEngine(t)
	now := time.Now().UTC()
	for _, tc := range []struct {
		at   string
		want bool
	}{
		{"", false},
		{now.Format(time.RFC3339), false},
		{now.Add(-engine.HypotheticalSkew / 2).Format(time.RFC3339), false},
		{now.Add(engine.HypotheticalSkew / 2).Format(time.RFC3339), false},
		{now.Add(-engine.HypotheticalSkew - time.Minute).Format(time.RFC3339), true},
		{now.Add(engine.HypotheticalSkew + time.Minute).Format(time.RFC3339), true},
		{"2020-01-01T00:00:00Z", true},
	} {
		d, err := e.Placement(context.Background(), &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", At: tc.at})
		if err != nil {
			t.Fatal(err)
		}
		if d.Hypothetical != tc.want {
			t.Errorf("placement at %q: hypothetical = %v, want %v", tc.at, d.Hypothetical, tc.want)
		}
		tr, err := e.Transfer(context.Background(), &engine.TransferRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, From: "fra-1", To: "par-1", Type: "replicate", At: tc.at})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Hypothetical != tc.want {
			t.Errorf("transfer at %q: hypothetical = %v, want %v", tc.at, tr.Hypothetical, tc.want)
		}
	}
}

func TestWorkloadPlacementIntersectsDatasets(t *testing.T) {
	e := demoEngine(t)
	inv := e.Inventory()
	var wid string
	for _, id := range inv.WorkloadIDs {
		if len(inv.Workloads[id].Datasets) > 1 {
			wid = id
			break
		}
	}
	if wid == "" {
		t.Skip("demo inventory has no workload with several datasets")
	}
	w := inv.Workloads[wid]
	wd, err := e.Placement(context.Background(), &engine.PlacementRequest{Workload: &engine.WorkloadRef{ID: wid}, Operation: engine.OperationProcess, At: "2026-06-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, s := range wd.Sites {
		allowed[s.Site] = s.Allowed
	}
	// A site is allowed for the workload exactly when it is allowed for each dataset.
	for _, ds := range w.Datasets {
		dd, err := e.Placement(context.Background(), &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: ds}, Operation: engine.OperationProcess, At: "2026-06-01T00:00:00Z"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range dd.Sites {
			if !s.Allowed && allowed[s.Site] {
				t.Errorf("workload %s allowed at %s, where its dataset %s is not", wid, s.Site, ds)
			}
		}
	}
}

// Prepared queries are shared by concurrent requests, and a swap in the middle
// of them neither fails a request nor mixes two snapshots in one answer.
func TestConcurrentEvaluationAcrossActivations(t *testing.T) {
	e := demoEngine(t)
	p := e.Policy()
	invA := e.Inventory()
	invB, err := engine.NewInventory(sitesOf(invA), datasetsOf(invA), workloadsOf(invA)[:0])
	if err != nil {
		t.Fatal(err)
	}
	if invA.Revision == invB.Revision {
		t.Fatal("test needs two different inventories")
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d, err := e.Placement(ctx, &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store"})
				if err != nil {
					errc <- err
					return
				}
				if d.InventoryRevision != invA.Revision && d.InventoryRevision != invB.Revision {
					errc <- errors.New("decision names an unknown inventory revision")
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		inv := invA
		if i%2 == 0 {
			inv = invB
		}
		if err := e.Activate(ctx, p, inv); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

func sitesOf(inv *engine.Inventory) []engine.Site {
	var out []engine.Site
	for _, id := range inv.SiteIDs {
		out = append(out, inv.Sites[id])
	}
	return out
}

func datasetsOf(inv *engine.Inventory) []engine.Dataset {
	var out []engine.Dataset
	for _, id := range inv.DatasetIDs {
		d := inv.Datasets[id]
		if id == "customer-pii-eu" {
			d.SubjectCount++ // a different inventory with the same ids
		}
		out = append(out, d)
	}
	return out
}

func workloadsOf(inv *engine.Inventory) []engine.Workload {
	var out []engine.Workload
	for _, id := range inv.WorkloadIDs {
		out = append(out, inv.Workloads[id])
	}
	return out
}

// A policy that answers with something other than the contract's shape fails
// the request; nothing is allowed by omission.
func TestMalformedPolicyAnswersFailClosed(t *testing.T) {
	cases := map[string]string{
		"finding without citation": `package sovereign.placement
decision := {"violations": [{"site": "fra-1", "rule": "x", "message": "m"}], "obligations": []}`,
		"violations not a list": `package sovereign.placement
decision := {"violations": "none", "obligations": []}`,
		"no obligations": `package sovereign.placement
decision := {"violations": []}`,
		"undefined decision": `package sovereign.placement
decision := {"violations": [], "obligations": []} if { input.never }`,
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	for name, placement := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			e := policyEngine(t, dir, inv, placement)
			_, err = e.Placement(context.Background(), &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store"})
			if !errors.Is(err, engine.ErrPolicy) {
				t.Fatalf("want ErrPolicy, got %v", err)
			}
		})
	}
}

func TestLoadPolicyRefusals(t *testing.T) {
	cases := map[string]map[string]string{
		"does not compile":         {"p.rego": "package sovereign.placement\ndecision := {\n"},
		"lacks the transfer query": {"p.rego": "package sovereign.placement\ndecision := {\"violations\": [], \"obligations\": []}\n"},
		"claims data.inventory": {
			".manifest": `{"roots": ["inventory"]}`,
			"p.rego":    "package sovereign.placement\ndecision := {\"violations\": [], \"obligations\": []}\n",
			"t.rego":    "package sovereign.transfer\ndecision := {\"violations\": [], \"obligations\": []}\n",
		},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, content := range files {
				write(t, filepath.Join(dir, f), content)
			}
			if _, err := engine.LoadPolicy(dir); err == nil {
				t.Fatal("bundle accepted")
			}
		})
	}
}

// The digest names the content, not the packaging: the built-in bundle, the same
// files in a directory and in a tarball have one digest; a changed byte another.
func TestBundleDigestIsContentAddressed(t *testing.T) {
	embedded, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{}
	err = fs.WalkDir(policies.Bundle, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.Bundle, path)
		if err != nil {
			return err
		}
		files[path] = b
		write(t, filepath.Join(dir, path), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fromDir, err := engine.LoadPolicy(dir)
	if err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "bundle.tar.gz")
	writeTarball(t, tarball, files)
	fromTar, err := engine.LoadPolicy(tarball)
	if err != nil {
		t.Fatal(err)
	}
	if embedded.Digest != fromDir.Digest || embedded.Digest != fromTar.Digest {
		t.Fatalf("digests differ: embedded %s, dir %s, tarball %s", embedded.Digest, fromDir.Digest, fromTar.Digest)
	}
	if embedded.Revision == "" {
		t.Error("built-in bundle has no revision in its .manifest")
	}
	for path := range files {
		if strings.HasSuffix(path, ".rego") && !strings.HasSuffix(path, "_test.rego") {
			write(t, filepath.Join(dir, path), string(files[path])+"\n# changed\n")
			break
		}
	}
	changed, err := engine.LoadPolicy(dir)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Digest == embedded.Digest {
		t.Fatal("a changed module kept the digest")
	}
}

// The OPA CLI, built from the module Sovereign embeds, reaches the same verdicts
// from the input and data Sovereign prints: the policy is plain OPA.
func TestOPACLIParity(t *testing.T) {
	opa, err := filepath.Abs("../bin/opa")
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(opa)
	testenv.Need(t, err == nil, "bin/opa (make opa; make test builds it)")
	e := demoEngine(t)
	dir := t.TempDir()
	data, err := json.Marshal(map[string]any{"inventory": e.Inventory().RegoData()})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "inventory.json"), string(data))
	for _, ds := range e.Inventory().DatasetIDs {
		req := &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: ds}, Operation: "store", At: "2026-06-01T00:00:00Z"}
		in, err := e.PolicyInput(req)
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "input.json"), string(in))
		out, err := exec.Command(opa, "eval", "--format", "json", "-b", "../policies",
			"-d", filepath.Join(dir, "inventory.json"), "-i", filepath.Join(dir, "input.json"), "data.sovereign.placement.decision").Output()
		if err != nil {
			t.Fatalf("opa eval: %v", err)
		}
		var res struct {
			Result []struct {
				Expressions []struct {
					Value struct {
						Violations []struct{ Site, Rule string } `json:"violations"`
					} `json:"value"`
				} `json:"expressions"`
			} `json:"result"`
		}
		if err := json.Unmarshal(out, &res); err != nil || len(res.Result) != 1 {
			t.Fatalf("opa output: %v: %s", err, out)
		}
		var fromOPA []string
		for _, v := range res.Result[0].Expressions[0].Value.Violations {
			fromOPA = append(fromOPA, v.Site+" "+v.Rule)
		}
		d, err := e.Placement(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var fromEngine []string
		for _, s := range d.Sites {
			for _, v := range s.Violations {
				fromEngine = append(fromEngine, s.Site+" "+v.Rule)
			}
		}
		sort.Strings(fromOPA)
		sort.Strings(fromEngine)
		if strings.Join(fromOPA, "\n") != strings.Join(fromEngine, "\n") {
			t.Errorf("dataset %s: opa and sovereign disagree:\nopa:\n%s\nsovereign:\n%s", ds, strings.Join(fromOPA, "\n"), strings.Join(fromEngine, "\n"))
		}
	}
}

// policyEngine builds an engine on a policy in dir: the placement module
// given, and a transfer decision that finds nothing.
func policyEngine(t *testing.T, dir string, inv *engine.Inventory, placement string) *engine.Engine {
	t.Helper()
	write(t, filepath.Join(dir, "placement.rego"), placement)
	write(t, filepath.Join(dir, "transfer.rego"), "package sovereign.transfer\ndecision := {\"violations\": [], \"obligations\": []}\n")
	p, err := engine.LoadPolicy(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeTarball(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: "/" + n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The evaluation benchmarks turn the decision cache off: they measure what a
// request the cache has not seen costs. BenchmarkPlacementCached is a hit.
func BenchmarkPlacementAllSites(b *testing.B) {
	e := benchmarkPlacement(b, engine.WithDecisionCache(0))
	b.ReportMetric(float64(len(e.Inventory().SiteIDs)), "sites")
}

// benchmarkPlacement asks one placement over every demo site, again and again.
func benchmarkPlacement(b *testing.B, opts ...engine.Option) *engine.Engine {
	e := demoEngine(b, opts...)
	req := &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", At: "2026-06-01T00:00:00Z"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Placement(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

func BenchmarkPlacementAllSitesParallel(b *testing.B) {
	e := demoEngine(b, engine.WithDecisionCache(0))
	req := &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", At: "2026-06-01T00:00:00Z"}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Placement(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPlacementCached(b *testing.B) {
	e := benchmarkPlacement(b)
	if st := e.CacheStats(); st.Misses != 1 {
		b.Fatalf("want one miss: %+v", st)
	}
}

func BenchmarkTransfer(b *testing.B) {
	e := demoEngine(b, engine.WithDecisionCache(0))
	req := &engine.TransferRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, From: "fra-1", To: "us-east-1", Type: "replicate",
		Mechanism: &engine.Mechanism{Kind: "scc", Module: "C2P"}, At: "2026-06-01T00:00:00Z"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Transfer(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// A violation the policy attributes to no candidate fails the request instead
// of being dropped (which would leave the site allowed).
func TestUnattributedViolationFailsClosed(t *testing.T) {
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	for name, finding := range map[string]string{
		"no site":       `{"rule": "x.deny_all", "message": "m", "citation": "Law 1"}`,
		"not candidate": `{"site": "us-east-1", "rule": "x.deny", "message": "m", "citation": "Law 1"}`,
		"misspelt site": `{"site": "fra1", "rule": "x.deny", "message": "m", "citation": "Law 1"}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := policyEngine(t, t.TempDir(), inv, "package sovereign.placement\ndecision := {\"violations\": ["+finding+"], \"obligations\": []}\n")
			d, err := e.Placement(context.Background(), &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", Candidates: []string{"fra-1"}})
			if !errors.Is(err, engine.ErrPolicy) {
				t.Fatalf("want ErrPolicy, got %v (decision %+v)", err, d)
			}
		})
	}
}

func TestInlineDatasetCannotPoseAsInventoryDataset(t *testing.T) {
	e := demoEngine(t)
	_, err := e.Transfer(context.Background(), &engine.TransferRequest{
		Dataset: &engine.DatasetRef{Inline: &engine.Dataset{ID: "customer-pii-eu", Classification: "public"}},
		From:    "fra-1", To: "us-east-1", Type: "replicate",
	})
	var invalid *engine.ValidationError
	if !errors.As(err, &invalid) || invalid.Problems[0].Path != "dataset.id" {
		t.Fatalf("want a 422 on dataset.id, got %v", err)
	}
}

func TestCancelledEvaluationIsNotAPolicyError(t *testing.T) {
	e := demoEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.Placement(ctx, &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store"})
	if err == nil || errors.Is(err, engine.ErrPolicy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, not ErrPolicy: %v", err)
	}
}

// An exemption in the inventory waives the named rule within its scope and
// dates, and the decision lists it.
func TestExemptionWaivesAndIsListed(t *testing.T) {
	base := demoEngine(t).Inventory()
	ex := engine.Exemption{ID: "EX-1", Rules: []string{"gdpr.chapter5.no_basis"},
		Scope:  engine.ExemptionScope{Datasets: []string{"customer-pii-eu"}, Sites: []string{"us-east-1"}},
		Reason: "pilot under SCCs", Category: "mitigated", Expires: "2026-12-31"}
	inv, err := engine.NewInventory(sitesOf(base), datasetsOf(base), workloadsOf(base), ex)
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	place := func(at string) engine.SiteDecision {
		d, err := e.Placement(context.Background(), &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", Candidates: []string{"us-east-1"}, At: at})
		if err != nil {
			t.Fatal(err)
		}
		if at == "2026-06-01T00:00:00Z" && (len(d.Exemptions) != 1 || d.Exemptions[0].Exemption != "EX-1") {
			t.Errorf("decision does not list the exemption it applied: %+v", d.Exemptions)
		}
		return d.Sites[0]
	}
	if sd := place("2026-06-01T00:00:00Z"); !sd.Allowed || len(sd.Exemptions) != 1 || sd.Exemptions[0].Rule != "gdpr.chapter5.no_basis" {
		t.Fatalf("exemption not applied at us-east-1: %+v", sd)
	}
	if sd := place("2027-01-01T00:00:00Z"); sd.Allowed {
		t.Fatalf("an expired exemption still waives: %+v", sd)
	}
}

// A policy swap and an inventory swap at the same time both land: neither is
// lost to the other's read-prepare-store.
func TestConcurrentActivationsDoNotLoseUpdates(t *testing.T) {
	for i := 0; i < 10; i++ {
		e := demoEngine(t)
		base := e.Inventory()
		inv2, err := engine.NewInventory(sitesOf(base), datasetsOf(base), nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		files := map[string][]byte{}
		fs.WalkDir(policies.Bundle, ".", func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := fs.ReadFile(policies.Bundle, path)
				files[path] = b
			}
			return nil
		})
		for path, b := range files {
			write(t, filepath.Join(dir, path), string(b))
		}
		write(t, filepath.Join(dir, ".manifest"), `{"revision": "second", "roots": ["sovereign", "reference"]}`)
		p2, err := engine.LoadPolicy(dir)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = e.Activate(context.Background(), p2, nil) }()
		go func() { defer wg.Done(); _ = e.Activate(context.Background(), nil, inv2) }()
		wg.Wait()
		if e.Policy().Revision != "second" || e.Inventory().Revision != inv2.Revision {
			t.Fatalf("run %d: an activation was lost: policy %q, inventory %s", i, e.Policy().Revision, e.Inventory().Revision)
		}
	}
}

// TestNewRecordsItsActivation: an engine's first activation is recorded as
// the later ones are: after preparing, before the engine exists, and a record
// that fails means no engine.
func TestNewRecordsItsActivation(t *testing.T) {
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	var recorded []string
	record := func(p *engine.Policy, inv *engine.Inventory) error {
		recorded = append(recorded, p.Digest+" "+inv.Revision)
		return nil
	}
	e, err := engine.New(context.Background(), p, inv, engine.WithDecisionCache(0), engine.WithActivationRecord(record))
	if err != nil {
		t.Fatal(err)
	}
	if len(recorded) != 1 || recorded[0] != p.Digest+" "+inv.Revision {
		t.Errorf("recorded %q, want the one activation", recorded)
	}
	if st := e.CacheStats(); st.Enabled || st.Capacity != 0 {
		t.Errorf("WithDecisionCache(0) beside it not applied: %+v", st)
	}
	refused := errors.New("log unavailable")
	e, err = engine.New(context.Background(), p, inv, engine.WithActivationRecord(func(*engine.Policy, *engine.Inventory) error { return refused }))
	if !errors.Is(err, refused) || e != nil {
		t.Fatalf("want no engine and the record's error, got %v, %v", e, err)
	}
}
