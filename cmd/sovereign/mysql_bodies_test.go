package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/mysqltest"
)

// On the mysql backend a decision too large for one log entry is answered
// and logged, its body in the database: a placement over 300 candidate
// sites, all refused, is served with its body put back (by another replica
// too), verifies through the API's tile URL, exports as an evidence pack that
// verifies and replays; the body altered in its table fails verification
// naming the record's index.
func TestMySQLLogKeepsBodiesOfLargeDecisions(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an inventory and starts a server on MariaDB")
	}
	dsn := mysqltest.DSN(t)
	inv := filepath.Join(t.TempDir(), "inventory")
	gen := exec.Command("go", "run", "../../scripts/geninventory", "-sites", "300", "-datasets", "20", "-workloads", "1", "-out", inv)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("geninventory: %v\n%s", err, out)
	}
	dataDir := t.TempDir()
	s := startServerWith(t, serverStart{dataDir: dataDir, inventory: inv, env: []string{"SOVEREIGN_LOG_DSN=" + dsn}, ready: 60 * time.Second},
		"--log-backend", "mysql")

	cands := make([]string, 300)
	for i := range cands {
		cands[i] = fmt.Sprintf("%q", fmt.Sprintf("site-%05d", i))
	}
	// ds-000003 of the generated inventory (seed 1) is refused at
	// every one of the 300 sites, each with its reasons.
	req := `{"dataset": "ds-000003", "operation": "store", "candidates": [` + strings.Join(cands, ",") + `]}`
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Post("http://"+s.addr+"/v1/decisions/placement", "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var a answered
	if resp.StatusCode != 200 || json.Unmarshal(b, &a) != nil || a.Audit.EntrySHA256 == "" {
		t.Fatalf("placement over 300 sites on mysql: %d %.300s", resp.StatusCode, b)
	}
	if len(b) <= audit.MaxEntrySize {
		t.Fatalf("the answer is %d bytes: it fits one entry, the test proves nothing", len(b))
	}
	e := fetchEntry(t, client, s.addr, a.Audit.Index)
	if e.Record.Body == nil || e.Record.ID != a.DecisionID || len(e.Record.Result) < len(b)/2 {
		t.Fatalf("entry %d: body %+v, id %s, result %d bytes (answer %d)", a.Audit.Index, e.Record.Body, e.Record.ID, len(e.Record.Result), len(b))
	}
	ref := e.Record.Body
	if resp, err := client.Get("http://" + s.addr + "/v1/audit/log/bodies/" + ref.SHA256); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || audit.CheckBody(ref, body) != nil {
			t.Fatalf("GET bodies/%s: %d, %d bytes", ref.SHA256, resp.StatusCode, len(body))
		}
	}

	tiles := "http://" + s.addr + "/v1/audit/log"
	pub := filepath.Join(dataDir, audit.SigningPublicKeysFile)
	if code, out, errOut := runCLI(t, "", "audit", "verify", "--log", tiles, "--public-key", pub); code != 0 {
		t.Fatalf("verify: %d\n%s%s", code, out, errOut)
	}
	// Another replica of the log serves the body it did not write.
	dirB := t.TempDir()
	copyDataKeys(t, dataDir, dirB)
	sB := startServerWith(t, serverStart{dataDir: dirB, inventory: inv, env: []string{"SOVEREIGN_LOG_DSN=" + dsn}, ready: 60 * time.Second},
		"--log-backend", "mysql")
	if eB := fetchEntry(t, client, sB.addr, a.Audit.Index); eB.Record.Body == nil || *eB.Record.Body != *ref || !bytes.Equal(eB.Record.Result, e.Record.Result) {
		t.Fatalf("entry %d read on another replica: body %+v, result %d bytes", a.Audit.Index, eB.Record.Body, len(eB.Record.Result))
	}
	if code, out, errOut := runCLI(t, "", "audit", "verify", "--log", "http://"+sB.addr+"/v1/audit/log", "--public-key", pub); code != 0 {
		t.Fatalf("verify through another replica: %d\n%s%s", code, out, errOut)
	}
	pack := filepath.Join(t.TempDir(), "pack.tar.gz")
	if code, out, errOut := runCLI(t, "", "audit", "export", "--log", tiles, "--public-key", pub, "--format", "evidence", "-o", pack); code != 0 {
		t.Fatalf("export: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "", "audit", "verify", "--evidence", pack, "--public-key", pub); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("verify --evidence: %d\n%s%s", code, out, errOut)
	}
	code, res, out := runDiff(t, "--base", "../../policies", "--head", "../../policies", "--replay", tiles, "--public-key", pub,
		"--inventory", inv, "--reevaluate-base")
	if code != 0 || res.Replay == nil || res.Replay.Decisions != 1 || res.Replay.Reproduced != 1 {
		t.Fatalf("replay: %d %+v\n%s", code, res.Replay, out)
	}

	// One refusal turned into a permission, in the database.
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.Exec("UPDATE "+audit.MySQLBodyTable+" SET data = REPLACE(data, '\"allowed\":false', '\"allowed\":true ') WHERE sha256 = ?", ref.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		t.Fatal("the body row was not changed")
	}
	code, vout, verr := runCLI(t, "", "audit", "verify", "--log", tiles, "--public-key", pub)
	if code == 0 || !strings.Contains(vout+verr, fmt.Sprintf("index %d", a.Audit.Index)) || !strings.Contains(vout+verr, "body") {
		t.Fatalf("verify of a tampered body: exit %d, want a failure naming index %d and the body\n%s%s", code, a.Audit.Index, vout, verr)
	}
	t.Logf("%d-byte answer; entry %d of %d bytes, body of %d; tampered: %s", len(b), a.Audit.Index, len(e.Entry), ref.Size, strings.TrimSpace(verr))
}
