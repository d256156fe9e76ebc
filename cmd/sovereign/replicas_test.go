package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/mysqltest"
)

// startReplica starts `sovereign serve` on the mysql backend; the DSN goes in
// the environment, as docs/operations.md recommends (not in ps output).
func startReplica(t *testing.T, dataDir, dsn string, extra ...string) *server {
	t.Helper()
	return startServerWith(t, serverStart{dataDir: dataDir, env: []string{"SOVEREIGN_LOG_DSN=" + dsn}, ready: 30 * time.Second},
		append([]string{"--log-backend", "mysql"}, extra...)...)
}

func copyDataKeys(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{audit.SigningKeyFile, audit.SigningPublicKeysFile, audit.LogKeyFile, audit.LogVerifierKeyFile} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Three replicas share one log on MariaDB under concurrent load; one is
// SIGKILLed in the middle. Every decision answered 200 by any replica is in the
// log exactly once, with a valid signature (audit verify over a survivor's tile
// API), and the survivors answered every request sent to them throughout. Some
// decisions are too large for one entry: their bodies, committed in the
// database before their entries, are served by every replica and verified.
func TestReplicasShareOneMySQLLogThroughASIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers and kills one")
	}
	dsn := mysqltest.DSN(t)
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	replicas := []*server{startReplica(t, dirs[0], dsn)}
	for _, d := range dirs[1:] {
		copyDataKeys(t, dirs[0], d)
		replicas = append(replicas, startReplica(t, d, dsn))
	}

	bodies := []string{
		`{"dataset": "customer-pii-eu", "operation": "store"}`,
		`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "mechanism": {"kind": "scc", "module": "C2P"}}`,
		bigPlacement(),
	}
	client := &http.Client{Timeout: 15 * time.Second}
	var mu sync.Mutex
	var got []answered
	big := map[string]bool{} // decision ids of answers whose record needs a body
	var killedAt time.Time
	okAfterKill := make([]int, len(replicas))
	var survivorFailures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := (w + i) % len(replicas)
				path, body := "/v1/decisions/placement", bodies[0]
				switch {
				case w == 0 && i%4 == 0:
					body = bodies[2]
				case (w+i)%2 == 1:
					path, body = "/v1/decisions/transfer", bodies[1]
				}
				resp, err := client.Post("http://"+replicas[r].addr+path, "application/json", strings.NewReader(body))
				var status int
				var b []byte
				if err == nil {
					b, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				if r != 0 && status != http.StatusOK {
					survivorFailures = append(survivorFailures, fmt.Sprintf("replica %d: %d %v %s", r, status, err, b))
				}
				if status == http.StatusOK {
					var a answered
					if jerr := json.Unmarshal(b, &a); jerr != nil || a.Audit.EntrySHA256 == "" {
						t.Errorf("a 200 without an audit receipt: %s", b)
					} else {
						got = append(got, a)
						if body == bodies[2] {
							big[a.DecisionID] = true
						}
					}
					if !killedAt.IsZero() {
						okAfterKill[r]++
					}
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(2 * time.Second)
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	if err := replicas[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = replicas[0].cmd.Wait()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	if len(survivorFailures) > 0 {
		t.Fatalf("survivors failed %d requests, first: %s", len(survivorFailures), survivorFailures[0])
	}
	if okAfterKill[1] == 0 || okAfterKill[2] == 0 {
		t.Fatalf("survivors answered %v after the kill", okAfterKill[1:])
	}
	if len(got) < 30 || len(big) == 0 {
		t.Fatalf("only %d decisions answered, %d with a body; the test proves nothing", len(got), len(big))
	}
	t.Logf("%d decisions answered (%d with a body), %v by the survivors after the kill", len(got), len(big), okAfterKill[1:])

	// Exactly once: the index of every answer is unique, and the log holds each
	// answered decision id once, at that index, with the answered entry hash.
	byID := map[string]answered{}
	seenIndex := map[uint64]bool{}
	for _, a := range got {
		if seenIndex[a.Audit.Index] {
			t.Fatalf("index %d answered twice", a.Audit.Index)
		}
		seenIndex[a.Audit.Index] = true
		byID[a.DecisionID] = a
	}
	survivor := replicas[1]
	tiles := "http://" + survivor.addr + "/v1/audit/log"
	src, err := audit.NewSource(tiles)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var cp *audit.Checkpoint
	var maxIndex uint64
	for idx := range seenIndex {
		maxIndex = max(maxIndex, idx)
	}
	for cp == nil || cp.Size <= maxIndex { // a checkpoint covers new entries within a second
		raw, err := src.ReadCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cp, err = audit.PeekCheckpoint(raw); err != nil {
			t.Fatal(err)
		}
		if cp.Size <= maxIndex {
			time.Sleep(200 * time.Millisecond)
		}
	}
	inLog := map[string]int{}
	for e, err := range audit.Entries(ctx, src, cp.Size, 0, cp.Size) {
		if err != nil {
			t.Fatalf("reading the log through replica 1: %v", err)
		}
		dec, err := audit.DecodeEntry(e)
		if err != nil {
			t.Fatalf("entry %d: %v", e.Index, err)
		}
		var rec struct {
			ID   string         `json:"id"`
			Body *audit.BodyRef `json:"body"`
		}
		if err := json.Unmarshal(dec.Record, &rec); err != nil {
			t.Fatal(err)
		}
		if big[rec.ID] && rec.Body == nil {
			t.Fatalf("entry %d: decision %s too large for one entry is logged without a body", e.Index, rec.ID)
		}
		inLog[rec.ID]++
		if a, ok := byID[rec.ID]; ok && (a.Audit.Index != e.Index || a.Audit.EntrySHA256 != dec.EntrySHA256) {
			t.Fatalf("decision %s answered with index %d sha %s, logged at %d sha %s", rec.ID, a.Audit.Index, a.Audit.EntrySHA256, e.Index, dec.EntrySHA256)
		}
	}
	for id := range byID {
		if inLog[id] != 1 {
			t.Fatalf("answered decision %s is in the log %d times", id, inLog[id])
		}
	}
	// Every replica answers entry reads from the shared log.
	for _, r := range replicas[1:] {
		resp, err := client.Get(fmt.Sprintf("http://%s/v1/audit/entries/%d", r.addr, got[0].Audit.Index))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), got[0].DecisionID) {
			t.Fatalf("entry %d from %s: %d %s", got[0].Audit.Index, r.addr, resp.StatusCode, b)
		}
	}

	// The auditor's check: every signature, the tree, the checkpoint.
	var out, errb bytes.Buffer
	err = run(t.Context(), []string{"audit", "verify", "--log", tiles, "--public-key", filepath.Join(dirs[0], audit.SigningPublicKeysFile)}, nil, &out, &errb)
	if code := exitCode(err, &errb); code != 0 {
		t.Fatalf("audit verify: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	t.Logf("audit verify: %s", strings.ReplaceAll(strings.TrimSpace(out.String()), "\n", "; "))
}

// Bad log flags are refused naming the flag, before anything is created; a
// replica with keys of its own is refused by the shared log at start-up.
func TestReplicaStartupRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"mysql without a DSN", []string{"--log-backend", "mysql"}, "--log-dsn"},
		{"unknown backend", []string{"--log-backend", "sqlite"}, "--log-backend \"sqlite\""},
		{"malformed DSN", []string{"--log-backend", "mysql", "--log-dsn", "sovereign:pw@tcp(127.0.0.1:3306"}, "--log-dsn: invalid DSN"},
		{"DSN without mysql", []string{"--log-dsn", "u:p@tcp(127.0.0.1:3306)/db"}, "--log-dsn is set"},
		{"missing witness policy", []string{"--witness-policy", "/nonexistent/policy"}, "--witness-policy"},
		{"witness policy without quorum", []string{"--witness-policy", writeFile(t, "witness cp cp.example/w+0a1b2c3d+BJ0k8U2LmmeXBuQjWbFhHeC3RzfytKD6kEkXqhjJwbFg http://127.0.0.1:1/w\n")}, "quorum"},
		{"witness logs without keys", []string{"--witness-logs", t.TempDir()}, "--witness-logs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--addr", freeAddr(t), "--inventory", demoInventory, "--data-dir", dataDir}, tc.args...)
			cmd := exec.Command(binary, args...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("serve %v: %v, want an error naming %q\n%s", tc.args, err, tc.want, out)
			}
			if _, err := os.Stat(filepath.Join(dataDir, audit.SigningKeyFile)); !os.IsNotExist(err) {
				t.Fatalf("a refused start created keys: %v", err)
			}
		})
	}

	dsn := mysqltest.DSN(t)
	first := startReplica(t, t.TempDir(), dsn)
	var out []byte
	var err error
	if resp, err := http.Post("http://"+first.addr+"/v1/decisions/placement", "application/json", strings.NewReader(`{"dataset": "customer-pii-eu", "operation": "store"}`)); err != nil || resp.StatusCode != 200 {
		t.Fatalf("decision: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // a checkpoint is published
	cmd := exec.Command(binary, "serve", "--addr", freeAddr(t), "--inventory", demoInventory, "--data-dir", t.TempDir(), "--log-backend", "mysql")
	cmd.Env = append(os.Environ(), "SOVEREIGN_LOG_DSN="+dsn)
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), audit.LogKeyFile) {
		t.Fatalf("a replica with its own keys started on the shared log: %v\n%s", err, out)
	}
	if strings.Contains(string(out), dsnPassword(dsn)) {
		t.Fatalf("the DSN password is in serve's output:\n%s", out)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func dsnPassword(dsn string) string {
	user, _, _ := strings.Cut(dsn, "@")
	_, pw, _ := strings.Cut(user, ":")
	if pw == "" {
		return "\x00" // never found
	}
	return pw
}
