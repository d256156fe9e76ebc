package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
)

type answered struct {
	DecisionID string `json:"decision_id"`
	Audit      struct {
		Index       uint64 `json:"index"`
		EntrySHA256 string `json:"entry_sha256"`
	} `json:"audit"`
}

// Every decision that got a 200 survives a SIGKILL in the middle of load: after a
// restart it is in the log, signed, at the index it was answered with, and the
// whole log verifies.
func TestCrashDuringLoadLosesNoAnsweredDecision(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server")
	}
	dataDir := t.TempDir()
	s := startServer(t, dataDir)

	var mu sync.Mutex
	var got []answered
	var failedAfterKill, bigAnswered int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	bodies := []string{
		`{"dataset": "customer-pii-eu", "operation": "store"}`,
		`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "replicate", "mechanism": {"kind": "scc", "module": "C2P"}}`,
		bigPlacement(),
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path, body := "/v1/decisions/placement", bodies[0]
				switch {
				case w == 0:
					// A record too large for one entry: its body is
					// written before its entry, and must survive too.
					body = bodies[2]
				case (w+i)%2 == 1:
					path, body = "/v1/decisions/transfer", bodies[1]
				}
				resp, err := client.Post("http://"+s.addr+path, "application/json", strings.NewReader(body))
				if err != nil {
					mu.Lock()
					failedAfterKill++
					mu.Unlock()
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					// The kill cut the answer while it was being sent
					// (answers carry the regimes considered, tens of KB):
					// the client never received a decision.
					mu.Lock()
					failedAfterKill++
					mu.Unlock()
					continue
				}
				if resp.StatusCode != http.StatusOK {
					continue
				}
				var a answered
				if err := json.Unmarshal(b, &a); err != nil || a.Audit.EntrySHA256 == "" {
					t.Errorf("a 200 without an audit receipt: %s", b)
					continue
				}
				mu.Lock()
				got = append(got, a)
				if w == 0 {
					bigAnswered++
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(got) < 10 || bigAnswered == 0 {
		t.Fatalf("only %d decisions answered before the kill, %d of them with a body; the test proves nothing", len(got), bigAnswered)
	}
	t.Logf("%d decisions answered before SIGKILL", len(got))
	// Decisions answered from the journal before the tree held them are
	// integrated by the restart's replay (audit/journal.go).
	if raw, err := os.ReadFile(filepath.Join(dataDir, "log", "checkpoint")); err == nil {
		if cp, err := audit.PeekCheckpoint(raw); err == nil {
			beyond := 0
			for _, a := range got {
				if a.Audit.Index >= cp.Size {
					beyond++
				}
			}
			t.Logf("%d of them beyond the last checkpoint (size %d) at the kill", beyond, cp.Size)
		}
	}

	// Restart on the same data directory: the same log continues.
	s2 := startServer(t, dataDir)
	seen := map[uint64]string{}
	for _, a := range got {
		if prev, dup := seen[a.Audit.Index]; dup {
			t.Fatalf("index %d answered twice (%s and %s)", a.Audit.Index, prev, a.DecisionID)
		}
		seen[a.Audit.Index] = a.DecisionID
		resp, err := client.Get(fmt.Sprintf("http://%s/v1/audit/entries/%d", s2.addr, a.Audit.Index))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("entry %d of an answered decision: %d %s", a.Audit.Index, resp.StatusCode, b)
		}
		var e struct {
			EntrySHA256 string `json:"entry_sha256"`
			Record      struct {
				ID string `json:"id"`
			} `json:"record"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if e.EntrySHA256 != a.Audit.EntrySHA256 || e.Record.ID != a.DecisionID {
			t.Fatalf("entry %d is not the answered decision %s: %s", a.Audit.Index, a.DecisionID, b)
		}
	}
	// New decisions continue the same log after the old entries.
	resp, err := client.Post("http://"+s2.addr+"/v1/decisions/placement", "application/json", strings.NewReader(bodies[0]))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var after answered
	if err := json.Unmarshal(b, &after); err != nil || after.Audit.EntrySHA256 == "" {
		t.Fatalf("decision after restart: %s", b)
	}
	for idx := range seen {
		if after.Audit.Index <= idx {
			t.Fatalf("decision after restart got index %d, not after %d", after.Audit.Index, idx)
		}
	}

	// Stop cleanly, then verify the whole log offline as an auditor would.
	if err := s2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s2.cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v\n%s", err, s2.stderr)
	}
	var out, errb bytes.Buffer
	err = run(t.Context(), []string{"audit", "verify", "--log", filepath.Join(dataDir, "log"), "--public-key", filepath.Join(dataDir, "signing.pub")}, nil, &out, &errb)
	if code := exitCode(err, &errb); code != 0 {
		t.Fatalf("audit verify after the crash: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	t.Logf("audit verify: %s", strings.TrimSpace(out.String()))
}

// bigPlacement is a placement whose request is over one log entry (an inline
// dataset with 1,500 categories), so that its record keeps request and
// result in a body (docs/audit.md, "Bodies").
func bigPlacement() string {
	cats := make([]string, 1500)
	for i := range cats {
		cats[i] = fmt.Sprintf(`"category-%04d-%s"`, i, strings.Repeat("x", 30))
	}
	return `{"dataset": {"id": "big", "classification": "internal", "categories": [` + strings.Join(cats, ",") + `]}, "operation": "store"}`
}
