package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/drift"
	"github.com/sovereign-engine/sovereign/kubeaudit"
)

// kubeAuditConfig is the admission configuration of the background audit
// test: a cluster at fra-1 spanning par-1, us-east-1 and bom-1, so that EU
// personal data without a region constraint could land outside the EU.
const kubeAuditConfig = `cluster_site: fra-1
spanned_sites: [par-1, us-east-1, bom-1]
default_mode: enforce
exempt_namespaces: [kube-system, sovereign]
storage_class_regions:
  eu-only: [eu-central-1, fr-par]
`

// TestKubeAudit is the background audit as an operator installs it: the
// shipped CRD and RBAC, serve --kube-audit with a kubeconfig holding the
// service account's token (so the shipped ClusterRole is what it may do),
// workloads made with kubectl and by the controllers (no webhook is
// registered here, so non-compliant ones exist). The PolicyReports are read
// back through the API server; then a new object, an inventory change, an
// admission configuration change and a deletion each change them.
func TestKubeAudit(t *testing.T) {
	c := needCluster(t)
	ctx := context.Background()
	kubectl(t, "apply", "-k", "../deploy/kube-audit/crd")
	kubectl(t, "wait", "--for", "condition=established", "--timeout=60s", "crd/policyreports.wgpolicyk8s.io")
	kubectl(t, "apply", "-f", "../deploy/namespace.yaml")
	kubectl(t, "apply", "-f", "../deploy/kube-audit/rbac.yaml")
	for _, ns := range []string{"ka-shop", "ka-other"} {
		kubectl(t, "create", "namespace", ns)
		waitFor(t, time.Minute, "the default service account of "+ns, func() error {
			_, err := c.Kubectl(ctx, "get", "serviceaccount", "default", "-n", ns)
			return err
		})
	}
	token := strings.TrimSpace(kubectl(t, "create", "token", "sovereign-webhook", "-n", "sovereign", "--duration=2h"))

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: %s, certificate-authority: %s}
users:
- name: sovereign-webhook
  user: {token: %s}
contexts:
- name: e2e
  context: {cluster: e2e, user: sovereign-webhook}
current-context: e2e
`, c.Server, filepath.Join(c.Dir, "ca.crt"), token)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The service account may read what it audits and write reports, no more.
	if out, err := c.Kubectl(ctx, "auth", "can-i", "create", "secrets", "-n", "ka-shop", "--as", "system:serviceaccount:sovereign:sovereign-webhook"); err == nil || strings.TrimSpace(out) != "no" {
		t.Errorf("the audit's service account must not create secrets: %q %v", out, err)
	}

	for _, m := range []string{
		pod("pinned", "ka-shop", "customer-pii-eu", "  nodeSelector: {"+regionLabel+": eu-central-1}"),
		pod("roaming", "ka-shop", "customer-pii-eu", ""),
		pod("plain", "ka-shop", "", ""),
		pod("newdata", "ka-shop", "audit-late-data", ""),
		pod("ru", "ka-other", "citizens-ru", ""),
		`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ka-shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {sovereign.dev/datasets: public-catalogue}
    spec:
      containers: [{name: app, image: registry.example.com/app:1}]
`,
		`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: eu-claim
  namespace: ka-shop
  annotations: {sovereign.dev/datasets: customer-pii-eu}
