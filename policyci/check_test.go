package policyci

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
)

// check refuses a module not as `opa fmt` writes it, and a negation that an
// absent input makes undefined (a deny rule that would fall silent).
func TestCheckFormatAndOmission(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../testdata/policyci/pass")); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Failed != 0 {
		t.Fatalf("the pass fixture fails: %+v", rep.Results)
	}
	f := filepath.Join(dir, "sovereign", "rules", "residency.rego")
	src, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(src), "allowed_here(d, _) if not d.residency", "allowed_here(d, _)   if not d.residency", 1)
	bad += "\nnever_fires if not is_array(input.sites)\n"
	if err := os.WriteFile(f, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if rep, err = Check(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Results {
		if r.Status != engine.StatusPass {
			got = append(got, r.Status+" "+r.Suite+" "+filepath.Base(r.File)+":"+itoa(r.Line))
		}
	}
	want := []string{"fail format residency.rego:6", "fail omission residency.rego:" + itoa(strings.Count(bad, "\n"))}
	if !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
