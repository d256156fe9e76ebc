package engine

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func inventoryDir(name string) string { return filepath.Join("..", "testdata", "inventory", name) }

// refused returns the problems of an inventory refused with an
// *InventoryError, and fails the test otherwise.
func refused(t *testing.T) func(*Inventory, error) []string {
	t.Helper()
	return func(inv *Inventory, err error) []string {
		t.Helper()
		return refusedProblems(t, inv, err)
	}
}

func refusedProblems(t *testing.T, inv *Inventory, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatalf("inventory accepted (revision %s), want it refused", inv.Revision)
	}
	if inv != nil {
		t.Errorf("a refused inventory was returned as well: nothing partial may be returned")
	}
	var ie *InventoryError
	if !errors.As(err, &ie) {
		t.Fatalf("error %T %q, want *InventoryError", err, err)
	}
	if got := strings.Join(ie.Problems, "\n"); err.Error() != got {
		t.Errorf("Error() = %q, want the problems one per line %q", err.Error(), got)
	}
	return ie.Problems
}

func TestLoadInventoryRefused(t *testing.T) {
	tests := []struct {
		dir  string
		want []string
	}{
		{"bad-lowercase-country", []string{
			`sites.yaml:12:14: sites[2].country: must be an ISO 3166-1 alpha-2 country code in upper case, got "de" (did you mean "DE"?)`,
			`sites.yaml:13:72: sites[2].operator.parent_countries[1]: must be an ISO 3166-1 alpha-2 country code in upper case, got "uk" (the United Kingdom is "GB")`,
		}},
		{"bad-kind", []string{
			`sites.yaml:3:11: sites[0].kind: must be one of: cloud-region on-prem edge, got "region"`,
		}},
		{"bad-duplicate-id", []string{
			`b.yaml:6:5: sites[1].id: duplicate site id "fra-1", first defined at a.yaml:2`,
			`b.yaml:11:5: datasets[0].id: duplicate dataset id "logs", first defined at a.yaml:7`,
		}},
		{"bad-unknown-field", []string{
			`sites.yaml:8:7: sites[0].operator.parent_country: unknown field "parent_country": expected country, name, parent_countries`,
			`sites.yaml:13:5: sites[1].jurisdiction: unknown field "jurisdiction"`,
		}},
		{"bad-malformed-yaml", []string{
			`sites.yaml:1: malformed YAML: did not find expected '-' indicator`,
		}},
		{"bad-unknown-dataset", []string{
			`inventory.yaml:11:33: workloads[0].datasets[1]: unknown dataset "invoices"`,
		}},
		{"bad-cross-tenant-workload", []string{
			`inventory.yaml:12:33: workloads[0].datasets[1]: dataset "patients" belongs to tenant "klinikum", not to the workload's tenant "acme"`,
		}},
		{"bad-date-format", []string{
			`sites.yaml:7:49: sites[0].certifications[0].valid_until: must be a date in the form YYYY-MM-DD, got "30/06/2027"`,
		}},
		{"bad-type", []string{
			`sites.yaml:6:26: sites[0].personnel_countries: must be a list, got "DE"`,
			`sites.yaml:10:20: datasets[0].subject_count: must be a whole number, got "lots"`,
			`sites.yaml:11:27: datasets[0].encryption.at_rest: must be true or false, got "yes"`,
		}},
		{"bad-multiple", []string{
			// files in name order: datasets.yaml before sites.yaml
			`datasets.yaml:3:21: datasets[0].classification: must be one of: public internal confidential restricted sovereign, got "secret"`,
			`datasets.yaml:4:33: datasets[0].subject_jurisdictions[1]: must be an ISO 3166-1 alpha-2 country code in upper case or a jurisdiction group name such as EU or EEA, got "de" (did you mean "DE"?)`,
			`datasets.yaml:4:37: datasets[0].subject_jurisdictions[2]: must be an ISO 3166-1 alpha-2 country code in upper case or a jurisdiction group name such as EU or EEA, got "UK" (the United Kingdom is "GB")`,
			`datasets.yaml:5:20: datasets[0].subject_count: must not be negative, got -1`,
			`datasets.yaml:6:30: datasets[0].encryption.key_holder: must be one of: customer provider in-country-hsm, got "me"`,
			`sites.yaml:2:9: sites[0].id: must be a DNS label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit, got "FRA_1"`,
			`sites.yaml:3:11: sites[0].kind: must be one of: cloud-region on-prem edge, got "cloud"`,
			`sites.yaml:4:14: sites[0].country: must be an ISO 3166-1 alpha-2 country code in upper case, got "Germany"`,
			`sites.yaml:5:18: sites[0].subdivision: must be an ISO 3166-2 subdivision code such as DE-HE, got "de-he" (did you mean "DE-HE"?)`,
			`sites.yaml:6:15: sites[0].operator.name: is required`,
			`sites.yaml:7:18: sites[0].key_custody: must be one of: customer provider in-country-hsm, got "customer-managed"`,
		}},
		{"bad-no-sites", []string{
			inventoryDir("bad-no-sites") + `: no sites defined: an inventory needs at least one site`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			inv, err := LoadInventory(inventoryDir(tt.dir))
			if got := refused(t)(inv, err); !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

// TestLoadInventoryDecoding covers what one file can get wrong before
// validation: each case is the file's name and content.
func TestLoadInventoryDecoding(t *testing.T) {
	const site = "sites:\n  - {id: fra-1, kind: edge, country: DE, operator: {name: X, country: DE}}\n"
	tests := []struct {
		name, file, content string
		want                []string
	}{
		{
			name: "numbers and booleans where strings are expected", file: "s.yaml",
			content: "sites:\n  - id: fra-1\n    kind: edge\n    region: 1.10\n    provider: 0123\n    country: DE\n" +
				"    operator: {name: 42, country: DE}\n    labels: {tier: 1, public: true}\n",
			want: []string{
				`s.yaml:4:13: sites[0].region: must be a string, got a number 1.10: quote it if "1.10" is meant`,
				`s.yaml:5:15: sites[0].provider: must be a string, got a number 0123: quote it if "0123" is meant`,
				`s.yaml:7:22: sites[0].operator.name: must be a string, got a number 42: quote it if "42" is meant`,
				`s.yaml:8:20: sites[0].labels[tier]: must be a string, got a number 1: quote it if "1" is meant`,
				`s.yaml:8:31: sites[0].labels[public]: must be a string, got a boolean true: quote it if "true" is meant`,
			},
		},
		{
			name: "a number where a string is expected is not validated twice", file: "s.yaml",
			content: "sites:\n  - {id: fra-1, kind: edge, country: 49, operator: {name: X, country: DE}}\n",
			want:    []string{`s.yaml:2:38: sites[0].country: must be a string, got a number 49: quote it if "49" is meant`},
		},
		{
			name: "YAML 1.1 booleans are not booleans", file: "d.yaml",
			content: site + "datasets:\n  - {id: d, classification: public, encryption: {at_rest: yes}}\n",
			want:    []string{`d.yaml:4:59: datasets[0].encryption.at_rest: must be true or false, got "yes"`},
		},
		{
			name: "unknown top-level key", file: "s.yaml",
			content: site + "regions:\n  - eu\n",
			want:    []string{`s.yaml:3:1: regions: unknown field "regions": expected current, datasets, exemptions, sites, workloads`},
		},
		{
			name: "a mapping where a list is expected", file: "s.yaml",
			content: "sites: {id: fra-1}\n",
			want:    []string{`s.yaml:1:8: sites: must be a list, got a mapping`},
		},
		{
			name: "an empty entry", file: "s.yaml",
			content: site + "datasets:\n  -\n",
			want:    []string{`s.yaml:4:4: datasets[0]: must be a mapping, got null`},
		},
		{
			name: "duplicate key", file: "s.yaml",
			content: "sites:\n  - id: fra-1\n    id: fra-2\n",
			want:    []string{`s.yaml:3:5: sites[0].id: duplicate key "id" (first at line 2)`},
		},
		{
			name: "unknown field in JSON", file: "s.json",
			content: `{"sites": [{"id": "fra-1", "kind": "edge", "country": "DE",` + "\n" + ` "operator": {"name": "X", "country": "DE", "parent": "US"}}]}`,
			want:    []string{`s.json:2:45: sites[0].operator.parent: unknown field "parent": expected country, name, parent_countries`},
		},
		{
			name: "two documents", file: "s.yaml",
			content: site + "---\n" + site,
			want:    []string{`s.yaml:3: holds 2 YAML documents: put one in each file`},
		},
		{
			name: "empty file", file: "s.yaml",
			content: "# nothing yet\n",
			want:    []string{`s.yaml: is empty: expected sites, datasets and/or workloads lists`, `DIR: no sites defined: an inventory needs at least one site`},
		},
		{
			name: "not a mapping", file: "s.yaml",
			content: "- fra-1\n",
			want:    []string{`s.yaml:1:1: must be a mapping, got a list`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, tt.file, tt.content)
			inv, err := LoadInventory(dir)
			want := slices.Clone(tt.want)
			for i := range want {
				want[i] = strings.ReplaceAll(want[i], "DIR", dir)
			}
			if got := refused(t)(inv, err); !slices.Equal(got, want) {
				t.Errorf("problems:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
			}
		})
	}
}

func TestLoadInventoryMalformedJSON(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sites.json", "{\"sites\": [\n  {\"id\": \"fra-1\",, }\n]}")
	got := refused(t)(LoadInventory(dir))
	if len(got) != 1 || !strings.HasPrefix(got[0], "sites.json:2:") || !strings.Contains(got[0], "malformed JSON") {
		t.Errorf("problems %q, want one naming sites.json, line 2, malformed JSON", got)
	}
}

func TestLoadInventoryGoodMin(t *testing.T) {
	inv, err := LoadInventory(inventoryDir("good-min"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"fra-1", "osl-1"}; !slices.Equal(inv.SiteIDs, want) {
		t.Errorf("SiteIDs = %q, want %q", inv.SiteIDs, want)
	}
	if want := []string{"customer-pii-eu"}; !slices.Equal(inv.DatasetIDs, want) {
		t.Errorf("DatasetIDs = %q, want %q", inv.DatasetIDs, want)
	}
	if want := []string{"billing-api"}; !slices.Equal(inv.WorkloadIDs, want) {
		t.Errorf("WorkloadIDs = %q, want %q", inv.WorkloadIDs, want)
	}
	fra, ok := inv.Site("fra-1")
	if !ok || fra.Operator.Name != "Example Cloud GmbH" || !slices.Equal(fra.Operator.ParentCountries, []string{"US"}) ||
		len(fra.Certifications) != 2 || fra.Certifications[0].ValidUntil != "2027-06-30" ||
		fra.Labels["topology.kubernetes.io/region"] != "eu-central-1" {
		t.Errorf("Site(fra-1) = %+v, %v", fra, ok)
	}
	if osl, _ := inv.Site("osl-1"); osl.Country != "NO" || osl.Operator.Country != "NO" {
		t.Errorf("osl-1 country %q, operator %q: NO is Norway, not false", osl.Country, osl.Operator.Country)
	}
	if d, ok := inv.Dataset("customer-pii-eu"); !ok || d.SubjectCount != 120000 || d.Encryption == nil || !d.Encryption.AtRest {
		t.Errorf("Dataset(customer-pii-eu) = %+v, %v", d, ok)
	}
	if w, ok := inv.Workload("billing-api"); !ok || !slices.Equal(w.Datasets, []string{"customer-pii-eu"}) {
		t.Errorf("Workload(billing-api) = %+v, %v", w, ok)
	}
	for _, found := range []bool{second(inv.Site("nowhere")), second(inv.Dataset("nothing")), second(inv.Workload("nobody"))} {
		if found {
			t.Error("an unknown id was found")
		}
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(inv.Revision) {
		t.Errorf("Revision = %q", inv.Revision)
	}
	// The canonical form is a contract: audit records carry this revision,
	// and changing how it is computed makes old records unverifiable against
	// the files. Change this value only on purpose.
	if want := "sha256:4214f49465a8076a7da694d6f66609de48436959f36cfd65e7e04a70f52d45f4"; inv.Revision != want {
		t.Errorf("Revision = %s, want %s", inv.Revision, want)
	}
}

func second[T any](_ T, ok bool) bool { return ok }

func TestRegoData(t *testing.T) {
	inv, err := LoadInventory(inventoryDir("good-min"))
	if err != nil {
		t.Fatal(err)
	}
	data := inv.RegoData()
	if got := slices.Sorted(mapsKeys(data)); !slices.Equal(got, []string{"datasets", "exemptions", "sites", "workloads"}) {
		t.Fatalf("top-level keys %q", got)
	}
	sites := data["sites"].(map[string]any)
	if got := slices.Sorted(mapsKeys(sites)); !slices.Equal(got, inv.SiteIDs) {
		t.Errorf("sites keyed by %q, want %q", got, inv.SiteIDs)
	}
	fra := sites["fra-1"].(map[string]any)
	if got := fra["operator"].(map[string]any)["parent_countries"]; !reflect.DeepEqual(got, []any{"US"}) {
		t.Errorf("sites.fra-1.operator.parent_countries = %#v", got)
	}
	if got := fra["personnel_countries"]; !reflect.DeepEqual(got, []any{"DE", "IE"}) {
		t.Errorf("sites.fra-1.personnel_countries = %#v (snake_case names)", got)
	}
	if got := fra["certifications"].([]any)[0].(map[string]any)["valid_until"]; got != "2027-06-30" {
		t.Errorf("valid_until = %#v", got)
	}
	ds := data["datasets"].(map[string]any)["customer-pii-eu"].(map[string]any)
	if got := ds["subject_count"]; got != json.Number("120000") {
		t.Errorf("subject_count = %#v, want json.Number", got)
	}
	if got := ds["encryption"].(map[string]any)["end_to_end"]; got != false {
		t.Errorf("encryption.end_to_end = %#v", got)
	}
	w := data["workloads"].(map[string]any)["billing-api"].(map[string]any)
	if got := w["datasets"]; !reflect.DeepEqual(got, []any{"customer-pii-eu"}) {
		t.Errorf("workloads.billing-api.datasets = %#v", got)
	}
	if reflect.ValueOf(inv.RegoData()).UnsafePointer() != reflect.ValueOf(data).UnsafePointer() {
		t.Error("RegoData is rebuilt on each call; it should be computed once")
	}
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestRevision checks that the revision depends on the content only: not on
// how it is split into files, their names, order, format or comments.
func TestRevision(t *testing.T) {
	base, err := LoadInventory(inventoryDir("good-min"))
	if err != nil {
		t.Fatal(err)
	}

	oneFile := t.TempDir()
	writeFile(t, oneFile, "all.yaml", `
workloads:
  - {id: billing-api, tenant: acme, datasets: [customer-pii-eu]}
sites:
  - id: osl-1
    kind: on-prem
    provider: self
    country: "NO"
    operator: {country: "NO", name: Example Norge AS}
  - id: fra-1
    subdivision: DE-HE
    country: DE
    kind: cloud-region
    provider: aws
    region: eu-central-1
    partition: aws
    key_custody: customer
    operator: {name: Example Cloud GmbH, country: DE, parent_countries: [US]}
    personnel_countries: [DE, IE]
    certifications: [{scheme: C5, level: type2, valid_until: "2027-06-30"}, {scheme: ISO27001}]
    labels: {topology.kubernetes.io/region: eu-central-1}
datasets:
  - id: customer-pii-eu
    tenant: acme
    classification: confidential
    categories: [personal]
    subject_jurisdictions: [EU]
    subject_count: 120000
    origin_country: DE
    residency: [EEA]
    required_certifications: [ISO27001]
    encryption: {at_rest: true, end_to_end: false, key_holder: customer}
`)
	split := t.TempDir()
	for _, name := range []string{"sites.yaml", "datasets.json", "workloads.yml"} {
		b, err := os.ReadFile(filepath.Join(inventoryDir("good-min"), name))
		if err != nil {
			t.Fatal(err)
		}
		// other names, so the files are read in another order
		writeFile(t, split, "z-"+strings.TrimSuffix(name, filepath.Ext(name))+"-x"+filepath.Ext(name), string(b))
	}

	same := func(name, dir string) {
		t.Helper()
		inv, err := LoadInventory(dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if inv.Revision != base.Revision {
			t.Errorf("%s: revision %s, want %s as for good-min", name, inv.Revision, base.Revision)
		}
	}
	same("one file, other order", oneFile)
	same("renamed files", split)

	values, err := NewInventory(
		[]Site{base.Sites["osl-1"], base.Sites["fra-1"]},
		[]Dataset{base.Datasets["customer-pii-eu"]},
		[]Workload{base.Workloads["billing-api"]},
	)
	if err != nil {
		t.Fatal(err)
	}
	if values.Revision != base.Revision {
		t.Errorf("NewInventory: revision %s, want %s", values.Revision, base.Revision)
	}

	changed := t.TempDir()
	b, err := os.ReadFile(filepath.Join(oneFile, "all.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, changed, "all.yaml", strings.Replace(string(b), `valid_until: "2027-06-30"`, `valid_until: "2027-06-29"`, 1))
	inv, err := LoadInventory(changed)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Revision == base.Revision {
		t.Error("a changed certificate expiry kept the revision")
	}
}

func TestNewInventory(t *testing.T) {
	site := validSite()
	t.Run("valid", func(t *testing.T) {
		sites := []Site{site}
		sites[0].PersonnelCountries = []string{"DE"}
		inv, err := NewInventory(sites, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The snapshot shares no memory with the caller's values.
		sites[0].Country = "US"
		sites[0].PersonnelCountries[0] = "US"
		if got := inv.Sites["fra-1"]; got.Country != "DE" || got.PersonnelCountries[0] != "DE" {
			t.Errorf("inventory changed with the caller's slice: %+v", got)
		}
		if got := inv.RegoData()["datasets"]; !reflect.DeepEqual(got, map[string]any{}) {
			t.Errorf("datasets = %#v, want an empty object", got)
		}
	})
	t.Run("refused", func(t *testing.T) {
		bad := site
		bad.Country = "de"
		got := refused(t)(NewInventory(
			[]Site{site, bad},
			[]Dataset{{ID: "d", Classification: "internal"}},
			[]Workload{{ID: "w", Datasets: []string{"d", "e", ""}}},
		))
		want := []string{
			`inventory:sites[1].country: must be an ISO 3166-1 alpha-2 country code in upper case, got "de" (did you mean "DE"?)`,
			`inventory:workloads[0].datasets[2]: is required`,
			`inventory:sites[1].id: duplicate site id "fra-1", first defined at inventory:sites[0]`,
			`inventory:workloads[0].datasets[1]: unknown dataset "e"`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("problems:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
		}
	})
	t.Run("no sites", func(t *testing.T) {
		got := refused(t)(NewInventory(nil, nil, nil))
		if want := []string{"inventory: no sites defined: an inventory needs at least one site"}; !slices.Equal(got, want) {
			t.Errorf("problems %q, want %q", got, want)
		}
	})
}

func TestLoadInventoryDirectory(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		_, err := LoadInventory(filepath.Join(t.TempDir(), "nowhere"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v, want one wrapping fs.ErrNotExist", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "README.md", "no inventory here")
		got := refused(t)(LoadInventory(dir))
		if want := []string{dir + ": no inventory files (*.yaml, *.yml, *.json)"}; !slices.Equal(got, want) {
			t.Errorf("problems %q, want %q", got, want)
		}
	})
	t.Run("skips hidden files, other files and directories; follows symlinks", func(t *testing.T) {
		src, err := os.ReadFile(filepath.Join(inventoryDir("good-min"), "sites.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeFile(t, dir, ".sites.yaml.swp.yaml", "not: [valid")
		writeFile(t, dir, "notes.txt", "not: [valid")
		if err := os.Mkdir(filepath.Join(dir, "old.yaml"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "old.yaml/sites.yaml", "not: [valid")
		writeFile(t, t.TempDir(), "unused", "")
		target := filepath.Join(t.TempDir(), "real.yaml")
		if err := os.WriteFile(target, src, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, "SITES.YAML")); err != nil {
			t.Fatal(err)
		}
		inv, err := LoadInventory(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Sites) != 2 {
			t.Errorf("%d sites, want 2", len(inv.Sites))
		}
	})
}

func TestLoadInventoryAnchors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sites.yaml", `
sites:
  - id: fra-1
    kind: cloud-region
    country: DE
    operator: &example {name: Example Cloud GmbH, country: DE, parent_countries: [US]}
  - id: fra-2
    kind: cloud-region
    country: DE
    operator: *example
`)
	inv, err := LoadInventory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := inv.Sites["fra-1"].Operator, inv.Sites["fra-2"].Operator; !reflect.DeepEqual(a, b) || b.Name != "Example Cloud GmbH" {
		t.Errorf("operators %+v and %+v, want the anchored one twice", a, b)
	}
}

// TestDemoInventory keeps the demo inventory (testdata/inventory/demo) loadable.
func TestDemoInventory(t *testing.T) {
	inv, err := LoadInventory(inventoryDir("demo"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no demo inventory yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Sites) < 12 || len(inv.Datasets) < 8 {
		t.Errorf("demo inventory has %d sites and %d datasets, want at least 12 and 8", len(inv.Sites), len(inv.Datasets))
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExemptionsInInventory(t *testing.T) {
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "inventory", "demo", "*.yaml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
	}
	base, err := LoadInventory(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "exemptions.yaml"), []byte(`exemptions:
  - id: EX-1
    rules: [gdpr.chapter5.no_basis]
    scope: {datasets: [customer-pii-eu], sites: [us-east-1]}
    reason: pilot under SCCs, DPO approval 2026-11
    category: mitigated
    expires: 2026-12-31
`), 0o644)
	inv, err := LoadInventory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Revision == base.Revision || inv.Exemptions["EX-1"].Expires != "2026-12-31" {
		t.Fatalf("exemption not loaded: %+v", inv.Exemptions)
	}
	if _, ok := inv.RegoData()["exemptions"].(map[string]any)["EX-1"]; !ok {
		t.Fatal("exemption not in data.inventory.exemptions")
	}
	os.WriteFile(filepath.Join(dir, "exemptions.yaml"), []byte(`exemptions:
  - id: EX-2
    rules: []
    scope: {}
    reason: x
    category: forever
    valid_from: 2027-01-01
    expires: 2026-12-31
  - id: EX-3
    rules: [x]
    scope: {sites: [atlantis-1]}
    reason: y
    expires: 2026-12-31
`), 0o644)
	_, err = LoadInventory(dir)
	var ie *InventoryError
	if !errors.As(err, &ie) {
		t.Fatalf("want an InventoryError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"exemptions[0].rules", "exemptions[0].scope", "exemptions[0].category", "exemptions[0].valid_from", `exemptions[1].scope.sites[0]: unknown site "atlantis-1"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
}