spec:
  storageClassName: eu-only
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`,
	} {
		kubectlIn(t, m, "create", "-f", "-")
	}

	// The Deployment's ReplicaSet and Pod exist before the audit starts, so
	// that its first run sees them all.
	waitFor(t, 60*time.Second, "the Deployment's pod", func() error {
		out, err := c.Kubectl(ctx, "get", "pods", "-n", "ka-shop", "-l", "app=web", "-o", "name")
		if err != nil || strings.TrimSpace(out) == "" {
			return fmt.Errorf("no pod yet: %v", err)
		}
		return nil
	})
	// Only this test's namespaces are audited: the others (kube-system, and
	// those of the tests before it) are exempt, as they would be from the
	// webhook.
	var exempt []string
	for _, ns := range strings.Fields(kubectl(t, "get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}")) {
		if !strings.HasPrefix(ns, "ka-") {
			exempt = append(exempt, ns)
		}
	}
	config := strings.Replace(kubeAuditConfig, "[kube-system, sovereign]", "["+strings.Join(exempt, ", ")+"]", 1)
	s := startKubeAudit(t, kubeconfig, config)

	t.Run("a PolicyReport per namespace, one result per object and rule", func(t *testing.T) {
		rep := waitReport(t, "ka-shop", "the first report", func(r *kubeaudit.PolicyReport) error {
			// Deployment, ReplicaSet and Pod of web; four Pods; the claim.
			return wantObjects(r, 8)
		})
		want := map[string]string{
			"Pod/pinned": kubeaudit.ResultPass, "Pod/roaming": kubeaudit.ResultFail, "Pod/plain": kubeaudit.ResultSkip,
			"Pod/newdata": kubeaudit.ResultError, "Deployment/web": kubeaudit.ResultPass, "ReplicaSet/web-": kubeaudit.ResultPass,
			"Pod/web-": kubeaudit.ResultPass, "PersistentVolumeClaim/eu-claim": kubeaudit.ResultPass,
		}
		for obj, res := range want {
			r := result(t, rep, obj)
			if r.Result != res || r.Source != "sovereign" || r.Policy != kubeaudit.Policy || r.Timestamp.Seconds == 0 {
				t.Errorf("%s: want %s, got %+v", obj, res, r)
			}
		}
		fail := result(t, rep, "Pod/roaming")
		if fail.Rule != "gdpr.chapter5.no_basis" || fail.Properties["citation"] == "" || fail.Properties["sites"] != "us-east-1,bom-1" ||
			fail.Properties["datasets"] != "customer-pii-eu" || fail.Properties["mode"] != "enforce" || fail.Severity != "high" ||
			!strings.Contains(fail.Message, "may be placed where its data may not go") {
			t.Errorf("the fail must name the rule, citation and sites: %+v", fail)
		}
		if e := result(t, rep, "Pod/newdata"); !strings.Contains(e.Message, `unknown dataset "audit-late-data"`) {
			t.Errorf("error result: %+v", e)
		}
		if rep.Summary != (kubeaudit.Summary{Pass: 5, Fail: 1, Error: 1, Skip: 1}) {
			t.Errorf("summary %+v", rep.Summary)
		}
		if rep.Scope == nil || rep.Scope.Kind != "Namespace" || rep.Scope.Name != "ka-shop" || rep.Metadata.Labels[kubeaudit.ManagedByLabel] != "sovereign" {
			t.Errorf("scope %+v labels %v", rep.Scope, rep.Metadata.Labels)
		}
		other := waitReport(t, "ka-other", "the second namespace's report", func(r *kubeaudit.PolicyReport) error { return wantObjects(r, 1) })
		if r := result(t, other, "Pod/ru"); r.Result != kubeaudit.ResultFail {
			t.Errorf("citizens-ru anywhere but Russia: %+v", r)
		}
		// kubectl shows the CRD's columns.
		if out := kubectl(t, "get", "policyreports", "-n", "ka-shop"); !strings.Contains(out, "PASS") || !strings.Contains(out, "sovereign") {
			t.Errorf("kubectl get policyreports:\n%s", out)
		}
		if _, err := c.Kubectl(ctx, "get", "policyreport", kubeaudit.ReportName, "-n", "kube-system"); err == nil {
			t.Error("an exempt namespace is not audited")
		}
	})

	t.Run("gauges, the drift answer and the audit record", func(t *testing.T) {
		metrics := s.get(t, "/metrics")
		for _, want := range []string{`sovereign_kube_audit_objects{result="fail"} 2`, `sovereign_kube_audit_objects{result="error"} 1`,
			`sovereign_kube_audit_synced 1`, `sovereign_kube_audit_runs_total{trigger="start"} 1`, "sovereign_kube_audit_last_run_timestamp_seconds "} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
		var d drift.Report
		if err := json.Unmarshal([]byte(s.get(t, "/v1/drift")), &d); err != nil {
			t.Fatal(err)
		}
		var objects []string
		for _, f := range d.OutOfCompliance {
			if f.Kind == drift.KindWorkload {
				objects = append(objects, f.Object)
				if f.SinceBasis != drift.SinceObserved || f.Since == "" || len(f.Violations) == 0 {
					t.Errorf("finding %+v", f)
				}
			}
		}
		slices.Sort(objects)
		if !slices.Equal(objects, []string{"Pod ka-other/ru", "Pod ka-shop/newdata", "Pod ka-shop/roaming"}) || d.Checked.Workloads != 9 {
			t.Errorf("drift lists %v of %d workloads", objects, d.Checked.Workloads)
		}
		runs := s.auditRuns(t)
		if len(runs) == 0 || runs[0].req.Trigger != "start" || runs[0].res.OutOfCompliance != 3 || runs[0].res.Workloads != 9 || len(runs[0].res.Items) != 3 {
			t.Errorf("the first run's record: %+v", runs)
		}
	})

	t.Run("a new object is judged", func(t *testing.T) {
		kubectlIn(t, pod("late", "ka-other", "customer-pii-eu", ""), "create", "-f", "-")
		waitReport(t, "ka-other", "the new pod's fail", func(r *kubeaudit.PolicyReport) error {
			if r.Summary.Fail != 2 {
				return fmt.Errorf("summary %+v", r.Summary)
			}
			return nil
		})
	})

	t.Run("an inventory change judges everything again", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(s.invDir, "late.yaml"), []byte(`datasets:
  - id: audit-late-data
    tenant: acme
    classification: public
    categories: [public]
