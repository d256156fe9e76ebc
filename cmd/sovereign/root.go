package main

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// run builds the command tree and executes it with args; it never exits.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:           "sovereign",
		Short:         "Data-sovereignty policy engine: where data may live, and whether it may move",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newServeCmd(),
		newEvalCmd(),
		newInventoryCmd(),
		newBundleCmd(),
		newTestCmd(),
		newCheckCmd(),
		newDiffCmd(),
		newAuditCmd(),
		newKeygenCmd(),
		newVersionCmd(),
	)
	return root.ExecuteContext(ctx)
}

// bindEnv lets every flag of cmd be set by an environment variable
// SOVEREIGN_<FLAG> (dashes become underscores); a flag on the command line wins.
func bindEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "SOVEREIGN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			err = cmd.Flags().Set(f.Name, v)
		}
	})
	return err
}
