// Package kube starts a real Kubernetes control plane on loopback for the
// end-to-end tests: etcd, kube-apiserver and kube-controller-manager, with a
// kubectl to drive them. There is no scheduler and no kubelet: pods are
// admitted, stored and garbage-collected, but never run, which is all an
// admission webhook ever sees. The binaries are built from Go modules by
// scripts/k8s-build.sh; etcd is Debian's etcd-server.
package kube

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Cluster is a running control plane.
type Cluster struct {
	// Dir holds its certificates, kubeconfig, etcd data and component logs.
	Dir string
	// Kubeconfig is an admin kubeconfig (system:masters).
	Kubeconfig string
	// Server is the apiserver's URL.
	Server string
	// CA is the PEM of the CA that signed every certificate here; CAKey signs
	// more (Issue).
	CA    []byte
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	bin   string

	mu    sync.Mutex
	procs []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

// Options say where the binaries are.
type Options struct {
	// BinDir holds kube-apiserver, kube-controller-manager and kubectl.
	BinDir string
	// Etcd is the etcd binary (default: etcd on PATH).
	Etcd string
	// Dir is where the cluster keeps its files (default: a new temporary
	// directory).
	Dir string
	// Logf reports progress (default: none).
	Logf func(format string, args ...any)
}

// Start brings up etcd, the apiserver and the controller-manager and waits
// until the apiserver is ready and the default service account exists.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.Etcd == "" {
		o.Etcd = "etcd"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kubectl"} {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return nil, fmt.Errorf("kube: %w (build them with scripts/k8s-build.sh)", err)
		}
	}
	etcd, err := exec.LookPath(o.Etcd)
	if err != nil {
		return nil, fmt.Errorf("kube: etcd: %w (apt-get install etcd-server)", err)
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sovereign-kube-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: o.BinDir}
	if err := c.makeCerts(); err != nil {
		c.Stop()
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		c.Stop()
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	o.Logf("kube: starting etcd on 127.0.0.1:%d", etcdClient)
	if err := c.start("etcd", etcd,
		"--data-dir", filepath.Join(dir, "etcd"),
		"--name", "default",
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", etcdPeer),
		"--unsafe-no-fsync", // a throw-away test cluster
	); err != nil {
		c.Stop()
		return nil, err
	}
	c.Server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	f := func(name string) string { return filepath.Join(dir, name) }
	o.Logf("kube: starting kube-apiserver on %s", c.Server)
	if err := c.start("kube-apiserver", filepath.Join(o.BinDir, "kube-apiserver"),
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(apiPort),
		"--tls-cert-file", f("apiserver.crt"),
		"--tls-private-key-file", f("apiserver.key"),
		"--client-ca-file", f("ca.crt"),
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", f("sa.pub"),
		"--service-account-signing-key-file", f("sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/24",
		"--authorization-mode", "RBAC",
		// The apiserver may not advertise a loopback address through the
		// kubernetes Service's endpoints; nothing here needs them.
		"--endpoint-reconciler-type", "none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=1",
	); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.writeKubeconfig(); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.waitReady(ctx, 3*time.Minute); err != nil {
		c.Stop()
		return nil, err
	}
	o.Logf("kube: starting kube-controller-manager")
	if err := c.start("kube-controller-manager", filepath.Join(o.BinDir, "kube-controller-manager"),
		"--kubeconfig", c.Kubeconfig,
		"--authentication-kubeconfig", c.Kubeconfig,
		"--authorization-kubeconfig", c.Kubeconfig,
		"--service-account-private-key-file", f("sa.key"),
		"--root-ca-file", f("ca.crt"),
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(ports[3]),
		"--controllers", "*,-nodeipam,-nodelifecycle,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-ttl,-bootstrapsigner,-tokencleaner",
		"--v=1",
	); err != nil {
		c.Stop()
		return nil, err
	}
	// Pods need the namespace's default service account, which the
	// controller-manager creates.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := c.Kubectl(ctx, "get", "serviceaccount", "default", "-n", "default"); err == nil {
			break
		}
		if name := c.exited(); name != "" {
			c.Stop()
			return nil, fmt.Errorf("kube: %s exited%s", name, c.logTail(name))
		}
		if time.Now().After(deadline) {
			c.Stop()
			return nil, errors.New("kube: the controller-manager did not create the default service account in 2m" + c.logTail("kube-controller-manager"))
		}
		time.Sleep(500 * time.Millisecond)
	}
	o.Logf("kube: control plane ready")
	return c, nil
}

