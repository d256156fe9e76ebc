// Command geninventory writes a synthetic but varied inventory of any size,
// for scale tests and benchmarks: sites spread over real countries, providers,
// operators with and without foreign parents, certifications with expiries,
// region labels; datasets of every classification and category the policy
// library reads, with subject jurisdictions, counts, residency and required
// certifications; workloads over several datasets of one tenant. The same
// seed gives the same inventory.
//
//	go run ./scripts/geninventory -sites 10000 -datasets 100000 -workloads 1000 -out /tmp/inv
//
// Files hold at most -per-file entries (the loader bounds a file at 16 MiB).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

var countries = []string{"DE", "FR", "IE", "NL", "IT", "ES", "PL", "SE", "AT", "BE", "DK", "FI", "PT", "CZ", "GR",
	"NO", "IS", "LI", "CH", "GB", "US", "CA", "JP", "KR", "SG", "IN", "CN", "HK", "RU", "BR", "AU", "NZ", "IL",
	"AE", "SA", "TR", "ID", "VN", "ZA", "MX", "AR", "UY"}

var providers = []struct{ name, country, parent string }{
	{"aws", "US", ""}, {"azure", "US", ""}, {"gcp", "US", ""}, {"ovh", "FR", ""}, {"ionos", "DE", ""},
	{"hetzner", "DE", ""}, {"self", "", ""}, {"alibaba", "CN", ""}, {"yandex", "RU", ""}, {"t-systems", "DE", ""},
	{"s3ns", "FR", "FR"}, {"aws-eusc", "DE", "US"},
}

var categories = [][]string{
	{"personal"}, {"personal", "health", "special-category"}, {"payment"}, {"government"},
	{"export-controlled"}, {}, {"personal", "biometric"}, {"cn-important-data"}, {"personal", "financial"},
}

func main() {
	nSites := flag.Int("sites", 100, "number of sites")
	nData := flag.Int("datasets", 1000, "number of datasets")
	nWork := flag.Int("workloads", 100, "number of workloads")
	perFile := flag.Int("per-file", 20000, "entries per file")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("out", "", "directory to write (created)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "geninventory: -out is required")
		os.Exit(2)
	}
	if err := generate(*out, *nSites, *nData, *nWork, *perFile, rand.New(rand.NewPCG(*seed, 7))); err != nil {
		fmt.Fprintln(os.Stderr, "geninventory:", err)
		os.Exit(1)
	}
}

func generate(dir string, nSites, nData, nWork, perFile int, r *rand.Rand) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	err := chunks(dir, "sites", nSites, perFile, func(w *bufio.Writer, i int) {
		p := providers[r.IntN(len(providers))]
		c := pick(countries)
		opc := p.country
		if opc == "" {
			opc = c
		}
		fmt.Fprintf(w, "  - id: site-%05d\n    kind: %s\n    provider: %s\n    region: %s-%d\n    country: %s\n",
			i, []string{"cloud-region", "on-prem", "edge"}[i%3], p.name, strings.ToLower(c), i%7, c)
		fmt.Fprintf(w, "    operator: {name: %q, country: %s", p.name+" "+c, opc)
		if p.parent != "" {
			fmt.Fprintf(w, ", parent_countries: [%s]", p.parent)
		} else if opc != "US" && r.IntN(4) == 0 {
			fmt.Fprintf(w, ", parent_countries: [US]")
		}
		fmt.Fprintf(w, "}\n    personnel_countries: [%s, %s]\n", c, pick(countries))
		if r.IntN(2) == 0 {
			fmt.Fprintf(w, "    certifications:\n      - {scheme: ISO27001, valid_until: \"%d-%02d-28\"}\n", 2026+r.IntN(3), 1+r.IntN(12))
			if c == "DE" || r.IntN(5) == 0 {
				fmt.Fprintf(w, "      - {scheme: C5, level: type2, valid_until: \"%d-%02d-28\"}\n", 2026+r.IntN(3), 1+r.IntN(12))
			}
		}
		fmt.Fprintf(w, "    key_custody: %s\n    labels: {topology.kubernetes.io/region: %s-%d}\n",
			[]string{"customer", "provider", "in-country-hsm"}[r.IntN(3)], strings.ToLower(c), i%7)
	})
	if err != nil {
		return err
	}
	tenantOf := func(i int) string { return fmt.Sprintf("tenant-%03d", i%200) }
	err = chunks(dir, "datasets", nData, perFile, func(w *bufio.Writer, i int) {
		cats := categories[r.IntN(len(categories))]
		fmt.Fprintf(w, "  - id: ds-%06d\n    tenant: %s\n    classification: %s\n", i, tenantOf(i),
			[]string{"public", "internal", "confidential", "restricted", "sovereign"}[r.IntN(5)])
		if len(cats) > 0 {
			fmt.Fprintf(w, "    categories: [%s]\n", strings.Join(cats, ", "))
			juris := []string{"EU", "DE", "FR", "GB", "CH", "IN", "CN", "RU", "US", "BR", "EEA"}
			fmt.Fprintf(w, "    subject_jurisdictions: [%s]\n    subject_count: %d\n    origin_country: %s\n",
				pick(juris), r.IntN(2_000_000), pick(countries))
		}
		if r.IntN(5) == 0 {
			fmt.Fprintf(w, "    residency: [%s]\n", pick([]string{"EEA", "EU", "DE", "IN", "CH"}))
		}
		if r.IntN(6) == 0 {
			fmt.Fprintf(w, "    required_certifications: [%s]\n", pick([]string{"ISO27001", "C5"}))
		}
		fmt.Fprintf(w, "    encryption: {at_rest: %t, end_to_end: %t, key_holder: %s}\n", r.IntN(5) > 0, r.IntN(3) == 0,
			[]string{"customer", "provider", "in-country-hsm"}[r.IntN(3)])
	})
	if err != nil {
		return err
	}
	return chunks(dir, "workloads", nWork, perFile, func(w *bufio.Writer, i int) {
		// Datasets of one tenant: i%200 picks the tenant, its datasets are
		// those with the same remainder.
		var ds []string
		for k := range 1 + r.IntN(4) {
			j := (i%200 + 200*(r.IntN(max(nData/200, 1))+k)) % max(nData, 1)
			if j%200 == i%200 && j < nData {
				ds = append(ds, fmt.Sprintf("ds-%06d", j))
			}
		}
		if len(ds) == 0 {
			ds = []string{fmt.Sprintf("ds-%06d", i%200%max(nData, 1))}
		}
		fmt.Fprintf(w, "  - id: wl-%05d\n    tenant: %s\n    datasets: [%s]\n", i, tenantOf(i), strings.Join(dedupe(ds), ", "))
	})
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// chunks writes n entries of list into files of at most per entries.
func chunks(dir, list string, n, per int, entry func(w *bufio.Writer, i int)) error {
	for start := 0; start < n; start += per {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%04d.yaml", list, start/per)))
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		fmt.Fprintf(w, "%s:\n", list)
		for i := start; i < min(start+per, n); i++ {
			entry(w, i)
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
