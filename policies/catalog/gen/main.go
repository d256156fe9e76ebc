// Command gen writes the policy catalog (docs/policies.md) of the built-in bundle
// to standard output: go run ./policies/catalog/gen > docs/policies.md
package main

import (
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/sovereign-engine/sovereign/policies"
	"github.com/sovereign-engine/sovereign/policies/catalog"
)

func main() {
	sub, err := fs.Sub(policies.Bundle, "sovereign")
	if err != nil {
		fail(err)
	}
	pkgs, literals, err := catalog.Load(sub)
	if err != nil {
		fail(err)
	}
	if problems := catalog.Check(pkgs, literals); len(problems) > 0 {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.String()
		}
		fail(fmt.Errorf("catalog:\n%s", strings.Join(lines, "\n")))
	}
	os.Stdout.Write(append(catalog.Markdown(pkgs), '\n'))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
