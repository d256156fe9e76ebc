package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/policies/mutate"
	"github.com/sovereign-engine/sovereign/policyci"
)

func newTestCmd() *cobra.Command {
	var o policyci.TestOptions
	var format string
	cmd := &cobra.Command{
		Use:   "test [DIR] [--scenarios DIR]... [--coverage --threshold N] [--mutate --min-score N] [--format pretty|json|junit|github]",
		Short: "Run a policy directory's Rego tests and golden scenarios (exit 0 pass, 1 fail, 2 error)",
		Long: `Test runs every Rego test (*_test.rego) of a policy directory (default: the
current directory) and every golden scenario of the --scenarios directories
(default: DIR/scenarios, if there is one). A scenario's "inventory: NAME" is the
directory NAME under --inventory-root (default: the "inventory" directory beside
the scenarios directory, e.g. testdata/inventory for testdata/scenarios).

--coverage measures the share of policy lines (tests excluded) the Rego tests
reach; --threshold N fails the run below N percent.

--mutate then runs the Rego tests against every mutant of the policy: each rule
under a rules/ or lib/ directory that refuses, imposes a duty or grants a
ground (violations, obligations, grounds, ...) deleted, and each of its
conditions dropped or negated. A mutant no test fails on survives: it is
reported as a warning on its file and line. The mutation score is the share
of valid mutants killed, counting those DIR/equivalent-mutants.json (or
--equivalents FILE: a JSON object of mutant to reason) documents as
equivalent; the run fails below --min-score (default 100). --mutants N tries
N of them, spread evenly. It takes one run of the tests per mutant.

Formats: pretty (default), json, junit (for CI test reporters), github (GitHub
Actions annotations on the failing file and line).

Exit codes: 0 every test and scenario passed, 1 some failed, 2 the policy or a
scenario file could not be loaded (it does not compile, a bad scenario file).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = "."
			if len(args) == 1 {
				o.Dir = args[0]
			}
			f, err := policyci.ParseFormat(format, policyci.FormatPretty, policyci.FormatJSON, policyci.FormatJUnit, policyci.FormatGitHub)
			if err != nil {
				return err
			}
			if o.Mutate {
				n := 0
				errw := cmd.ErrOrStderr()
				o.Progress = func(x mutate.Outcome) {
					n++
					fmt.Fprintf(errw, "mutant %d: %s %s\n", n, x.Status, x.Mutant)
				}
			}
			rep, err := policyci.Test(cmd.Context(), o)
			if err != nil {
				return err
			}
			return writeReport(cmd, rep, f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&o.Scenarios, "scenarios", nil, "directory of golden scenario files (repeatable)")
	fl.StringVar(&o.InventoryRoot, "inventory-root", "", "directory holding the inventories scenarios name (default: inventory/ beside each scenarios directory)")
	fl.BoolVar(&o.Coverage, "coverage", false, "measure the policy lines the Rego tests reach")
	fl.Float64Var(&o.Threshold, "threshold", 0, "with --coverage: fail below this percentage")
	fl.DurationVar(&o.Timeout, "timeout", time.Minute, "how long the Rego tests may run")
	fl.BoolVar(&o.Mutate, "mutate", false, "mutation testing: run the Rego tests against every mutant of the policy")
	fl.Float64Var(&o.MinScore, "min-score", 100, "with --mutate: fail below this mutation score (percent)")
	fl.IntVar(&o.Mutants, "mutants", 0, "with --mutate: try this many mutants, spread evenly (0: all)")
	fl.StringVar(&o.Equivalents, "equivalents", "", "with --mutate: JSON file of mutants documented as equivalent (default DIR/"+policyci.DefaultEquivalents+")")
	fl.StringVar(&format, "format", policyci.FormatPretty, "output: pretty, json, junit or github")
	completeFormats(cmd, "pretty", "json", "junit", "github")
	return cmd
}

// writeReport prints a test or check report and turns its verdict into the
// exit code: 1 failed, 2 could not run.
func writeReport(cmd *cobra.Command, rep *policyci.Report, format string) error {
	if err := rep.Write(cmd.OutOrStdout(), format); err != nil {
		return err
	}
	switch rep.ExitCode() {
	case 0:
		return nil
	case 1:
		return errQuietFail
	default:
		return errQuietError
	}
}
