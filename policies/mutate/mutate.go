// Package mutate is mutation testing for a Rego policy bundle: it makes a
// mutant of the bundle for each change to a rule that refuses, imposes a duty
// or grants a ground (the rule deleted, one of its conditions dropped, or one
// negated) and runs the bundle's Rego tests against each. The policy fails
// closed only if its tests notice each mutant: a mutant no test kills is a
// rule, or a condition, whose loss would go unseen. `sovereign test --mutate`
// and the built-in library's TestMutants use it (docs/policy-ci.md).
package mutate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// Mutant is the bundle with one change to one rule.
type Mutant struct {
	File string // module path in the bundle, without a leading "/"
	Line int    // the rule's line
	Rule string // the rule id (METADATA custom.id) or head name
	Op   string // delete, drop, negate
	Expr string // the condition dropped or negated
	mod  *ast.Module
}

// String names the mutant as reports and the equivalents file do:
// "file:line rule op `expr`".
func (m Mutant) String() string {
	s := fmt.Sprintf("%s:%d %s %s", m.File, m.Line, m.Rule, m.Op)
	if m.Expr != "" {
		s += " `" + m.Expr + "`"
	}
	return s
}

// mutableHeads are the rules that decide: a deny or duty (violations,
// obligations and their placement_/transfer_ forms) or an affirmative ground.
var mutableHeads = regexp.MustCompile(`^(placement_|transfer_)?(violations|obligations)$|^grounds?$|^grounded$|^carved_out$|^adequate$`)

// List returns every mutant of the bundle's policy modules (tests excluded)
// under a directory named rules or lib, in the bundle's module order and line
// order within a module. The entry points beside them (which collect the
// rules' results) are not mutated.
func List(b *bundle.Bundle) []Mutant {
	var out []Mutant
	for _, mf := range b.Modules {
		dirs := strings.Split(path.Dir(strings.TrimPrefix(mf.Path, "/")), "/")
		if strings.HasSuffix(mf.Path, "_test.rego") || mf.Parsed == nil ||
			!slices.Contains(dirs, "rules") && !slices.Contains(dirs, "lib") {
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
				out = append(out, Mutant{File: file, Line: r.Location.Row, Rule: id, Op: op, Expr: expr, mod: m})
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

// Killed runs the Rego tests on the bundle with m in place of its module:
// first those of m's own directory, then all, stopping at the first failure.
// It says whether a test failed, and "" or why the mutant is not valid (it
// does not compile). timeout bounds each run of the tests.
func Killed(ctx context.Context, b *bundle.Bundle, m Mutant, timeout time.Duration) (bool, string) {
	mb := *b
	mb.Modules = slices.Clone(b.Modules)
	for i, mf := range mb.Modules {
		if strings.TrimPrefix(mf.Path, "/") == m.File {
			src, err := format.Ast(m.mod)
			if err != nil {
				return false, err.Error()
			}
			mf.Parsed, mf.Raw = m.mod, src
			mb.Modules[i] = mf
		}
	}
	own := "^data\\." + regexp.QuoteMeta(strings.ReplaceAll(strings.TrimSuffix(path.Dir(m.File), "/"), "/", ".")) + "(_test)?\\."
	for _, filter := range []string{own, ""} {
		failed, invalid := runFiltered(ctx, &mb, filter, timeout)
		if invalid != "" || failed {
			return failed, invalid
		}
	}
	return false, ""
}

func runFiltered(ctx context.Context, b *bundle.Bundle, filter string, timeout time.Duration) (failed bool, invalid string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn := storage.NewTransactionOrDie(ctx, store, storage.WriteParams)
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().SetStore(store).SetBundles(map[string]*bundle.Bundle{"bundle": b}).
		SetTimeout(timeout).Filter(filter).RunTests(ctx, txn)
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

// Equivalents are mutants no test can kill, each with the reason a reviewer
// can check: the mutated policy decides exactly as the policy does.
type Equivalents map[string]string

// ReadEquivalents reads a JSON object mapping a mutant, as Mutant.String
// names it, to the reason it is equivalent. Every reason must be given.
func ReadEquivalents(file string) (Equivalents, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var eq Equivalents
	if err := json.Unmarshal(raw, &eq); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of mutant to reason: %w", file, err)
	}
	for m, why := range eq {
		if strings.TrimSpace(why) == "" {
			return nil, fmt.Errorf("%s: mutant %q: the reason is empty", file, m)
		}
	}
	return eq, nil
}

// Outcome statuses.
const (
	StatusKilled     = "killed"
	StatusSurvived   = "survived"
	StatusEquivalent = "equivalent"
	StatusInvalid    = "invalid"
)

// Outcome is what the tests made of one mutant.
type Outcome struct {
	Mutant Mutant
	Status string // killed, survived, equivalent, invalid
	Reason string // equivalent: why; invalid: the compile error
}

// Score sums a run. Equivalent mutants count as killed; invalid ones (they
// do not compile) are not counted.
type Score struct {
	Tried      int     `json:"tried"`
	Killed     int     `json:"killed"`
	Equivalent int     `json:"equivalent"`
	Survived   int     `json:"survived"`
	Invalid    int     `json:"invalid"`
	Percent    float64 `json:"percent"`
}

// Valid is the number of mutants that compiled.
func (s Score) Valid() int { return s.Tried - s.Invalid }

// Run tries each mutant of ms against the bundle's Rego tests, calling each
// (if not nil) with every outcome as it comes.
func Run(ctx context.Context, b *bundle.Bundle, ms []Mutant, eq Equivalents, timeout time.Duration, each func(Outcome)) (Score, []Outcome, error) {
	var s Score
	out := make([]Outcome, 0, len(ms))
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return s, out, err
		}
		o := Outcome{Mutant: m}
		dead, why := Killed(ctx, b, m, timeout)
		if err := ctx.Err(); err != nil {
			return s, out, err
		}
		switch reason, known := eq[m.String()]; {
		case why != "":
			o.Status, o.Reason = StatusInvalid, why
			s.Invalid++
		case dead:
			o.Status = StatusKilled
			s.Killed++
		case known:
			o.Status, o.Reason = StatusEquivalent, reason
			s.Equivalent++
		default:
			o.Status = StatusSurvived
			s.Survived++
		}
		s.Tried++
		out = append(out, o)
		if each != nil {
			each(o)
		}
	}
	s.Percent = 100
	if v := s.Valid(); v > 0 {
		s.Percent = 100 * float64(s.Killed+s.Equivalent) / float64(v)
	}
	return s, out, nil
}

// Sample is n mutants of ms spread evenly over it (all of ms when n is 0 or
// not smaller).
func Sample(ms []Mutant, n int) []Mutant {
	if n <= 0 || n >= len(ms) {
		return ms
	}
	out := make([]Mutant, 0, n)
	for i := range n {
		out = append(out, ms[i*len(ms)/n])
	}
	return out
}
