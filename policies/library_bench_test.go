package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// syntheticSites makes n sites spread over countries of every kind the library
// distinguishes: EU and EEA members, trap territories, adequacy countries with
// and without scope qualifiers, localisation countries and third countries.
func syntheticSites(n int) map[string]any {
	countries := []string{"DE", "FR", "IE", "NL", "NO", "IS", "RE", "AX", "FO", "GI", "CH", "GB", "JP", "KR", "CA", "US", "BR",
		"IN", "CN", "HK", "RU", "SA", "TR", "VN", "ID", "SG", "AU", "ZA"}
	sites := make(map[string]any, n)
	for i := 0; i < n; i++ {
		c := countries[i%len(countries)]
		id := fmt.Sprintf("s-%04d", i)
		site := map[string]any{
			"id": id, "kind": "cloud-region", "country": c,
			"operator":            map[string]any{"name": "Op " + id, "country": c, "parent_countries": []any{countries[(i/7)%len(countries)]}},
			"personnel_countries": []any{c, countries[(i*3)%len(countries)]},
			"certifications": []any{
				map[string]any{"scheme": "C5", "level": "type2", "valid_until": "2027-06-30"},
				map[string]any{"scheme": "ISO27001"},
			},
		}
		if i%5 == 0 {
			site["certifications"] = append(site["certifications"].([]any), map[string]any{"scheme": "EU-US-DPF"})
		}
		if i%11 == 0 {
			site["labels"] = map[string]any{"sovereign-engine.io/operator-sector": "public"}
		}
		sites[id] = site
	}
	return sites
}

// parsedInput is a Go input as the Rego value the engine passes to OPA
// already parsed (it converts its input itself).
func parsedInput(b *testing.B, input any) ast.Value {
	b.Helper()
	raw, err := json.Marshal(input)
	if err != nil {
		b.Fatal(err)
	}
	parsed, err := ast.ValueFromReader(bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	return parsed
}

func benchLibrary(b *testing.B, nSites int, datasets []map[string]any) {
	sites := syntheticSites(nSites)
	inv := map[string]map[string]any{"sites": sites, "datasets": {}, "workloads": {}}
	pq := prepare(b, inv, "data.sovereign.placement.decision")
	cands := make([]any, 0, nSites)
	for i := 0; i < nSites; i++ {
		cands = append(cands, fmt.Sprintf("s-%04d", i))
	}
	ds := make([]any, len(datasets))
	for i, d := range datasets {
		ds[i] = d
	}
	parsed := parsedInput(b, map[string]any{"kind": "placement", "operation": "store", "time": "2026-11-27T10:00:00Z", "datasets": ds, "candidates": cands})
	ctx := context.Background()
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(parsed))
	if err != nil || len(rs) != 1 {
		b.Fatalf("decision: %v %v", rs, err)
	}
	b.ReportMetric(float64(len(rs[0].Expressions[0].Value.(map[string]any)["violations"].([]any))), "violations")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := pq.Eval(ctx, rego.EvalParsedInput(parsed)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLibraryDataset1000Sites: one dataset with three categories (personal,
// health, payment of EU subjects) over 1,000 sites.
func BenchmarkLibraryDataset1000Sites(b *testing.B) {
	benchLibrary(b, 1000, []map[string]any{{
		"id": "ds", "classification": "confidential", "categories": []any{"personal", "health", "payment"},
		"subject_jurisdictions": []any{"EU"}, "subject_count": 250000, "origin_country": "DE",
		"required_certifications": []any{"ISO27001"},
	}})
}

// BenchmarkLibraryWorkload5Datasets200Sites: a workload using five datasets of
// different regimes over 200 sites.
func BenchmarkLibraryWorkload5Datasets200Sites(b *testing.B) {
	benchLibrary(b, 200, []map[string]any{
		{"id": "eu", "classification": "confidential", "categories": []any{"personal"}, "subject_jurisdictions": []any{"EU"}, "subject_count": 120000},
		{"id": "gb", "classification": "confidential", "categories": []any{"personal"}, "subject_jurisdictions": []any{"GB"}, "subject_count": 50000},
		{"id": "cn", "classification": "confidential", "categories": []any{"personal"}, "subject_jurisdictions": []any{"CN"}, "subject_count": 150000},
		{"id": "de-health", "classification": "restricted", "categories": []any{"health", "personal"}, "subject_jurisdictions": []any{"DE"}, "required_certifications": []any{"C5"}},
		{"id": "itar", "classification": "restricted", "categories": []any{"export-controlled"}, "residency": []any{"US"}, "encryption": map[string]any{"at_rest": true, "end_to_end": true}},
	})
}
