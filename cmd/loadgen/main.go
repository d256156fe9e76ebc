// Command loadgen is a small HTTP load generator for Sovereign's JSON POST endpoints
// (and OPA's, for comparison). It is a development tool: scripts/loadtest.sh drives it.
//
// Three modes, one report shape:
//
//	loadgen -url U -body F -concurrency 8 -duration 10s   closed loop: N keep-alive workers, each sends as soon as its last answer arrived
//	loadgen -url U -body F -rate 2000 -duration 10s       open loop: sends on a fixed schedule; latency counts from the scheduled time
//	loadgen -url U -body F -find-saturation               closed loop at concurrency 1,2,4,...,64; reports the best throughput
//
// With -json each run prints one JSON object on a line (a -find-saturation sweep prints one
// per level, then a summary object with "mode":"find-saturation").
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// run parses the command line and runs the requested mode, writing reports to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if opts.findSaturation {
		_, err := findSaturation(ctx, opts.cfg, opts.levels, opts.json, stdout)
		return err
	}
	res, err := Run(ctx, opts.cfg)
	if err != nil {
		return err
	}
	if opts.json {
		return writeJSON(stdout, res)
	}
	writeTable(stdout, res)
	return nil
}
