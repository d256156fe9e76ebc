package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/client"

	"github.com/sovereign-engine/sovereign/audit"
)

func stopServer(t *testing.T, s *server) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v\n%s", err, s.stderr)
	}
}

func decide(t *testing.T, s *server, n int) {
	t.Helper()
	for range n {
		resp, err := http.Post("http://"+s.addr+"/v1/decisions/placement", "application/json", strings.NewReader(`{"dataset": "customer-pii-eu", "operation": "store"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("decision: %d %s", resp.StatusCode, b)
		}
	}
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// The control plane witnesses a site's log; a fork of that log (same keys,
// another history) passes `audit verify` on its own but not with
// --witness-key, and the witness refuses the fork's checkpoint.
func TestWitnessedLogAndFork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	siteDir, forkDir, cpDir, logsDir := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	stopServer(t, startServer(t, siteDir)) // creates the site's keys
	vkey, err := os.ReadFile(filepath.Join(siteDir, audit.LogVerifierKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logsDir, "fra-1.vkey"), vkey, 0o644); err != nil {
		t.Fatal(err)
	}
	cp := startServer(t, cpDir, "--witness-logs", logsDir, "--witness-name", "cp.example/witness")
	witnessKey := strings.TrimSpace(string(httpGet(t, "http://"+cp.addr+"/v1/witness/key")))
	policy := filepath.Join(t.TempDir(), "witnesses")
	if err := os.WriteFile(policy, fmt.Appendf(nil, "witness cp %s http://%s/v1/witness\nquorum cp\n", witnessKey, cp.addr), 0o644); err != nil {
		t.Fatal(err)
	}

	site := startServer(t, siteDir, "--witness-policy", policy)
	decide(t, site, 5)
	// Wait for a cosigned checkpoint covering the decisions.
	var cosigned []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		raw := httpGet(t, "http://"+site.addr+"/v1/audit/checkpoint")
		if c, err := audit.PeekCheckpoint(raw); err == nil && c.Size >= 9 && strings.Contains(string(raw), "— cp.example/witness ") {
			cosigned = raw
			break
		}
	}
	if cosigned == nil {
		t.Fatalf("no cosigned checkpoint of 9 entries; site stderr:\n%s", site.stderr)
	}
	stopServer(t, site)
	witnessed, _ := audit.PeekCheckpoint(cosigned)

	verify := func(dir string, extra ...string) (int, string) {
		var out, errb bytes.Buffer
		args := append([]string{"audit", "verify", "--log", filepath.Join(dir, audit.LogDir), "--public-key", filepath.Join(dir, audit.SigningPublicKeysFile)}, extra...)
		err := run(t.Context(), args, nil, &out, &errb)
		return exitCode(err, &errb), out.String() + errb.String()
	}
	if code, out := verify(siteDir, "--witness-key", witnessKey); code != 0 {
		t.Fatalf("audit verify --witness-key of the witnessed log: exit %d\n%s", code, out)
	}

	// The fork: the site's keys, another history, never shown to the witness.
	copyDataKeys(t, siteDir, forkDir)
	fork := startServer(t, forkDir)
	decide(t, fork, 8)
	stopServer(t, fork)
	if code, out := verify(forkDir); code != 0 {
		t.Fatalf("the fork is a well-formed log on its own, but verify says: exit %d\n%s", code, out)
	}
	code, out := verify(forkDir, "--witness-key", witnessKey)
	if code != 1 || !strings.Contains(out, "witness") {
		t.Fatalf("audit verify --witness-key of the fork: exit %d, want 1 naming the witness\n%s", code, out)
	}
	t.Logf("fork: %s", strings.TrimSpace(out))

	// Evidence packs carry the checkpoint with its cosignatures: the same
	// check applies to them.
	for _, tc := range []struct {
		dir  string
		code int
	}{{siteDir, 0}, {forkDir, 1}} {
		pack := filepath.Join(t.TempDir(), "evidence.tar.gz")
		var out, errb bytes.Buffer
		err := run(t.Context(), []string{"audit", "export", "--log", tc.dir, "--public-key", filepath.Join(tc.dir, audit.SigningPublicKeysFile),
			"--format", "evidence", "-o", pack}, nil, &out, &errb)
		if code := exitCode(err, &errb); code != 0 {
			t.Fatalf("export evidence of %s: exit %d\n%s%s", tc.dir, code, out.String(), errb.String())
		}
		out.Reset()
		errb.Reset()
		err = run(t.Context(), []string{"audit", "verify", "--evidence", pack, "--witness-key", witnessKey}, nil, &out, &errb)
		if code := exitCode(err, &errb); code != tc.code || (tc.code == 1 && !strings.Contains(errb.String(), "witness")) {
			t.Fatalf("verify --evidence --witness-key of %s: exit %d, want %d\n%s%s", tc.dir, code, tc.code, out.String(), errb.String())
		}
	}

	// A report is written only of the witnessed log.
	for _, tc := range []struct {
		dir  string
		code int
	}{{siteDir, 0}, {forkDir, 1}} {
		var out, errb bytes.Buffer
		err := run(t.Context(), []string{"audit", "export", "--log", tc.dir, "--public-key", filepath.Join(tc.dir, audit.SigningPublicKeysFile),
			"--witness-key", witnessKey, "--format", "csv", "-o", filepath.Join(t.TempDir(), "report.csv")}, nil, &out, &errb)
		if code := exitCode(err, &errb); code != tc.code || (tc.code == 1 && !strings.Contains(errb.String(), "witness")) {
			t.Fatalf("export --witness-key of %s: exit %d, want %d\n%s%s", tc.dir, code, tc.code, out.String(), errb.String())
		}
	}

	// Submitted to the witness, the fork's checkpoint is refused.
	src, err := audit.NewSource(forkDir)
	if err != nil {
		t.Fatal(err)
	}
	forkedRaw, err := src.ReadCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	forked, _ := audit.PeekCheckpoint(forkedRaw)
	if forked.Size <= witnessed.Size {
		t.Fatalf("fork size %d not past the witnessed %d", forked.Size, witnessed.Size)
	}
	pb, err := client.NewProofBuilder(context.Background(), forked.Size, src.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := pb.ConsistencyProof(context.Background(), witnessed.Size, forked.Size)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	fmt.Fprintf(&body, "old %d\n", witnessed.Size)
	for _, h := range proof {
		fmt.Fprintln(&body, base64.StdEncoding.EncodeToString(h))
	}
	body.WriteString("\n")
	body.Write(forkedRaw)
	resp, err := http.Post("http://"+cp.addr+"/v1/witness/add-checkpoint", "text/plain", &body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the witness answered the fork's checkpoint with %d %s, want 422", resp.StatusCode, b)
	}
}
