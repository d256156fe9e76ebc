package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Decision cache.
//
// A policy evaluation is a pure function of the compiled bundle, the data
// (bundle data and inventory: both fixed per snapshot) and the input - as long
// as the policy calls no non-deterministic built-in (time.now_ns, http.send,
// rand.intn, ...) and reads the decision time only as its date (DateOnly). When
// both are proven from the bundle's source, a snapshot memoises its answers,
// keyed by the input with the time replaced by its UTC date: one request asked
// again the same day is evaluated once. Nothing else is shared: every request
// still gets its own decision id, its own time and its own signed audit
// record. A snapshot's cache dies with it, so a new bundle or inventory never
// sees an old answer; before a swap, the new snapshot re-evaluates the
// requests most recently asked of the old one (warm), so the first requests
// after a swap do not all pay a full evaluation at once.
//
// The proof is conservative: a bundle it cannot admit is evaluated on every
// request, as before (Engine.CacheStats says why).

// DefaultDecisionCacheEntries is the number of distinct answers a snapshot
// keeps by default.
const DefaultDecisionCacheEntries = 4096

// maxCachedResultBytes: an answer whose findings exceed this (a placement over
// thousands of sites) is not kept; the cache's memory stays bounded by about
// entries × this, and in practice by entries × a few KiB.
const maxCachedResultBytes = 256 << 10

// warmEntries is how many of the most recent requests a new snapshot
// evaluates before it is switched in.
const warmEntries = 64

// Option configures an Engine.
type Option func(*Engine)

// WithDecisionCache sets how many distinct answers each snapshot keeps; 0
// or less turns the cache off.
func WithDecisionCache(entries int) Option {
	return func(e *Engine) {
		e.cacheEntries, e.cacheOff = entries, entries <= 0
	}
}

// Configure applies options to an engine that has not been activated yet
// (the zero Engine, activated later with ActivateRecorded).
func (e *Engine) Configure(opts ...Option) {
	for _, o := range opts {
		o(e)
	}
}

// cacheCapacity is the number of entries each snapshot keeps; 0 is off.
func (e *Engine) cacheCapacity() int {
	switch {
	case e.cacheOff:
		return 0
	case e.cacheEntries == 0:
		return DefaultDecisionCacheEntries
	}
	return e.cacheEntries
}

// CacheStats describes the decision cache of the active snapshot.
type CacheStats struct {
	// Enabled is false when the cache is off or the policy cannot be
	// memoised; Reason then says why.
	Enabled bool   `json:"enabled"`
	Reason  string `json:"reason,omitempty"`
	Entries int    `json:"entries"`
	// Capacity is the configured number of entries.
	Capacity int `json:"capacity"`
	// Hits and Misses count evaluations since the engine started, over
	// every snapshot.
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
}

// CacheStats returns the decision cache's state.
func (e *Engine) CacheStats() CacheStats {
	s := e.state.Load()
	st := CacheStats{Capacity: e.cacheCapacity(), Hits: e.hits.Load(), Misses: e.misses.Load()}
	switch {
	case st.Capacity == 0:
		st.Reason = "turned off"
	case s.cache == nil:
		st.Reason = s.policy.memoWhy
	default:
		st.Enabled = true
		st.Entries = s.cache.Len()
	}
	return st
}

// cachedEval is one memoised answer, with what it takes to ask it again of
// another snapshot (warm).
type cachedEval struct {
	res   *evalResult
	kind  string
	input ast.Value
	at    time.Time
}

// memoisable reports whether a policy's answers may be memoised by date, and
// why not otherwise.
func memoisable(modules map[string]*ast.Module) (bool, string) {
	if ok, why := Deterministic(modules); !ok {
		return false, why
	}
	if ok, why := DateOnly(modules); !ok {
		return false, "the policy may read the decision time beyond its date: " + why
	}
	return true, ""
}

