package report

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/transparency-dev/tessera/api/layout"

	"github.com/sovereign-engine/sovereign/audit"
)

// reportDay0 is the first day of the test log.
var reportDay0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// reportRecords are records of every kind over four days, in time order:
// activations at the start, decisions every 20 minutes, an override, a bundle
// change on day 2, refusals and an access denial.
func reportRecords() []*audit.Record {
	bundle1 := audit.BundleRef{Revision: "rev-1", Digest: "sha256:" + strings.Repeat("1", 64)}
	bundle2 := audit.BundleRef{Revision: "rev-2", Digest: "sha256:" + strings.Repeat("2", 64)}
	inv := "sha256:" + strings.Repeat("a", 64)
	var recs []*audit.Record
	at := func(d time.Duration) time.Time { return reportDay0.Add(d) }
	// System records are built as the service builds them.
	system := func(t time.Time, r *audit.Record, err error) *audit.Record {
		if err != nil {
			panic(err)
		}
		r.Time = t
		return r
	}
	act := func(t time.Time, b audit.BundleRef) {
		c := audit.Context{Bundle: b, InventoryRevision: inv, EngineVersion: "test"}
		r1, err1 := audit.NewBundleActivation("builtin", b, c)
		r2, err2 := audit.NewInventoryActivation("testdata/inventory", audit.InventoryActivation{Revision: inv, Sites: 3}, c)
		recs = append(recs, system(t, r1, err1), system(t.Add(time.Second), r2, err2))
	}
	act(at(0), bundle1)
	b := bundle1
	for i := range 4 * 24 * 3 {
		t := at(time.Minute + time.Duration(i)*20*time.Minute)
		if i == 24*3+6 { // day 2, 02:00
			act(t.Add(-time.Second*5), bundle2)
			b = bundle2
		}
		tenant := []string{"acme", "globex"}[i%2]
		var r *audit.Record
		switch i % 4 {
		case 0, 1:
			r = testRecord(i)
			r.Principal = `Tenant::"` + tenant + `"`
			if i%8 == 1 {
				r.Result = json.RawMessage(`{"allowed": false, "sites": [{"site": "us-east-1", "allowed": false, "violations": [{"rule": "gdpr.chapter5.no_basis", "message": "no transfer basis", "citation": "GDPR Art. 44", "dataset": "customer-pii-eu"}]}], "violations": [], "obligations": []}`)
			}
		case 2:
			allowed := i%3 != 0
			r = &audit.Record{Kind: audit.KindTransfer, Principal: `Tenant::"` + tenant + `"`,
				Request: json.RawMessage(`{"dataset":{"id":"inline-hr","tenant":"` + tenant + `","classification":"confidential"},"from":"fra-1","to":"lon-1","type":"replicate"}`),
				Result:  json.RawMessage(fmt.Sprintf(`{"allowed":%t,"violations":%s,"obligations":[{"rule":"uk.idta.tia","message":"record a TIA","citation":"UK GDPR Art. 46"}]}`, allowed, map[bool]string{true: `[]`, false: `[{"rule":"uk.adequacy.missing","message":"no adequacy","citation":"UK GDPR Art. 45"}]`}[allowed]))}
		case 3:
			r = &audit.Record{Kind: audit.KindAdmission, Principal: `system:serviceaccount:kube-system:admission`,
				Request: json.RawMessage(`{"namespace":"payments","name":"api","operation":"CREATE"}`),
				Result:  json.RawMessage(`{"allowed":true,"exemptions":[{"id":"ex-42","rules":["gdpr.chapter5.no_basis"]}]}`)}
		}
		if i == 41 { // a what-if placement, backdated with `at`
			r.Result = json.RawMessage(`{"allowed": true, "hypothetical": true, "sites": [{"site": "fra-1", "allowed": true}], "violations": [], "obligations": []}`)
		}
		r.Time, r.Bundle, r.InventoryRevision, r.EngineVersion = t, b, inv, "test"
		recs = append(recs, r)
		if i == 30 {
			recs = append(recs, &audit.Record{Time: t.Add(time.Second), Kind: audit.KindOverride, Principal: `User::"dpo"`, Bundle: b, InventoryRevision: inv, EngineVersion: "test",
				Request: json.RawMessage(`{"reason":"incident response"}`), Result: json.RawMessage(`{"allowed":true}`),
				Links: []audit.Link{{Rel: "overrides", ID: "0190f3c0-0000-7000-8000-000000000001"}}})
		}
		if i == 100 {
			c := audit.Context{InventoryRevision: inv, EngineVersion: "test"}
			r1, err1 := audit.NewBundleRefusal("oci://reg/bundle:rev-3", "etag-3", errors.New("signature does not verify"), c)
			c.Bundle = b
			r2, err2 := audit.NewInventoryRefusal("inv", errors.New("site fra-9: country missing"), c)
			r3, err3 := audit.NewAccessDenial(`Tenant::"mallory"`, audit.AccessRequest{Method: "GET", Route: "/v1/audit/report", Action: "report.export"},
				audit.AccessDenial{Status: 403, Code: "forbidden", Reason: "not an auditor", ReasonCode: "policy"}, c)
			recs = append(recs, system(t.Add(time.Second), r1, err1), system(t.Add(2*time.Second), r2, err2), system(t.Add(3*time.Second), r3, err3))
			r4, err4 := audit.NewDrift(`Sovereign::Principal::"auditor"`, audit.DriftRequest{Until: "2027-01-01"}, audit.DriftResult{EvaluatedAt: "2026-03-02T09:00:00Z",
				Datasets: 1, Stored: 1, OutOfCompliance: 1, ResultSHA256: strings.Repeat("d", 64),
				Items: []audit.DriftItem{{Kind: "stored", Dataset: "customer-pii-eu", Site: "fra-2", Rules: []string{"de.sgbv393.c5"}, Since: "2026-01-01"}}}, c)
			recs = append(recs, system(t.Add(4*time.Second), r4, err4))
			r5, err5 := audit.NewFleetStatus(`Sovereign::Principal::"site-fra-1"`, audit.FleetStatus{Site: "fra-1",
				From: audit.FleetState{Revision: "rev-2"}, To: audit.FleetState{Revision: "rev-2", Refusing: true},
				Changed: []string{"refusing"}, Reason: "signature does not verify"}, c)
			recs = append(recs, system(t.Add(5*time.Second), r5, err5))
		}
	}
	return recs
}

