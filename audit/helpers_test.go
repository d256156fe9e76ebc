package audit

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// testRecord is a placement decision shaped like the API's.
func testRecord(i int) *Record {
	return &Record{
		Kind:      KindPlacement,
		Principal: `Tenant::"acme"`,
		Request: json.RawMessage(fmt.Sprintf(
			`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1", "us-east-1"], "seq": %d}`, i)),
		Result: json.RawMessage(`{"allowed": true, "sites": [{"site": "fra-1", "allowed": true, "obligations": []},
			{"site": "us-east-1", "allowed": false, "violations": [{"rule": "gdpr.chapter5.no_basis", "message": "no transfer basis", "citation": "GDPR Art. 44"}]}]}`),
		Bundle:            BundleRef{Revision: "2026-01-01T00:00:00Z", Digest: "sha256:3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		InventoryRevision: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		EngineVersion:     "test",
	}
}

// openTest opens a log in dir with test-friendly options.
func openTest(t testing.TB, dir string, mod ...func(*Options)) *Log {
	t.Helper()
	o := Options{DataDir: dir, Origin: "sovereign/test"}
	for _, m := range mod {
		m(&o)
	}
	l, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func closeTest(t testing.TB, l *Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// appendN appends n records from `writers` goroutines and returns receipts by index.
func appendN(t testing.TB, l *Log, n, writers int) []Receipt {
	t.Helper()
	receipts := make([]Receipt, 0, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	next := make(chan int)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rec, err := l.Append(context.Background(), testRecord(i))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				receipts = append(receipts, rec)
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("Append: %v", firstErr)
	}
	return receipts
}

// auditorKeys reads the public material an auditor gets from the data dir.
func auditorKeys(t testing.TB, dataDir string) ([]crypto.PublicKey, note.Verifier) {
	t.Helper()
	pubPEM, err := os.ReadFile(filepath.Join(dataDir, SigningPublicKeysFile))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParsePublicKeys(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := os.ReadFile(filepath.Join(dataDir, LogVerifierKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NoteVerifier(string(vkey))
	if err != nil {
		t.Fatal(err)
	}
	return keys, v
}

// waitPublished waits until the published checkpoint covers size entries.
func waitPublished(t testing.TB, l *Log, size uint64) *Checkpoint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cp, err := l.waitCheckpoint(ctx, size)
	if err != nil {
		t.Fatalf("waiting for checkpoint %d: %v", size, err)
	}
	return cp
}

func asVerifyError(t testing.TB, err error) *VerifyError {
	t.Helper()
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *VerifyError", err, err)
	}
	return ve
}
