package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// The command line's conventions (issue #20): an unknown command or flag
// names the help to read, boolean flags show as --flag, and a command group
// given an unknown subcommand fails instead of printing help with exit 0.
func TestCLIConventions(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "sovereign"; see 'sovereign --help'`},
		{[]string{"audit", "frobnicate"}, `unknown command "frobnicate" for "sovereign audit"; see 'sovereign audit --help'`},
		{[]string{"bundle", "inspect", "--nope"}, `unknown flag: --nope; see 'sovereign bundle inspect --help'`},
		{[]string{"bundle", "inspect", "x", "--format", "yaml"}, `--format "yaml": want text or json`},
	} {
		code, stdout, stderr := runCLI(t, "", c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q\nstdout: %s\nstderr: %s", c.args, code, c.want, stdout, stderr)
		}
	}
	// Every command's help, walked from the real tree.
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if !sub.Hidden && sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub, append(append([]string(nil), path...), sub.Name()))
			}
		}
	}
	root := &cobra.Command{Use: "sovereign"}
	root.AddCommand(newServeCmd(), newEvalCmd(), newInventoryCmd(), newBundleCmd(), newTestCmd(), newCheckCmd(), newDiffCmd(), newFleetCmd(), newAuditCmd(), newKeygenCmd(), newVersionCmd())
	walk(root, nil)
	if len(paths) < 15 {
		t.Fatalf("walked only %d commands", len(paths))
	}
	for _, p := range paths {
		code, stdout, stderr := runCLI(t, "", append(p, "--help")...)
		if code != 0 || !strings.Contains(stdout, "Usage:") {
			t.Errorf("%v --help: exit %d\n%s", p, code, stderr)
		}
		if strings.Contains(stdout, "[=true|false]") {
			t.Errorf("%v --help shows a boolean flag as --flag[=true|false]:\n%s", p, stdout)
		}
		if strings.Contains(stdout, "--json ") {
			t.Errorf("%v --help shows --json (the hidden alias of --format json):\n%s", p, stdout)
		}
	}
}
