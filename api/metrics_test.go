package api_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics and checks it with promlint, the checks of
// `promtool check metrics`.
func scrape(t *testing.T, ts *testServer) map[string]*dto.MetricFamily {
	t.Helper()
	status, body := ts.get(t, "/metrics")
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	return fams
}

// value is the value of the sample of family name whose labels include
// labels (name=value pairs); -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// The families an operator pages on (issue #20) are exported, move with
// what they count, and pass promlint.
func TestOperatorMetrics(t *testing.T) {
	ts := newAdmissionServer(t)
	ts.post(t, "/v1/decisions/placement", "application/json", []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`))
	ts.post(t, "/v1/decisions/placement", "application/json", []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`))
	if status, b := ts.post(t, "/v1/admission/validate", "application/json", mustReadFixture(t, "replicaset-create-warn.json")); status != 200 {
		t.Fatalf("admission: %d %s", status, b)
	}
	if status, b := ts.post(t, "/v1/admission/validate", "application/json", mustReadFixture(t, "pod-create-unconstrained.json")); status != 200 {
		t.Fatalf("admission: %d %s", status, b)
	}
	if err := ts.audit.AwaitIntegrated(context.Background()); err != nil {
		t.Fatal(err)
	}
	var fams map[string]*dto.MetricFamily
	waitFor(t, func() bool {
		fams = scrape(t, ts)
		return value(fams, "sovereign_audit_checkpoint_size") >= 4
	})
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"sovereign_audit_append_duration_seconds", nil, 4},
		{"sovereign_audit_journal_fsync_duration_seconds", nil, 1},
		{"sovereign_audit_appends_refused_total", []string{"reason", "closed"}, 0},
		{"sovereign_audit_tree_size", nil, 4},
		{"sovereign_audit_checkpoint_size", nil, 4},
		{"sovereign_audit_checkpoint_age_seconds", nil, 0},
		{"sovereign_audit_journal_backlog_entries", nil, 0},
		{"sovereign_audit_journal_backlog_limit_entries", nil, 1},
		{"sovereign_bundle_activations_total", nil, 0},
		{"sovereign_bundle_refusals_total", []string{"reason", "read"}, 0},
		{"sovereign_admission_reviews_total", []string{"webhook", "validate", "mode", "warn", "verdict", "would-deny"}, 1},
		{"sovereign_admission_reviews_total", []string{"webhook", "validate", "mode", "enforce", "verdict", "denied"}, 1},
		{"sovereign_decision_cache_hits_total", nil, 1},
		{"sovereign_build_info", nil, 1},
	} {
		if got := value(fams, c.name, c.labels...); got < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, got, c.min)
		}
	}
	if got := value(fams, "sovereign_admission_reviews_total", "verdict", "allowed", "mode", "warn"); got != -1 {
		t.Errorf("warn's would-deny counted as allowed: %v", got)
	}

	// A record the log does not take is counted, with why.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.audit.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if status, _ := ts.post(t, "/v1/decisions/placement", "application/json", []byte(`{"dataset": "customer-pii-eu", "operation": "store"}`)); status != 503 {
		t.Fatalf("decision on a closed log: %d", status)
	}
	if got := value(scrape(t, ts), "sovereign_audit_appends_refused_total", "reason", "closed"); got != 1 {
		t.Errorf("refused appends (closed) = %v, want 1", got)
	}
}

// Every metric the alert rules and the dashboard query is one the code
// defines (some families have no sample until their first event, so the
// definitions are read rather than a scrape).
func TestDeployMonitoringNamesExist(t *testing.T) {
	defined := map[string]bool{}
	re := regexp.MustCompile(`(?:Name:\s*|NewDesc\(\s*)"(sovereign_[a-z_]+)"`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range monitoringMetricNames(t) {
		if !defined[name] {
			t.Errorf("deploy/monitoring queries %s, which no metric definition names", name)
		}
	}
}
