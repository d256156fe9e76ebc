// Package testenv decides what a test does when something it needs from the
// machine is missing (a browser, a database, the OPA CLI, a Kubernetes
// control plane): skip, saying what is missing and how to get it, or, when
// SOVEREIGN_REQUIRE_ALL=1 (set by .ci/run), fail. `make test` ends with the
// list of what was skipped and why (scripts/testsummary).
package testenv

import (
	"os"
	"testing"
)

// RequireAllEnv, set to 1, makes every missing prerequisite a failure.
const RequireAllEnv = "SOVEREIGN_REQUIRE_ALL"

// Need skips t (or fails it, under SOVEREIGN_REQUIRE_ALL=1 or any of the
// extra variables set to 1) unless ok. what names the prerequisite and how
// to get it: "chromium (make deps)".
func Need(t testing.TB, ok bool, what string, extra ...string) {
	t.Helper()
	if ok {
		return
	}
	if Required(extra...) {
		t.Fatalf("missing prerequisite: %s (%s=1 requires every prerequisite)", what, RequireAllEnv)
	}
	t.Skipf("missing prerequisite: %s", what)
}

// Required reports whether missing prerequisites are failures.
func Required(extra ...string) bool {
	for _, v := range append([]string{RequireAllEnv}, extra...) {
		if os.Getenv(v) == "1" {
			return true
		}
	}
	return false
}