// Stop kills every component, last started first.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	c.procs = nil
}

func (c *Cluster) start(name, bin string, args ...string) error {
	logf, err := os.Create(filepath.Join(c.Dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("kube: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return nil
}

// exited names a component that has stopped on its own, or is "".
func (c *Cluster) exited() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		select {
		case <-p.done:
			return p.name
		default:
		}
	}
	return ""
}

// logTail is the end of a component's log, for an error message.
func (c *Cluster) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, name+".log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return "\n--- " + name + ".log (tail) ---\n" + string(b)
}

// Log returns a component's whole log.
func (c *Cluster) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, name+".log"))
	return string(b)
}

func (c *Cluster) waitReady(ctx context.Context, within time.Duration) error {
	cert, err := tls.LoadX509KeyPair(filepath.Join(c.Dir, "admin.crt"), filepath.Join(c.Dir, "admin.key"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CA)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if name := c.exited(); name != "" {
			return fmt.Errorf("kube: %s exited%s", name, c.logTail(name))
		}
		resp, err := hc.Get(c.Server + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = string(b)
		} else {
			last = err.Error()
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("kube: the apiserver was not ready within %v: %s%s%s", within, last, c.logTail("kube-apiserver"), c.logTail("etcd"))
}

// Kubectl runs kubectl against the cluster and returns its standard output;
// an error carries its standard error.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	return c.KubectlIn(ctx, "", args...)
}

// KubectlIn is Kubectl with stdin.
func (c *Cluster) KubectlIn(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	// Warnings go to stderr; keep them with the output for callers that
	// assert on them.
	if errb.Len() > 0 {
		return out.String() + errb.String(), nil
	}
	return out.String(), nil
}

func (c *Cluster) writeKubeconfig() error {
	c.Kubeconfig = filepath.Join(c.Dir, "admin.kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: admin}
current-context: e2e
`, c.Server, filepath.Join(c.Dir, "ca.crt"), filepath.Join(c.Dir, "admin.crt"), filepath.Join(c.Dir, "admin.key"))
	return os.WriteFile(c.Kubeconfig, []byte(cfg), 0o600)
}

// makeCerts writes the CA, the apiserver's serving certificate, an admin
// client certificate and the service-account signing key.
func (c *Cluster) makeCerts() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sovereign-e2e-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	c.ca, _ = x509.ParseCertificate(der)
	c.caKey = key
	c.CA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(c.Dir, "ca.crt"), c.CA, 0o644); err != nil {
		return err
	}
	if err := c.issueTo("apiserver", pkix.Name{CommonName: "kube-apiserver"}, []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}, []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}, x509.ExtKeyUsageServerAuth); err != nil {
		return err
	}
	if err := c.issueTo("admin", pkix.Name{CommonName: "e2e-admin", Organization: []string{"system:masters"}}, nil, nil, x509.ExtKeyUsageClientAuth); err != nil {
		return err
	}
	sa, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	saDER, err := x509.MarshalPKCS8PrivateKey(sa)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: saDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
}

func (c *Cluster) issueTo(name string, subject pkix.Name, dns []string, ips []net.IP, usage x509.ExtKeyUsage) error {
	certPEM, keyPEM, err := c.Issue(subject, dns, ips, usage)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, name+".crt"), certPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, name+".key"), keyPEM, 0o600)
}

// Issue signs a certificate with the cluster's CA (for the webhook's serving
// certificate, say), returning certificate and key as PEM.
func (c *Cluster) Issue(subject pkix.Name, dns []string, ips []net.IP, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject, DNSNames: dns, IPAddresses: ips,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(47 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.ca, &key.PublicKey, c.caKey)
	if err != nil {
		return nil, nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), nil
}

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Metrics returns the apiserver's Prometheus metrics text.
func (c *Cluster) Metrics(ctx context.Context) (string, error) {
	return c.Kubectl(ctx, "get", "--raw", "/metrics")
}
