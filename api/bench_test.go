package api_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchmarkPlacementEndToEnd is one placement over HTTP on loopback, decided,
// signed and durably logged, with 16 clients in parallel.
func BenchmarkPlacementEndToEnd(b *testing.B) {
	ts := newTestServer(b)
	body := []byte(`{"dataset": "customer-pii-eu", "operation": "store", "at": "2026-06-01T00:00:00Z"}`)
	client := ts.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(ts.URL+"/v1/decisions/placement", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
