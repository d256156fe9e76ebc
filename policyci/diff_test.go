package policyci

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
)

// TestMarkdownFitsAComment: however many changes, the Markdown report stays
// within one pull request comment and says that it was cut.
func TestMarkdownFitsAComment(t *testing.T) {
	r := &DiffResult{Base: PolicySource{Spec: "a"}, Head: PolicySource{Spec: "b"}}
	for i := range 3000 {
		allowed := &engine.Decision{Kind: engine.KindTransfer, Allowed: true}
		denied := &engine.Decision{Kind: engine.KindTransfer, Violations: []engine.Violation{{Rule: fmt.Sprintf("r.rule_%d", i%40)}}}
		r.add(compared{request: fmt.Sprintf("log #%d", i), source: "replay", label: strings.Repeat("x", 80), kind: engine.KindTransfer,
			base: outcome{decision: allowed}, head: outcome{decision: denied}})
	}
	if r.Counts.AllowedToDenied != 3000 || r.Counts.ViolationsAdded != 3000 {
		t.Fatalf("counts %+v", r.Counts)
	}
	var b bytes.Buffer
	if err := r.Write(&b, FormatMarkdown, 0); err != nil {
		t.Fatal(err)
	}
	if b.Len() > MaxMarkdownBytes || !strings.Contains(b.String(), "truncated at") || !strings.Contains(b.String(), "| allowed → denied | 3000 |") {
		t.Errorf("%d bytes:\n%s", b.Len(), b.String()[:500])
	}
	b.Reset()
	if err := r.Write(&b, FormatMarkdown, 5); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "truncated") || !strings.Contains(b.String(), "| … and 70 more | | | | |") {
		t.Errorf("--max-rows 5:\n%s", b.String())
	}
}
