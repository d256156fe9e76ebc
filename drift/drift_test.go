package drift

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

var demo = filepath.Join("..", "testdata", "inventory", "demo")

// at is the day the tests judge on: fra-2's C5 attestation ended on
// 2025-12-31, iad-1's EU-US DPF certification ends on 2027-02-28.
var at = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func builtin(t testing.TB) *engine.Policy {
	t.Helper()
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// inventory is the demo's sites and datasets with the given current state
// (and exemptions).
func inventory(t testing.TB, extra string) *engine.Inventory {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"sites-eu.yaml", "sites-world.yaml", "datasets.yaml"} {
		b, err := os.ReadFile(filepath.Join(demo, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "current.yaml"), []byte(extra), 0o644)
	inv, err := engine.LoadInventory(dir)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func newEngine(t testing.TB, p *engine.Policy, inv *engine.Inventory) *engine.Engine {
	t.Helper()
	e, err := engine.New(context.Background(), p, inv)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func run(t *testing.T, o Options) *Report {
	t.Helper()
	if o.At.IsZero() {
		o.At = at
	}
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const lawful = `current:
  - dataset: customer-pii-eu
    stored_at: [{site: fra-1, since: "2023-05-02"}, {site: ams-1}]
    flows:
      - {from: fra-1, to: ams-1, type: replicate, frequency: continuous}
  - dataset: uk-customers
    stored_at: [{site: lon-1}]
    flows:
      - {from: lon-1, to: zrh-1, type: remote-access}
`

func TestLawfulStateHasNoDrift(t *testing.T) {
	r := run(t, Options{Engine: newEngine(t, builtin(t), inventory(t, lawful)), Until: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)})
	if len(r.OutOfCompliance) != 0 || len(r.Forecast) != 0 {
		t.Fatalf("drift in a lawful state: %+v %+v", r.OutOfCompliance, r.Forecast)
	}
	if r.Checked != (Counts{Datasets: 2, Stored: 3, Flows: 2}) {
		t.Errorf("checked %+v", r.Checked)
	}
}

func TestExpiredCertificationDriftsSince(t *testing.T) {
	r := run(t, Options{Engine: newEngine(t, builtin(t), inventory(t, `current:
  - dataset: patient-records-de
    stored_at: [{site: ber-1}, {site: fra-2, since: "2021-03-15"}]
    flows: [{from: ber-1, to: fra-2, type: replicate, frequency: continuous}]
`))})
	if len(r.OutOfCompliance) != 2 {
		t.Fatalf("out of compliance %+v, want fra-2's copy and the flow to it", r.OutOfCompliance)
	}
	for _, f := range r.OutOfCompliance {
		if f.Since != "2026-01-01" || f.SinceBasis != SinceChange {
			t.Errorf("%s: since %s (%s), want 2026-01-01 (change)", f.What(), f.Since, f.SinceBasis)
		}
		if !slices.Contains(f.Rules(), "de.sgbv393.c5") {
			t.Errorf("%s: rules %v", f.What(), f.Rules())
		}
		for _, v := range f.Violations {
			if v.Citation == "" || v.Message == "" {
				t.Errorf("%s: violation without citation or message: %+v", f.What(), v)
			}
		}
		if len(f.Because) != 1 || !strings.Contains(f.Because[0], "site fra-2: certification C5 type2 valid_until 2025-12-31") {
			t.Errorf("%s: because %q", f.What(), f.Because)
		}
	}
	if got := r.OutOfCompliance[0]; got.Kind != KindStored || got.Site != "fra-2" {
		t.Errorf("first finding %+v", got)
	}
}

// A copy that was never compliant is out of compliance from the day it was
// stored; without that day, "at least" as far back as the search went.
func TestSinceStoredAndAtLeast(t *testing.T) {
	r := run(t, Options{Engine: newEngine(t, builtin(t), inventory(t, `current:
  - dataset: payments-in
    stored_at: [{site: bom-1}, {site: fra-1, since: "2024-06-01"}]
  - dataset: citizens-ru
    stored_at: [{site: fra-1}]
`)), MaxSearch: 8})
	got := map[string]Finding{}
	for _, f := range r.OutOfCompliance {
		got[f.Dataset+" "+f.Site] = f
	}
	if f := got["payments-in fra-1"]; f.Since != "2024-06-01" || f.SinceBasis != SinceStored {
		t.Errorf("payments-in at fra-1: since %q (%s), want 2024-06-01 (stored)", f.Since, f.SinceBasis)
	}
	if f := got["citizens-ru fra-1"]; f.SinceBasis != SinceAtLeast || f.Since == "" || f.Since >= "2026-12-03" {
		t.Errorf("citizens-ru at fra-1: since %q (%s), want at least an earlier day", f.Since, f.SinceBasis)
	}
	if _, ok := got["payments-in bom-1"]; ok {
		t.Error("payments-in at bom-1 is lawful")
	}
}

func TestForecastExemptionExpiring(t *testing.T) {
	inv := inventory(t, `current:
  - dataset: patient-records-de
    stored_at: [{site: fra-2}]
exemptions:
  - id: fra2-c5-renewal
    rules: [dataset.required_certification, de.sgbv393.c5]
    scope: {sites: [fra-2], datasets: [patient-records-de]}
    reason: C5 re-attestation audit under way; report due in January
    expires: "2027-01-15"
  - id: unrelated
    rules: [gdpr.chapter5.no_basis]
    scope: {sites: [iad-1]}
    reason: another site
    expires: "2027-01-15"
`)
	e := newEngine(t, builtin(t), inv)
	if r := run(t, Options{Engine: e}); len(r.OutOfCompliance) != 0 {
		t.Fatalf("the exemption does not cover fra-2 today: %+v", r.OutOfCompliance)
	}
	if r := run(t, Options{Engine: e, Until: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)}); len(r.Forecast) != 0 {
		t.Fatalf("forecast up to the last day of the exemption: %+v", r.Forecast)
	}
	r := run(t, Options{Engine: e, Until: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)})
	if len(r.Forecast) != 1 {
		t.Fatalf("forecast %+v, want fra-2's copy", r.Forecast)
	}
	f := r.Forecast[0]
	if f.On != "2027-01-16" || f.Site != "fra-2" || !slices.Contains(f.Rules(), "de.sgbv393.c5") {
		t.Errorf("forecast %+v", f)
	}
	if len(f.Because) != 1 || !strings.Contains(f.Because[0], "exemption fra2-c5-renewal") {
		t.Errorf("because %q, want the exemption alone", f.Because)
	}
	if r.Until != "2027-02-01" {
		t.Errorf("until %q", r.Until)
	}
}

func TestForecastCertificateEnding(t *testing.T) {
	r := run(t, Options{Engine: newEngine(t, builtin(t), inventory(t, `current:
  - dataset: customer-pii-eu
    stored_at: [{site: fra-1}, {site: iad-1}]
    flows: [{from: fra-1, to: iad-1, type: backup}]
`)), Until: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)})
	if len(r.OutOfCompliance) != 0 || len(r.Forecast) != 2 {
		t.Fatalf("now %+v, forecast %+v", r.OutOfCompliance, r.Forecast)
	}
	for _, f := range r.Forecast {
		if f.On != "2027-03-01" || !slices.ContainsFunc(f.Because, func(b string) bool { return strings.Contains(b, "EU-US-DPF valid_until 2027-02-28") }) {
			t.Errorf("%s: on %s because %q", f.What(), f.On, f.Because)
		}
	}
}

