package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
)

// The regimes the policy considered reach the decision: each with its period,
// whether it applied to the dataset and why, and the grounds of the allowed
// sites.
func TestDecisionCarriesRegimes(t *testing.T) {
	e := demoEngine(t)
	d, err := e.Placement(context.Background(), &engine.PlacementRequest{
		Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", Candidates: []string{"fra-1", "us-east-1"},
		At: "2026-06-01T00:00:00Z",
	})
	if err != nil {
		t.Fatal(err)
	}
	gdpr := regime(t, d, "gdpr")
	if gdpr.Period == nil || gdpr.Period.ID != "gdpr" || gdpr.Period.Status != "modelled" || gdpr.Period.ValidFrom != "2018-05-25" || gdpr.Period.ValidUntil != "" {
		t.Errorf("gdpr period = %+v", gdpr.Period)
	}
	if len(gdpr.Datasets) != 1 || !gdpr.Datasets[0].Applies || gdpr.Datasets[0].Dataset != "customer-pii-eu" || gdpr.Datasets[0].Why == "" {
		t.Errorf("gdpr datasets = %+v", gdpr.Datasets)
	}
	if len(gdpr.Grounds) == 0 || slices.ContainsFunc(gdpr.Grounds, func(g engine.RegimeGround) bool { return g.Site != "fra-1" || g.Ground == "" }) {
		t.Errorf("gdpr grounds = %+v, want fra-1's only (us-east-1 has none)", gdpr.Grounds)
	}
	if ru := regime(t, d, "ru"); len(ru.Datasets) != 1 || ru.Datasets[0].Applies || !strings.HasPrefix(ru.Datasets[0].Why, "not in scope") {
		t.Errorf("ru datasets = %+v, want not applied with the reason", ru.Datasets)
	}

	// Before GDPR: the Directive's period is named.
	old, err := e.Transfer(context.Background(), &engine.TransferRequest{
		Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, From: "fra-1", To: "us-east-1", Type: "replicate", At: "2015-06-01T00:00:00Z",
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := regime(t, old, "gdpr").Period; p == nil || p.ValidUntil != "2018-05-24" && p.ValidUntil != "2018-05-25" {
		t.Errorf("gdpr period on 2015-06-01 = %+v, want the Directive's", p)
	}

	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"regimes":[{"regime":`) {
		t.Errorf("regimes missing from the JSON answer: %.300s", b)
	}
}

func regime(t *testing.T, d *engine.Decision, key string) engine.RegimeNote {
	t.Helper()
	for _, r := range d.Regimes {
		if r.Regime == key {
			return r
		}
	}
	t.Fatalf("no regime %q in %d regimes", key, len(d.Regimes))
	return engine.RegimeNote{}
}

// A regimes list of the wrong shape is the policy's error, named by path; a
// policy without one still decides.
func TestRegimesOfTheWrongShape(t *testing.T) {
	cases := []struct{ regimes, want string }{
		{`"gdpr"`, "decision.regimes is string"},
		{`[{"name": "x", "datasets": []}]`, `decision.regimes[0] has no "regime"`},
		{`[{"regime": "x", "datasets": [{"dataset": "d", "why": "w"}]}]`, "decision.regimes[0].datasets[0].applies is not a boolean"},
		{`[{"regime": "x", "datasets": [{"dataset": "d", "applies": true}]}]`, `decision.regimes[0].datasets[0] has no "why"`},
		{`[{"regime": "x", "period": "2018", "datasets": []}]`, "decision.regimes[0].period is string"},
		{`[{"regime": "x", "period": {"id": "p"}, "datasets": []}]`, `decision.regimes[0].period has no "status"`},
		{`[{"regime": "x", "datasets": [], "grounds": [{"site": "s", "dataset": "d", "ground": 1}]}]`, "decision.regimes[0].grounds[0].ground is not a non-empty string"},
		{``, ""},
	}
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		field := ""
		if c.regimes != "" {
			field = `, "regimes": ` + c.regimes
		}
		mod := "package sovereign.placement\ndecision := {\"violations\": [], \"obligations\": []" + field + "}\n"
		e := policyEngine(t, t.TempDir(), inv, mod)
		_, err := e.Placement(context.Background(), &engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", Candidates: []string{"fra-1"}})
		if c.want == "" {
			if err != nil {
				t.Errorf("no regimes: %v", err)
			}
			continue
		}
		if !errors.Is(err, engine.ErrPolicy) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("regimes %s: err = %v, want ErrPolicy with %q", c.regimes, err, c.want)
		}
	}
}
