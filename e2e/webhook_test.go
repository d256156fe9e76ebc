package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/e2e/kube"
)

// webhook is `sovereign serve` as the cluster's admission webhook: HTTPS on
// loopback with a certificate from the cluster's CA, the shipped auth
// configuration (the API server sends no credential), its own inventory and
// admission configuration, which the tests change while it runs.
type webhook struct {
	c        *kube.Cluster
	dir      string
	dataDir  string
	invDir   string
	config   string // the --admission-config file
	addr     string
	client   *http.Client
	cmd      *exec.Cmd
	done     chan struct{}
	logFile  string
	serveLog *os.File
}

// webhookConfig is the admission configuration the tests run with: a cluster
// at fra-1 (eu-central-1) spanning par-1 (fr-par), us-east-1 and bom-1
// (ap-bom), enforcing by default.
const webhookConfig = `cluster_site: fra-1
spanned_sites: [par-1, us-east-1, bom-1]
default_mode: enforce
exempt_namespaces: [kube-system, sovereign]
namespaces:
  payments:
    datasets: [payments-in]
  analytics:
    mode: warn
  sandbox:
    mode: dryrun
storage_class_regions:
  eu-only: [eu-central-1, fr-par]
`

// startWebhook starts the server and registers deploy/webhooks/webhooks.yaml
// as shipped, but for clientConfig: a loopback URL and the cluster's CA.
func startWebhook(t *testing.T, c *kube.Cluster) *webhook {
	t.Helper()
	dir := t.TempDir()
	w := &webhook{c: c, dir: dir, dataDir: filepath.Join(dir, "data"), invDir: filepath.Join(dir, "inventory"),
		config: filepath.Join(dir, "admission.yaml"), logFile: filepath.Join(dir, "serve.log")}
	if err := os.CopyFS(w.invDir, os.DirFS("../testdata/inventory/demo")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.config, []byte(webhookConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	// The shipped auth configuration: callers without credentials (the API
	// server) may admit and nothing else.
	auth := shippedConfigMap(t, "sovereign-auth")["auth.yaml"]
	if err := os.WriteFile(filepath.Join(dir, "auth.yaml"), []byte(auth), 0o600); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := c.Issue(pkix.Name{CommonName: "sovereign-webhook"}, nil, []net.IP{net.ParseIP("127.0.0.1")}, x509.ExtKeyUsageServerAuth)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.addr = l.Addr().String()
	l.Close()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CA)
	w.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if w.serveLog, err = os.Create(w.logFile); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.stop(t)
		w.serveLog.Close()
		if t.Failed() {
			b, _ := os.ReadFile(w.logFile)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("sovereign serve log (tail):\n%s", b)
		}
	})
	w.start(t)
	w.register(t)
	return w
}

// shippedConfigMap is a ConfigMap of deploy/config.yaml.
func shippedConfigMap(t *testing.T, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../deploy/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var cm corev1.ConfigMap
		if err := yaml.UnmarshalStrict([]byte(doc), &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Name == name {
			return cm.Data
		}
	}
	t.Fatalf("deploy/config.yaml has no ConfigMap %s", name)
	return nil
}

// start runs `sovereign serve` and waits until it is ready.
func (w *webhook) start(t *testing.T) {
	t.Helper()
	w.cmd = exec.Command(sovereignBin, "serve",
		"--addr", w.addr,
		"--inventory", w.invDir,
		"--admission-config", w.config,
		"--auth-config", filepath.Join(w.dir, "auth.yaml"),
		"--tls-cert", filepath.Join(w.dir, "tls.crt"),
		"--tls-key", filepath.Join(w.dir, "tls.key"),
		"--data-dir", w.dataDir,
		"--log-timeout", "3s", // as deploy/statefulset.yaml
		"--inventory-poll-interval", "500ms",
	)
	w.cmd.Stdout, w.cmd.Stderr = w.serveLog, w.serveLog
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(w.cmd, w.done)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := w.ready(); err == nil {
			return
		}
		select {
		case <-w.done:
			t.Fatalf("sovereign serve exited: see %s", w.logFile)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sovereign serve not ready in 60s: see %s", w.logFile)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ready returns the server's /readyz answer.
func (w *webhook) ready() (map[string]any, error) {
	resp, err := w.client.Get("https://" + w.addr + "/readyz")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("readyz %d: %s", resp.StatusCode, b)
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}

// stop ends the server with SIGTERM, as Kubernetes does.
func (w *webhook) stop(t *testing.T) {
	t.Helper()
	if w.cmd == nil || w.cmd.Process == nil {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGCONT) // in case it was paused
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	w.cmd = nil
}

// signal sends sig to the server (SIGSTOP pauses it, SIGCONT resumes it).
func (w *webhook) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := w.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// register applies the shipped webhook configurations with only clientConfig
// changed: the loopback URL of the path the Service reference names, and the
// cluster's CA. Everything else (rules, failurePolicy, timeoutSeconds,
// namespaceSelector, sideEffects) is what deploy/ ships.
func (w *webhook) register(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile("../deploy/webhooks/webhooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	clientConfig := func(cc *admissionregistrationv1.WebhookClientConfig) {
		if cc.Service == nil || cc.Service.Path == nil {
			t.Fatalf("shipped webhook has no service path: %+v", cc)
		}
		url := "https://" + w.addr + *cc.Service.Path
		*cc = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: w.c.CA}
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		var out []byte
		switch head.Kind {
		case "MutatingWebhookConfiguration":
			var m admissionregistrationv1.MutatingWebhookConfiguration
			if err := yaml.UnmarshalStrict([]byte(doc), &m); err != nil {
				t.Fatal(err)
			}
			for i := range m.Webhooks {
				clientConfig(&m.Webhooks[i].ClientConfig)
			}
			out, err = yaml.Marshal(&m)
		case "ValidatingWebhookConfiguration":
			var v admissionregistrationv1.ValidatingWebhookConfiguration
			if err := yaml.UnmarshalStrict([]byte(doc), &v); err != nil {
				t.Fatal(err)
			}
			for i := range v.Webhooks {
				clientConfig(&v.Webhooks[i].ClientConfig)
			}
			out, err = yaml.Marshal(&v)
		default:
			t.Fatalf("unexpected %s in deploy/webhooks/webhooks.yaml", head.Kind)
		}
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(out))
	}
	if len(docs) != 2 {
		t.Fatalf("want a mutating and a validating configuration, got %d documents", len(docs))
	}
	kubectlIn(t, strings.Join(docs, "\n---\n"), "apply", "-f", "-")
	// Gone before the server is (cleanups run last first): with
	// failurePolicy Fail they would refuse what later tests create.
	t.Cleanup(func() {
		if _, err := w.c.Kubectl(context.Background(), "delete", "mutatingwebhookconfiguration,validatingwebhookconfiguration", "sovereign"); err != nil {
			t.Errorf("removing the webhooks: %v", err)
		}
	})
}

