package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sovereign-engine/sovereign/internal/yamlfile"
)

// ScenarioFile is one file of golden scenarios (testdata/scenarios): defaults
// for its scenarios, then the scenarios. A scenario is a request, the
// inventory it is decided on, and what the decision must say.
type ScenarioFile struct {
	// Path is where the file was read from.
	Path string `json:"-"`
	// Inventory names a directory under the inventory root (ScenarioOptions).
	Inventory string     `json:"inventory"`
	Sites     []Site     `json:"sites"`    // added to the inventory, validated with it
	Datasets  []Dataset  `json:"datasets"` // added to the inventory, validated with it
	At        string     `json:"at"`
	Scenarios []Scenario `json:"scenarios"`
}

// Scenario is one golden case. Fields left empty take the file's.
type Scenario struct {
	Name       string             `json:"name"`
	Inventory  string             `json:"inventory"`
	Sites      []Site             `json:"sites"`
	Datasets   []Dataset          `json:"datasets"`
	Exemptions []map[string]any   `json:"exemptions"` // given to the policy as they are, invalid ones included
	At         string             `json:"at"`
	Placement  *ScenarioPlacement `json:"placement"`
	Transfer   *ScenarioTransfer  `json:"transfer"`
	Expect     ScenarioExpect     `json:"expect"`
	// Line is the scenario's line in its file (0 if unknown).
	Line int `json:"-"`
}

// ScenarioPlacement is a placement request of a scenario, as the API takes it
// (docs/policy-contract.md): a dataset (an id or an inline object) or a
// workload, an operation (default store) and candidates (default every site).
// The dataset is given as a list of one, as scenario files always have.
type ScenarioPlacement struct {
	Datasets   []DatasetRef `json:"datasets"`
	Workload   *WorkloadRef `json:"workload"`
	Operation  string       `json:"operation"`
	Candidates []string     `json:"candidates"`
}

// UnmarshalJSON decodes a scenario's placement as the API decodes a request
// body (DecodeStrict): a scenario asks only what a client can. The scenario
// file's reader (internal/yamlfile) hands it the YAML value as JSON and places
// a refusal at the field it names.
func (p *ScenarioPlacement) UnmarshalJSON(b []byte) error {
	type plain ScenarioPlacement
	return DecodeStrict(b, (*plain)(p))
}

// ScenarioTransfer is a transfer request of a scenario, as the API takes it;
// the type defaults to replicate.
type ScenarioTransfer struct {
	Dataset   *DatasetRef `json:"dataset"`
	From      string      `json:"from"`
	To        string      `json:"to"`
	Type      string      `json:"type"`
	Frequency string      `json:"frequency"`
	Mechanism *Mechanism  `json:"mechanism"`
}

// UnmarshalJSON decodes a scenario's transfer as the API decodes a request
// body (DecodeStrict).
func (x *ScenarioTransfer) UnmarshalJSON(b []byte) error {
	type plain ScenarioTransfer
	return DecodeStrict(b, (*plain)(x))
}

// ScenarioExpect is what a scenario's decision must say; an absent field is
// not checked, a present one must match exactly (as sets of rule ids).
type ScenarioExpect struct {
	Allowed     *[]string           `json:"allowed"`   // placement: the allowed candidates
	Permitted   *bool               `json:"permitted"` // transfer
	Violations  *[]string           `json:"violations"`
	At          map[string][]string `json:"at"` // placement: rule ids refusing each named site
	Obligations *[]string           `json:"obligations"`
	Warnings    *[]string           `json:"warnings"`
	Exemptions  *[]string           `json:"exemptions"`
	// Refused: the request is one the server refuses (422) before any
	// policy is asked, with a problem at each of these request paths
	// (mechanism.kind), as a client reads them in the error's details.
	Refused *[]string `json:"refused"`
}

// expectsNothing reports whether no field of e is given.
func (e *ScenarioExpect) expectsNothing() bool {
	return e.Allowed == nil && e.Permitted == nil && e.Violations == nil && e.At == nil &&
		e.Obligations == nil && e.Warnings == nil && e.Exemptions == nil && e.Refused == nil
}

// DefaultScenarioTime is the decision time of a scenario that names none.
const DefaultScenarioTime = "2026-11-27T10:00:00Z"

