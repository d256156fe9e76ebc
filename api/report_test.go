package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit/report"
)

func TestAuditReport(t *testing.T) {
	ts := newTestServer(t)
	for _, cand := range []string{"us-east-1", "fra-1", "us-east-1"} {
		if status, body := ts.post(t, "/v1/decisions/placement", "application/json",
			[]byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["`+cand+`"]}`)); status != http.StatusOK {
			t.Fatalf("decision: %d %s", status, body)
		}
	}
	// Reports read the published checkpoint.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ts.audit.Entry(ctx, 2); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Format(time.DateOnly)
	status, body := ts.get(t, "/v1/audit/report?format=json&from="+day+"&tenant=")
	if status != http.StatusOK {
		t.Fatalf("report: %d %s", status, body)
	}
	var doc struct {
		Records []report.Row   `json:"records"`
		Summary report.Summary `json:"summary"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Records) != 3 || doc.Summary.Totals.ByOutcome[report.OutcomeDenied] != 2 || doc.Summary.Checkpoint.Size < 3 {
		t.Errorf("report: %d records, totals %+v, checkpoint %+v", len(doc.Records), doc.Summary.Totals, doc.Summary.Checkpoint)
	}
	for format, prefix := range map[string]string{"csv": "index,id,time", "html": "<!DOCTYPE html>", "pdf": "%PDF-", "evidence": "\x1f\x8b"} {
		status, body := ts.get(t, "/v1/audit/report?format="+format)
		if status != http.StatusOK || !bytes.HasPrefix(body, []byte(prefix)) {
			t.Errorf("%s: %d %q", format, status, body[:min(len(body), 40)])
		}
		if format == "evidence" {
			if _, err := report.VerifyEvidence(context.Background(), bytes.NewReader(body), nil, nil); err != nil {
				t.Errorf("evidence from the API: %v", err)
			}
		}
	}
	for _, q := range []string{"format=xml", "from=yesterday", "kind=nope", "from=2026-02-02&to=2026-02-01", "full_verify=maybe"} {
		if status, body := ts.get(t, "/v1/audit/report?"+q); status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "invalid_request") {
			t.Errorf("%s: %d %s", q, status, body)
		}
	}

	// A log altered on disk is not reported on.
	bundle := filepath.Join(ts.audit.Dir(), "tile", "entries", "000.p", "3")
	if _, err := os.Stat(bundle); err != nil {
		matches, _ := filepath.Glob(filepath.Join(ts.audit.Dir(), "tile", "entries", "*.p", "*"))
		if len(matches) == 0 {
			t.Fatal("no entry bundle")
		}
		bundle = matches[len(matches)-1]
	}
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"fra-1"`), []byte(`"fra-2"`), 1)
	if err := os.WriteFile(bundle, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if status, body := ts.get(t, "/v1/audit/report?format=csv"); status != http.StatusConflict || !strings.Contains(string(body), "audit_unverified") {
		t.Errorf("tampered log: %d %s", status, body)
	}
}