// reportFixture is a closed log of reportRecords and the auditor's material.
type reportFixture struct {
	dir  string
	n    int
	opts Options
}

func newReportFixture(t testing.TB) *reportFixture {
	t.Helper()
	dir := t.TempDir()
	l := openTest(t, dir)
	recs := reportRecords()
	for _, r := range recs {
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	closeTest(t, l)
	return &reportFixture{dir: dir, n: len(recs), opts: reportOptions(t, dir)}
}

func reportOptions(t testing.TB, dir string) Options {
	t.Helper()
	src, err := audit.NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, audit.SigningPublicKeysFile))
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := os.ReadFile(filepath.Join(dir, audit.LogVerifierKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := audit.NewTrustedLog(dir, src, pub, string(vkey))
	if err != nil {
		t.Fatal(err)
	}
	return Options{Log: tl, Now: func() time.Time { return reportDay0.Add(10 * 24 * time.Hour) }}
}

func (f *reportFixture) write(t testing.TB, o Options, format Format) ([]byte, *Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := Write(context.Background(), o, format, &buf)
	if err != nil {
		t.Fatalf("Write %s: %v", format, err)
	}
	return buf.Bytes(), sum
}

func TestReportFormats(t *testing.T) {
	f := newReportFixture(t)
	o := f.opts
	jsonOut, sum := f.write(t, o, FormatJSON)
	if sum.Totals.Records != uint64(f.n) || sum.Verification.Records != uint64(f.n) {
		t.Fatalf("records %d, verified %d, want %d", sum.Totals.Records, sum.Verification.Records, f.n)
	}
	for _, k := range audit.Kinds {
		if sum.Totals.ByKind[string(k)].Total == 0 {
			t.Errorf("no record of kind %s counted", k)
		}
	}
	if sum.Checkpoint.Origin != "sovereign/test" || sum.Checkpoint.Size != uint64(f.n) || len(sum.Checkpoint.RootHash) != 64 || !strings.HasPrefix(sum.Checkpoint.Signature, "— sovereign/test ") {
		t.Errorf("checkpoint %+v", sum.Checkpoint)
	}
	if c := sum.Totals.ByTenant["acme"]; c.Total == 0 || c.Denied == 0 {
		t.Errorf("tenant acme: %+v", c)
	}
	if sum.Totals.ByDataset["inline-hr"].Total == 0 || sum.Totals.ByDataset["customer-pii-eu"].Total == 0 {
		t.Errorf("datasets: %v", sum.Totals.ByDataset)
	}
	if sum.Totals.BySite["us-east-1"].Denied == 0 || sum.Totals.BySite["fra-1"].Allowed == 0 || sum.Totals.BySite["lon-1"].Total == 0 {
		t.Errorf("sites: %v", sum.Totals.BySite)
	}
	if sum.Totals.ByRule["gdpr.chapter5.no_basis"].Citation == "" || sum.Obligations["uk.idta.tia"].Count == 0 {
		t.Errorf("rules %v, obligations %v", sum.Totals.ByRule, sum.Obligations)
	}
	if len(sum.Timeline) != 6 || sum.Timeline[2].Revision != "rev-2" || sum.Timeline[4].Kind != audit.KindBundleRefusal || sum.Timeline[4].Reason == "" {
		t.Errorf("timeline: %+v", sum.Timeline)
	}
	if len(sum.InForce) != 2 || sum.InForce[0].BundleRevision != "rev-1" || sum.InForce[1].BundleRevision != "rev-2" {
		t.Errorf("in force: %+v", sum.InForce)
	}
	var doc struct {
		Format  string          `json:"format"`
		Records []Row           `json:"records"`
		Summary json.RawMessage `json:"summary"`
	}
	if err := json.Unmarshal(jsonOut, &doc); err != nil {
		t.Fatalf("json report: %v", err)
	}
	if len(doc.Records) != f.n || doc.Format != FormatVersion {
		t.Fatalf("json report: %d records, format %q", len(doc.Records), doc.Format)
	}
	denied := 0
	for _, r := range doc.Records {
		if r.Outcome == OutcomeDenied {
			denied++
			if r.Kind != audit.KindAccessDenied && (len(r.Violations) == 0 || r.Violations[0].Citation == "") {
				t.Errorf("denial %d without reasons: %+v", r.Index, r)
			}
		}
	}
	if uint64(denied) != sum.Totals.ByOutcome[OutcomeDenied] {
		t.Errorf("%d denials in records, %d counted", denied, sum.Totals.ByOutcome[OutcomeDenied])
	}

	csvOut, _ := f.write(t, o, FormatCSV)
	rows, err := csv.NewReader(bytes.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != f.n+1 || strings.Join(rows[0], ",") != strings.Join(CSVColumns, ",") {
		t.Fatalf("csv: %d rows, header %v", len(rows), rows[0])
	}
	hypothetical := 0
	hcol := slices.Index(CSVColumns, "hypothetical")
	for _, row := range rows[1:] {
		if row[hcol] == "true" {
			hypothetical++
		}
	}
	if hypothetical != 1 || sum.Totals.Hypothetical != 1 {
		t.Errorf("hypothetical decisions: %d csv rows, %d counted, want 1", hypothetical, sum.Totals.Hypothetical)
	}

	htmlOut, hsum := f.write(t, o, FormatHTML)
	for _, want := range []string{`id="chart-decisions-over-time"`, `id="chart-outcomes-by-site"`, `id="chart-top-rules"`, sum.Checkpoint.RootHash, "gdpr.chapter5.no_basis", "GDPR Art. 44", "ex-42", "rev-2", "uk.idta.tia"} {
		if !bytes.Contains(htmlOut, []byte(want)) {
			t.Errorf("html report lacks %q", want)
		}
	}
	if hsum.Totals.Denials == 0 || hsum.Totals.Overrides == 0 || hsum.Totals.Exempted == 0 {
		t.Errorf("html summary: %d denials, %d overrides, %d exempted", hsum.Totals.Denials, hsum.Totals.Overrides, hsum.Totals.Exempted)
	}
	if n := bytes.Count(htmlOut, []byte(`<tr id="r-`)); uint64(n) != hsum.Totals.Denials+hsum.Totals.Overrides+hsum.Totals.Exempted+hsum.Totals.Hypothetical {
		t.Errorf("html report lists %d records, want %d denials, %d overrides, %d exempted and %d what-ifs", n, hsum.Totals.Denials, hsum.Totals.Overrides, hsum.Totals.Exempted, hsum.Totals.Hypothetical)
	}
	for _, ext := range []string{"http://", "https://", "<script", "<link", "src="} {
		if bytes.Contains(htmlOut, []byte(ext)) && ext != "http://" {
			t.Errorf("html report is not self-contained: has %q", ext)
		}
	}
	stripped := bytes.ReplaceAll(htmlOut, []byte(`xmlns="http://www.w3.org/2000/svg"`), nil)
	if bytes.Contains(bytes.ReplaceAll(stripped, []byte(`http-equiv`), nil), []byte("http")) {
		t.Errorf("html report refers to a URL")
	}

	pdfOut, _ := f.write(t, o, FormatPDF)
	if !bytes.HasPrefix(pdfOut, []byte("%PDF-")) || !bytes.Contains(pdfOut, []byte("%%EOF")) || len(pdfOut) < 3000 {
		t.Errorf("pdf: %d bytes, starts %q", len(pdfOut), pdfOut[:min(8, len(pdfOut))])
	}

	ev, _ := f.write(t, o, FormatEvidence)
	es, err := VerifyEvidence(context.Background(), bytes.NewReader(ev), nil, nil)
	if err != nil {
		t.Fatalf("VerifyEvidence: %v", err)
	}
	if es.Selected != uint64(f.n) || !es.Complete || !es.KeysInPack {
		t.Errorf("evidence: %+v", es)
	}
}

func TestReportWindow(t *testing.T) {
	f := newReportFixture(t)
	o := f.opts
	o.Query = Query{From: reportDay0.Add(24 * time.Hour), To: reportDay0.Add(48 * time.Hour)}
	_, sum := f.write(t, o, FormatJSON)
	if sum.Totals.Records < 72 || sum.Totals.Records > 80 {
		t.Errorf("one day: %d records", sum.Totals.Records)
	}
	if !sum.FirstTime.After(o.Query.From) && !sum.FirstTime.Equal(o.Query.From) || !sum.LastTime.Before(o.Query.To) {
		t.Errorf("records from %v to %v, outside the period", sum.FirstTime, sum.LastTime)
	}
	// The window read is the day plus the skew and one entry either side,
	// not the log.
	if n := sum.Verification.EndIndex - sum.Verification.FirstIndex; n > sum.Totals.Records+10 {
		t.Errorf("read %d entries for %d records", n, sum.Totals.Records)
	}
	ev, _ := f.write(t, o, FormatEvidence)
	es, err := VerifyEvidence(context.Background(), bytes.NewReader(ev), nil, nil)
	if err != nil {
		t.Fatalf("VerifyEvidence: %v", err)
	}
	if es.Selected != sum.Totals.Records || !es.Complete {
		t.Errorf("evidence %+v, report %d", es, sum.Totals.Records)
	}

	for _, tc := range []struct {
		name string
		q    Query
		ok   func(*Summary) bool
	}{
		{"tenant", Query{Tenant: "globex"}, func(s *Summary) bool {
			return len(s.Totals.ByTenant) == 1 && s.Totals.ByTenant["globex"].Total > 0
		}},
		{"dataset", Query{Dataset: "inline-hr"}, func(s *Summary) bool {
			return s.Totals.ByKind[string(audit.KindTransfer)].Total == s.Totals.Records && s.Totals.Records > 0
		}},
		{"site", Query{Site: "us-east-1"}, func(s *Summary) bool {
			return s.Totals.ByKind[string(audit.KindPlacement)].Total == s.Totals.Records && s.Totals.Records > 0
		}},
		{"kind", Query{Kind: audit.KindOverride}, func(s *Summary) bool { return s.Totals.Records == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := f.opts
			o.Query = tc.q
			_, sum := f.write(t, o, FormatCSV)
			if !tc.ok(sum) {
				t.Errorf("totals %+v", sum.Totals)
			}
			ev, _ := f.write(t, o, FormatEvidence)
			es, err := VerifyEvidence(context.Background(), bytes.NewReader(ev), nil, nil)
			if err != nil || es.Complete || es.Selected != sum.Totals.Records || es.Entries != es.Selected {
				t.Errorf("filtered evidence: %+v, %v", es, err)
			}
		})
	}
}

func TestReportRefusesTamperedLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		full bool
		edit func(t *testing.T, logDir string)
	}{
		{"entry in the window", false, func(t *testing.T, logDir string) {
			flipInFile(t, filepath.Join(logDir, layout.EntriesPath(0, 0)), []byte(`"principal":"Tenant::\"acme\""`), []byte(`"principal":"Tenant::\"acne\""`))
		}},
		{"checkpoint", false, func(t *testing.T, logDir string) {
			flipInFile(t, filepath.Join(logDir, "checkpoint"), []byte("\n"), []byte("\n\n"))
		}},
		{"level-0 hash tile", false, func(t *testing.T, logDir string) {
			p := filepath.Join(logDir, layout.TilePath(0, 0, 0))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[5] ^= 1
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"full verification, outside the window", true, func(t *testing.T, logDir string) {
			flipInFile(t, filepath.Join(logDir, layout.EntriesPath(0, 0)), []byte(`"principal":"Tenant::\"acme\""`), []byte(`"principal":"Tenant::\"acne\""`))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newReportFixture(t)
			tc.edit(t, filepath.Join(f.dir, audit.LogDir))
			o := f.opts
			o.FullVerify = tc.full
			if tc.full {
				o.Query = Query{From: reportDay0.Add(72 * time.Hour)}
			}
			for _, format := range Formats {
				_, err := Write(context.Background(), o, format, io.Discard)
				var ve *audit.VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("%s: report from a tampered log: %v, want a *VerifyError", format, err)
				}
			}
		})
	}
}

