package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The serving copy of a new bundle is compiled without the type and recursion
// checks (engine.CompilePolicyCheckedElsewhere); the child that runs the
// bundle's tests compiles it with them. A bundle failing either check must
// still be refused, and the last good one kept.
func TestBundleFailingCompilerChecksIsRefused(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bundle")
	writeFile := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(".manifest", `{"revision": "good", "roots": ["sovereign"]}`)
	writeFile("sovereign/placement.rego", "package sovereign.placement\n\ndecision := {\"violations\": [], \"obligations\": []}\n")
	writeFile("sovereign/transfer.rego", "package sovereign.transfer\n\ndecision := {\"violations\": [], \"obligations\": []}\n")
	writeFile("sovereign/placement_test.rego", "package sovereign.placement_test\n\ntest_decides if data.sovereign.placement.decision with input as {}\n")
	s := startBundleServer(t, filepath.Join(dir, "data"), "--bundle", src, "--bundle-unsigned", "--bundle-poll-interval", "100ms")
	if st := getStatus(t, s.addr); st.ActiveRevision != "good" {
		t.Fatalf("status %+v", st)
	}
	for i, c := range []struct{ name, module, want string }{
		{"type error", "package sovereign.extra\n\nx := 1 + \"one\"\n", "plus"},
		{"recursion", "package sovereign.extra\n\na if b\n\nb if a\n", "recursi"},
	} {
		writeFile("sovereign/extra.rego", c.module)
		writeFile(".manifest", `{"revision": "bad-`+c.name+`", "roots": ["sovereign"]}`)
		deadline := time.Now().Add(60 * time.Second)
		for {
			st := getStatus(t, s.addr)
			if st.Refusals > i {
				if st.ActiveRevision != "good" || !strings.Contains(st.LastError, c.want) {
					t.Fatalf("%s: want a refusal mentioning %q with %q still active, got %+v", c.name, c.want, "good", st)
				}
				break
			}
			if st.ActiveRevision != "good" {
				t.Fatalf("%s: the bundle was activated: %+v", c.name, st)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not refused: %+v\n%s", c.name, st, s.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