// runSovereign runs the binary under test, returning its combined output.
func runSovereign(args ...string) (string, error) {
	out, err := exec.Command(sovereignBin, args...).CombinedOutput()
	return string(out), err
}

// setInventory replaces a file of the server's inventory and waits until the
// server decides on it (its /readyz names a new inventory revision).
func (w *webhook) setInventory(t *testing.T, name, content string) {
	t.Helper()
	before, err := w.ready()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.invDir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the server to load the new inventory", func() error {
		now, err := w.ready()
		if err != nil {
			return err
		}
		if now["inventory_revision"] == before["inventory_revision"] {
			return fmt.Errorf("inventory revision still %v", now["inventory_revision"])
		}
		return nil
	})
}

// entry is an admission record of the audit log, as an auditor reads it
// with `sovereign audit tail`.
type entry struct {
	Index  uint64
	ID     string
	Kind   string
	Req    admission.RequestRecord
	Result admission.ResultRecord
}

// records reads every admission record of the server's audit log with the
// auditor's command.
func (w *webhook) records(t *testing.T) []entry {
	t.Helper()
	cmd := exec.Command(sovereignBin, "audit", "tail", "--log", filepath.Join(w.dataDir, "log"), "-n", "1000000")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sovereign audit tail: %v: %s", err, stderr.String())
	}
	var es []entry
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var line struct {
			Index  uint64
			Record struct {
				ID      string          `json:"id"`
				Kind    string          `json:"kind"`
				Request json.RawMessage `json:"request"`
				Result  json.RawMessage `json:"result"`
			} `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("audit tail line: %v: %s", err, sc.Bytes())
		}
		if line.Record.Kind != "admission" {
			continue
		}
		e := entry{Index: line.Index, ID: line.Record.ID, Kind: line.Record.Kind}
		if err := json.Unmarshal(line.Record.Request, &e.Req); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(line.Record.Result, &e.Result); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	return es
}

// waitRecords waits until the audit log holds records for which ok is true,
// and returns those.
func (w *webhook) waitRecords(t *testing.T, what string, ok func([]entry) bool, match func(entry) bool) []entry {
	t.Helper()
	var got []entry
	waitFor(t, 15*time.Second, what, func() error {
		got = got[:0]
		for _, e := range w.records(t) {
			if match(e) {
				got = append(got, e)
			}
		}
		if !ok(got) {
			return fmt.Errorf("%d matching records: %+v", len(got), got)
		}
		return nil
	})
	return got
}

// waitFor polls check until it returns nil, failing t after within.
func waitFor(t *testing.T, within time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %v", within, what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// kubectl runs kubectl and fails t on error; its output includes warnings.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cluster.Kubectl(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kubectlIn is kubectl with stdin.
func kubectlIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := cluster.KubectlIn(context.Background(), stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// refused runs kubectl, which must fail, and returns its error output.
func refused(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := cluster.KubectlIn(context.Background(), stdin, args...)
	if err == nil {
		t.Fatalf("kubectl %s: want a refusal, got: %s", strings.Join(args, " "), out)
	}
	return err.Error()
}

// getJSON reads an object as JSON into v.
func getJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := kubectl(t, append([]string{"get", "-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("kubectl get %v: %v: %s", args, err, out)
	}
}
