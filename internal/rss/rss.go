// Package rss measures how much memory a piece of work makes a process hold:
// the work runs in a child process (the test binary, re-run for the one test
// that asks), which reports its peak resident set size. Tests that feed hostile
// input (a gzip bomb, a deep YAML document, a huge evidence pack) use it to
// assert that memory stays bounded, which an in-process measurement cannot
// show: the Go heap of the test runner is shared and its RSS never shrinks.
package rss

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const childEnv = "SOVEREIGN_RSS_CHILD"

// Result is what the child reports.
type Result struct {
	// Before is the child's resident set before the work, PeakGrowth how far
	// its peak rose above that (bytes).
	Before, PeakGrowth int64
	// Err is the work's error, as text ("" for none).
	Err string
}

// Measure runs work in a child process and reports its peak memory growth
// and error. In the child, it runs work, prints the result and exits: call it
// first thing in the test, and before anything the child should not repeat.
func Measure(t *testing.T, work func() error) Result {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		before = status("VmRSS:")
		err := work()
		msg := ""
		if err != nil {
			msg = strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Printf("\nRSS_RESULT %d %d %s\n", before, status("VmHWM:")-before, msg)
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	cmd := exec.Command(exe, "-test.run="+strings.Join(parts, "/"), "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s%s", err, out.String(), stderr.String())
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "RSS_RESULT ")
		if !ok {
			continue
		}
		f := strings.SplitN(rest, " ", 3)
		var r Result
		r.Before, _ = strconv.ParseInt(f[0], 10, 64)
		r.PeakGrowth, _ = strconv.ParseInt(f[1], 10, 64)
		if len(f) == 3 {
			r.Err = f[2]
		}
		return r
	}
	t.Fatalf("child printed no result:\n%s%s", out.String(), stderr.String())
	return Result{}
}

// before is the child's resident set when its measurement began.
var before int64

// Reset, called by work, starts the measurement again from here: what work
// did before (building a log to report on, say) is not counted. It resets
// the kernel's high-water mark (/proc/self/clear_refs, Linux 4.0 and later).
func Reset() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	before = status("VmRSS:")
}

// status reads a field of /proc/self/status in bytes (0 where there is none).
// The peak is VmHWM, the high-water mark of this process's own memory map:
// getrusage's ru_maxrss is not, since Linux carries the parent's high-water
// mark into a child across fork and exec.
func status(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
