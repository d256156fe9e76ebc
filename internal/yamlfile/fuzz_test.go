package yamlfile

import (
	"strings"
	"testing"
)

// Parse meets bytes from files whoever can write a configuration or
// inventory directory controls: it ends in a document or an *Error naming
// the file, within the limits, never a panic; a document's shape checks
// and decoding into a loose value are bounded too.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"sites:\n  - id: fra-1\n    country: DE\n",
		"tokens:\n  - principal: acme-ci\n    roles: [tenant]\n    sha256: " + strings.Repeat("ab", 32) + "\n",
		"a: &x [*x, *x]\nb: *x\n",
		"---\na: 1\n---\nb: 2\n",
		"{a: [1, {b: [2, {c: 3}]}]}",
		"a: !!binary aGVsbG8=\n",
		"? [a, b]\n: c\n",
		strings.Repeat("[", 100),
	} {
		f.Add([]byte(s))
	}
	limits := Limits{MaxBytes: 64 << 10, MaxDepth: 16, MaxNodes: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("fuzz.yaml", data, limits)
		if err != nil {
			if doc != nil {
				t.Fatalf("a document and an error: %v", err)
			}
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		var loose map[string]any
		_ = doc.Decode(&loose)
		_ = doc.At("a.b[0]", "%s", "probe")
	})
}