`), 0o600); err != nil {
			t.Fatal(err)
		}
		rep := waitReport(t, "ka-shop", "newdata to pass", func(r *kubeaudit.PolicyReport) error {
			if r := find(r, "Pod/newdata"); r == nil || r.Result != kubeaudit.ResultPass {
				return fmt.Errorf("newdata: %+v", r)
			}
			return nil
		})
		if rep.Summary != (kubeaudit.Summary{Pass: 6, Fail: 1, Skip: 1}) {
			t.Errorf("summary %+v", rep.Summary)
		}
		waitFor(t, 30*time.Second, "the inventory run's record", func() error {
			if runs := s.auditRuns(t); runs[len(runs)-1].req.Trigger != "inventory" {
				return fmt.Errorf("last run %+v", runs[len(runs)-1].req)
			}
			return nil
		})
	})

	t.Run("an admission configuration change judges everything again", func(t *testing.T) {
		if err := os.WriteFile(s.config, []byte(strings.Replace(config, "[par-1, us-east-1, bom-1]", "[par-1]", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		waitReport(t, "ka-shop", "roaming to pass in an EU-only cluster", func(r *kubeaudit.PolicyReport) error {
			if r.Summary != (kubeaudit.Summary{Pass: 7, Skip: 1}) {
				return fmt.Errorf("summary %+v", r.Summary)
			}
			return nil
		})
	})

	t.Run("deleted objects leave the report, an empty namespace loses it", func(t *testing.T) {
		kubectl(t, "delete", "pod", "ru", "late", "-n", "ka-other", "--wait=false")
		waitFor(t, 60*time.Second, "the report of ka-other to be deleted", func() error {
			if _, err := c.Kubectl(ctx, "get", "policyreport", kubeaudit.ReportName, "-n", "ka-other"); err == nil {
				return fmt.Errorf("still there")
			}
			return nil
		})
	})

	t.Run("the cluster unreachable: serve keeps deciding and ready", func(t *testing.T) {
		bad := filepath.Join(dir, "unreachable")
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: https://"+addr+", insecure-skip-tls-verify: true}\nusers:\n- name: x\n  user: {token: secret-token-never-logged}\ncontexts:\n- name: x\n  context: {cluster: x, user: x}\ncurrent-context: x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		u := startKubeAudit(t, bad, kubeAuditConfig)
		if out := u.get(t, "/readyz"); !strings.Contains(out, "ready") {
			t.Errorf("readyz %s", out)
		}
		if out := u.post(t, "/v1/decisions/placement", `{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1"]}`); !strings.Contains(out, `"allowed":true`) {
			t.Errorf("decision %s", out)
		}
		if !strings.Contains(u.get(t, "/metrics"), "sovereign_kube_audit_synced 0") {
			t.Error("the gauge must say the cluster is not listed")
		}
		u.stop()
		if b, _ := os.ReadFile(u.logFile); strings.Contains(string(b), "secret-token-never-logged") {
			t.Error("the token was logged")
		}
	})
}