func TestUntilMustBeLater(t *testing.T) {
	_, err := Run(context.Background(), Options{Engine: newEngine(t, builtin(t), inventory(t, lawful)), At: at, Until: at.AddDate(0, 0, -1)})
	if err == nil || !strings.Contains(err.Error(), "until") {
		t.Fatalf("error %v", err)
	}
}

// withoutAdequacy is the built-in bundle with country removed from every
// version of the EU adequacy list: a decision struck down.
func withoutAdequacy(t *testing.T, country string) *engine.Policy {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(policies.Bundle, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.Bundle, path)
		if err != nil {
			return err
		}
		if path == "reference/data.json" {
			var data map[string]any
			if err := json.Unmarshal(b, &data); err != nil {
				return err
			}
			removed := 0
			for _, v := range data["gdpr"].(map[string]any)["adequacy"].(map[string]any)["versions"].([]any) {
				countries := v.(map[string]any)["countries"].(map[string]any)
				if _, ok := countries[country]; ok {
					delete(countries, country)
					removed++
				}
			}
			if removed == 0 {
				t.Fatalf("%s is in no version of the adequacy list", country)
			}
			if b, err = json.Marshal(data); err != nil {
				return err
			}
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(path)), 0o755)
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.LoadPolicy(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBundleRemovingAdequacyBreaks(t *testing.T) {
	inv := inventory(t, `current:
  - dataset: customer-pii-eu
    stored_at: [{site: fra-1}, {site: tyo-1}]
    flows: [{from: fra-1, to: tyo-1, type: replicate}]
  - dataset: uk-customers
    stored_at: [{site: lon-1}]
`)
	next := withoutAdequacy(t, "JP")
	r := run(t, Options{Engine: newEngine(t, builtin(t), inv), Compare: newEngine(t, next, inv)})
	if len(r.OutOfCompliance) != 0 {
		t.Fatalf("out of compliance under the active bundle: %+v", r.OutOfCompliance)
	}
	c := r.Change
	if c == nil || len(c.Breaks) != 2 || len(c.Clears) != 0 {
		t.Fatalf("change %+v, want tyo-1's copy and the flow to it", c)
	}
	for _, f := range c.Breaks {
		if !slices.Contains(f.Rules(), "gdpr.chapter5.no_basis") || f.Dataset != "customer-pii-eu" {
			t.Errorf("breaks %+v", f)
		}
	}
	if c.Bundle.Digest == r.Bundle.Digest {
		t.Error("the report does not tell the bundles apart")
	}
}

func TestTenantFilter(t *testing.T) {
	r := run(t, Options{Engine: newEngine(t, builtin(t), inventory(t, lawful+`  - dataset: patient-records-de
    stored_at: [{site: fra-2}]
`)), Tenant: "acme"})
	if len(r.OutOfCompliance) != 0 || r.Checked.Datasets != 2 {
		t.Fatalf("tenant acme sees %+v (checked %+v)", r.OutOfCompliance, r.Checked)
	}
}

// TestProgress: every item of every pass (now, forecast, compare) is
// reported once, and the last report is total of total.
func TestProgress(t *testing.T) {
	inv, err := engine.LoadInventory(demo)
	if err != nil {
		t.Fatal(err)
	}
	p := builtin(t)
	var mu sync.Mutex
	var calls, last, total int
	o := Options{Engine: newEngine(t, p, inv), Compare: newEngine(t, p, inv), At: at, Until: at.AddDate(0, 6, 0),
		Progress: func(done, tot int) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			last, total = max(last, done), tot
		}}
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	items := r.Checked.Stored + r.Checked.Flows
	if items == 0 || total != 3*items || calls != total || last != total {
		t.Errorf("%d items: %d calls, last %d of %d; want 3 passes of each", items, calls, last, total)
	}
}
