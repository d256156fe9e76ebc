package engine

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func validSite() Site {
	return Site{
		ID:       "fra-1",
		Kind:     "cloud-region",
		Country:  "DE",
		Operator: Operator{Name: "Example Cloud GmbH", Country: "DE"},
	}
}

func TestValidateStruct(t *testing.T) {
	derogation := func(d string) *TransferRequest {
		return &TransferRequest{Dataset: &DatasetRef{ID: "customer-pii-eu"}, From: "fra-1", To: "bom-1", Type: "replicate",
			Mechanism: &Mechanism{Kind: "derogation", Derogation: d}}
	}
	tests := []struct {
		name   string
		value  any
		prefix string
		want   []FieldError
	}{
		{
			name:  "placement: valid",
			value: &PlacementRequest{Dataset: &DatasetRef{ID: "customer-pii-eu"}, Operation: "store", Candidates: []string{"fra-1"}, At: "2026-11-27T10:00:00.123+01:00"},
		},
		{
			name:  "placement: candidates absent default to every site",
			value: &PlacementRequest{Dataset: &DatasetRef{ID: "customer-pii-eu"}, Operation: "process"},
		},
		{
			name:  "placement: empty candidates",
			value: &PlacementRequest{Operation: "store", Candidates: []string{}},
			want:  []FieldError{{"candidates", "must have at least 1 entry"}},
		},
		{
			name:  "placement: empty candidate",
			value: &PlacementRequest{Operation: "store", Candidates: []string{"fra-1", ""}},
			want:  []FieldError{{"candidates[1]", "is required"}},
		},
		{
			name:  "placement: operation",
			value: &PlacementRequest{Operation: "delete"},
			want:  []FieldError{{"operation", `must be one of: store process, got "delete"`}},
		},
		{
			name:  "placement: operation missing",
			value: &PlacementRequest{},
			want:  []FieldError{{"operation", "is required"}},
		},
		{
			name:  "placement: at is not RFC 3339",
			value: &PlacementRequest{Operation: "store", At: "2026-11-27 10:00"},
			want:  []FieldError{{"at", `must be an RFC 3339 time such as 2026-11-27T10:00:00Z, got "2026-11-27 10:00"`}},
		},
		{
			name:  "placement: at without zone",
			value: &PlacementRequest{Operation: "store", At: "2026-11-27T10:00:00"},
			want:  []FieldError{{"at", `must be an RFC 3339 time such as 2026-11-27T10:00:00Z, got "2026-11-27T10:00:00"`}},
		},
		{
			name:  "transfer: everything missing, every problem listed",
			value: &TransferRequest{},
			want: []FieldError{
				{"dataset", "is required"},
				{"from", "is required"},
				{"to", "is required"},
				{"type", "is required"},
			},
		},
		{
			name: "transfer: type, frequency, mechanism kind and module",
			value: &TransferRequest{Dataset: &DatasetRef{ID: "d"}, From: "a", To: "b", Type: "copy", Frequency: "daily",
				Mechanism: &Mechanism{Kind: "contract", Module: "c2p"}},
			want: []FieldError{
				{"type", `must be one of: replicate migrate backup remote-access, got "copy"`},
				{"frequency", `must be one of: one-off repeated continuous, got "daily"`},
				{"mechanism.kind", `must be one of: scc bcr derogation ad-hoc-clauses code-of-conduct certification idta uk-addendum cn-standard-contract cn-security-assessment cn-certification tr-standard-contract, got "contract"`},
				{"mechanism.module", `must be one of: C2C C2P P2P P2C, got "c2p"`},
			},
		},
		{
			name:  "transfer: mechanism without kind",
			value: &TransferRequest{Dataset: &DatasetRef{ID: "d"}, From: "a", To: "b", Type: "backup", Mechanism: &Mechanism{Reference: "x"}},
			want:  []FieldError{{"mechanism.kind", "is required"}},
		},
		{
			name:  "transfer: derogation kind requires the derogation",
			value: derogation(""),
			want:  []FieldError{{"mechanism.derogation", `is required when kind is "derogation": name the GDPR Art. 49 ground (consent, contract, public-interest, ...)`}},
		},
		{
			name:  "transfer: derogation named",
			value: derogation("consent"),
		},
		{
			name:  "transfer: derogation too long",
			value: derogation(strings.Repeat("x", 33)),
			want:  []FieldError{{"mechanism.derogation", `must be at most 32 characters long, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`}},
		},
		{
			name:  "mechanism on its own",
			value: &Mechanism{Kind: "derogation"},
			want:  []FieldError{{"derogation", `is required when kind is "derogation": name the GDPR Art. 49 ground (consent, contract, public-interest, ...)`}},
		},
		{
			// An inline dataset is validated where the reference is resolved,
			// under its own path; ValidateStruct on the request does not
			// report it a second time.
			name:  "transfer: inline dataset not descended into",
			value: &TransferRequest{Dataset: &DatasetRef{Inline: &Dataset{}}, From: "a", To: "b", Type: "migrate"},
		},
		{
			name:   "dataset under a prefix",
			value:  &Dataset{ID: "d", Classification: "internal", SubjectJurisdictions: []string{"de", "EU"}, SubjectCount: -5, Encryption: &Encryption{KeyHolder: "hsm"}},
			prefix: "dataset",
			want: []FieldError{
				{"dataset.subject_jurisdictions[0]", `must be an ISO 3166-1 alpha-2 country code in upper case or a jurisdiction group name such as EU or EEA, got "de" (did you mean "DE"?)`},
				{"dataset.subject_count", "must not be negative, got -5"},
				{"dataset.encryption.key_holder", `must be one of: customer provider in-country-hsm, got "hsm"`},
			},
		},
		{
			name: "site under an index prefix",
			value: func() *Site {
				s := validSite()
				s.ID = "Fra_1"
				s.Operator.Country = "de"
				s.PersonnelCountries = []string{"DE", "UK"}
				s.Subdivision = "DE-XX"
				s.Certifications = []Certification{{Scheme: "C5", ValidUntil: "2027-06-30"}, {ValidUntil: "30.06.2027"}}
				s.Labels = map[string]string{"tier": strings.Repeat("a", 70)}
				return &s
			}(),
			prefix: "sites[3]",
			want: []FieldError{
				{"sites[3].id", `must be a DNS label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit, got "Fra_1"`},
				{"sites[3].subdivision", `must be an ISO 3166-2 subdivision code such as DE-HE, got "DE-XX"`},
				{"sites[3].operator.country", `must be an ISO 3166-1 alpha-2 country code in upper case, got "de" (did you mean "DE"?)`},
				{"sites[3].personnel_countries[1]", `must be an ISO 3166-1 alpha-2 country code in upper case, got "UK" (the United Kingdom is "GB")`},
				{"sites[3].certifications[1].scheme", "is required"},
				{"sites[3].certifications[1].valid_until", `must be a date in the form YYYY-MM-DD, got "30.06.2027"`},
				{"sites[3].labels[tier]", `must be at most 63 characters long, got "` + strings.Repeat("a", 64) + `"… (70 characters)`},
			},
		},
		{
			name:   "site without operator",
			value:  &Site{ID: "fra-1", Kind: "edge", Country: "DE"},
			prefix: "sites[0]",
			want:   []FieldError{{"sites[0].operator", "is required"}},
		},
		{
			name:   "workload without datasets",
			value:  &Workload{ID: "w", Datasets: []string{}},
			prefix: "workload",
			want:   []FieldError{{"workload.datasets", "must have at least 1 entry"}},
		},
		{
			name:   "nil",
			value:  (*Site)(nil),
			prefix: "dataset",
			want:   []FieldError{{"dataset", "is required"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ValidateStruct(tt.value, tt.prefix)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ValidateStruct:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestJurisdiction(t *testing.T) {
	tests := []struct {
		value string
		ok    bool
	}{
		{"DE", true},
		{"GB", true},
		{"EU", true},   // reserved by ISO 3166 for the European Union
		{"EEA", true},  // a group the policy defines
		{"EFTA", true}, // idem
		{"EU-27", true},
		{"ASEAN_PLUS_3", true},
		{"de", false},
		{"Eu", false},
		{"eea", false},
		{"UK", false}, // not an ISO code: GB
		{"XX", false}, // two letters are a country code, and this is none
		{"E", false},
		{"", false},
		{"1EU", false},
		{"EEA ", false},
		{"A" + strings.Repeat("B", 31), true},
		{"A" + strings.Repeat("B", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			d := Dataset{ID: "d", Classification: "public", Residency: []string{tt.value}}
			problems := ValidateStruct(&d, "")
			if got := len(problems) == 0; got != tt.ok {
				t.Errorf("residency [%q]: valid = %v, want %v (%v)", tt.value, got, tt.ok, problems)
			}
		})
	}
}

func TestDNSLabel(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"fra-1", true},
		{"1", true},
		{"us-east-1", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"-fra", false},
		{"fra-", false},
		{"FRA-1", false},
		{"fra.1", false},
		{"fra_1", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			s := validSite()
			s.ID = tt.id
			problems := ValidateStruct(&s, "")
			if got := len(problems) == 0; got != tt.ok {
				t.Errorf("id %q: valid = %v, want %v (%v)", tt.id, got, tt.ok, problems)
			}
		})
	}
}

// TestEveryTagHasAMessage keeps the messages in step with the model: a tag
// added to a struct without a message would read "fails the x check".
func TestEveryTagHasAMessage(t *testing.T) {
	structural := map[string]bool{"omitempty": true, "omitnil": true, "dive": true, "keys": true, "endkeys": true, "-": true}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for f := range typ.Fields() {
			for _, tag := range strings.Split(f.Tag.Get("validate"), ",") {
				name, _, _ := strings.Cut(tag, "=")
				if name == "" || structural[name] {
					continue
				}
				if _, ok := messages[name]; !ok {
					t.Errorf("%s.%s: tag %q has no message", typ.Name(), f.Name, name)
				}
			}
			walk(f.Type)
		}
	}
	for _, v := range []any{Site{}, Dataset{}, Workload{}, PlacementRequest{}, TransferRequest{}} {
		walk(reflect.TypeOf(v))
	}
	if !seen[reflect.TypeFor[Mechanism]()] || !seen[reflect.TypeFor[Certification]()] {
		t.Fatal("walk missed nested types")
	}
}
