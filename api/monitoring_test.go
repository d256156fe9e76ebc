package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sovereign-engine/sovereign/internal/testenv"
)

const (
	alertRulesFile = "../deploy/monitoring/alerts.yaml"
	dashboardFile  = "../deploy/monitoring/dashboard.json"
)

// promtool is the path of Prometheus's promtool (make promtool builds it
// into bin/), or "".
func promtool() string {
	if p, err := filepath.Abs("../bin/promtool"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, _ := exec.LookPath("promtool")
	return p
}

// The alert rules are what `promtool check rules` accepts; the same file is
// also decoded strictly here, so a misspelt field fails without promtool.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile(alertRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("%s: %v", alertRulesFile, err)
	}
	// Prometheus's template functions, for parsing only.
	funcs := template.FuncMap{}
	for _, f := range []string{"humanize", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "query", "first", "value", "label"} {
		funcs[f] = func(...any) string { return "" }
	}
	seen := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || seen[r.Alert] || strings.TrimSpace(r.Expr) == "" {
				t.Errorf("group %s: alert %q: a unique name and an expr are required", g.Name, r.Alert)
			}
			seen[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", r.Alert, err)
				}
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("%s: severity %q: want critical, warning or info", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("%s: no summary annotation", r.Alert)
			}
			for k, v := range r.Annotations {
				// As Prometheus expands them: these variables defined first.
				defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
				if _, err := template.New(k).Funcs(funcs).Parse(defs + v); err != nil {
					t.Errorf("%s: annotation %s: %v", r.Alert, k, err)
				}
			}
		}
	}
	if len(seen) < 8 {
		t.Fatalf("only %d alerts", len(seen))
	}
	p := promtool()
	testenv.Need(t, p != "", "promtool (make deps: Debian package prometheus)")
	if out, err := exec.Command(p, "check", "rules", alertRulesFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// /metrics is what `promtool check metrics` accepts (promlint checks the same
// in TestOperatorMetrics without promtool).
func TestPromtoolCheckMetrics(t *testing.T) {
	p := promtool()
	testenv.Need(t, p != "", "promtool (make deps: Debian package prometheus)")
	ts := newAdmissionServer(t)
	ts.post(t, "/v1/decisions/placement", "application/json", []byte(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`))
	ts.post(t, "/v1/admission/validate", "application/json", mustReadFixture(t, "replicaset-create-warn.json"))
	_, body := ts.get(t, "/metrics")
	cmd := exec.Command(p, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// The dashboard is a Grafana dashboard JSON: unique panel ids, every target a
// query on the dashboard's data source variable, panels within the grid.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title         string `json:"title"`
		UID           string `json:"uid"`
		SchemaVersion int    `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			GridPos struct{ H, W, X, Y int } `json:"gridPos"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 30 {
		t.Fatalf("dashboard title %q uid %q schemaVersion %d", d.Title, d.UID, d.SchemaVersion)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	ids := map[int]bool{}
	var exprs []string
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W <= 0 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: want targets on the ${datasource} variable", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || !strings.Contains(tg.Expr, "sovereign_") {
				t.Errorf("panel %q: target %+v", p.Title, tg)
			}
			for _, v := range regexp.MustCompile(`\$([a-z_]+)`).FindAllStringSubmatch(tg.Expr, -1) {
				if !slices.Contains(vars, v[1]) {
					t.Errorf("panel %q: $%s is not a dashboard variable", p.Title, v[1])
				}
			}
			exprs = append(exprs, strings.NewReplacer("$job", ".*", "$instance", ".*").Replace(tg.Expr))
		}
	}
	// promtool parses PromQL offline only in rule files: check the queries
	// as recording rules.
	p := promtool()
	testenv.Need(t, p != "", "promtool (make deps: Debian package prometheus)")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(e)
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	f := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(p, "check", "rules", f).CombinedOutput(); err != nil {
		t.Fatalf("a dashboard query is not valid PromQL: %v\n%s", err, out)
	}
}

// monitoringMetricNames are the sovereign_ metric families that
// deploy/monitoring's alert rules and dashboard query.
func monitoringMetricNames(t *testing.T) []string {
	t.Helper()
	var names []string
	re := regexp.MustCompile(`sovereign_[a-z_]+`)
	for _, f := range []string{alertRulesFile, dashboardFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range re.FindAllString(string(b), -1) {
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				n = strings.TrimSuffix(n, suffix)
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) < 10 {
		t.Fatalf("only %d metric names in deploy/monitoring: %v", len(names), names)
	}
	return names
}
