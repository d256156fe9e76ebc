// Command testsummary reads `go test -json` on standard input and prints what
// a person wants from a test run: each package's result, the output of every
// failed test, and, at the end, every skipped test with the reason it gave.
// It exits 1 when anything failed, and also when anything was skipped under
// SOVEREIGN_REQUIRE_ALL=1. `make test` pipes into it. With
// SOVEREIGN_TEST_VERBOSE=1 (`make e2e` sets it) every test and subtest that
// passed is listed too, with what it logged (t.Log: the figures it measured).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type key struct{ pkg, test string }

func main() {
	os.Exit(run(os.Stdin, os.Stdout, os.Getenv("SOVEREIGN_REQUIRE_ALL") == "1", os.Getenv("SOVEREIGN_TEST_VERBOSE") == "1"))
}

func run(in io.Reader, out io.Writer, requireAll, verbose bool) int {
	output := map[key][]string{}
	var failed, skipped []key
	passed, failedPkgs := 0, 0
	start := time.Now()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (a build error printed by go test): show it.
			fmt.Fprintln(out, string(line))
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output", "build-output":
			output[k] = append(output[k], e.Output)
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(out, "ok   %s\t%.1fs\n", e.Package, e.Elapsed)
			} else {
				passed++
				if verbose {
					fmt.Fprintf(out, "--- PASS: %s (%.1fs)\n%s", e.Test, e.Elapsed, indent(strings.Join(logLines(output[k]), "")))
				}
			}
			delete(output, k)
		case "skip":
			if e.Test == "" {
				fmt.Fprintf(out, "?    %s\t[no test files]\n", e.Package)
				delete(output, k)
			} else {
				skipped = append(skipped, k)
			}
		case "fail":
			if e.Test == "" {
				failedPkgs++
				fmt.Fprintf(out, "FAIL %s\t%.1fs\n", e.Package, e.Elapsed)
				if len(failed) == 0 || failed[len(failed)-1].pkg != e.Package {
					// A package that failed without a failing test
					// (build error, panic, timeout): show its output.
					fmt.Fprint(out, indent(strings.Join(output[k], "")))
				}
			} else {
				failed = append(failed, k)
				fmt.Fprintf(out, "--- FAIL: %s (%s)\n%s", e.Test, e.Package, indent(strings.Join(output[k], "")))
			}
		}
	}
	fmt.Fprintf(out, "\n%d tests passed, %d failed, %d skipped (%s)\n", passed, len(failed), len(skipped), time.Since(start).Round(time.Second))
	if len(skipped) > 0 {
		fmt.Fprintln(out, "Skipped:")
		slices.SortFunc(skipped, func(a, b key) int { return strings.Compare(a.pkg+a.test, b.pkg+b.test) })
		for _, k := range skipped {
			fmt.Fprintf(out, "  %s %s: %s\n", strings.TrimPrefix(k.pkg, "github.com/sovereign-engine/sovereign/"), k.test, skipReason(output[k]))
		}
	}
	switch {
	case len(failed) > 0 || failedPkgs > 0:
		return 1
	case requireAll && len(skipped) > 0:
		fmt.Fprintln(out, "SOVEREIGN_REQUIRE_ALL=1: a skipped test is a failure")
		return 1
	}
	return 0
}

// skipReason is what the test said when it skipped.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		// "file_test.go:12: reason"
		if _, rest, ok := strings.Cut(l, ".go:"); ok {
			if _, reason, ok := strings.Cut(rest, ": "); ok {
				return reason
			}
		}
		return l
	}
	return "(no reason given)"
}

// logLines are the lines a test logged (t.Log: "    file_test.go:12: ..."),
// without go test's own RUN and PASS lines.
func logLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if _, rest, ok := strings.Cut(t, ".go:"); ok && !strings.HasPrefix(t, "---") && !strings.HasPrefix(t, "===") && strings.Contains(rest, ": ") {
			out = append(out, strings.TrimLeft(l, " \t"))
		}
	}
	return out
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
