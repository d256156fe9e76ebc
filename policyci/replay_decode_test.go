package policyci_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policyci"
)

// TestReplayDecodesAsTheServer: replay reads a logged request with the
// server's own decoder, so a body the server would refuse (a key in another
// case, which encoding/json alone would take for the field) is skipped as
// not decodable rather than decided on what the record does not say. The
// server never logs one; an older one, or another writer of the log, might.
func TestReplayDecodesAsTheServer(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	l, err := audit.Open(ctx, audit.Options{DataDir: dataDir, Origin: "sovereign/replay-decode-test"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.LoadPolicy(filepath.Join("..", "testdata", "policyci", "pass"))
	if err != nil {
		t.Fatal(err)
	}
	invDir := filepath.Join("..", "testdata", "policyci", "inventory", "small")
	inv, err := engine.LoadInventory(invDir)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, p, inv)
	if err != nil {
		t.Fatal(err)
	}
	dlog := api.AuditDecisionLog{Log: l}
	for _, body := range []string{
		`{"dataset": "pii-eu", "operation": "store"}`,
		`{"dataset": "catalog", "DATASET": "pii-eu", "operation": "store"}`,
		`{"dataset": {"id": "x", "classification": "public", "Categories": ["a"]}, "operation": "store"}`,
	} {
		// Decided as encoding/json reads it, as a lenient writer would have.
		var req engine.PlacementRequest
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		d, err := eng.Placement(ctx, &req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dlog.LogDecision(ctx, api.DecisionEntry{Kind: engine.KindPlacement, Principal: "test", Request: []byte(body), Decision: d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	src, err := audit.NewSource(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(filepath.Join(dataDir, audit.SigningPublicKeysFile))
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := os.ReadFile(filepath.Join(dataDir, audit.LogVerifierKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := audit.NewTrustedLog(dataDir, src, pemBytes, string(vkey))
	if err != nil {
		t.Fatal(err)
	}
	pass := filepath.Join("..", "testdata", "policyci", "pass")
	res, err := policyci.Diff(ctx, policyci.DiffOptions{Base: pass, Head: pass, Replay: &policyci.ReplayOptions{
		Log: trusted, Inventory: invDir,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rp := res.Replay; rp.Decisions != 1 || rp.Skipped["request does not decode"] != 2 || rp.BaseFromLog != 1 {
		t.Errorf("replay: want 1 decision replayed and 2 refused as the server refuses them, got %+v", rp)
	}
}
