package main

import (
	"strings"
	"testing"
)

// eval refuses what the server refuses (exit 2, the problem on at): a
// decision date before the bundle's floor, or outside OPA's clock.
func TestEvalRefusesTimesOutsideThePolicy(t *testing.T) {
	cases := []struct {
		name, kind, body, stderr string
	}{
		{"placement before the floor", "placement",
			`{"dataset": "customer-pii-eu", "operation": "store", "at": "2007-06-30T00:00:00Z"}`, "input:at: is before 2008-01-01"},
		{"transfer before the floor", "transfer",
			`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "at": "2000-01-01T00:00:00Z"}`, "data.reference.modelled_from"},
		{"placement outside OPA's clock", "placement",
			`{"dataset": "customer-pii-eu", "operation": "store", "at": "3000-01-01T00:00:00Z"}`, "input:at: 3000-01-01T00:00:00Z is outside the times the policy engine can represent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, extra := range [][]string{nil, {"--print-input"}} {
				args := append([]string{"eval", tc.kind, "--inventory", demoInventory}, extra...)
				code, stdout, stderr := runCLI(t, tc.body, args...)
				if code != 2 || !strings.Contains(stderr, tc.stderr) {
					t.Errorf("%v: exit %d, want 2 with %q\nstdout: %s\nstderr: %s", extra, code, tc.stderr, stdout, stderr)
				}
			}
		})
	}
}
