package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/drift"
)

// TestDriftCommand: the demo inventory's current state, judged on a fixed
// day, in both formats; exit 1 because fra-2 has lost its C5 attestation.
func TestDriftCommand(t *testing.T) {
	out, err := runCmd(t, driftCmd(), "--inventory", demoInventory, "--at", "2026-12-03", "--until", "2027-06-30", "--format", "json")
	if !errors.Is(err, errQuietFail) {
		t.Fatalf("err %v, want the quiet exit 1\n%s", err, out)
	}
	var r drift.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.OutOfCompliance) != 2 || r.OutOfCompliance[0].Since != "2026-01-01" || len(r.Forecast) == 0 {
		t.Fatalf("report %+v", r)
	}
	out, err = runCmd(t, driftCmd(), "--inventory", demoInventory, "--at", "2026-12-03")
	if !errors.Is(err, errQuietFail) || !strings.Contains(out, "Out of compliance now: 2") || !strings.Contains(out, "stored at fra-2") {
		t.Fatalf("err %v\n%s", err, out)
	}
}

// TestDriftCommandRefusesBadInput: a bad current state names the file, line
// and field; a bad date names the flag.
func TestDriftCommandRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"sites-eu.yaml", "sites-world.yaml", "datasets.yaml"} {
		b, err := os.ReadFile(filepath.Join(demoInventory, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "current.yaml"), []byte("current:\n  - dataset: customer-pii-eu\n    stored_at: [{site: atlantis-1}]\n"), 0o644)
	_, err := runCmd(t, driftCmd(), "--inventory", dir)
	if err == nil || !strings.Contains(err.Error(), `current.yaml:3:`) || !strings.Contains(err.Error(), `current[0].stored_at[0].site: unknown site "atlantis-1"`) {
		t.Fatalf("error %v", err)
	}
	_, err = runCmd(t, driftCmd(), "--inventory", demoInventory, "--until", "next week")
	if err == nil || !strings.Contains(err.Error(), "--until") {
		t.Fatalf("error %v", err)
	}
}

// driftCmd is the command as the root runs it: no usage or error echo.
func driftCmd() *cobra.Command {
	c := newDriftCmd()
	c.SilenceUsage, c.SilenceErrors = true, true
	return c
}
