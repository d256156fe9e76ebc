package report

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
)

// driftRecords are three drift runs after the content fixture: an
// unconfined run, a later unconfined run that supersedes it, and a run
// confined to the tenant klinikum.
func driftRecords(t *testing.T) []*audit.Record {
	t.Helper()
	c := audit.Context{Bundle: audit.BundleRef{Revision: "rev-1", Digest: "sha256:" + strings.Repeat("1", 64)},
		InventoryRevision: "sha256:" + strings.Repeat("a", 64), EngineVersion: "test"}
	c5 := []string{"dataset.required_certification", "de.sgbv393.c5"}
	stale := audit.DriftResult{EvaluatedAt: "2026-05-04T10:35:00Z", Datasets: 6, Stored: 9, Flows: 4, OutOfCompliance: 1,
		ResultSHA256: strings.Repeat("b", 64),
		Items:        []audit.DriftItem{{Kind: "stored", Dataset: "tax-records-fr", Tenant: "etat", Site: "par-1", Rules: []string{"fr.secnumcloud"}, Since: "2026-04-01"}}}
	now := audit.DriftResult{EvaluatedAt: "2026-05-04T10:40:00Z", Until: "2027-06-30", Datasets: 6, Stored: 9, Flows: 4,
		OutOfCompliance: 2, Forecast: 1, ResultSHA256: strings.Repeat("c", 64),
		Items: []audit.DriftItem{
			{Kind: "stored", Dataset: "patient-records-de", Tenant: "klinikum", Site: "fra-2", Rules: c5, Since: "2026-01-01"},
			{Kind: "flow", Dataset: "patient-records-de", Tenant: "klinikum", From: "ber-1", To: "fra-2", Type: "replicate", Rules: c5, Since: "2026-01-01"},
			{Kind: "stored", Dataset: "customer-pii-eu", Tenant: "acme", Site: "iad-1", Rules: []string{"gdpr.chapter5.no_basis"}, On: "2027-03-01"},
		}}
	confined := audit.DriftResult{EvaluatedAt: "2026-05-04T10:41:00Z", Datasets: 1, Stored: 2, Flows: 1, OutOfCompliance: 1,
		ResultSHA256: strings.Repeat("d", 64), Items: now.Items[:1]}
	kube := audit.DriftResult{EvaluatedAt: "2026-05-04T10:44:00Z", OutOfCompliance: 1, ResultSHA256: strings.Repeat("e", 64),
		Items: []audit.DriftItem{{Kind: "workload", Object: "Pod shop/roaming", Rules: []string{"gdpr.chapter5.no_basis"}, Since: "2026-05-04"}}}
	var recs []*audit.Record
	for i, r := range []struct {
		req audit.DriftRequest
		res audit.DriftResult
	}{{audit.DriftRequest{}, stale}, {audit.DriftRequest{Until: "2027-06-30"}, now}, {audit.DriftRequest{Tenant: "klinikum"}, confined},
		{audit.DriftRequest{Source: "kubernetes", Trigger: "date"}, kube}} {
		rec, err := audit.NewDrift(`User::"auditor@example"`, r.req, r.res, c)
		if err != nil {
			t.Fatal(err)
		}
		rec.Time = contentStart.Add(time.Duration(35+3*i) * time.Minute)
		if r.req.Tenant != "" {
			rec.Tenants = []string{r.req.Tenant}
		}
		recs = append(recs, rec)
	}
	return recs
}