// LoadScenarios reads every *.yaml and *.yml file directly in dir, in name
// order, with ReadScenarioFile.
func LoadScenarios(dir string) ([]*ScenarioFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	var files []*ScenarioFile
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		sf, err := ReadScenarioFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files = append(files, sf)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("scenarios: no *.yaml files in %s", dir)
	}
	return files, nil
}

// ReadScenarioFile reads and checks one scenario file. Decoding is strict, as
// an inventory's is (YAML 1.2; unknown fields, duplicate keys, and numbers or
// booleans where a string is expected are errors), and each placement or
// transfer is decoded as the API decodes a request body. A scenario without
// a name, a name used twice, a scenario with neither or both of placement and
// transfer, or one that expects nothing is an error too. Every error reads
// file:line[:column]: field: message (internal/yamlfile, as every file a
// person writes).
func ReadScenarioFile(path string) (*ScenarioFile, error) {
	sf, doc, err := decodeScenarioFile(path)
	if err != nil {
		return nil, err
	}
	sf.Path = path
	if len(sf.Scenarios) == 0 {
		return nil, doc.At("scenarios", "none")
	}
	seen := map[string]bool{}
	var problems []string
	for i := range sf.Scenarios {
		sc := &sf.Scenarios[i]
		where := fmt.Sprintf("%s:%d: scenarios[%d]", path, sc.Line, i)
		switch {
		case sc.Name == "":
			problems = append(problems, where+".name: is required")
		case seen[sc.Name]:
			problems = append(problems, fmt.Sprintf("%s.name: %q is used twice", where, sc.Name))
		}
		seen[sc.Name] = true
		for _, p := range scenarioProblems(sc) {
			problems = append(problems, where+p)
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return sf, nil
}

// scenarioProblems checks that a scenario asks one question and expects
// something of its answer; each problem starts with the path below the
// scenario.
func scenarioProblems(sc *Scenario) []string {
	var problems []string
	if (sc.Placement == nil) == (sc.Transfer == nil) {
		problems = append(problems, ": give exactly one of placement and transfer")
	}
	e := &sc.Expect
	if e.expectsNothing() {
		problems = append(problems, ".expect: expects nothing")
	}
	if sc.Transfer != nil && (e.Allowed != nil || e.At != nil) {
		problems = append(problems, ".expect: allowed and at are for placements; a transfer expects permitted")
	}
	if sc.Placement != nil && e.Permitted != nil {
		problems = append(problems, ".expect: permitted is for transfers; a placement expects allowed")
	}
	if e.Refused != nil && (e.Allowed != nil || e.Permitted != nil || e.Violations != nil || e.At != nil ||
		e.Obligations != nil || e.Warnings != nil || e.Exemptions != nil) {
		problems = append(problems, ".expect: a refused request is not decided: refused stands alone")
	}
	if sc.Placement != nil && len(sc.Placement.Datasets) > 1 {
		problems = append(problems, ".placement.datasets: name one dataset; a request places several together as a workload (placement.workload), as the API takes it")
	}
	return problems
}

// scenarioLimits bounds a scenario file as an inventory file is bounded.
var scenarioLimits = yamlfile.Limits{MaxBytes: 16 << 20, MaxDepth: 32, MaxNodes: 4_000_000}

// decodeScenarioFile reads and decodes a scenario file (an empty one has no
// scenarios), with the line of each scenario.
func decodeScenarioFile(path string) (*ScenarioFile, *yamlfile.Document, error) {
	doc, err := yamlfile.Read(path, scenarioLimits)
	if err != nil {
		return nil, nil, fmt.Errorf("scenarios: %w", err)
	}
	var sf ScenarioFile
	if err := doc.Decode(&sf); err != nil {
		return nil, nil, err
	}
	lines := doc.Positions("scenarios")
	for i := range sf.Scenarios {
		sc := &sf.Scenarios[i]
		if i < len(lines) {
			sc.Line = lines[i].Line
		}
		// Exemptions reach the policy as JSON values, as an inventory's do.
		if err := roundTripJSON(&sc.Exemptions); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: scenarios[%d].exemptions: %w", path, sc.Line, i, err)
		}
	}
	return &sf, doc, nil
}

// roundTripJSON replaces *v by its JSON encoding decoded again: YAML's
// integers and the like become what a JSON document would give.
func roundTripJSON[T any](v *T) error {
	b, err := json.Marshal(*v)
	if err != nil {
		return err
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	*v = out
	return nil
}
