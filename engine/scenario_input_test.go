package engine

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sovereign-engine/sovereign/policies"
)

// TestScenarioInputIsTheServers: every golden scenario is decided on exactly
// the input the server builds for the same request. The scenario's request is
// written as the body a client would send, decoded by the server's strict
// decoder (so it is one the server takes, and decodes back to itself), and
// an engine on the scenario's inventory builds its input, as a request
// handler does; the runner's input must be that, byte for byte.
func TestScenarioInputIsTheServers(t *testing.T) {
	ctx := context.Background()
	p, err := LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	files, err := LoadScenarios(filepath.Join("..", "testdata", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewScenarioRunner(p, ScenarioOptions{})
	engines := map[string]*Engine{} // by inventory revision
	n := 0
	for _, sf := range files {
		for i := range sf.Scenarios {
			sc := &sf.Scenarios[i]
			t.Run(filepath.Base(sf.Path)+"/"+sc.Name, func(t *testing.T) {
				inv, err := r.inventory(sf, sc)
				if err != nil {
					t.Fatal(err)
				}
				req, err := scenarioRequest(sf, sc)
				if err != nil {
					t.Fatal(err)
				}
				in, err := scenarioInput(inv, p.floor, sc, req)
				var refusal *scenarioRefusal
				if sc.Expect.Refused != nil {
					// The runner's refusal must be the server's.
					if !errors.As(err, &refusal) {
						t.Fatalf("expects a refusal, runner: %v", err)
					}
				} else if err != nil {
					t.Fatal(err)
				}

				body, err := json.Marshal(req)
				if err != nil {
					t.Fatal(err)
				}
				var decoded any
				switch req.(type) {
				case *PlacementRequest:
					decoded, err = DecodePlacementRequest(body)
				case *TransferRequest:
					decoded, err = DecodeTransferRequest(body)
				}
				if err != nil {
					t.Fatalf("the server refuses the scenario's request %s: %v", body, err)
				}
				if !reflect.DeepEqual(decoded, req) {
					t.Fatalf("the server decodes %s as %+v, not as the scenario's %+v", body, decoded, req)
				}
				e := engines[inv.Revision]
				if e == nil {
					if e, err = New(ctx, p, inv, WithDecisionCache(0)); err != nil {
						t.Fatal(err)
					}
					engines[inv.Revision] = e
				}
				server, err := e.PolicyInput(decoded)
				if refusal != nil {
					var invalid *ValidationError
					if !errors.As(err, &invalid) || !reflect.DeepEqual(invalid.Problems, refusal.problems) {
						t.Fatalf("the server answers %v, the runner refuses with %v", err, refusal.problems)
					}
					n++
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if string(server) != in.String() {
					t.Errorf("inputs differ for %s:\nserver:   %s\nscenario: %s", body, server, in)
				}
				n++
			})
		}
	}
	if n < 100 {
		t.Errorf("%d scenarios compared, want every golden one (at least 100)", n)
	}
}
