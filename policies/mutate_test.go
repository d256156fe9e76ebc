package policies

import (
	"context"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// A mutant is the library with one change to one rule that refuses, imposes a
// duty or grants a ground: the rule deleted, one of its conditions dropped, or
// one negated. The library fails closed only if its tests notice each: a
// mutant no test kills is a rule, or a condition, whose loss would go unseen.
type mutant struct {
	file string // module path in the bundle
	line int
	rule string // the rule id (METADATA custom.id) or head name
	op   string // delete, drop, negate
	expr string // the condition dropped or negated
	mod  *ast.Module
}

func (m mutant) String() string {
	s := fmt.Sprintf("%s:%d %s %s", m.file, m.line, m.rule, m.op)
	if m.expr != "" {
		s += " `" + m.expr + "`"
	}
	return s
}

// mutableHeads are the rules that decide: a deny or duty (violations,
// obligations and their placement_/transfer_ forms) or an affirmative ground.
var mutableHeads = regexp.MustCompile(`^(placement_|transfer_)?(violations|obligations)$|^grounds?$|^grounded$|^carved_out$|^adequate$`)

// mutants lists every mutant of the bundle's policy modules under rules/ and
// lib/, in file and line order.
func mutants(t testing.TB, b *bundle.Bundle) []mutant {
	t.Helper()
	var out []mutant
	for _, mf := range b.Modules {
		if strings.HasSuffix(mf.Path, "_test.rego") || !strings.Contains(mf.Path, "/rules/") && !strings.Contains(mf.Path, "/lib/") {
			continue
		}
		for ri, r := range mf.Parsed.Rules {
			name := r.Head.Ref().String()
			if !mutableHeads.MatchString(name) {
				continue
			}
			id := name
			for _, a := range r.Annotations {
				if v, ok := a.Custom["id"].(string); ok {
					id = v
				}
			}
			file := strings.TrimPrefix(mf.Path, "/")
			add := func(op string, expr string, mutate func(*ast.Rule) bool) {
				m := mf.Parsed.Copy()
				if !mutate(m.Rules[ri]) {
					return
				}
				out = append(out, mutant{file: file, line: r.Location.Row, rule: id, op: op, expr: expr, mod: m})
			}
			// Deleted: the rule never holds (false ends its body, its else is
			// gone), and still compiles where it is the only definition.
			add("delete", "", func(r *ast.Rule) bool {
				r.Body = append(r.Body, ast.NewExpr(ast.BooleanTerm(false)))
				r.Else = nil
				return true
			})
			for ei, e := range r.Body {
				if !mutableExpr(e) {
					continue
				}
				add("drop", e.String(), func(r *ast.Rule) bool {
					if len(r.Body) < 2 {
						return false
					}
					r.Body = slices.Delete(r.Body, ei, ei+1)
					return true
				})
				add("negate", e.String(), func(r *ast.Rule) bool {
					r.Body[ei].Negated = !r.Body[ei].Negated
					return true
				})
			}
		}
	}
	return out
}

// mutableExpr: conditions, not declarations or assignments (whose loss
// leaves variables unbound: the mutant would not compile).
func mutableExpr(e *ast.Expr) bool {
	if t, ok := e.Terms.(*ast.Term); ok && ast.BooleanTerm(true).Equal(t) {
		return false // the body of a rule without conditions: nothing to drop or negate
	}
	if e.With != nil || e.IsAssignment() || e.IsEquality() && !e.Negated {
		return false
	}
	switch e.Terms.(type) {
	case *ast.SomeDecl, *ast.Every:
		return false
	}
	return true
}

// killed runs the Rego tests on the bundle with m in place of its module:
// first those of m's own directory, then all, stopping at the first failure.
// It says whether a test failed, and "" or why the mutant is not valid (it
// does not compile).
func killed(ctx context.Context, b *bundle.Bundle, m mutant) (bool, string) {
	mb := *b
	mb.Modules = slices.Clone(b.Modules)
	for i, mf := range mb.Modules {
		if strings.TrimPrefix(mf.Path, "/") == m.file {
			src, err := format.Ast(m.mod)
			if err != nil {
				return false, err.Error()
			}
			mf.Parsed, mf.Raw = m.mod, src
			mb.Modules[i] = mf
		}
	}
	own := "^data\\." + regexp.QuoteMeta(strings.ReplaceAll(strings.TrimSuffix(path.Dir(m.file), "/"), "/", ".")) + "(_test)?\\."
	for _, filter := range []string{own, ""} {
		failed, invalid := runFiltered(ctx, &mb, filter)
		if invalid != "" || failed {
			return failed, invalid
		}
	}
	return false, ""
}

func runFiltered(ctx context.Context, b *bundle.Bundle, filter string) (failed bool, invalid string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn := storage.NewTransactionOrDie(ctx, store, storage.WriteParams)
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().SetStore(store).SetBundles(map[string]*bundle.Bundle{"builtin": b}).
		SetTimeout(2*time.Minute).Filter(filter).RunTests(ctx, txn)
	if err != nil {
		return false, err.Error()
	}
	for r := range ch {
		if !failed && (r.Fail || r.Error != nil && ctx.Err() == nil) {
			failed = true
			cancel() // one failing test kills the mutant
		}
	}
	return failed, ""
}

// TestMutants checks that the Rego tests kill the library's mutants. Under
// `go test` it tries a sample (SOVEREIGN_MUTANTS, default 12, spread evenly
// over the library); `make mutate` (SOVEREIGN_MUTANTS=all) tries every one and
// prints the score and the survivors. A survivor fails the test unless it is
// listed in equivalentMutants, each with why no test can kill it.
func TestMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("mutation testing compiles the library once per mutant")
	}
	b := readBundle(t)
	all := mutants(t, b)
	sample := all
	switch n := os.Getenv("SOVEREIGN_MUTANTS"); n {
	case "all":
	default:
		k := 12
		if n != "" {
			var err error
			if k, err = strconv.Atoi(n); err != nil || k < 1 {
				t.Fatalf("SOVEREIGN_MUTANTS=%q: want a positive number or all", n)
			}
		}
		if k < len(all) {
			sample = make([]mutant, 0, k)
			for i := range k {
				sample = append(sample, all[i*len(all)/k])
			}
		}
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
	ctx := context.Background()
	start := time.Now()
	var kills, invalid int
	var survivors []string
	for _, m := range sample {
		dead, why := killed(ctx, b, m)
		switch {
		case why != "":
			invalid++
			t.Logf("not a valid mutant (%s): %.200s", m, why)
		case dead:
			kills++
			if verbose {
				t.Logf("killed: %s", m)
			}
		default:
			if reason, ok := equivalentMutants[m.String()]; ok {
				kills++ // counted as killed: documented as equivalent
				t.Logf("equivalent: %s (%s)", m, reason)
				continue
			}
			survivors = append(survivors, m.String())
			t.Logf("survived: %s", m)
		}
	}
	valid := len(sample) - invalid
	score := 100.0
	if valid > 0 {
		score = 100 * float64(kills) / float64(valid)
	}
	t.Logf("mutation score %.1f%%: %d of %d valid mutants killed (%d tried of %d, %d not valid) in %s",
		score, kills, valid, len(sample), len(all), invalid, time.Since(start).Round(time.Second))
	for _, s := range survivors {
		t.Errorf("mutant survived: %s", s)
	}
}

