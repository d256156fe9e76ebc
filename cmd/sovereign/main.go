// Command sovereign is the one binary of Sovereign: the decision service, the
// offline evaluator, and the auditor's and policy author's tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitError carries a process exit code: 1 for a deny or a failed check, 2 for an
// error that stopped the command from answering.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// denied is the quiet exit 1 of a command whose answer is "no": the answer is
// already printed.
var errDenied = errors.New("denied")

// errQuietFail and errQuietError exit 1 and 2 without a message: the report
// already said why.
var (
	errQuietFail  = errors.New("failed")
	errQuietError = errors.New("could not run")
)

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errDenied) || errors.Is(err, errQuietFail) {
		return 1
	}
	if errors.Is(err, errQuietError) {
		return 2
	}
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintln(stderr, "sovereign:", ee.err)
		return ee.code
	}
	fmt.Fprintln(stderr, "sovereign:", err)
	return 2
}