// wantObjects checks that a report holds results about n distinct objects.
func wantObjects(r *kubeaudit.PolicyReport, n int) error {
	seen := map[string]bool{}
	for _, res := range r.Results {
		for _, o := range res.Resources {
			seen[o.Kind+"/"+o.Name] = true
		}
	}
	if len(seen) != n {
		return fmt.Errorf("results about %d objects, want %d: %v", len(seen), n, seen)
	}
	return nil
}

// find is the first result about kind/name (a name ending in "-" matches
// the objects a controller named from it).
func find(r *kubeaudit.PolicyReport, obj string) *kubeaudit.Result {
	kind, name, _ := strings.Cut(obj, "/")
	for i, res := range r.Results {
		for _, o := range res.Resources {
			if o.Kind == kind && (o.Name == name || strings.HasSuffix(name, "-") && strings.HasPrefix(o.Name, name)) {
				return &r.Results[i]
			}
		}
	}
	return nil
}

func result(t *testing.T, r *kubeaudit.PolicyReport, obj string) kubeaudit.Result {
	t.Helper()
	res := find(r, obj)
	if res == nil {
		t.Fatalf("no result about %s in %+v", obj, r.Results)
	}
	return *res
}

// waitReport waits for the namespace's report to pass check, read through
// the API server.
func waitReport(t *testing.T, ns, what string, check func(*kubeaudit.PolicyReport) error) *kubeaudit.PolicyReport {
	t.Helper()
	var rep kubeaudit.PolicyReport
	waitFor(t, 90*time.Second, what, func() error {
		out, err := cluster.Kubectl(context.Background(), "get", "policyreport", kubeaudit.ReportName, "-n", ns, "-o", "json")
		if err != nil {
			return err
		}
		rep = kubeaudit.PolicyReport{}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			return err
		}
		return check(&rep)
	})
	return &rep
}

// auditServer is `sovereign serve --kube-audit` on plain HTTP on loopback.
type auditServer struct {
	addr, dataDir, invDir, config, logFile string
	cmd                                    *exec.Cmd
	done                                   chan struct{}
}

func startKubeAudit(t *testing.T, kubeconfig, config string) *auditServer {
	t.Helper()
	dir := t.TempDir()
	s := &auditServer{dataDir: filepath.Join(dir, "data"), invDir: filepath.Join(dir, "inventory"),
		config: filepath.Join(dir, "admission.yaml"), logFile: filepath.Join(dir, "serve.log")}
	if err := os.CopyFS(s.invDir, os.DirFS("../testdata/inventory/demo")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	l.Close()
	logf, err := os.Create(s.logFile)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(sovereignBin, "serve", "--addr", s.addr, "--inventory", s.invDir, "--admission-config", s.config,
		"--data-dir", s.dataDir, "--inventory-poll-interval", "500ms", "--kube-audit", "--kubeconfig", kubeconfig)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); logf.Close(); close(s.done) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			b, _ := os.ReadFile(s.logFile)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("sovereign serve --kube-audit log (tail):\n%s", b)
		}
	})
	waitFor(t, 60*time.Second, "serve --kube-audit to be ready", func() error {
		select {
		case <-s.done:
			t.Fatalf("serve exited: see %s", s.logFile)
		default:
		}
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	return s
}

func (s *auditServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

func (s *auditServer) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func (s *auditServer) post(t *testing.T, path, body string) string {
	t.Helper()
	resp, err := http.Post("http://"+s.addr+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// auditRun is a background audit run's record.
type auditRun struct {
	req audit.DriftRequest
	res audit.DriftResult
}

// auditRuns are the drift records of source kubernetes in the server's log,
// oldest first.
func (s *auditServer) auditRuns(t *testing.T) []auditRun {
	t.Helper()
	cmd := exec.Command(sovereignBin, "audit", "tail", "--log", filepath.Join(s.dataDir, "log"), "-n", "100000")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sovereign audit tail: %v: %s", err, stderr.String())
	}
	var runs []auditRun
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var line struct {
			Record struct {
				Kind    string          `json:"kind"`
				Request json.RawMessage `json:"request"`
				Result  json.RawMessage `json:"result"`
			} `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if line.Record.Kind != string(audit.KindDrift) {
			continue
		}
		var r auditRun
		if err := json.Unmarshal(line.Record.Request, &r.req); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(line.Record.Result, &r.res); err != nil {
			t.Fatal(err)
		}
		if r.req.Source == "kubernetes" {
			runs = append(runs, r)
		}
	}
	return runs
}
