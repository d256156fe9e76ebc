package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
)

// At 10,000 sites every decision is logged whole: a placement naming all
// 10,000 candidates (the request alone is over one log entry) and a workload
// of 20 datasets are answered, their records keep request and result in a
// body beside the log, and the log verifies, exports as an evidence pack that
// verifies, and replays to the same answers.
func TestTenThousandSitesDecideVerifyExportReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 10,000-site inventory and decides over it")
	}
	inv := filepath.Join(t.TempDir(), "inventory")
	gen := exec.Command("go", "run", "../../scripts/geninventory", "-sites", "10000", "-datasets", "200", "-workloads", "1", "-out", inv)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("geninventory: %v\n%s", err, out)
	}
	dataDir := t.TempDir()
	s := startServerWith(t, serverStart{dataDir: dataDir, inventory: inv, ready: 120 * time.Second})

	cands := make([]string, 10000)
	for i := range cands {
		cands[i] = fmt.Sprintf("%q", fmt.Sprintf("site-%05d", i))
	}
	datasets := make([]string, 20)
	for i := range datasets {
		datasets[i] = fmt.Sprintf("%q", fmt.Sprintf("ds-%06d", i))
	}
	requests := []string{
		`{"dataset": "ds-000002", "operation": "store", "candidates": [` + strings.Join(cands, ",") + `]}`,
		// 20 datasets over 300 candidates: the engine takes about 7 s per
		// dataset over 10,000 sites (BENCHMARKS.md), too long for a test.
		`{"workload": {"id": "w20", "datasets": [` + strings.Join(datasets, ",") + `]}, "operation": "process", "candidates": [` + strings.Join(cands[:300], ",") + `]}`,
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	for _, req := range requests {
		resp, err := client.Post("http://"+s.addr+"/v1/decisions/placement", "application/json", strings.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var a answered
		if resp.StatusCode != 200 || json.Unmarshal(b, &a) != nil || a.Audit.EntrySHA256 == "" {
			t.Fatalf("%.60s…: %d %.300s", req, resp.StatusCode, b)
		}
		e := fetchEntry(t, client, s.addr, a.Audit.Index)
		if e.Record.Body == nil || e.Record.ID != a.DecisionID || len(e.Record.Result) < len(b)/2 {
			t.Fatalf("entry %d: body %+v, id %s, result %d bytes (answer %d)", a.Audit.Index, e.Record.Body, e.Record.ID, len(e.Record.Result), len(b))
		}
		t.Logf("%d-byte request, %d-byte answer: entry %d of %d bytes, body of %d", len(req), len(b), a.Audit.Index, len(e.Entry), e.Record.Body.Size)
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()

	pub := filepath.Join(dataDir, audit.SigningPublicKeysFile)
	vkey := filepath.Join(dataDir, audit.LogVerifierKeyFile)
	if code, out, errOut := runCLI(t, "", "audit", "verify", "--log", dataDir, "--public-key", pub, "--log-key", vkey); code != 0 {
		t.Fatalf("verify: %d\n%s%s", code, out, errOut)
	}
	pack := filepath.Join(t.TempDir(), "pack.tar.gz")
	if code, out, errOut := runCLI(t, "", "audit", "export", "--log", dataDir, "--public-key", pub, "--format", "evidence", "-o", pack); code != 0 {
		t.Fatalf("export: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "", "audit", "verify", "--evidence", pack, "--public-key", pub); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("verify --evidence: %d\n%s%s", code, out, errOut)
	}
	code, res, out := runDiff(t, "--base", "../../policies", "--head", "../../policies", "--replay", dataDir, "--public-key", pub,
		"--inventory", inv, "--reevaluate-base")
	if code != 0 || res.Replay == nil || res.Replay.Decisions != 2 || res.Replay.Reproduced != 2 {
		t.Fatalf("replay: %d %+v\n%s", code, res.Replay, out)
	}
}

func fetchEntry(t *testing.T, client *http.Client, addr string, index uint64) *audit.EntryProof {
	t.Helper()
	resp, err := client.Get(fmt.Sprintf("http://%s/v1/audit/entries/%d", addr, index))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e audit.EntryProof
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 200 {
		t.Fatalf("entry %d: %d %v", index, resp.StatusCode, err)
	}
	return &e
}
