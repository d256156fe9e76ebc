package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
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
		newDriftCmd(),
		newFleetCmd(),
		newAuditCmd(),
		newKeygenCmd(),
		newVersionCmd(),
	)
	conventions(root)
	err := root.ExecuteContext(ctx)
	return withHelpHint(err)
}

// unknownCommand matches cobra's error for an unknown command or argument of
// a command group, and names the command whose help lists the right ones.
var unknownCommand = regexp.MustCompile(`^unknown command ".*" for "(.+)"`)

// withHelpHint adds "see 'CMD --help'" to an unknown command or flag error.
func withHelpHint(err error) error {
	if err == nil {
		return nil
	}
	if m := unknownCommand.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%w; see '%s --help'", err, m[1])
	}
	return err
}

// conventions applies the command line's conventions to c and its
// subcommands. Boolean flags show as --flag in every help text: pflag 1.1
// prints them as --flag[=true|false], which reads as if a value were needed
// (the value keeps its behaviour: --flag, --flag=false). Flag errors, and an
// unknown subcommand of a command group (which cobra would answer with the
// group's help and exit 0), name the help to read.
func conventions(c *cobra.Command) {
	c.InitDefaultHelpFlag()
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil && c.HasParent() {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &exitError{code: 2, err: fmt.Errorf("unknown command %q for %q; see '%s --help'", args[0], c.CommandPath(), c.CommandPath())}
			}
			return c.Help()
		}
	}
	c.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w; see '%s --help'", err, c.CommandPath())
	})
	for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Value.Type() == "bool" {
				f.Value = plainBool{f.Value}
			}
		})
	}
	for _, sub := range c.Commands() {
		conventions(sub)
	}
}

// plainBool is a bool flag value without pflag's IsBoolFlag marker, the only
// thing that decides the [=true|false] suffix; NoOptDefVal ("true") still
// lets the flag stand alone.
type plainBool struct{ pflag.Value }

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