// TestReportOutOfComplianceNow: the newest drift run of each scope is the
// report's "Out of compliance now", in every format, narrowed by the
// report's tenant, dataset and site; without a drift run the report says
// it knows nothing, not that all is well.
func TestReportOutOfComplianceNow(t *testing.T) {
	// Without a drift run.
	plain := newContentFixture(t)
	page, sum := plain.write(t, plain.opts, FormatHTML)
	if len(sum.OutOfCompliance) != 0 || !strings.Contains(htmlSection(t, page, "drift"), "No drift run in this period") {
		t.Errorf("a report without drift runs: %+v\n%s", sum.OutOfCompliance, htmlSection(t, page, "drift"))
	}
	doc, _ := plain.write(t, plain.opts, FormatPDF)
	if text := pdfText(readPDF(t, doc)); !containsWrapped(text, "No drift run in this period") {
		t.Errorf("pdf without drift runs:\n%s", text)
	}

	dir := t.TempDir()
	l := openTest(t, dir)
	recs := append(contentRecords(), driftRecords(t)...)
	for _, r := range recs {
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	closeTest(t, l)
	f := &reportFixture{dir: dir, n: len(recs), opts: reportOptions(t, dir)}

	page, sum = f.write(t, f.opts, FormatHTML)
	if len(sum.OutOfCompliance) != 3 {
		t.Fatalf("%d drift runs, want the newest unconfined one, klinikum's and the cluster's: %+v", len(sum.OutOfCompliance), sum.OutOfCompliance)
	}
	all, kl, kube := sum.OutOfCompliance[0], sum.OutOfCompliance[1], sum.OutOfCompliance[2]
	if kube.Source != "kubernetes" || len(kube.Now) != 1 || kube.Scope() != "Kubernetes workloads, all tenants" {
		t.Errorf("cluster run: %+v", kube)
	}
	if all.Tenant != "" || all.Index != uint64(len(recs)-3) || all.Result.ResultSHA256 != strings.Repeat("c", 64) ||
		len(all.Now) != 2 || len(all.Forecast) != 1 || all.Forecast[0].On != "2027-03-01" {
		t.Errorf("unconfined run: %+v", all)
	}
	if kl.Tenant != "klinikum" || len(kl.Now) != 1 || len(kl.Forecast) != 0 {
		t.Errorf("klinikum's run: %+v", kl)
	}
	sec := htmlSection(t, page, "drift")
	for _, want := range []string{"All tenants", "Tenant klinikum", "Kubernetes workloads, all tenants", "Pod shop/roaming", "stored at fra-2", "replicate ber-1 -&gt; fra-2", "2026-01-01",
		"de.sgbv393.c5", "stored at iad-1", "2027-03-01", strings.Repeat("c", 64)} {
		if !strings.Contains(sec, want) {
			t.Errorf("html drift section lacks %q:\n%s", want, sec)
		}
	}
	if strings.Contains(sec, "par-1") {
		t.Errorf("the superseded run is shown:\n%s", sec)
	}
	doc, _ = f.write(t, f.opts, FormatPDF)
	text := pdfText(readPDF(t, doc))
	for _, want := range []string{"Out of compliance now", "stored at fra-2", "replicate ber-1 -> fra-2", "stored at iad-1", "2027-03-01"} {
		if !containsWrapped(text, want) {
			t.Errorf("pdf lacks %q:\n%s", want, text)
		}
	}

	// A tenant's own report: its confined run only.
	o := f.opts
	o.Query = Query{Tenant: "klinikum", Confined: true}
	_, sum = f.write(t, o, FormatJSON)
	if len(sum.OutOfCompliance) != 1 || sum.OutOfCompliance[0].Tenant != "klinikum" {
		t.Errorf("confined report: %+v", sum.OutOfCompliance)
	}
	o.Query = Query{Tenant: "acme", Confined: true}
	if _, sum = f.write(t, o, FormatJSON); len(sum.OutOfCompliance) != 0 {
		t.Errorf("acme sees another scope's drift: %+v", sum.OutOfCompliance)
	}
	// A report on one site: findings elsewhere are counted, not listed.
	o.Query = Query{Site: "iad-1"}
	_, sum = f.write(t, o, FormatJSON)
	if len(sum.OutOfCompliance) != 3 || len(sum.OutOfCompliance[0].Now) != 0 || len(sum.OutOfCompliance[0].Forecast) != 1 || sum.OutOfCompliance[0].Filtered != 2 {
		t.Errorf("site report: %+v", sum.OutOfCompliance)
	}
	// A report before the runs has none.
	o.Query = Query{To: contentStart.Add(30 * time.Minute)}
	if _, sum = f.write(t, o, FormatJSON); len(sum.OutOfCompliance) != 0 {
		t.Errorf("runs outside the period: %+v", sum.OutOfCompliance)
	}
}

// TestEvidenceRefusesWhatItsVerifierWould: a complete evidence pack of
// records whose times are out of index order by more than the skew would be
// refused by VerifyEvidence; export refuses to write it, naming the first
// such index, and writes a verifiable one with a larger skew.
func TestEvidenceRefusesWhatItsVerifierWould(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	for i, m := range []int{0, 10, 1, 12} {
		r := testRecord(i)
		r.Time = contentStart.Add(time.Duration(m) * time.Minute)
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	closeTest(t, l)
	o := reportOptions(t, dir)
	var buf bytes.Buffer
	_, err := Write(context.Background(), o, FormatEvidence, &buf)
	if err == nil || !strings.Contains(err.Error(), "(the first at index 2)") || !strings.Contains(err.Error(), "larger time skew") {
		t.Fatalf("export of out-of-order records: %v", err)
	}
	// A filtered pack claims no completeness: written as before.
	f := o
	f.Query = Query{Kind: audit.KindPlacement}
	buf.Reset()
	if _, err := Write(context.Background(), f, FormatEvidence, &buf); err != nil {
		t.Fatalf("filtered pack: %v", err)
	}
	o.TimeSkew = time.Hour
	buf.Reset()
	if _, err := Write(context.Background(), o, FormatEvidence, &buf); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyEvidence(context.Background(), bytes.NewReader(buf.Bytes()), o.Log.Keys, o.Log.Verifier); err != nil {
		t.Fatalf("the pack with a larger skew: %v", err)
	}
}
