package report

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sovereign-engine/sovereign/audit"
)

// testRecord is a placement decision shaped like the API's.
func testRecord(i int) *audit.Record {
	return &audit.Record{
		Kind:      audit.KindPlacement,
		Principal: `Tenant::"acme"`,
		Request: json.RawMessage(fmt.Sprintf(
			`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1", "us-east-1"], "seq": %d}`, i)),
		Result: json.RawMessage(`{"allowed": true, "sites": [{"site": "fra-1", "allowed": true, "obligations": []},
			{"site": "us-east-1", "allowed": false, "violations": [{"rule": "gdpr.chapter5.no_basis", "message": "no transfer basis", "citation": "GDPR Art. 44"}]}]}`),
		Bundle:            audit.BundleRef{Revision: "2026-01-01T00:00:00Z", Digest: "sha256:3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		InventoryRevision: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		EngineVersion:     "test",
	}
}

// recordBytes is r as the log signs it: with an id, a time and the request's
// digest, in canonical JSON.
func recordBytes(t testing.TB, r *audit.Record) []byte {
	t.Helper()
	if r.ID == "" {
		r.ID = uuid.Must(uuid.NewV7()).String()
	}
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	if r.RequestSHA256 == "" && len(r.Request) > 0 {
		sum, err := audit.RequestDigest(r.Request)
		if err != nil {
			t.Fatal(err)
		}
		r.RequestSHA256 = sum
	}
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openTest opens a log in dir with test-friendly options.
func openTest(t testing.TB, dir string, mod ...func(*audit.Options)) *audit.Log {
	t.Helper()
	o := audit.Options{DataDir: dir, Origin: "sovereign/test"}
	for _, m := range mod {
		m(&o)
	}
	l, err := audit.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// closeTest closes a log, which publishes a checkpoint of every entry.
func closeTest(t testing.TB, l *audit.Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// appendConcurrently appends record(0) ... record(n-1) to l from writers
// goroutines and returns how many failed.
func appendConcurrently(ctx context.Context, l *audit.Log, n, writers int, record func(i int) *audit.Record) int64 {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if _, err := l.Append(ctx, record(int(i))); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return failed.Load()
}

// envInt reads a benchmark knob from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// splitBundle parses a tlog-tiles entry bundle (big-endian uint16 length,
// then the entry, repeated).
func splitBundle(raw []byte) ([][]byte, error) {
	var entries [][]byte
	for len(raw) > 0 {
		if len(raw) < 2 {
			return entries, errors.New("truncated entry length")
		}
		n := int(binary.BigEndian.Uint16(raw))
		if len(raw) < 2+n {
			return entries, errors.New("truncated entry")
		}
		entries = append(entries, raw[2:2+n])
		raw = raw[2+n:]
	}
	return entries, nil
}
