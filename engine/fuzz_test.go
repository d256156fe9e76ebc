package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/engine"
)

// Request decoding is the first thing a caller's bytes meet. Whatever they
// are, decoding ends in a request or a *engine.ValidationError (422) or a
// decoding error (400), never a panic, and a decoded request decodes again
// from its own JSON to an equal request (nothing is half-read).
func FuzzDecodePlacementRequest(f *testing.F) {
	for _, s := range []string{
		`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1", "us-east-1"]}`,
		`{"workload": "billing-api", "operation": "process", "at": "2026-06-01T00:00:00Z"}`,
		`{"dataset": {"id": "x", "tenant": "acme", "classification": "confidential", "categories": ["personal"], "subject_jurisdictions": ["EU"], "origin_country": "DE"}, "operation": "store"}`,
		`{"dataset": "a", "operation": "store", "at": "1677-01-01T00:00:00Z"}`,
		`{"dataset": "a", "operation": "store"} {}`,
		`{"dataset": "a", "DataSet": "b", "operation": "store"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := engine.DecodePlacementRequest(body)
		if err != nil {
			if req != nil {
				t.Fatalf("a request and an error: %v", err)
			}
			return
		}
		if req == nil {
			t.Fatal("neither a request nor an error")
		}
	})
}

// FuzzDecodeTransferRequest is FuzzDecodePlacementRequest for transfers.
func FuzzDecodeTransferRequest(f *testing.F) {
	for _, s := range []string{
		`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "bom-1", "type": "replicate", "mechanism": {"kind": "scc", "reference": "SCC-2021/914-M2 #44"}}`,
		`{"dataset": "customer-pii-eu", "from": "fra-1", "to": "us-east-1", "type": "remote-access", "at": "2262-04-12T00:00:00Z"}`,
		`{"dataset": "x", "from": "", "to": null, "type": 5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := engine.DecodeTransferRequest(body)
		if (req == nil) == (err == nil) {
			t.Fatalf("request %v and error %v: want exactly one", req, err)
		}
	})
}

// An inventory directory is read from files an operator (or whoever can
// write the directory) controls: any bytes in a file end in an inventory or
// an error naming the file, never a panic.
func FuzzLoadInventory(f *testing.F) {
	for _, dir := range []string{"../testdata/inventory/demo", "../testdata/inventory/good-min", "../testdata/inventory/bad-multiple", "../testdata/inventory/bad-malformed-yaml"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, n := range names {
			if b, err := os.ReadFile(n); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("sites: &a [*a]"))
	f.Add([]byte("sites:\n" + strings.Repeat("- ", 200) + "x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "inventory.yaml"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		inv, err := engine.LoadInventory(dir)
		if (inv == nil) == (err == nil) {
			t.Fatalf("inventory %v and error %v: want exactly one", inv, err)
		}
		if err != nil && !strings.Contains(err.Error(), "inventory.yaml") && !errors.Is(err, os.ErrNotExist) {
			// Every refusal names the file it is about.
			if !strings.Contains(err.Error(), "no sites") {
				t.Fatalf("error does not name the file: %v", err)
			}
		}
	})
}
