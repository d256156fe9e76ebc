package policyci

import (
	"strings"
	"testing"
)

// A YAML reference document is checked like a JSON one, each problem at its
// line; malformed YAML is refused with its place.
func TestValidateReferenceYAML(t *testing.T) {
	doc := `groups:
  EEA:
    members: [DE, UK]
    versions:
      - {source: "Agreement on the EEA", valid_from: "1994-01-01", valid_until: "1993-12-31"}
`
	problems, err := ValidateReference([]byte(doc), false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"groups.EEA.members[1]": 3, "groups.EEA.versions[0].valid_until": 5}
	for _, p := range problems {
		if l, ok := want[p.Path]; ok {
			if p.Line != l {
				t.Errorf("%s at line %d, want %d (%s)", p.Path, p.Line, l, p.Message)
			}
			delete(want, p.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("problems not found %v in %+v", want, problems)
	}
	for name, bad := range map[string]string{
		"syntax":    "groups: [EEA\n",
		"duplicate": "groups: {}\ngroups: {}\n",
	} {
		if _, err := ValidateReference([]byte(bad), false); err == nil || !strings.Contains(err.Error(), "reference data:") {
			t.Errorf("%s: %v, want an error placed in the reference data", name, err)
		}
	}
}
