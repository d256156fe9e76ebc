package policies

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/sovereign-engine/sovereign/policies/catalog"
)

// TestNoNegationOverAnUndefinedReference: no `not` in the library can be
// undefined, rather than true, when an input is absent (catalog.Negations).
func TestNoNegationOverAnUndefinedReference(t *testing.T) {
	sub, err := fs.Sub(Bundle, "sovereign")
	if err != nil {
		t.Fatal(err)
	}
	problems, err := catalog.Negations(sub)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p.String())
	}
}

// TestNegationOverAnUndefinedReference pins the OPA behaviour the check
// guards against, and proves the check finds it: if OPA changes, this test
// says so.
func TestNegationOverAnUndefinedReference(t *testing.T) {
	const mod = `package t
site := input.site
allowed := {"DE"}
key_in_ref if not allowed[site.country]
call_arg if not is_array(site.personnel_countries)
bare if not site.personnel_countries
total if not allowed[object.get(site, "country", "")]
`
	for rule, want := range map[string]bool{"key_in_ref": false, "call_arg": false, "bare": true, "total": true} {
		rs, err := rego.New(rego.Query("data.t."+rule), rego.Module("t.rego", mod), rego.Input(map[string]any{"site": map[string]any{"id": "x"}})).Eval(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := len(rs) == 1; got != want {
			t.Errorf("%s defined = %v, want %v (OPA changed how a negation over an undefined reference evaluates)", rule, got, want)
		}
	}
	problems, err := catalog.Negations(fstest.MapFS{"t.rego": {Data: []byte(mod)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 2 || problems[0].Line != 4 || problems[1].Line != 5 {
		t.Errorf("Negations found %v, want lines 4 and 5", problems)
	}
}
