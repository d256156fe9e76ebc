package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sovereign test CA"},
		NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(72 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// issue makes a certificate for a client (or, with ip, the server).
func (ca *testCA) issue(t *testing.T, cn, spiffe string, ip net.IP, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	if spiffe != "" {
		u, _ := url.Parse(spiffe)
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMutualTLS serves over TLS with client certificates requested, as serve
// does with clients in --auth-config, and calls it with good, expired and
// unknown certificates.
func TestMutualTLS(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writePEM(t, caFile, "CERTIFICATE", ca.cert.Raw)
	now := time.Now()
	srvCert := ca.issue(t, "sovereign", "", net.ParseIP("127.0.0.1"), now.Add(-time.Hour), now.Add(time.Hour))
	writePEM(t, certFile, "CERTIFICATE", srvCert.Certificate[0])
	kder, _ := x509.MarshalECPrivateKey(srvCert.PrivateKey.(*ecdsa.PrivateKey))
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)

	authn, err := auth.NewAuthenticator(&auth.Config{ClientCAFile: caFile, Clients: []auth.ClientConfig{
		{SPIFFEID: "spiffe://example.org/site/fra-1", Roles: []string{"site"}},
		{Subject: "CN=kube-apiserver", Roles: []string{"webhook"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(c *api.Config) { c.Auth = authn })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := api.ListenTLSClientAuth(ln, certFile, keyFile, authn.RequestsClientCertificates(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.api.Serve(ctx, tln, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	call := func(t *testing.T, cert *tls.Certificate) (int, string) {
		t.Helper()
		cfg := &tls.Config{RootCAs: roots}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := client.Get("https://" + ln.Addr().String() + "/v1/bundles/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e api.ErrorBody
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e.Error.Message
	}
	site := ca.issue(t, "fra-1", "spiffe://example.org/site/fra-1", nil, now.Add(-time.Hour), now.Add(time.Hour))
	expired := ca.issue(t, "fra-1", "spiffe://example.org/site/fra-1", nil, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	webhook := ca.issue(t, "kube-apiserver", "", nil, now.Add(-time.Hour), now.Add(time.Hour))
	stranger := ca.issue(t, "stranger", "", nil, now.Add(-time.Hour), now.Add(time.Hour))
	other := newTestCA(t).issue(t, "fra-1", "spiffe://example.org/site/fra-1", nil, now.Add(-time.Hour), now.Add(time.Hour))
	tests := []struct {
		name string
		cert *tls.Certificate
		want int
	}{
		{"site by SPIFFE ID", &site, http.StatusOK},
		{"expired certificate", &expired, http.StatusUnauthorized},
		{"certificate of another CA", &other, http.StatusUnauthorized},
		{"unknown subject", &stranger, http.StatusUnauthorized},
		{"no certificate", nil, http.StatusUnauthorized},
		{"webhook may only admit", &webhook, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := call(t, tt.cert)
			if status != tt.want {
				t.Fatalf("status %d, want %d (%s)", status, tt.want, msg)
			}
			if tt.name == "expired certificate" && !strings.Contains(msg, "expired") {
				t.Errorf("message %q does not say the certificate expired", msg)
			}
		})
	}
}
