package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/internal/rss"
)

// A request made of nothing but mistakes gets a bounded answer: the first
// MaxErrorDetails details and the count of the rest (a 1 MB request was
// answered with a 7.2 MB 422 of 99,999 details).
func TestErrorDetailsAreCapped(t *testing.T) {
	ts := newTestServer(t)
	const n = 60000
	var b strings.Builder
	b.WriteString(`{"dataset": {"id": "inline", "classification": "internal", "subject_jurisdictions": [`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"zz"`)
	}
	b.WriteString(`]}, "operation": "store"}`)
	status, body := ts.post(t, "/v1/decisions/placement", "application/json", []byte(b.String()))
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d: %.300s", status, body)
	}
	var e api.ErrorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Error.Details) != api.MaxErrorDetails || len(e.Error.Details)+e.Error.DetailsOmitted != n {
		t.Fatalf("%d details and %d omitted, want %d and %d", len(e.Error.Details), e.Error.DetailsOmitted, api.MaxErrorDetails, n-api.MaxErrorDetails)
	}
	if len(body) > 64<<10 {
		t.Errorf("a %d-byte answer to a %d-byte request", len(body), b.Len())
	}
	t.Logf("%d-byte request of %d bad jurisdictions: %d-byte 422", b.Len(), n, len(body))
}

// 100,000 candidates, unknown or one site repeated, are more than the
// inventory has: one problem naming the field, not one per entry.
func TestTooManyCandidatesIsOneProblem(t *testing.T) {
	ts := newTestServer(t)
	const n = 100000
	for name, cand := range map[string]func(int) string{
		"unknown":    func(i int) string { return fmt.Sprintf("n%d", i) },
		"duplicates": func(int) string { return "fra-1" },
	} {
		var b strings.Builder
		b.WriteString(`{"dataset": "customer-pii-eu", "candidates": [`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + cand(i) + `"`)
		}
		b.WriteString(`]}`) // and no operation
		status, body := ts.post(t, "/v1/decisions/placement", "application/json", []byte(b.String()))
		var e api.ErrorBody
		if err := json.Unmarshal(body, &e); err != nil || status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d %.300s", name, status, body)
		}
		paths := map[string]string{}
		for _, d := range e.Error.Details {
			paths[d.Path] = d.Message
		}
		if len(paths) != 2 || !strings.Contains(paths["candidates"], "100000 sites listed") || paths["operation"] == "" || len(body) > 1024 {
			t.Fatalf("%s: %d-byte answer %s", name, len(body), body)
		}
	}
}

