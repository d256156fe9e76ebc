package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const demoInventory = "../../testdata/inventory/demo"

// runCLI runs the command tree in-process and returns the exit code main would
// use, with what it printed.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	code = exitCode(err, &errb)
	return code, out.String(), errb.String()
}

func TestEvalExitCodes(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"allowed placement", []string{"eval", "placement", "--inventory", demoInventory},
			`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1", "us-east-1"]}`, 0, `"allowed": true`, ""},
		{"denied placement", []string{"eval", "placement", "--inventory", demoInventory},
			`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["us-east-1"]}`, 1, `"gdpr.chapter5.no_basis"`, ""},
		{"denied transfer", []string{"eval", "transfer", "--inventory", demoInventory},
			`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate"}`, 1, `"allowed": false`, ""},
		{"allowed transfer under SCCs", []string{"eval", "transfer", "--inventory", demoInventory},
			`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "mechanism": {"kind": "scc", "module": "C2P"}}`, 0, `"allowed": true`, ""},
		{"unknown site", []string{"eval", "placement", "--inventory", demoInventory},
			`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["atlantis-1"]}`, 2, "", `input:candidates[0]: unknown site "atlantis-1"`},
		{"unknown field", []string{"eval", "placement", "--inventory", demoInventory},
			`{"dataset": "customer-pii-eu", "operation": "store", "where": "x"}`, 2, "", `unknown field "where"`},
		{"malformed input", []string{"eval", "placement", "--inventory", demoInventory}, `{"dataset": `, 2, "", "malformed JSON"},
		{"bad kind", []string{"eval", "teleport", "--inventory", demoInventory}, `{}`, 2, "", "unknown kind"},
		{"no inventory flag", []string{"eval", "placement"}, `{}`, 2, "", "--inventory is required"},
		{"bad inventory", []string{"eval", "placement", "--inventory", "../../testdata/inventory/bad-lowercase-country"},
			`{"dataset": "customer-pii-eu", "operation": "store"}`, 2, "", "country"},
		{"print the Rego input", []string{"eval", "placement", "--inventory", demoInventory, "--print-input"},
			`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`, 0, `"candidates": ["fra-1"]`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
		})
	}
}

func TestInventoryCommands(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "inventory", "validate", demoInventory)
	if code != 0 || !strings.Contains(stdout, "ok: ") || !strings.Contains(stdout, "sha256:") {
		t.Fatalf("validate demo: exit %d %s %s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "", "inventory", "validate", "../../testdata/inventory/bad-lowercase-country")
	if code != 1 || !regexp.MustCompile(`\.ya?ml:\d+:\d+: sites\[\d+\]\.(operator\.)?country: `).MatchString(stderr) {
		t.Fatalf("validate bad: exit %d, want 1 with file:line:column: field.path errors; stderr:\n%s", code, stderr)
	}
	code, stdout, _ = runCLI(t, "", "inventory", "export", demoInventory)
	var doc struct {
		Inventory struct {
			Sites map[string]json.RawMessage `json:"sites"`
		} `json:"inventory"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &doc) != nil || len(doc.Inventory.Sites) < 12 {
		t.Fatalf("export: exit %d, %d sites", code, len(doc.Inventory.Sites))
	}
}

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sovereign-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "sovereign")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sovereign:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is `sovereign serve` running as a subprocess on a free loopback port.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServer waits up to three minutes for readiness: a site fetching its first
// bundle verifies it, compiles it and runs its tests in a child process, which
// on a shared 2-core CI machine under a full test run took over 20 s. The wait
// bounds a hang; it measures nothing.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	return startServerWith(t, serverStart{dataDir: dataDir, ready: 3 * time.Minute}, extra...)
}

// serverStart is how a test starts `sovereign serve`: its data directory,
// extra environment, and how long it may take to become ready.
type serverStart struct {
	dataDir   string
	inventory string // default demoInventory
	env       []string
	ready     time.Duration
}

// startServerWith starts `sovereign serve` on a free loopback port with the
// demo inventory and waits for /readyz; the process is killed at cleanup.
func startServerWith(t *testing.T, o serverStart, extra ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	inv := demoInventory
	if o.inventory != "" {
		inv = o.inventory
	}
	args := append([]string{"serve", "--addr", addr, "--inventory", inv, "--data-dir", o.dataDir}, extra...)
	cmd := exec.Command(binary, args...)
	if len(o.env) > 0 {
		cmd.Env = append(os.Environ(), o.env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, addr: addr, stderr: &stderr}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	deadline := time.Now().Add(o.ready)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not become ready; stderr:\n%s", stderr.String())
	return nil
}

func TestServeRefusesABadInventory(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--addr", freeAddr(t), "--inventory", "../../testdata/inventory/bad-lowercase-country", "--data-dir", t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("serve started on a bad inventory:\n%s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
		t.Fatalf("want a non-zero exit, got %v", err)
	}
	if !regexp.MustCompile(`\.ya?ml:\d+:\d+: sites\[\d+\]\.(operator\.)?country: `).Match(out) {
		t.Fatalf("every inventory error must be listed as file:line:column: field.path: message:\n%s", out)
	}
}

func TestServeEnvironmentVariables(t *testing.T) {
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), "SOVEREIGN_ADDR="+addr, "SOVEREIGN_INVENTORY="+demoInventory, "SOVEREIGN_DATA_DIR="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("serve did not pick up SOVEREIGN_ADDR / SOVEREIGN_INVENTORY / SOVEREIGN_DATA_DIR")
}

// On SIGTERM the server stops accepting but a request already in flight (here:
// half its body sent) is finished and answered.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	s := startServer(t, t.TempDir())
	body := `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/decisions/placement HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", s.addr, len(body))
	io.WriteString(conn, body[:10])
	time.Sleep(100 * time.Millisecond) // the server is now reading this request

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		c.Close()
		t.Error("server still accepts connections after SIGTERM")
	}
	io.WriteString(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request was cut off: %v\nstderr:\n%s", err, s.stderr)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"audit"`) {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, b)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\nstderr:\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
}
