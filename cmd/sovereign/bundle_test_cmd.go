package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
)

func newBundleTestCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "test FILE|DIR|-",
		Short: "Run the Rego tests a bundle carries (exit 1 if any fails); - reads a .tar.gz from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p *engine.Policy
			var err error
			if args[0] == "-" {
				var b *bundle.Bundle
				if b, err = bundles.ReadFrom(bundles.NewTarballLoader(io.LimitReader(cmd.InOrStdin(), bundles.MaxSize), bundles.DefaultLimits), nil); err == nil {
					p, err = engine.CompilePolicy(b)
				}
			} else {
				p, err = engine.LoadPolicy(args[0])
			}
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

// testBundleIsolated compiles a bundle with every compiler stage and runs its
// own Rego tests in a child process at a lower CPU priority: they cost several
// times what compiling does (about 1 s of CPU for the built-in library), and
// in-process they would compete with the decisions being answered while a new
// bundle is checked. The bundle reaches the child through a pipe, not a
// temporary file: a file's dirty pages would be flushed by the audit journal's
// next fdatasync (ext4 orders data before the metadata it commits), and a
// decision would wait for them.
func testBundleIsolated(ctx context.Context, b *bundle.Bundle, timeout time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bundle tests: %w", err)
	}
	var tarball bytes.Buffer
	if err := bundle.NewWriter(&tarball).Write(*b); err != nil {
		return fmt.Errorf("bundle tests: %w", err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "bundle", "test", "-", "--timeout", timeout.String())
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &tarball, &out, &out
	// One P: the tests and the child's garbage collector (whose idle workers
	// would otherwise take every idle core) keep to one core, and the other
	// stays free for decisions. Go's default GC target, not a larger one: at
	// GOGC=400 the child peaked at 159 MB with 28k page faults against
	// 108 MB and 16k, and swaps under load had occasional whole-server
	// stalls (scripts/swaptest.sh: 6 of 8 runs within 2x of steady at 400,
	// 6 of 6 at 100). The child takes longer (≈2.2 s against 1.7 s), niced.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "GOGC=100")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bundle tests: %w", err)
	}
	lowerPriority(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil && parent.Err() == nil {
			return fmt.Errorf("bundle tests did not finish within --bundle-test-timeout %s (a loaded machine runs them slower: they get one core at nice 10)", timeout)
		}
		return fmt.Errorf("bundle tests failed (%v): %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
