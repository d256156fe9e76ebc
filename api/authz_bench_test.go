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

// benchInterleaved sends the same request to a server without credentials
// ("open") and to one with a bearer token checked and the request authorized
// by Cedar ("token"), alternating, so that both see the same machine noise;
// the difference of their latencies is what authentication and authorization
// add to a request. Reported: p50 and p99 of each, in µs.
func benchInterleaved(b *testing.B, method, path, body, token string) {
	authn, err := auth.NewAuthenticator(testAuthConfig())
	if err != nil {
		b.Fatal(err)
	}
	open := newTestServer(b).api.Handler()
	authed := newTestServer(b, func(c *api.Config) { c.Auth = authn }).api.Handler()
	run := func(h http.Handler, tok string) time.Duration {
		var r *http.Request
		if body != "" {
			r = httptest.NewRequest(method, path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
		} else {
			r = httptest.NewRequest(method, path, nil)
		}
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		return d
	}
	openT := make([]time.Duration, 0, b.N)
	tokenT := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			openT = append(openT, run(open, ""))
			tokenT = append(tokenT, run(authed, token))
		} else {
			tokenT = append(tokenT, run(authed, token))
			openT = append(openT, run(open, ""))
		}
	}
	b.StopTimer()
	q := func(s []time.Duration, p int) float64 {
		slices.Sort(s)
		return float64(s[len(s)*p/100].Nanoseconds()) / 1e3
	}
	b.ReportMetric(q(openT, 50), "open-p50-µs")
	b.ReportMetric(q(openT, 99), "open-p99-µs")
	b.ReportMetric(q(tokenT, 50), "token-p50-µs")
	b.ReportMetric(q(tokenT, 99), "token-p99-µs")
}

// BenchmarkAuthOnly: a route whose handler does almost nothing
// (GET /v1/bundles/status, as a site principal), so the difference is
// authentication and authorization alone.
func BenchmarkAuthOnly(b *testing.B) {
	benchInterleaved(b, http.MethodGet, "/v1/bundles/status", "", tokSite)
}

// BenchmarkAuthDecision: a placement decision of a tenant on its own dataset,
// evaluated and durably recorded in the audit log on both servers.
func BenchmarkAuthDecision(b *testing.B) {
	benchInterleaved(b, http.MethodPost, "/v1/decisions/placement",
		`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`, tokAcme)
}