// Deterministic reports whether a policy's non-test modules call no
// built-in OPA marks non-deterministic (time.now_ns, http.send, rand.intn,
// uuid.rfc4122, net.lookup_ip_addr, opa.runtime, ...), and names the first
// such call otherwise.
func Deterministic(modules map[string]*ast.Module) (bool, string) {
	paths := policyPaths(modules)
	for _, p := range paths {
		var why string
		ast.WalkRefs(modules[p], func(r ast.Ref) bool {
			if why != "" {
				return true
			}
			if b, ok := ast.BuiltinMap[r.String()]; ok && b.Nondeterministic {
				why = fmt.Sprintf("%s: %s calls %s, which OPA marks non-deterministic", p, r[0].Location, b.Name)
			}
			return false
		})
		if why != "" {
			return false, why
		}
	}
	return true, ""
}

// cacheKey is the input with its time replaced by its UTC date: the key of
// answers a DateOnly policy gives alike. The query kind is part of the input.
func cacheKey(input ast.Value, at time.Time) string {
	obj, ok := input.(ast.Object)
	if !ok {
		return input.String()
	}
	timeKey := ast.InternedTerm("time")
	date := ast.StringTerm(at.UTC().Format(time.DateOnly))
	keyed := ast.NewObject()
	obj.Foreach(func(k, v *ast.Term) {
		if k.Equal(timeKey) {
			v = date
		}
		keyed.Insert(k, v) // the values are shared, not copied: only read
	})
	return keyed.String()
}

// eval answers from the snapshot's cache, or evaluates and remembers.
func (s *snapshot) eval(ctx context.Context, kind string, q rego.PreparedEvalQuery, input ast.Value, at time.Time) (*evalResult, error) {
	if s.cache == nil {
		return evalQuery(ctx, q, input, at)
	}
	key := cacheKey(input, at)
	if c, ok := s.cache.Get(key); ok {
		s.hits.Add(1)
		return c.res, nil
	}
	s.misses.Add(1)
	res, err := evalQuery(ctx, q, input, at)
	if err != nil {
		return nil, err
	}
	if res.size() <= maxCachedResultBytes {
		s.cache.Add(key, &cachedEval{res: res, kind: kind, input: input, at: at})
	}
	return res, nil
}

// size approximates the memory an answer holds.
func (r *evalResult) size() int {
	n := 0
	for _, fs := range [][]finding{r.violations, r.obligations, r.warnings} {
		for _, f := range fs {
			n += 96 + len(f.Rule) + len(f.Message) + len(f.Citation) + len(f.Dataset) + len(f.site)
		}
	}
	for _, x := range r.exemptions {
		n += 128 + len(x.Exemption) + len(x.Rule) + len(x.Site) + len(x.Dataset) + len(x.Category) + len(x.Reason) + len(x.Expires) + len(x.Waived)
	}
	return n
}

// newCache makes the snapshot's cache when the policy allows one.
func (s *snapshot) newCache(entries int, hits, misses *atomic.Uint64) error {
	if entries == 0 || !s.policy.memo {
		return nil
	}
	c, err := lru.New[string, *cachedEval](entries)
	if err != nil {
		return err
	}
	s.cache, s.hits, s.misses = c, hits, misses
	return nil
}

// warm evaluates on s the requests most recently answered by old, newest
// first, so that they are answered from s's cache once it is switched in.
// An input the new snapshot cannot evaluate (a dataset the new inventory
// dropped is still inside the old input; a policy error) is skipped: the
// request is evaluated, and fails, when it is asked again.
func (s *snapshot) warm(ctx context.Context, old *snapshot) {
	if s.cache == nil || old == nil || old.cache == nil {
		return
	}
	keys := old.cache.Keys() // oldest first
	n := 0
	for i := len(keys) - 1; i >= 0 && n < warmEntries; i-- {
		if ctx.Err() != nil {
			return
		}
		c, ok := old.cache.Peek(keys[i])
		if !ok {
			continue
		}
		n++
		q := s.placement
		if c.kind == KindTransfer {
			q = s.transfer
		}
		res, err := evalQuery(ctx, q, c.input, c.at)
		if err == nil && res.size() <= maxCachedResultBytes {
			s.cache.Add(keys[i], &cachedEval{res: res, kind: c.kind, input: c.input, at: c.at})
		}
	}
}
