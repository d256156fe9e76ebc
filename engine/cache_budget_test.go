package engine

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

// answerOf is an answer of about n bytes of findings.
func answerOf(n int) *evalResult {
	msg := strings.Repeat("m", 1000)
	r := &evalResult{}
	for range n / 1100 {
		r.violations = append(r.violations, finding{Violation: Violation{Rule: "r", Message: msg}, site: "s"})
	}
	return r
}

// Large answers (a placement over thousands of sites) are cached, within a
// byte budget: the least recently used go first, and none over the cap is
// kept.
func TestDecisionCacheByteBudget(t *testing.T) {
	s := &snapshot{policy: &Policy{memo: true}}
	var hits, misses atomic.Uint64
	if err := s.newCache(DefaultDecisionCacheEntries, &hits, &misses); err != nil {
		t.Fatal(err)
	}
	s.remember("half a MiB", &cachedEval{res: answerOf(512 << 10)})
	if _, ok := s.cache.Get("half a MiB"); !ok {
		t.Fatal("a 512 KiB answer (1,000 sites) was not kept")
	}
	s.remember("over the cap", &cachedEval{res: answerOf(maxCachedResultBytes + 1<<20)})
	if s.cache.Contains("over the cap") {
		t.Fatal("an answer over maxCachedResultBytes was kept")
	}
	const each = 4 << 20
	for i := range 2 * cacheBudgetBytes / each {
		s.remember(fmt.Sprint(i), &cachedEval{res: answerOf(each)})
		if got := s.cacheBytes.Load(); got > cacheBudgetBytes {
			t.Fatalf("after %d answers the cache holds %d bytes, over its budget of %d", i+1, got, cacheBudgetBytes)
		}
	}
	if n := s.cache.Len(); n < cacheBudgetBytes/each/2 || s.cache.Contains("half a MiB") || !s.cache.Contains(fmt.Sprint(2*cacheBudgetBytes/each-1)) {
		t.Fatalf("%d entries; want the newest kept and the oldest evicted", n)
	}
	var sum int64
	for _, k := range s.cache.Keys() {
		c, _ := s.cache.Peek(k)
		sum += c.bytes
	}
	if sum != s.cacheBytes.Load() {
		t.Fatalf("cacheBytes %d, the entries hold %d", s.cacheBytes.Load(), sum)
	}
}
