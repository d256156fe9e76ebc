package doctest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A shell block (```sh, ```bash) of a doc is executed, in order with the
// others of its file, in one bash session (variables and files carry over),
// unless the line before its fence is a marker:
//
//	<!-- doctest: background, ready URL -->  runs the block in the background
//	                                          (a server) and waits until URL answers 200
//	<!-- doctest: skip, REASON -->            does not run it; REASON must be one of skipReasons
//
// Blocks that show a synopsis with placeholders are not shell blocks: they
// are fenced as ```text.
var skipReasons = []string{
	"needs a Kubernetes cluster",
	"needs a cloud KMS",
	"is the test suite itself", // make test, run from inside make test
	"builds a third-party tool from the Go module proxy (minutes)",
}

var marker = regexp.MustCompile(`^<!-- doctest: (background, ready (\S+)|skip, (.+)) -->$`)

type block struct {
	file       string
	line       int
	code       string
	background string // the URL to wait for
	skip       string
}

// blocks reads the shell blocks of a markdown file.
func blocks(t *testing.T, path string) []block {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []block
	var cur *block
	prev := ""
	sc := bufio.NewScanner(f)
	indent := ""
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && strings.HasPrefix(trimmed, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.code += strings.TrimPrefix(line, indent) + "\n"
		case trimmed == "```sh" || trimmed == "```bash" || trimmed == "```shell":
			indent = line[:len(line)-len(strings.TrimLeft(line, " "))]
			cur = &block{file: path, line: n}
			if m := marker.FindStringSubmatch(prev); m != nil {
				cur.background, cur.skip = m[2], m[3]
				if cur.skip != "" && !slices.Contains(skipReasons, cur.skip) {
					t.Errorf("%s:%d: skip reason %q is not one of %q", path, n, cur.skip, skipReasons)
				}
			}
		case strings.HasPrefix(trimmed, "<!-- doctest") && !marker.MatchString(trimmed):
			t.Errorf("%s:%d: malformed marker %q", path, n, line)
		}
		if trimmed != "" {
			prev = trimmed
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// script is the bash program of a file's blocks.
func script(bs []block) (string, int) {
	var s strings.Builder
	s.WriteString("set -euo pipefail\n")
	run := 0
	for _, b := range bs {
		if b.skip != "" {
			continue
		}
		run++
		fmt.Fprintf(&s, "echo '=== %s:%d' >&2\n", b.file, b.line)
		if b.background != "" {
			fmt.Fprintf(&s, "( %s) > background-%d.log 2>&1 &\n", b.code, b.line)
			fmt.Fprintf(&s, "for i in $(seq 1200); do curl -fsk -o /dev/null %q && break; sleep 0.25; done\n", b.background)
			fmt.Fprintf(&s, "curl -fsk -o /dev/null %q || { echo 'not ready: %s'; cat background-%d.log; exit 1; } >&2\n", b.background, b.background, b.line)
			continue
		}
		s.WriteString(b.code)
	}
	return s.String(), run
}

// copyRepo copies the repository's tracked files into dir, committed to a
// new repository on branch main: each doc runs on a fresh clone, as a new
// user's (the policy diff examples compare git refs).
func copyRepo(t *testing.T, root, dir string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"},
		{"-c", "user.name=doctest", "-c", "user.email=doctest@localhost", "commit", "-q", "-m", "docs as written"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// TestDocsRunAsWritten executes every shell block of README.md and docs/*.md.
func TestDocsRunAsWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the docs build the binary and start servers")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"README.md"}
	_ = fs.WalkDir(os.DirFS(root), "docs", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			docs = append(docs, p)
		}
		return nil
	})
	for _, doc := range docs {
		t.Run(doc, func(t *testing.T) {
			bs := blocks(t, filepath.Join(root, doc))
			for i := range bs {
				bs[i].file = doc
			}
			src, n := script(bs)
			if n == 0 {
				t.Logf("%s: no shell block to run", doc)
				return
			}
			dir := t.TempDir()
			copyRepo(t, root, dir)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", src)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "HOME="+dir)
			if gocache, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output(); err == nil {
				v := strings.Fields(string(gocache))
				cmd.Env = append(cmd.Env, "GOCACHE="+v[0], "GOMODCACHE="+v[1])
			}
			// Its own process group: the servers it starts are stopped with it.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if cmd.Process != nil {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			}
			if err != nil {
				t.Fatalf("%s does not run as written (%v); the last block started is the last === line:\n%s", doc, err, out.String())
			}
			t.Logf("%s: %d blocks ran", doc, n)
		})
	}
}
