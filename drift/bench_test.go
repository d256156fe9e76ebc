package drift

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/engine"
)

// BenchmarkDriftDemo judges the demo inventory's current state (14 stored
// copies, 7 flows) with a forecast of seven months.
func BenchmarkDriftDemo(b *testing.B) {
	inv, err := engine.LoadInventory(demo)
	if err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, builtin(b), inv)
	o := Options{Engine: e, At: at, Until: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDriftScale judges 1,000 datasets of the demo's sites, each
// stored at two sites with a replication between them, one in ten at a
// site whose C5 attestation has ended (so "since" is searched for), with a
// forecast of seven months.
func BenchmarkDriftScale(b *testing.B) {
	const n = 1000
	var ds, cur strings.Builder
	ds.WriteString("datasets:\n")
	cur.WriteString("current:\n")
	for i := range n {
		fmt.Fprintf(&ds, "  - {id: ds-%d, tenant: t%d, classification: confidential, categories: [health, personal], subject_jurisdictions: [DE], origin_country: DE, required_certifications: [C5]}\n", i, i%10)
		second := "ber-1"
		if i%10 == 0 {
			second = "fra-2"
		}
		fmt.Fprintf(&cur, "  - {dataset: ds-%d, stored_at: [{site: fra-1}, {site: %s}], flows: [{from: fra-1, to: %s, type: replicate}]}\n", i, second, second)
	}
	dir := b.TempDir()
	for _, f := range []string{"sites-eu.yaml", "sites-world.yaml"} {
		raw, err := os.ReadFile(filepath.Join(demo, f))
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), raw, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "datasets.yaml"), []byte(ds.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "current.yaml"), []byte(cur.String()), 0o644)
	inv, err := engine.LoadInventory(dir)
	if err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, builtin(b), inv)
	o := Options{Engine: e, At: at, Until: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)}
	b.ResetTimer()
	for b.Loop() {
		r, err := Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.OutOfCompliance) != 2*n/10 {
			b.Fatalf("%d out of compliance, want %d", len(r.OutOfCompliance), 2*n/10)
		}
	}
}
