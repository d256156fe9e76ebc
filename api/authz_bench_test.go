package api_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
)

// BenchmarkAuthOverhead serves the same placement request in-process without
// credentials ("open") and with a bearer token checked and the request
// authorized by Cedar ("token"); the difference is what authentication and
// authorization add to a request. The decision's audit append is included in
// both (it dominates): compare the two in one run.
func BenchmarkAuthOverhead(b *testing.B) {
	authn, err := auth.NewAuthenticator(testAuthConfig())
	if err != nil {
		b.Fatal(err)
	}
	body := `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`
	for _, c := range []struct {
		name  string
		cfg   func(*api.Config)
		token string
	}{
		{"open", func(*api.Config) {}, ""},
		{"token", func(c *api.Config) { c.Auth = authn }, tokAcme},
	} {
		b.Run(c.name, func(b *testing.B) {
			ts := newTestServer(b, c.cfg)
			h := ts.api.Handler()
			samples := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				req := httptest.NewRequest(http.MethodPost, "/v1/decisions/placement", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if c.token != "" {
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, req)
				samples = append(samples, time.Since(start))
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			b.StopTimer()
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkAuthOnly measures the authentication and authorization of a
// request alone: a route whose handler does nearly nothing
// (GET /v1/bundles/status), open versus with a token and Cedar.
func BenchmarkAuthOnly(b *testing.B) {
	authn, err := auth.NewAuthenticator(testAuthConfig())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		cfg   func(*api.Config)
		token string
	}{
		{"open", func(*api.Config) {}, ""},
		{"token", func(c *api.Config) { c.Auth = authn }, tokSite},
	} {
		b.Run(c.name, func(b *testing.B) {
			ts := newTestServer(b, c.cfg)
			h := ts.api.Handler()
			samples := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				req := httptest.NewRequest(http.MethodGet, "/v1/bundles/status", nil)
				if c.token != "" {
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, req)
				samples = append(samples, time.Since(start))
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			b.StopTimer()
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds()), "p99-µs")
		})
	}
}
