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

// The cache's memory is bounded by bytes as well as entries: answers of a
// snapshot may hold cacheBudgetBytes in all (the least recently used go
// first), and one answer at most maxCachedResultBytes. A placement over 1,000
// sites answers about 500 KiB of findings, one over 10,000 sites a few MiB:
// they are cached too (a cap of 256 KiB per answer left a 1,000-site cache
// no faster than none), a few hundred of them at most.
const (
	cacheBudgetBytes     = 256 << 20
	maxCachedResultBytes = 32 << 20
)

// warmEntries is how many of the most recent requests a new snapshot
// evaluates before it is switched in.
const warmEntries = 64

// WithDecisionCache sets how many distinct answers each snapshot keeps; 0
// or less turns the cache off.
func WithDecisionCache(entries int) Option {
	return func(o *options) {
		o.cacheEntries, o.cacheOff = entries, entries <= 0
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
	bytes int64 // what it holds, as counted in snapshot.cacheBytes
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
	s.remember(key, &cachedEval{res: res, kind: kind, input: input, at: at})
	return res, nil
}

// remember adds an answer to the cache unless it is over
// maxCachedResultBytes, then evicts the least recently used answers until
// the cache holds at most cacheBudgetBytes.
func (s *snapshot) remember(key string, c *cachedEval) {
	// The key and the input it was made from are about the same size.
	c.bytes = int64(c.res.size() + 2*len(key))
	if c.bytes > maxCachedResultBytes {
		return
	}
	if found, _ := s.cache.ContainsOrAdd(key, c); found {
		return // another request added it first
	}
	if s.cacheBytes.Add(c.bytes) <= cacheBudgetBytes {
		return
	}
	for s.cacheBytes.Load() > cacheBudgetBytes {
		if _, _, ok := s.cache.RemoveOldest(); !ok {
			return
		}
	}
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
	for _, g := range r.regimes {
		n += 64 + len(g.Regime) + len(g.Name)
		if g.Period != nil {
			n += 96 + len(g.Period.ID) + len(g.Period.Name) + len(g.Period.Status) + len(g.Period.Source) + len(g.Period.ValidFrom) + len(g.Period.ValidUntil)
		}
		for _, d := range g.Datasets {
			n += 48 + len(d.Dataset) + len(d.Why)
		}
		for _, x := range g.Grounds {
			n += 64 + len(x.Site) + len(x.Dataset) + len(x.Ground)
		}
	}
	return n
}

// newCache makes the snapshot's cache when the policy allows one.
func (s *snapshot) newCache(entries int, hits, misses *atomic.Uint64) error {
	if entries == 0 || !s.policy.memo {
		return nil
	}
	c, err := lru.NewWithEvict(entries, func(_ string, c *cachedEval) { s.cacheBytes.Add(-c.bytes) })
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
		if err == nil {
			s.remember(keys[i], &cachedEval{res: res, kind: c.kind, input: c.input, at: c.at})
		}
	}
}
