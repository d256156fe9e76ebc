package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/audit"
)

func runCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// makeLog writes a small log into a new data dir and closes it.
func makeLog(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	l, err := audit.Open(context.Background(), audit.Options{DataDir: dir, Origin: "sovereign/cli-test"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r := &audit.Record{Kind: audit.KindTransfer, Principal: "tester", EngineVersion: "t",
			Request: json.RawMessage(`{"dataset":"d","i":` + string(rune('0'+i%10)) + `}`)}
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAuditVerifyCommand(t *testing.T) {
	dir := makeLog(t, 5)
	pub := filepath.Join(dir, audit.SigningPublicKeysFile)
	pin := filepath.Join(t.TempDir(), "pin")

	out, err := runCmd(t, newAuditCmd(), "verify", "--log", dir, "--public-key", pub, "--save-pin", pin)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	if !strings.Contains(out, "OK") || !strings.Contains(out, "decision.transfer") {
		t.Errorf("verify output:\n%s", out)
	}
	out, err = runCmd(t, newAuditCmd(), "verify", "--log", filepath.Join(dir, audit.LogDir), "--public-key", pub,
		"--log-key", filepath.Join(dir, audit.LogVerifierKeyFile), "--pin", pin, "--json")
	if err != nil {
		t.Fatalf("verify --pin: %v\n%s", err, out)
	}
	var report struct {
		OK         bool   `json:"ok"`
		TreeSize   uint64 `json:"tree_size"`
		PinnedSize uint64 `json:"pinned_size"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || !report.OK || report.TreeSize != 5 || report.PinnedSize != 5 {
		t.Errorf("json report %+v, %v:\n%s", report, err, out)
	}

	// Over HTTP, as an auditor reading the API's tiles would.
	srv := httptest.NewServer(http.StripPrefix("/v1/audit/log", audit.TileHandler(filepath.Join(dir, audit.LogDir))))
	defer srv.Close()
	if out, err := runCmd(t, newAuditCmd(), "verify", "--log", srv.URL+"/v1/audit/log/", "--public-key", pub); err != nil {
		t.Fatalf("verify over HTTP: %v\n%s", err, out)
	}

	// Damage entry 3: exit code 1, naming index 3.
	bundle := filepath.Join(dir, audit.LogDir, "tile", "entries", "000.p", "5")
	raw, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(raw, []byte("tester"))
	i = bytes.LastIndex(raw[:i], []byte("tester"))
	raw[i] = 'T' // the principal of entry 3
	if err := os.WriteFile(bundle, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, newAuditCmd(), "verify", "--log", dir, "--public-key", pub)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("verify of a damaged log = %v, want exit 1", err)
	}
	if !strings.Contains(err.Error(), "index 3") || !strings.Contains(out, "FAILED") {
		t.Errorf("error %q / output %q do not name index 3", err, out)
	}
}

func TestAuditTailCommand(t *testing.T) {
	dir := makeLog(t, 12)
	out, err := runCmd(t, newAuditCmd(), "tail", "--log", dir, "-n", "3",
		"--log-key", filepath.Join(dir, audit.LogVerifierKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("tail -n 3 printed %d lines:\n%s", len(lines), out)
	}
	for i, line := range lines {
		var e struct {
			Index  uint64 `json:"index"`
			Record struct {
				Kind string `json:"kind"`
			} `json:"record"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.Index != uint64(9+i) || e.Record.Kind != "decision.transfer" {
			t.Errorf("line %d: %s", i, line)
		}
	}
}

func TestKeygenCommand(t *testing.T) {
	dir := t.TempDir()
	priv := filepath.Join(dir, "k", "signing.key")
	t.Setenv(audit.PassphraseEnv, "")
	if out, err := runCmd(t, newKeygenCmd(), "--private-key", priv, "--encrypt"); err == nil {
		t.Fatalf("--encrypt without a passphrase succeeded:\n%s", out)
	}
	out, err := runCmd(t, newKeygenCmd(), "--private-key", priv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "key id:") {
		t.Errorf("output:\n%s", out)
	}
	fi, err := os.Stat(priv)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "k", "signing.pub")); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, newKeygenCmd(), "--private-key", priv); err == nil {
		t.Error("keygen overwrote an existing key without --force")
	}
	// A second key beside the first gets its own public key file, named
	// after it: it must not replace signing.pub.
	k2 := filepath.Join(dir, "k", "k2.pem")
	if _, err := runCmd(t, newKeygenCmd(), "--private-key", k2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "k", "k2.pub")); err != nil {
		t.Errorf("k2.pem's public key: %v", err)
	}

	t.Setenv(audit.PassphraseEnv, "pw")
	if _, err := runCmd(t, newKeygenCmd(), "--private-key", priv, "--force", "--encrypt"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(priv)
	if !bytes.Contains(raw, []byte("ENCRYPTED SIGSTORE PRIVATE KEY")) {
		t.Errorf("key not encrypted: %.60q", raw)
	}
	// The key serves as --signing-key.
	l, err := audit.Open(context.Background(), audit.Options{DataDir: t.TempDir(), SigningKey: priv, Passphrase: audit.PassphraseFromEnv()})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
