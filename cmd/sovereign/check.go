package main

import (
	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/policyci"
)

func newCheckCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "check [DIR] [--format pretty|json|junit|github]",
		Short: "Compile a policy directory strictly, lint its rule metadata, validate its reference data (exit 0 pass, 1 fail, 2 error)",
		Long: `Check looks at a policy directory (default: the current directory) four ways:

  strict compile   as 'opa check --strict': unused imports, unused local variables
                   and function arguments, deprecated built-ins fail;
  rule metadata    every rule's METADATA names an id, an effect (deny, obligation,
                   warn) and a citation; ids are unique; every rule id the policy
                   uses is documented. A missing title, source or example is a warning;
  reference data   every data.json / data.yaml: ISO 3166-1 codes (or group names),
                   dated entries with a source and valid_from <= valid_until,
                   versions in order without overlap (a gap is a warning);
  formatting       every .rego file as 'opa fmt' formats it ('opa fmt -w' fixes it).

Formats: pretty (default), json, junit, github (annotations on file and line).

Exit codes: 0 clean (warnings allowed), 1 a check failed, 2 the policy does not
load or compile at all.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			f, err := policyci.ParseFormat(format, policyci.FormatPretty, policyci.FormatJSON, policyci.FormatJUnit, policyci.FormatGitHub)
			if err != nil {
				return err
			}
			rep, err := policyci.Check(cmd.Context(), dir)
			if err != nil {
				return err
			}
			return writeReport(cmd, rep, f)
		},
	}
	cmd.Flags().StringVar(&format, "format", policyci.FormatPretty, "output: pretty, json, junit or github")
	completeFormats(cmd, "pretty", "json", "junit", "github")
	return cmd
}
