package engine_test

import (
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

func TestDateOnlyBuiltinLibrary(t *testing.T) {
	p, err := engine.LoadPolicyFS(policies.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := engine.DateOnly(p.Modules()); !ok {
		t.Errorf("the built-in library reads time only as lib.today, yet: %s", why)
	}
}

// TestDateOnly: each admitted use passes; anything else that could read the
// time of day fails, naming the line.
func TestDateOnly(t *testing.T) {
	const lib = `package lib
now_ns := time.parse_rfc3339_ns(input.time)
today := substring(input.time, 0, 10) if {
	now_ns
	endswith(input.time, "Z")
} else := time.format([now_ns, "UTC", "2006-01-02"])
`
	cases := []struct {
		name, rules string
		ok          bool
		why         string
	}{
		{"dates only", `import data.lib
deny contains d if { d := lib.today; d > "2026-01-01"; input.kind == "placement" }
ymd := time.date(lib.now_ns)`, true, ""},
		{"hour of the day", `import data.lib
night if time.clock(lib.now_ns)[0] < 6`, false, "line 3: the decision instant lib.now_ns is used other than as its date"},
		{"instant copied", `import data.lib
t := lib.now_ns`, false, "the decision instant"},
		{"raw time string", `late if input.time > "2026-11-27T18:00:00Z"`, false, "line 2: input.time is used other than as its date"},
		{"longer substring", `hour := substring(input.time, 11, 2)`, false, "input.time is used other than as its date"},
		{"clock", `stale if time.now_ns() > 0`, false, "time.now_ns reads the clock"},
		{"a named member of input", `f := object.get(input, ["mechanism", "kind"], "none")`, true, ""},
		{"the time member of input", `f := object.get(input, "time", "")`, false, "the whole input is read"},
		{"whole input", `n := count(input)`, false, "the whole input is read"},
		{"computed key", `v := input[k] if k := "time"`, false, "input is read under a computed key"},
		{"in a comprehension", `xs := [x | x := input.time]`, false, "input.time is used other than as its date"},
		{"with input", `import data.lib
d := x if x := lib.today with input.time as "2020-01-01T00:00:00Z"`, false, "`with` replaces input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mods := map[string]*ast.Module{
				"lib.rego":    ast.MustParseModuleWithOpts(lib, ast.ParserOptions{RegoVersion: ast.RegoV1}),
				"p.rego":      ast.MustParseModuleWithOpts("package p\n"+c.rules, ast.ParserOptions{RegoVersion: ast.RegoV1}),
				"p_test.rego": ast.MustParseModuleWithOpts("package p_test\ntest_t if input.time", ast.ParserOptions{RegoVersion: ast.RegoV1}),
			}
			ok, why := engine.DateOnly(mods)
			if ok != c.ok || !strings.Contains(why, c.why) {
				t.Errorf("DateOnly = %v, %q; want %v, %q", ok, why, c.ok, c.why)
			}
		})
	}
}
