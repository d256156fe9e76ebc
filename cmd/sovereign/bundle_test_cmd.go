package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/engine"
)

func newBundleTestCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "test FILE|DIR",
		Short: "Run the Rego tests a bundle carries (exit 1 if any fails)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := engine.LoadPolicy(args[0])
			if err != nil {
				return err
			}
			rep, err := engine.RunPolicyTests(cmd.Context(), p, timeout)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "ok: %d passed, %d failed, %d skipped\n", rep.Passed, rep.Failed, rep.Skipped)
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long the tests may run")
	return cmd
}

// testBundleIsolated runs a bundle's own Rego tests in a child process at the
// lowest CPU priority: they cost several times what compiling does (about 1 s
// of CPU for the built-in library), and in-process they would compete with the
// decisions being answered while a new bundle is checked.
func testBundleIsolated(ctx context.Context, b *bundle.Bundle, timeout time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bundle tests: %w", err)
	}
	f, err := os.CreateTemp("", "sovereign-bundle-*.tar.gz")
	if err != nil {
		return fmt.Errorf("bundle tests: %w", err)
	}
	defer os.Remove(f.Name())
	if err := bundle.NewWriter(f).Write(*b); err != nil {
		f.Close()
		return fmt.Errorf("bundle tests: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bundle tests: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "bundle", "test", f.Name(), "--timeout", timeout.String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bundle tests: %w", err)
	}
	lowerPriority(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("bundle tests failed: %s", bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