// Unknown paths under /v1/audit/log/ answer the JSON error envelope like
// every other route (they were plain text); tiles are still served as bytes.
func TestAuditLogErrorsAreJSON(t *testing.T) {
	ts := newTestServer(t)
	for _, p := range []string{"/v1/audit/log/nonsense", "/v1/audit/log/tile/0/999", "/v1/audit/log/tile/entries/x", "/v1/audit/log/.state/treeState"} {
		resp, err := ts.Client().Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s %q", p, resp.StatusCode, resp.Header.Get("Content-Type"), b)
			continue
		}
		if e := decodeError(t, b); e.Code != api.CodeNotFound {
			t.Errorf("%s: code %q", p, e.Code)
		}
	}
	resp, err := ts.Client().Get(ts.URL + "/v1/audit/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.HasPrefix(string(b), "sovereign/test\n") {
		t.Errorf("checkpoint: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

// Many report requests at once hold the memory of at most
// MaxConcurrentReports reports: the rest are refused with 429 before they
// build anything (six concurrent PDF reports over 70k records took 1.25 GB).
// Measured against one report of the same log, in a child process each.
func TestConcurrentReportsMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a log of 3,000 decisions twice")
	}
	const decisions, burst = 3000, 8
	measure := func(t *testing.T, concurrent int) rss.Result {
		return rss.Measure(t, func() error {
			ts := newTestServer(t, func(c *api.Config) { c.MaxConcurrentReports = 2 })
			for i := range decisions {
				body := fmt.Sprintf(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["us-east-1", "cn-north-1"], "at": "2026-06-01T00:%02d:%02dZ"}`, (i/60)%60, i%60)
				if status, b := ts.post(t, "/v1/decisions/placement", "application/json", []byte(body)); status != http.StatusOK {
					return fmt.Errorf("decision %d: %d %s", i, status, b)
				}
			}
			if err := ts.audit.AwaitIntegrated(t.Context()); err != nil {
				return err
			}
			runtime.GC()
			debug.FreeOSMemory()
			rss.Reset() // measure the reports, not the log's making
			var wg sync.WaitGroup
			codes := make(chan int, concurrent)
			for range concurrent {
				wg.Go(func() {
					resp, err := ts.Client().Get(ts.URL + "/v1/audit/report?format=pdf")
					if err != nil {
						codes <- 0
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					codes <- resp.StatusCode
				})
			}
			wg.Wait()
			close(codes)
			built := 0
			for c := range codes {
				switch c {
				case http.StatusOK:
					built++
				case http.StatusTooManyRequests:
				default:
					return fmt.Errorf("report: status %d", c)
				}
			}
			if built == 0 {
				return errors.New("no report built")
			}
			return nil
		})
	}
	var one, many rss.Result
	t.Run("one", func(t *testing.T) { one = measure(t, 1) })
	t.Run("burst", func(t *testing.T) { many = measure(t, burst) })
	if one.Err != "" || many.Err != "" {
		t.Fatalf("one: %s; burst: %s", one.Err, many.Err)
	}
	t.Logf("PDF report of %d decisions: one at a time %d MiB peak growth, %d at once %d MiB", decisions, one.PeakGrowth>>20, burst, many.PeakGrowth>>20)
	if many.PeakGrowth > 2*one.PeakGrowth+32<<20 {
		t.Errorf("%d reports at once grew memory by %d MiB, one by %d MiB: more than the 2 admitted at once", burst, many.PeakGrowth>>20, one.PeakGrowth>>20)
	}
}

// A request body is held to MaxBodyBytes before it is decoded (413 past it),
// and bodies over 64 KiB are decided MaxLargeRequests at a time: 16
// concurrent 64 MiB bodies, and 16 concurrent 1 MiB bodies of 100,000 bad
// candidates (each ~35 MiB while it is validated; 580 MiB for the 16 before
// the slots), hold a bounded amount of memory.
func TestRequestBodyMemoryIsBounded(t *testing.T) {
	for _, kind := range []string{"oversized", "mistakes"} {
		t.Run(kind, func(t *testing.T) { requestBodyMemory(t, kind) })
	}
}

func requestBodyMemory(t *testing.T, kind string) {
	const clients = 16
	res := rss.Measure(t, func() error {
		ts := newTestServer(t)
		var bad strings.Builder
		bad.WriteString(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": [`)
		for i := 0; bad.Len() < api.DefaultMaxBodyBytes-32; i++ {
			if i > 0 {
				bad.WriteByte(',')
			}
			fmt.Fprintf(&bad, `"x%d"`, i)
		}
		bad.WriteString(`]}`)
		badBody := bad.String()
		runtime.GC()
		rss.Reset()
		var wg sync.WaitGroup
		errs := make(chan error, 2*clients)
		for range clients {
			if kind == "oversized" {
				wg.Go(func() {
					// 64 MiB, streamed: never held by the client either.
					body := io.MultiReader(strings.NewReader(`{"dataset": "`), io.LimitReader(zeroReader{}, 64<<20))
					req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/decisions/placement", body)
					req.Header.Set("Content-Type", "application/json")
					resp, err := ts.Client().Do(req)
					if err != nil {
						return // the server may close the connection after its 413
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusRequestEntityTooLarge {
						errs <- fmt.Errorf("64 MiB body: %d", resp.StatusCode)
					}
				})
				continue
			}
			wg.Go(func() {
				resp, err := ts.Client().Post(ts.URL+"/v1/decisions/placement", "application/json", strings.NewReader(badBody))
				if err != nil {
					errs <- err
					return
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusUnprocessableEntity:
				case http.StatusServiceUnavailable: // no slot in time: try again later
					if resp.Header.Get("Retry-After") == "" {
						errs <- errors.New("503 without Retry-After")
					}
				default:
					errs <- fmt.Errorf("1 MiB of bad candidates: %d", resp.StatusCode)
				}
				if n > 64<<10 {
					errs <- fmt.Errorf("1 MiB of bad candidates: a %d-byte answer", n)
				}
			})
		}
		wg.Wait()
		close(errs)
		return <-errs
	})
	if res.Err != "" {
		t.Fatal(res.Err)
	}
	t.Logf("%s: %d clients at once: peak RSS growth %d MiB", kind, clients, res.PeakGrowth>>20)
	if res.PeakGrowth > 256<<20 {
		t.Errorf("peak RSS growth %d MiB, want under 256 MiB", res.PeakGrowth>>20)
	}
}

// zeroReader reads 'a' forever.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}