// flipInFile replaces the first old with new in a file.
func flipInFile(t *testing.T, path string, old, new []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	b = bytes.Replace(b, old, new, 1)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEvidenceTampered(t *testing.T) {
	f := newReportFixture(t)
	o := f.opts
	o.Query = Query{From: reportDay0.Add(24 * time.Hour), To: reportDay0.Add(48 * time.Hour)}
	pack, _ := f.write(t, o, FormatEvidence)
	if _, err := VerifyEvidence(context.Background(), bytes.NewReader(pack), nil, nil); err != nil {
		t.Fatalf("untouched pack: %v", err)
	}
	// With the auditor's own keys too.
	if _, err := VerifyEvidence(context.Background(), bytes.NewReader(pack), o.Log.Keys, o.Log.Verifier); err != nil {
		t.Fatalf("untouched pack, auditor's keys: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(name string, data []byte) []byte
	}{
		{"record", func(name string, data []byte) []byte {
			if strings.HasPrefix(name, EvidenceRecordsDir) {
				return bytes.Replace(data, []byte(`"allowed":false`), []byte(`"allowed":true `), 1)
			}
			return data
		}},
		{"record signature kept, principal changed", func(name string, data []byte) []byte {
			if strings.HasPrefix(name, EvidenceRecordsDir) {
				return bytes.Replace(data, []byte(`Tenant::\"globex\"`), []byte(`Tenant::\"globez\"`), 1)
			}
			return data
		}},
		{"proof", func(name string, data []byte) []byte {
			if strings.HasPrefix(name, EvidenceRecordsDir) {
				i := bytes.Index(data, []byte(`"proof":["`)) + len(`"proof":["`)
				data = bytes.Clone(data)
				if data[i] == 'A' {
					data[i] = 'B'
				} else {
					data[i] = 'A'
				}
			}
			return data
		}},
		{"record dropped", func(name string, data []byte) []byte {
			if strings.HasPrefix(name, EvidenceRecordsDir) {
				lines := bytes.SplitAfter(data, []byte("\n"))
				return bytes.Join(append(lines[:3:3], lines[4:]...), nil)
			}
			return data
		}},
		{"checkpoint", func(name string, data []byte) []byte {
			if name == EvidenceCheckpoint {
				lines := strings.SplitN(string(data), "\n", 3)
				return []byte(lines[0] + "\n" + "999999\n" + strings.SplitN(lines[2], "\n", 2)[1])
			}
			return data
		}},
		{"query widened", func(name string, data []byte) []byte {
			if name == EvidenceQueryFile {
				return bytes.Replace(data, []byte(`"complete": true`), []byte(`"complete": false`), 1)
			}
			return data
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := rewritePack(t, pack, tc.edit)
			_, err := VerifyEvidence(context.Background(), bytes.NewReader(bad), nil, nil)
			var ee *EvidenceError
			if tc.name == "query widened" {
				// Saying "incomplete" is not a lie the pack can catch; but
				// the context entries are then not selected records: refused.
				if err == nil {
					t.Fatal("pack with a rewritten query.json accepted")
				}
				return
			}
			if !errors.As(err, &ee) {
				t.Fatalf("tampered pack: %v, want an *EvidenceError", err)
			}
			t.Log(err)
		})
	}
}

// rewritePack copies an evidence pack, passing each member through edit.
func rewritePack(t *testing.T, pack []byte, edit func(string, []byte) []byte) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(pack))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		data = edit(h.Name, data)
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestTenantOf(t *testing.T) {
	for in, want := range map[string]string{
		`Tenant::"acme"`:           "acme",
		`Sovereign::Tenant::"x-1"`: "x-1",
		`User::"alice"`:            "",
		`system`:                   "",
		`SubTenant::"no"`:          "",
	} {
		if got := TenantOf(in); got != want {
			t.Errorf("TenantOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// Attacks on a complete pack's completeness (found in review): an emptied
// window, and a second query.json placed after the records.
func TestEvidenceCompletenessAttacks(t *testing.T) {
	f := newReportFixture(t)
	o := f.opts
	o.Query = Query{From: reportDay0.Add(24 * time.Hour), To: reportDay0.Add(48 * time.Hour)}
	pack, _ := f.write(t, o, FormatEvidence)
	setJSON := func(data []byte, set map[string]any) []byte {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range set {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	var first any
	emptied := rewritePack(t, pack, func(name string, data []byte) []byte {
		switch {
		case name == EvidenceQueryFile:
			var m map[string]any
			json.Unmarshal(data, &m)
			first = m["first_index"]
			return setJSON(data, map[string]any{"end_index": first})
		case strings.HasPrefix(name, EvidenceRecordsDir):
			return nil
		case name == EvidenceManifestFile:
			return setJSON(data, map[string]any{"selected": 0, "entries": 0})
		}
		return data
	})
	if _, err := VerifyEvidence(context.Background(), bytes.NewReader(emptied), o.Log.Keys, o.Log.Verifier); err == nil {
		t.Fatal("a complete pack emptied of its records verified")
	}

	// A second query.json after the records, claiming the pack incomplete.
	gz, _ := gzip.NewReader(bytes.NewReader(pack))
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	var query []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		data, _ := io.ReadAll(tr)
		if h.Name == EvidenceQueryFile {
			query = data
		}
		tw.WriteHeader(h)
		tw.Write(data)
	}
	second := setJSON(query, map[string]any{"complete": false})
	tw.WriteHeader(&tar.Header{Name: EvidenceQueryFile, Mode: 0o644, Size: int64(len(second)), Typeflag: tar.TypeReg})
	tw.Write(second)
	tw.Close()
	gw.Close()
	if _, err := VerifyEvidence(context.Background(), bytes.NewReader(out.Bytes()), o.Log.Keys, o.Log.Verifier); err == nil {
		t.Fatal("a pack with a second query.json after its records verified")
	}
}

// TestParseReportRowDecoders: the fast decoder derives exactly the rows
// encoding/json does, for every kind and shape of record in the fixtures,
// and refuses what encoding/json refuses.
func TestParseReportRowDecoders(t *testing.T) {
	parseWith := func(dec func([]byte, any) error, rec []byte) (*Row, error) {
		old := unmarshalRow
		unmarshalRow = dec
		defer func() { unmarshalRow = old }()
		return parseRow(rec)
	}
	recs := reportRecords()
	odd := []string{`{"allowed": "yes"}`, `[1,2]`, `{"sites": {"site": 1}}`, `{"exemptions": [1, {"id": 2}, "ex-1"]}`}
	for _, o := range odd {
		r := testRecord(1)
		r.Result = json.RawMessage(o)
		recs = append(recs, r)
	}
	for i, r := range recs {
		rec := recordBytes(t, r)
		fast, ferr := parseWith(unmarshalRow, rec)
		std, serr := parseWith(json.Unmarshal, rec)
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("record %d: errors differ: fast %v, encoding/json %v", i, ferr, serr)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("record %d: rows differ:\nfast %+v\nstd  %+v", i, fast, std)
		}
	}
	for _, bad := range []string{`{"id": 1}`, `{"id":"x","kind":"decision.placement","time":"yesterday"}`, `{`, `{"id":"x"} trailing`} {
		_, ferr := parseWith(unmarshalRow, []byte(bad))
		_, serr := parseWith(json.Unmarshal, []byte(bad))
		if (ferr == nil) != (serr == nil) || ferr == nil {
			t.Errorf("%s: fast %v, encoding/json %v; want both to refuse", bad, ferr, serr)
		}
	}
}

// swappingSource serves altered entry bundles to its first tamper reads and
// the real ones after: a log whose files are swapped between the reads that
// find a report's window (not verified) and the reads that verify it.
type swappingSource struct {
	audit.Source
	mu     sync.Mutex
	reads  int
	tamper int
	alter  func(bundle uint64, raw []byte) []byte
}

func (s *swappingSource) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	raw, err := s.Source.ReadEntryBundle(ctx, index, p)
	s.mu.Lock()
	s.reads++
	alter := s.reads <= s.tamper
	s.mu.Unlock()
	if err != nil || !alter {
		return raw, err
	}
	return s.alter(index, raw), nil
}

// TestReportWindowEdgesVerified: the entry times that locate a report's window
// are read unverified; if they lie (here: records of the period made to look
// a day older, so the window would start after them), the verified entries at
// the window's edges give it away and the report is refused instead of
// silently leaving records out.
func TestReportWindowEdgesVerified(t *testing.T) {
	f := newReportFixture(t)
	o := f.opts
	o.Query = Query{From: reportDay0.Add(24 * time.Hour), To: reportDay0.Add(48 * time.Hour)}
	honest, _ := f.write(t, o, FormatJSON)

	cp, err := o.Log.Checkpoint(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	// How many bundle reads the two searches make: those are the ones lied to.
	count := &swappingSource{Source: o.Log.Source, alter: func(_ uint64, b []byte) []byte { return b }}
	for _, at := range []time.Time{o.Query.From.Add(-audit.DefaultTimeSkew), o.Query.To.Add(audit.DefaultTimeSkew)} {
		if _, err := audit.FindIndexByTime(context.Background(), count, cp.Size, at); err != nil {
			t.Fatal(err)
		}
	}
	day1 := []byte(o.Query.From.Format("2006-01-02"))
	day0 := []byte(reportDay0.Format("2006-01-02"))
	lying := *o.Log
	lying.Source = &swappingSource{Source: o.Log.Source, tamper: count.reads, alter: func(_ uint64, b []byte) []byte {
		entries, err := splitBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		for _, e := range entries {
			e = bytes.ReplaceAll(e, day1, day0) // same length: the bundle still parses
			out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
			out = append(out, e...)
		}
		return out
	}}
	o.Log = &lying
	var buf bytes.Buffer
	_, err = Write(context.Background(), o, FormatJSON, &buf)
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "window's first entry") {
		t.Fatalf("report over lying window edges: err %v (report of %d bytes, honest one %d); want a refusal", err, buf.Len(), len(honest))
	}
	t.Log(err)
}

// TestEvidenceRefusesBadHashTile: the proofs of an evidence pack come from the
// log's hash tiles above the entry bundles; a pack is not written when one of
// those hashes does not lead to the checkpoint's root (the exporter's check of
// one proof per bundle catches it).
func TestEvidenceRefusesBadHashTile(t *testing.T) {
	f := newReportFixture(t)
	if f.n <= 256 {
		t.Fatalf("fixture of %d records: need more than one bundle", f.n)
	}
	matches, _ := filepath.Glob(filepath.Join(f.dir, audit.LogDir, "tile", "1", "000*"))
	if len(matches) == 0 {
		t.Fatal("no level-1 tile in the fixture log")
	}
	tile := matches[0]
	if fi, _ := os.Stat(tile); fi.IsDir() {
		inner, _ := filepath.Glob(filepath.Join(tile, "*"))
		tile = inner[0]
	}
	raw, err := os.ReadFile(tile)
	if err != nil {
		t.Fatal(err)
	}
	raw[0] ^= 0xff
	if err := os.WriteFile(tile, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err = Write(context.Background(), f.opts, FormatEvidence, &buf)
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || ve.What != audit.FailTile {
		t.Fatalf("evidence from a log with a bad hash tile: %v; want a tile failure", err)
	}
	t.Log(err)
}

// TestRowTenants: a row belongs to the record's tenants; a record without
// them (written before records named tenants) to its principal's tenant, else
// to none. tenant= selects every record of the tenant; a confined query only
// those of the tenant alone.
func TestRowTenants(t *testing.T) {
	rec := func(principal, tenants, request string) []byte {
		r := `{"engine_version":"t","id":"0193e0a2-0000-7000-8000-000000000000","kind":"decision.placement","principal":` +
			fmt.Sprintf("%q", principal) + `,"request":` + request
		if tenants != "" {
			r += `,"tenants":` + tenants
		}
		return []byte(r + `,"time":"2026-03-01T00:00:00Z"}`)
	}
	acmeCI := `Sovereign::Principal::"ci" in Sovereign::Tenant::"acme"`
	tests := []struct {
		name   string
		record []byte
		want   []string
		// selected by tenant=acme, and by tenant=acme confined
		acme, confined bool
	}{
		{"named", rec(`Sovereign::Principal::"root"`, `["acme"]`, `{"dataset":"customer-pii-eu"}`), []string{"acme"}, true, true},
		{"shared", rec(`Sovereign::Principal::"root"`, `["acme","klinikum"]`, `{}`), []string{"acme", "klinikum"}, true, false},
		{"another's", rec(`Sovereign::Principal::"root"`, `["klinikum"]`, `{}`), []string{"klinikum"}, false, false},
		{"old, tenant principal", rec(acmeCI, "", `{"dataset":"customer-pii-eu"}`), []string{"acme"}, true, true},
		// An old record naming a tenant only inside its request: that
		// tenant was never authorized against, so the record is none's.
		{"old, inline tenant", rec(`Sovereign::Principal::"root"`, "", `{"dataset":{"id":"x","tenant":"acme"}}`), nil, false, false},
		{"old, no tenant", rec("anonymous", "", `{"dataset":"customer-pii-eu"}`), nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, err := parseRow(tt.record)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(row.Tenants, tt.want) || row.Tenant != strings.Join(tt.want, ",") {
				t.Errorf("tenants %q (%q), want %q", row.Tenants, row.Tenant, tt.want)
			}
			if got := (Query{Tenant: "acme"}).matches(row); got != tt.acme {
				t.Errorf("tenant=acme selects it: %v, want %v", got, tt.acme)
			}
			if got := (Query{Tenant: "acme", Confined: true}).matches(row); got != tt.confined {
				t.Errorf("confined to acme selects it: %v, want %v", got, tt.confined)
			}
		})
	}
}

// TestConfinedTimeline: a confined report's timeline leaves out refusals,
// whose reasons may quote any tenant's inventory; activations stay.
func TestConfinedTimeline(t *testing.T) {
	for _, confined := range []bool{false, true} {
		b := newBuilder(Query{Tenant: "acme", Confined: confined}, audit.DefaultTimeSkew)
		b.observe(&Row{Index: 0, Kind: audit.KindInventoryActivation, Time: reportDay0, Revision: "sha256:a"})
		b.observe(&Row{Index: 1, Kind: audit.KindInventoryRefusal, Time: reportDay0, Reason: "klinikum.yaml:datasets[0]: …"})
		want := 2
		if confined {
			want = 1
		}
		if got := len(b.sum.Timeline); got != want {
			t.Errorf("confined=%v: %d timeline entries, want %d", confined, got, want)
		}
	}
}
