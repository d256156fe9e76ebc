package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
)

func TestAuditExportCommand(t *testing.T) {
	dir := makeLog(t, 12)
	pub := filepath.Join(dir, audit.SigningPublicKeysFile)
	out := t.TempDir()
	today := time.Now().UTC().Format(time.DateOnly)
	for _, format := range []string{"json", "csv", "html", "pdf", "evidence"} {
		file := filepath.Join(out, "report."+format)
		stdout, err := runCmd(t, newAuditCmd(), "export", "--log", dir, "--public-key", pub, "--from", today,
			"--format", format, "-o", file)
		if err != nil {
			t.Fatalf("export %s: %v\n%s", format, err, stdout)
		}
		if !strings.Contains(stdout, "12 records") {
			t.Errorf("export %s: %s", format, stdout)
		}
		// Output is not a terminal: no progress bar.
		if strings.Contains(stdout, "\r") {
			t.Errorf("progress bar drawn on a non-terminal: %q", stdout)
		}
		if st, err := os.Stat(file); err != nil || st.Size() == 0 {
			t.Errorf("export %s: %v", format, err)
		}
	}
	pack := filepath.Join(out, "report.evidence")
	stdout, err := runCmd(t, newAuditCmd(), "verify", "--evidence", pack)
	if err != nil || !strings.Contains(stdout, "OK") || !strings.Contains(stdout, "12 selected") {
		t.Fatalf("verify --evidence: %v\n%s", err, stdout)
	}
	stdout, err = runCmd(t, newAuditCmd(), "verify", "--evidence", pack, "--public-key", pub)
	if err != nil || strings.Contains(stdout, "keys:") {
		t.Fatalf("verify --evidence with the auditor's key: %v\n%s", err, stdout)
	}

	// A tampered log: the export is refused (exit 1) and leaves no file.
	bundle := filepath.Join(dir, audit.LogDir, "tile", "entries", "000.p", "12")
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundle, bytes.Replace(b, []byte(`"tester"`), []byte(`"tested"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := filepath.Join(out, "refused.csv")
	_, err = runCmd(t, newAuditCmd(), "export", "--log", dir, "--public-key", pub, "--format", "csv", "-o", refused)
	var ee *exitError
	if err == nil || !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "refusing to report") {
		t.Fatalf("export of a tampered log: %v", err)
	}
	if _, err := os.Stat(refused); !os.IsNotExist(err) {
		t.Errorf("refused export left %s: %v", refused, err)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".sovereign-export-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestAuditExportConfined: --tenant X --confined writes the report X's own
// principals get from the API, here of a log written before records named
// their tenants (testdata/audit/prechange-log/README.md: acme's records are
// 0, 1, 7 and 9).
func TestAuditExportConfined(t *testing.T) {
	dir := "../../testdata/audit/prechange-log"
	pub := filepath.Join(dir, audit.SigningPublicKeysFile)
	out := filepath.Join(t.TempDir(), "acme.json")
	stdout, err := runCmd(t, newAuditCmd(), "export", "--log", dir, "--public-key", pub, "--tenant", "acme", "--confined", "--format", "json", "-o", out)
	if err != nil || !strings.Contains(stdout, "wrote "+out+": 4 records") {
		t.Fatalf("export --confined: %v\n%s", err, stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), `"confined":true`) {
		t.Errorf("the report does not say it is confined: %v", err)
	}
	if _, err := runCmd(t, newAuditCmd(), "export", "--log", dir, "--public-key", pub, "--confined", "--format", "json", "-o", out); err == nil || !strings.Contains(err.Error(), "--confined needs --tenant") {
		t.Errorf("--confined without --tenant: %v", err)
	}
}
