package policies

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
)

// TestScenarios runs the golden scenarios (testdata/scenarios) with the
// engine's scenario runner, the one `sovereign test` uses: inventory
// (validated by the engine), request and decision time in, allowed sites,
// violated rule ids, obligations, warnings and applied exemptions out.
func TestScenarios(t *testing.T) {
	files, err := engine.LoadScenarios(filepath.Join("..", "testdata", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.LoadPolicyFS(Bundle)
	if err != nil {
		t.Fatal(err)
	}
	runner := engine.NewScenarioRunner(p, engine.ScenarioOptions{})
	total := 0
	for _, sf := range files {
		for i := range sf.Scenarios {
			sc := &sf.Scenarios[i]
			total++
			t.Run(filepath.Base(sf.Path)+"/"+sc.Name, func(t *testing.T) {
				r := runner.Run(context.Background(), sf, sc)
				if r.Err != nil {
					t.Fatalf("%s:%d: %v", sf.Path, sc.Line, r.Err)
				}
				for _, f := range r.Failures {
					t.Errorf("%s:%d: %s", sf.Path, sc.Line, f)
				}
			})
		}
	}
	if total < 200 {
		t.Errorf("%d golden scenarios, want at least 200", total)
	}
	t.Logf("%d golden scenarios", total)
}
