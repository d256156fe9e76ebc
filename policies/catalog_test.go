package policies

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/sovereign-engine/sovereign/policies/catalog"
)

// TestCatalog checks every rule's METADATA (id, title, effect, citation, source,
// example), that every rule id the policy uses is documented, and that
// docs/policies.md is what `make docs` generates.
func TestCatalog(t *testing.T) {
	sub, err := fs.Sub(Bundle, "sovereign")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, literals, err := catalog.Load(sub)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range catalog.Check(pkgs, literals) {
		t.Error(p.String())
	}
	n := 0
	for _, p := range pkgs {
		n += len(p.Rules)
	}
	if n < 40 {
		t.Errorf("catalog has %d rules, want at least 40", n)
	}
	want := append(catalog.Markdown(pkgs), '\n')
	got, err := os.ReadFile(filepath.Join("..", "docs", "policies.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("docs/policies.md is stale: run `make docs`")
	}
}
