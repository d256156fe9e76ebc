package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
)

// Monotonicity: taking a fact away from a request or an inventory - a
// mechanism or any of its fields, a derogation's ground, a site's
// certifications or the claims its labels make, encryption, a subject count, the subject
// jurisdictions of data whose origin is known - or replacing a value by one
// outside its closed list, or moving `at` before every modelled window, never
// turns a refusal into an allow. An allow by omission would show as a variant
// allowed where its original is refused.
//
// Requests are generated from a fixed seed over datasets of every regime, the
// demo sites and a bare copy of each (no certifications, no labels), and the
// decision dates the library models; SOVEREIGN_MONOTONIC_N sets how many
// transfers are tried (default 60, 20 with -short; `make monotonic` tries 600).
func TestMonotonicity(t *testing.T) {
	base, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	var sites []engine.Site
	for _, id := range base.SiteIDs {
		s, _ := base.Site(id)
		sites = append(sites, s)
		// The bare copy holds no certification and makes no claim by label,
		// operator-sector included: an unstated sector is no basis
		// (docs/policy-contract.md), so leaving it out never allows.
		if len(s.Certifications) > 0 || len(s.Labels) > 0 {
			bare := s
			bare.ID, bare.Certifications, bare.Labels = s.ID+"-bare", nil, nil
			sites = append(sites, bare)
		}
	}
	inv, err := engine.NewInventory(sites, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := policyEngineOn(t, inv)
	ctx := context.Background()

	type variant struct {
		what string
		req  *engine.TransferRequest
	}
	// restrictions lists the variants of r that state less than r.
	restrictions := func(r *engine.TransferRequest) []variant {
		var out []variant
		with := func(what string, f func(*engine.TransferRequest)) {
			c := *r
			ds := *r.Dataset.Inline
			if ds.Encryption != nil {
				enc := *ds.Encryption
				ds.Encryption = &enc
			}
			c.Dataset = &engine.DatasetRef{Inline: &ds}
			if r.Mechanism != nil {
				m := *r.Mechanism
				c.Mechanism = &m
			}
			f(&c)
			out = append(out, variant{what, &c})
		}
		if r.Mechanism != nil {
			with("no mechanism", func(c *engine.TransferRequest) { c.Mechanism = nil })
			if r.Mechanism.Module != "" {
				with("no mechanism module", func(c *engine.TransferRequest) { c.Mechanism.Module = "" })
			}
			if r.Mechanism.Reference != "" {
				with("no mechanism reference", func(c *engine.TransferRequest) { c.Mechanism.Reference = "" })
			}
			if r.Mechanism.TIAReference != "" {
				with("no TIA reference", func(c *engine.TransferRequest) { c.Mechanism.TIAReference = "" })
			}
			if r.Mechanism.Derogation != "" {
				with("no derogation ground", func(c *engine.TransferRequest) { c.Mechanism.Derogation = "" })
				with("a derogation ground outside the list", func(c *engine.TransferRequest) { c.Mechanism.Derogation = "goodwill" })
			}
		}
		if r.Frequency != "" {
			with("no frequency", func(c *engine.TransferRequest) { c.Frequency = "" })
		}
		d := r.Dataset.Inline
		if d.Encryption != nil {
			with("no encryption", func(c *engine.TransferRequest) { c.Dataset.Inline.Encryption = nil })
			if d.Encryption.KeyHolder != "" {
				with("no key holder", func(c *engine.TransferRequest) { c.Dataset.Inline.Encryption.KeyHolder = "" })
			}
		}
		if d.SubjectCount > 0 {
			with("no subject count", func(c *engine.TransferRequest) { c.Dataset.Inline.SubjectCount = 0 })
		}
		if d.OriginCountry != "" && len(d.SubjectJurisdictions) > 0 {
			with("no subject jurisdictions (origin known)", func(c *engine.TransferRequest) { c.Dataset.Inline.SubjectJurisdictions = nil })
		}
		if _, ok := inv.Site(r.To + "-bare"); ok {
			with("destination without certifications or labels", func(c *engine.TransferRequest) { c.To = r.To + "-bare" })
		}
		with("before every modelled window", func(c *engine.TransferRequest) { c.At = "2007-06-01T00:00:00Z" })
		return out
	}
	permitted := func(r *engine.TransferRequest) (bool, error) {
		d, err := e.Transfer(ctx, r)
		if err != nil {
			return false, err
		}
		return d.Allowed, nil
	}

	n := 60
	if testing.Short() {
		n = 20
	}
	n = envInt(t, "SOVEREIGN_MONOTONIC_N", n)
	rng := rand.New(rand.NewPCG(17, 2026))
	tried, denied, checked := 0, 0, 0
	for tried < n {
		r := genTransfer(rng, base.SiteIDs)
		ok, err := permitted(r)
		if err != nil {
			continue // not a valid request: nothing to compare
		}
		tried++
		if ok {
			continue
		}
		denied++
		for _, v := range restrictions(r) {
			checked++
			if vok, _ := permitted(v.req); vok {
				t.Errorf("%s turns a refusal into an allow: %s", v.what, describe(r))
			}
		}
	}
	t.Logf("%d transfers, %d refused, %d restricted variants of them checked", tried, denied, checked)
	if denied < n/4 || checked < denied {
		t.Errorf("only %d of %d generated transfers refused (%d variants): the generator no longer exercises refusals", denied, tried, checked)
	}

	// Placements: a bare site is never allowed where its original is refused.
	for _, ds := range datasetTemplates {
		d, err := e.Placement(ctx, &engine.PlacementRequest{Dataset: &engine.DatasetRef{Inline: &ds}, Operation: "store", At: "2026-06-01T00:00:00Z"})
		if err != nil {
			t.Fatal(err)
		}
		allowed := map[string]bool{}
		for _, s := range d.Sites {
			allowed[s.Site] = s.Allowed
		}
		for id, ok := range allowed {
			if orig, isBare := trimBare(id); isBare && ok && !allowed[orig] {
				t.Errorf("dataset %s: %s (no certifications or labels) allowed where %s is refused", ds.ID, id, orig)
			}
		}
	}
}

func trimBare(id string) (string, bool) {
	const s = "-bare"
	if len(id) > len(s) && id[len(id)-len(s):] == s {
		return id[:len(id)-len(s)], true
	}
	return "", false
}

// datasetTemplates cover the regimes the library models.
var datasetTemplates = []engine.Dataset{
	{ID: "eu-pii", Classification: "confidential", Categories: []string{"personal"}, SubjectJurisdictions: []string{"DE"}, OriginCountry: "DE", SubjectCount: 5000,
		Encryption: &engine.Encryption{AtRest: true, EndToEnd: true, KeyHolder: "customer"}},
	{ID: "eu-health", Classification: "restricted", Categories: []string{"personal", "health"}, SubjectJurisdictions: []string{"DE"}, OriginCountry: "DE", SubjectCount: 200},
	{ID: "cn-pi", Classification: "confidential", Categories: []string{"personal"}, SubjectJurisdictions: []string{"CN"}, OriginCountry: "CN", SubjectCount: 50000},
	{ID: "cn-sensitive", Classification: "confidential", Categories: []string{"personal", "biometric"}, SubjectJurisdictions: []string{"CN"}, OriginCountry: "CN", SubjectCount: 5000},
	{ID: "cn-important", Classification: "restricted", Categories: []string{"cn-important-data"}, OriginCountry: "CN"},
	{ID: "ru-pd", Classification: "confidential", Categories: []string{"personal"}, SubjectJurisdictions: []string{"RU"}, OriginCountry: "RU", SubjectCount: 1000},
	{ID: "in-pay", Classification: "confidential", Categories: []string{"payment"}, OriginCountry: "IN"},
	{ID: "ch-pii", Classification: "confidential", Categories: []string{"personal"}, SubjectJurisdictions: []string{"CH"}, OriginCountry: "CH", SubjectCount: 100},
	{ID: "uk-pii", Classification: "confidential", Categories: []string{"personal"}, SubjectJurisdictions: []string{"GB"}, OriginCountry: "GB", SubjectCount: 100},
	{ID: "sa-pii", Classification: "confidential", Categories: []string{"personal"}, SubjectJurisdictions: []string{"SA"}, OriginCountry: "SA"},
	{ID: "tr-pii", Classification: "confidential", Categories: []string{"personal"}, SubjectJurisdictions: []string{"TR"}, OriginCountry: "TR"},
	{ID: "itar", Classification: "restricted", Categories: []string{"itar"}, Encryption: &engine.Encryption{AtRest: true, EndToEnd: true, KeyHolder: "customer"}},
	{ID: "fr-state", Classification: "restricted", Categories: []string{"fr-state-sensitive"}},
	{ID: "sov", Classification: "sovereign"},
	{ID: "c5", Classification: "internal", Categories: []string{"internal"}, RequiredCertifications: []string{"C5"}},
}

var mechanisms = []*engine.Mechanism{
	nil,
	{Kind: "scc", Module: "C2P", Reference: "SCC-1", TIAReference: "TIA-1"},
	{Kind: "scc", Module: "C2C", Reference: "SCC-2"},
	{Kind: "bcr", Reference: "BCR-1", TIAReference: "TIA-2"},
	{Kind: "derogation", Derogation: "consent"},
	{Kind: "derogation", Derogation: "contract"},
	{Kind: "idta", Reference: "IDTA-1"},
	{Kind: "uk-addendum", Reference: "ADD-1"},
	{Kind: "cn-standard-contract", Reference: "CAC-1"},
	{Kind: "cn-security-assessment", Reference: "CAC-2"},
	{Kind: "cn-certification", Reference: "CERT-1"},
	{Kind: "tr-standard-contract", Reference: "TR-1"},
}

var dates = []string{"2026-06-01T00:00:00Z", "2024-06-01T00:00:00Z", "2021-03-01T00:00:00Z", "2020-06-01T00:00:00Z", "2016-01-01T00:00:00Z", "2010-06-01T00:00:00Z"}

func genTransfer(rng *rand.Rand, siteIDs []string) *engine.TransferRequest {
	ds := datasetTemplates[rng.IntN(len(datasetTemplates))]
	if ds.Encryption != nil {
		enc := *ds.Encryption
		ds.Encryption = &enc
	}
	r := &engine.TransferRequest{
		Dataset: &engine.DatasetRef{Inline: &ds},
		From:    siteIDs[rng.IntN(len(siteIDs))],
		To:      siteIDs[rng.IntN(len(siteIDs))],
		Type:    []string{"replicate", "migrate", "backup", "remote-access"}[rng.IntN(4)],
		At:      dates[rng.IntN(len(dates))],
	}
	if m := mechanisms[rng.IntN(len(mechanisms))]; m != nil {
		c := *m
		r.Mechanism = &c
	}
	if rng.IntN(2) == 0 {
		r.Frequency = []string{"one-off", "repeated", "continuous"}[rng.IntN(3)]
	}
	return r
}

func describe(r *engine.TransferRequest) string {
	return fmt.Sprintf("dataset %s %s→%s %s frequency %q mechanism %+v at %s", r.Dataset.Inline.ID, r.From, r.To, r.Type, r.Frequency, r.Mechanism, r.At)
}

func policyEngineOn(t *testing.T, inv *engine.Inventory) *engine.Engine {
	t.Helper()
	e, err := engine.New(context.Background(), builtin(t), inv)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
