package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The inventory reloads on SIGHUP, validated whole: a good change is activated,
// a broken file is refused and the last good inventory keeps deciding.
func TestInventoryReloadOnSIGHUP(t *testing.T) {
	inv := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(demoInventory, "*.yaml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(inv, filepath.Base(f)), b, 0o644)
	}
	dataDir := t.TempDir()
	// A later --inventory wins over startServer's demo inventory.
	s := startServer(t, dataDir, "--inventory", inv, "--inventory-poll-interval", "0")
	addr, cmd := s.addr, s.cmd
	place := func(site string) (int, string) {
		resp, err := http.Post("http://"+addr+"/v1/decisions/placement", "application/json",
			strings.NewReader(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["`+site+`"]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := place("lis-1"); code != 422 {
		t.Fatalf("lis-1 is not in the inventory yet: got %d", code)
	}
	os.WriteFile(filepath.Join(inv, "sites-pt.yaml"), []byte(`sites:
  - id: lis-1
    kind: on-prem
    country: PT
    operator: {name: Exemplo SA, country: PT}
`), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, func() bool { code, _ := place("lis-1"); return code == 200 }, "new site after SIGHUP")

	os.WriteFile(filepath.Join(inv, "broken.yaml"), []byte("sites:\n  - id: x\n    country: pt\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	if code, body := place("lis-1"); code != 200 {
		t.Fatalf("a refused inventory replaced the last good one: %d %s", code, body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	code, out, errs := runCLI(t, "", "audit", "tail", "--log", filepath.Join(dataDir, "log"), "-n", "10")
	if code != 0 || !strings.Contains(out, `"inventory.refusal"`) || strings.Count(out, `"inventory.activation"`) < 2 {
		t.Fatalf("the log must hold both activations and the refusal: exit %d\n%s%s", code, out, errs)
	}
}

func waitUntil(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A FIFO (or a symlink to /dev/zero) dropped into the inventory directory is
// refused and recorded, once, and the polling goes on: removing it and
// changing the inventory reloads as before. It used to block the watcher
// for good (a FIFO) or grow memory without bound (/dev/zero).
func TestInventoryPollingSurvivesHostileFiles(t *testing.T) {
	inv := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(demoInventory, "*.yaml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(inv, filepath.Base(f)), b, 0o644)
	}
	dataDir := t.TempDir()
	s := startServer(t, dataDir, "--inventory", inv, "--inventory-poll-interval", "200ms")
	place := func(site string) int {
		resp, err := http.Post("http://"+s.addr+"/v1/decisions/placement", "application/json",
			strings.NewReader(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["`+site+`"]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if err := syscall.Mkfifo(filepath.Join(inv, "pipe.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(inv, "zero.yaml")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // several polls
	if code := place("fra-1"); code != 200 {
		t.Fatalf("the last good inventory must keep deciding: %d", code)
	}
	os.Remove(filepath.Join(inv, "pipe.yaml"))
	os.Remove(filepath.Join(inv, "zero.yaml"))
	os.WriteFile(filepath.Join(inv, "sites-pt.yaml"), []byte("sites:\n  - {id: lis-1, kind: on-prem, country: PT, operator: {name: Exemplo SA, country: PT}}\n"), 0o644)
	waitUntil(t, func() bool { return place("lis-1") == 200 }, "the inventory to reload after the hostile files left")
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	code, out, errs := runCLI(t, "", "audit", "tail", "--log", filepath.Join(dataDir, "log"), "-n", "20")
	// One refusal per state of the directory seen (a poll may fall between
	// the FIFO and the symlink), not one per poll.
	if n := strings.Count(out, `"inventory.refusal"`); code != 0 || n < 1 || n > 2 || !strings.Contains(out, "not a regular file") {
		t.Fatalf("want a refusal per state naming the file that is not a regular file, got %d: exit %d\n%s%s", n, code, out, errs)
	}
}
