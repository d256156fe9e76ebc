package policies

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/policies/mutate"
)

// equivalentsFile lists the mutants no test can kill, each with the reason a
// reviewer can check (policies/mutate.ReadEquivalents); `sovereign test
// --mutate` reads the same file.
const equivalentsFile = "equivalent-mutants.json"

// TestMutants checks that the Rego tests kill the library's mutants
// (policies/mutate). Under `go test` it tries a sample (SOVEREIGN_MUTANTS,
// default 12, spread evenly over the library); `make mutate`
// (SOVEREIGN_MUTANTS=all) tries every one and prints the score and the
// survivors. A survivor fails the test unless equivalentsFile lists it.
func TestMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("mutation testing compiles the library once per mutant")
	}
	b := readBundle(t)
	eq, err := mutate.ReadEquivalents(equivalentsFile)
	if err != nil {
		t.Fatal(err)
	}
	all := mutate.List(b)
	names := map[string]bool{}
	for _, m := range all {
		names[m.String()] = true
	}
	for m := range eq {
		if !names[m] {
			t.Errorf("%s lists %q, which is no mutant of the library (a rule moved or changed: check it again)", equivalentsFile, m)
		}
	}
	sample := all
	switch n := os.Getenv("SOVEREIGN_MUTANTS"); n {
	case "all":
	default:
		k := 12
		if n != "" {
			if k, err = strconv.Atoi(n); err != nil || k < 1 {
				t.Fatalf("SOVEREIGN_MUTANTS=%q: want a positive number or all", n)
			}
		}
		sample = mutate.Sample(all, k)
	}
	// SOVEREIGN_MUTANT_MATCH=text tries only the mutants whose description
	// (file:line rule op `expr`, as printed) contains text: to check the test
	// written for a survivor.
	if match := os.Getenv("SOVEREIGN_MUTANT_MATCH"); match != "" {
		sample = nil
		for _, m := range all {
			if strings.Contains(m.String(), match) {
				sample = append(sample, m)
			}
		}
		if len(sample) == 0 {
			t.Fatalf("SOVEREIGN_MUTANT_MATCH=%q: no mutant matches", match)
		}
	}
	verbose := testing.Verbose()
	start := time.Now()
	score, outcomes, err := mutate.Run(context.Background(), b, sample, eq, 2*time.Minute, func(o mutate.Outcome) {
		switch o.Status {
		case mutate.StatusInvalid:
			t.Logf("not a valid mutant (%s): %.200s", o.Mutant, o.Reason)
		case mutate.StatusKilled:
			if verbose {
				t.Logf("killed: %s", o.Mutant)
			}
		case mutate.StatusEquivalent:
			t.Logf("equivalent: %s (%s)", o.Mutant, o.Reason)
		default:
			t.Logf("survived: %s", o.Mutant)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mutation score %.1f%%: %d of %d valid mutants killed (%d documented equivalent; %d tried of %d, %d not valid) in %s",
		score.Percent, score.Killed+score.Equivalent, score.Valid(), score.Equivalent, score.Tried, len(all), score.Invalid,
		time.Since(start).Round(time.Second))
	for _, o := range outcomes {
		if o.Status == mutate.StatusSurvived {
			t.Errorf("mutant survived: %s", o.Mutant)
		}
	}
}
