package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/drift"
	"github.com/sovereign-engine/sovereign/engine"
)

// TestDriftEndpoint: GET /v1/drift judges the demo's current state (fra-2's
// C5 attestation ended on 2025-12-31), answers with the receipt of a signed
// drift record whose digest is that of the report answered.
func TestDriftEndpoint(t *testing.T) {
	ts := newTestServer(t)
	status, body := ts.get(t, "/v1/drift?until=2099-12-31")
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	var answer struct {
		drift.Report
		Audit *struct {
			Index uint64 `json:"index"`
		} `json:"audit"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range answer.OutOfCompliance {
		if f.Dataset == "patient-records-de" && f.Site == "fra-2" {
			found = f.Since == "2026-01-01" && f.SinceBasis == drift.SinceChange && len(f.Violations) > 0
		}
	}
	if !found || answer.Audit == nil || answer.Until != "2099-12-31" {
		t.Fatalf("report %s", body)
	}
	recs := recordsOfKind(t, ts.audit, audit.KindDrift, 1)
	if len(recs) != 1 {
		t.Fatalf("%d drift records, want 1", len(recs))
	}
	var res audit.DriftResult
	if err := json.Unmarshal(recs[0].Result, &res); err != nil {
		t.Fatal(err)
	}
	full, _ := json.Marshal(&answer.Report)
	sum := sha256.Sum256(full)
	if res.ResultSHA256 != hex.EncodeToString(sum[:]) || res.OutOfCompliance != len(answer.OutOfCompliance) || len(res.Items) != len(answer.OutOfCompliance)+len(answer.Forecast) {
		t.Errorf("record %s does not match the report", recs[0].Result)
	}
	if recs[0].Principal != "anonymous" || recs[0].InventoryRevision != answer.InventoryRevision {
		t.Errorf("record principal %q, inventory %q", recs[0].Principal, recs[0].InventoryRevision)
	}

	for _, q := range []string{"until=2020-01-01", "until=soon"} {
		status, body := ts.get(t, "/v1/drift?"+q)
		if e := decodeError(t, body); status != http.StatusUnprocessableEntity || len(e.Details) != 1 || e.Details[0].Path != "until" {
			t.Errorf("%s: %d %s", q, status, body)
		}
	}
	if n := len(recordsOfKind(t, ts.audit, audit.KindDrift, 2)); n != 1 {
		t.Errorf("a refused query was recorded: %d drift records", n)
	}
}

// TestDriftAuthorization: drift.read on the inventory for admins and
// auditors; a tenant reads its own datasets' drift only.
func TestDriftAuthorization(t *testing.T) {
	ts := newAuthServer(t)
	cases := []struct {
		token, query string
		want         int
	}{
		{tokAdmin, "", http.StatusOK},
		{tokAuditor, "", http.StatusOK},
		{tokAuditor, "?tenant=klinikum", http.StatusOK},
		{tokKlinikum, "?tenant=klinikum", http.StatusOK},
		{tokKlinikum, "", http.StatusForbidden},
		{tokAcme, "?tenant=klinikum", http.StatusForbidden},
		{tokWebhook, "", http.StatusForbidden},
		{tokSite, "", http.StatusForbidden},
		{noCredentials, "", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		status, _, body := ts.do(t, http.MethodGet, "/v1/drift"+tc.query, tc.token, nil)
		if status != tc.want {
			t.Errorf("%s %q: %d, want %d: %s", tc.token, tc.query, status, tc.want, body)
			continue
		}
		if status != http.StatusOK {
			continue
		}
		var r drift.Report
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		for _, f := range append(r.OutOfCompliance, r.Forecast...) {
			if r.Tenant != "" && f.Tenant != r.Tenant {
				t.Errorf("tenant %s sees %+v", r.Tenant, f)
			}
		}
	}
	_ = api.CodeForbidden
}

// workloadsSeen is what a background audit reports, as kubeaudit.Auditor
// does: a workload of one tenant out of compliance.
type workloadsSeen struct{ listed bool }

func (w workloadsSeen) Findings(tenant string) (int, []drift.Finding, bool) {
	if !w.listed {
		return 0, nil, false
	}
	if tenant != "" && tenant != "acme" {
		return 0, nil, true
	}
	return 3, []drift.Finding{{Kind: drift.KindWorkload, Object: "Pod shop/roaming", Tenant: "acme", Datasets: []string{"customer-pii-eu"},
		Sites: []string{"us-east-1"}, Violations: []engine.Violation{{Rule: "gdpr.chapter5.no_basis", Citation: "GDPR Art. 44"}},
		Since: "2026-12-01", SinceBasis: drift.SinceObserved}}, true
}

// TestDriftWorkloads: with a background audit, GET /v1/drift lists the
// workloads it found out of compliance, counts those it judged, and its
// record names them; before the audit has listed the cluster, none.
func TestDriftWorkloads(t *testing.T) {
	ts := newTestServer(t)
	ts.api.SetWorkloadDrift(workloadsSeen{})
	_, body := ts.get(t, "/v1/drift")
	var before drift.Report
	if err := json.Unmarshal(body, &before); err != nil {
		t.Fatal(err)
	}
	for _, f := range before.OutOfCompliance {
		if f.Kind == drift.KindWorkload || before.Checked.Workloads != 0 {
			t.Fatalf("not listed yet, yet %s", body)
		}
	}

	ts.api.SetWorkloadDrift(workloadsSeen{listed: true})
	for _, q := range []string{"", "?tenant=acme", "?tenant=klinikum"} {
		status, body := ts.get(t, "/v1/drift"+q)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", q, status, body)
		}
		var r drift.Report
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		var objects []string
		for _, f := range r.OutOfCompliance {
			if f.Kind == drift.KindWorkload {
				objects = append(objects, f.Object)
			}
		}
		want := 1
		if q == "?tenant=klinikum" {
			want = 0
		}
		if len(objects) != want {
			t.Errorf("%s: workloads %v", q, objects)
		}
	}
	// The record is of the inventory's state that the run judged; the
	// background audit records the cluster's runs itself (source
	// kubernetes), a scope of their own in the auditor's report.
	recs := recordsOfKind(t, ts.audit, audit.KindDrift, 4)
	for _, rec := range recs {
		var res audit.DriftResult
		if err := json.Unmarshal(rec.Result, &res); err != nil {
			t.Fatal(err)
		}
		for _, it := range res.Items {
			if it.Kind == drift.KindWorkload || it.Object != "" {
				t.Errorf("a GET /v1/drift record names a workload: %s", rec.Result)
			}
		}
	}
}
