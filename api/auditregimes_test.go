package api

import (
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
)

// The audit record keeps which regimes applied, their periods and grounds,
// and leaves out the texts a replay gives back; the answer is not changed.
func TestDecisionRecordCarriesRegimes(t *testing.T) {
	d := &engine.Decision{DecisionID: "01J", Kind: engine.KindPlacement, Violations: []engine.Violation{}, Obligations: []engine.Violation{},
		Regimes: []engine.RegimeNote{
			{Regime: "gdpr", Name: "EU data protection", Period: &engine.RegimePeriod{ID: "gdpr", Name: "GDPR Chapter V", Status: "modelled", Source: "Regulation (EU) 2016/679", ValidFrom: "2018-05-25"},
				Datasets: []engine.RegimeDataset{{Dataset: "a", Applies: true, Why: "personal data of data subjects in EU"}, {Dataset: "b", Applies: false, Why: "not in scope"}},
				Grounds:  []engine.RegimeGround{{Site: "fra-1", Dataset: "a", Ground: "DE is within the regime's area"}}},
			{Regime: "cn", Name: "China", Datasets: []engine.RegimeDataset{{Dataset: "a", Applies: false, Why: "not in scope"}}},
		}}
	r, err := decisionRecord(DecisionEntry{Kind: engine.KindPlacement, Principal: "system", Request: []byte(`{}`), Decision: d})
	if err != nil {
		t.Fatal(err)
	}
	const want = `"regimes":[{"regime":"gdpr","period":{"id":"gdpr","status":"modelled","valid_from":"2018-05-25"},` +
		`"datasets":[{"dataset":"a","applies":true,"why":"personal data of data subjects in EU"}],` +
		`"grounds":[{"site":"fra-1","dataset":"a","ground":"DE is within the regime's area"}]},` +
		`{"regime":"cn","datasets":[]}]`
	if !strings.Contains(string(r.Result), want) {
		t.Errorf("record result %s\nwant it to contain %s", r.Result, want)
	}
	if len(d.Regimes[0].Datasets) != 2 || d.Regimes[0].Name == "" {
		t.Error("the answer's regimes were changed")
	}

}
