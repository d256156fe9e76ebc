package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
)

// A request dated before the bundle's floor, or outside the times OPA's clock
// holds, is refused with one problem on `at` before the policy is asked; on
// and after the floor it is decided.
func TestDecisionTimeBounds(t *testing.T) {
	e := demoEngine(t)
	floor := e.Policy().Floor()
	if floor == nil || floor.Date != "2008-01-01" || floor.Source == "" {
		t.Fatalf("built-in floor = %+v, want 2008-01-01 with its source", floor)
	}
	cases := []struct {
		at   string
		want []string // in the message on at; nil: decided
	}{
		{"2007-12-31T23:59:59.999999999Z", []string{"is before 2008-01-01", "data.reference.modelled_from", floor.Source, e.Policy().Revision}},
		{"2008-01-01T00:30:00+01:00", []string{"is before 2008-01-01"}}, // 2007-12-31T23:30Z
		{"1995-10-24T00:00:00Z", []string{"is before 2008-01-01"}},
		{"1677-09-21T00:12:43Z", []string{"outside the times the policy engine can represent", "1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z"}},
		{"0001-01-01T00:00:00Z", []string{"outside the times"}},
		{"2262-04-11T23:47:17Z", []string{"outside the times"}},
		{"9999-12-31T23:59:59Z", []string{"outside the times"}},
		{"2008-01-01T00:00:00Z", nil},
		{"2262-04-11T23:47:16Z", nil},
	}
	for _, c := range cases {
		t.Run(c.at, func(t *testing.T) {
			_, perr := e.Placement(context.Background(), &engine.PlacementRequest{
				Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: engine.OperationStore, Candidates: []string{"fra-1"}, At: c.at,
			})
			_, terr := e.Transfer(context.Background(), &engine.TransferRequest{
				Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, From: "fra-1", To: "ber-1", Type: "replicate", At: c.at,
			})
			for kind, err := range map[string]error{"placement": perr, "transfer": terr} {
				if c.want == nil {
					if err != nil {
						t.Errorf("%s: %v, want a decision", kind, err)
					}
					continue
				}
				var invalid *engine.ValidationError
				if !errors.As(err, &invalid) {
					t.Fatalf("%s: %v, want a ValidationError", kind, err)
				}
				if len(invalid.Problems) != 1 || invalid.Problems[0].Path != "at" {
					t.Fatalf("%s: problems %v, want one on at", kind, invalid.Problems)
				}
				for _, w := range c.want {
					if !strings.Contains(invalid.Problems[0].Message, w) {
						t.Errorf("%s: message %q does not name %q", kind, invalid.Problems[0].Message, w)
					}
				}
			}
		})
	}
	// The floor is checked with every other problem of the request: all are listed.
	_, err := e.Placement(context.Background(), &engine.PlacementRequest{
		Dataset: &engine.DatasetRef{ID: "nope"}, Operation: engine.OperationStore, At: "2000-01-01T00:00:00Z",
	})
	var invalid *engine.ValidationError
	if !errors.As(err, &invalid) || len(invalid.Problems) != 2 {
		t.Fatalf("want the floor and the unknown dataset, got %v", err)
	}
	// --print-input refuses what a decision refuses.
	if _, err := e.PolicyInput(&engine.PlacementRequest{Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", At: "2000-01-01T00:00:00Z"}); !errors.As(err, &invalid) {
		t.Errorf("policy input before the floor: %v, want a ValidationError", err)
	}
}

// The floor is read from the bundle's data when it is loaded: a bundle without
// one has none (the policy decides every representable date), a malformed one
// is refused with the field named.
func TestBundleFloor(t *testing.T) {
	inv, err := engine.LoadInventory(demoInventory)
	if err != nil {
		t.Fatal(err)
	}
	policy := map[string]string{
		"p.rego": "package sovereign.placement\ndecision := {\"violations\": [], \"obligations\": []}\n",
		"t.rego": "package sovereign.transfer\ndecision := {\"violations\": [], \"obligations\": []}\n",
	}
	cases := []struct {
		name, data string
		floor      string // "" none
		refused    string // in the load error
	}{
		{"no data", "", "", ""},
		{"no floor", `{"reference": {"groups": {}}}`, "", ""},
		{"a floor", `{"reference": {"modelled_from": {"date": "2010-06-30", "source": "test"}}}`, "2010-06-30", ""},
		{"floor not an object", `{"reference": {"modelled_from": "2010-06-30"}}`, "", "data.reference.modelled_from: is a string"},
		{"floor without date", `{"reference": {"modelled_from": {"source": "x"}}}`, "", "data.reference.modelled_from.date: is missing or null"},
		{"floor date a number", `{"reference": {"modelled_from": {"date": 2008}}}`, "", "data.reference.modelled_from.date: is a number"},
		{"floor date malformed", `{"reference": {"modelled_from": {"date": "1 Jan 2008"}}}`, "", `"1 Jan 2008" is not a date`},
		{"floor date out of range", `{"reference": {"modelled_from": {"date": "1492-10-12"}}}`, "", "outside the times the engine can represent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, content := range policy {
				write(t, filepath.Join(dir, f), content)
			}
			if c.data != "" {
				write(t, filepath.Join(dir, "data.json"), c.data)
			}
			p, err := engine.LoadPolicy(dir)
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("load: %v, want %q", err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if f := p.Floor(); f != nil {
				got = f.Date
			}
			if got != c.floor {
				t.Fatalf("floor %q, want %q", got, c.floor)
			}
			e, err := engine.New(context.Background(), p, inv)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Placement(context.Background(), &engine.PlacementRequest{
				Dataset: &engine.DatasetRef{ID: "customer-pii-eu"}, Operation: "store", At: "2009-01-01T00:00:00Z",
			})
			if refused := err != nil; refused != (c.floor != "") {
				t.Errorf("decision on 2009-01-01 under floor %q: %v", c.floor, err)
			}
		})
	}
}