// equivalentMutants are mutants no test can kill, each with the reason: the
// mutated library decides exactly as the library does.
var equivalentMutants = map[string]string{
	"sovereign/rules/sovereignty/sovereignty.rego:156 grounds drop `known_personnel(site)`": "" +
		"the rule's last line binds people := listing(site.personnel_countries), undefined when the site does not state " +
		"its personnel, so the ground is not granted without known_personnel either (checked: " +
		"test_no_ground_without_a_stated_chain_or_personnel passes under this mutant)",
	"sovereign/rules/chfadp/chfadp.rego:105 transfer_violations drop `internal.member_2(status, {\"none\", \"unknown\", \"unknown_ground\"})`": "" +
		"for the other statuses tx.findings(r) is empty: ok makes the mechanism a ground (lib/transfers.rego ground(), " +
		"tool_ground), and for not_occasional the transfers library grounds the transfer on the derogation, whose " +
		"frequency chfadp.art6.derogation_not_occasional judges (checked: under this mutant a repeated consent transfer " +
		"of pii-ch on 2020-06-01 is refused by that rule alone, as without it)",
	"sovereign/rules/china/china.rego:226 obligations drop `v.filing`": "" +
		"in every period whose filing is false (csl to cac2022-cert) cn-standard-contract is not an accepted mechanism " +
		"(cn.pipl.standard_contract refuses it), so grounded[[i, id]] already fails",
	"sovereign/rules/certification/certification.rego:19 dataset.required_certification drop `gt(count(required), 0)`": "" +
		"an empty list has no scheme for `some scheme in required` to range over: the condition only states the scope",
	"sovereign/rules/saudi/saudi.rego:112 sa.pdpl.risk_assessment drop `equal(v.status, \"modelled\")`": "" +
		"status is ok only under a period's transfer tools, and the period before the PDPL (not_in_force) lists none: " +
		"status stays at its default, so the obligation cannot arise outside the modelled period " +
		"(test_no_risk_assessment_before_the_pdpl states the law for that date)",
}
