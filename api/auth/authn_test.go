package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func TestTokens(t *testing.T) {
	a, err := NewAuthenticator(&Config{Tokens: []TokenConfig{
		{Principal: "ci", Tenant: "acme", Roles: []string{"tenant"}, SHA256: tokenHash("acme-secret-token")},
		{Principal: "root", Roles: []string{"admin"}, SHA256: tokenHash("root-secret-token")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		headers []string
		want    string // principal, or the failure reason
	}{
		{"acme", []string{"Bearer acme-secret-token"}, "ci"},
		{"scheme is case-insensitive", []string{"bearer root-secret-token"}, "root"},
		{"none", nil, ReasonMissing},
		{"unknown", []string{"Bearer not-a-token"}, ReasonUnknown},
		{"prefix of a token", []string{"Bearer acme-secret"}, ReasonUnknown},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, ReasonMalformed},
		{"no scheme", []string{"acme-secret-token"}, ReasonMalformed},
		{"empty token", []string{"Bearer "}, ReasonMalformed},
		{"space in token", []string{"Bearer acme secret"}, ReasonMalformed},
		{"control character", []string{"Bearer acme\x01"}, ReasonMalformed},
		{"too long", []string{"Bearer " + strings.Repeat("a", maxTokenLen+1)}, ReasonMalformed},
		{"two headers", []string{"Bearer acme-secret-token", "Bearer root-secret-token"}, ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			id, err := a.Authenticate(r)
			got := ""
			if err != nil {
				ae, ok := err.(*AuthError)
				if !ok {
					t.Fatalf("error %T: %v", err, err)
				}
				got = ae.Reason
				if strings.Contains(ae.Message, "secret") {
					t.Errorf("message repeats the token: %q", ae.Message)
				}
			} else {
				got = id.ID
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadConfigErrorsNameFields(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "auth.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct{ body, want string }{
		{"tokens:\n  - {principal: ci, roles: [tenant], sha256: abc}\n", "auth.yaml:2:46: tokens[0].sha256: must be the 64 hex digits"},
		{"tokens:\n  - principal: ci\n    roles: tenant\n", "auth.yaml:3:12: tokens[0].roles: must be a list"},
		{"tokens:\n  - principal: ci\n    role: [tenant]\n", `auth.yaml:3:5: tokens[0].role: unknown field "role" (did you mean "roles"?)`},
		{"tokens:\n  - {principal: ci, sha256: " + tokenHash("x") + "}\n", "tokens[0].roles"},
		{"tokens:\n  - {roles: [admin], sha256: " + tokenHash("x") + "}\n", "tokens[0].principal"},
		{"tokens:\n  - {principal: ci, roles: [Admin!], sha256: " + tokenHash("x") + "}\n", "tokens[0].roles[0]"},
		{"tokens:\n  - {principal: a, roles: [admin], sha256: " + tokenHash("x") + "}\n  - {principal: b, roles: [admin], sha256: " + tokenHash("x") + "}\n", "tokens[1].sha256"},
		{"tokens:\n  - {principal: ci, roles: [admin], sha256: " + tokenHash("x") + ", secret: x}\n", "unknown field"},
		{"clients:\n  - {subject: CN=x, roles: [site]}\n", "client_ca_file"},
		{"tokens:\n  - {principal: s, roles: [site], site: 'fra 1', sha256: " + tokenHash("x") + "}\n", "tokens[0].site"},
		{"clients:\n  - {roles: [site]}\nclient_ca_file: /nonexistent\n", "clients[0]: give subject or spiffe_id"},
		{"clients:\n  - {spiffe_id: 'https://x/y', roles: [site]}\nclient_ca_file: /nonexistent\n", "clients[0].spiffe_id"},
	}
	for _, tt := range tests {
		_, err := LoadConfig(write(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want it to name %s", tt.body, err, tt.want)
		}
	}
}

// certAuthority issues client certificates for tests.
type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t testing.TB, name string) *certAuthority {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &certAuthority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *certAuthority) issue(t testing.TB, cn, spiffe string, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"sovereign-test"}},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if spiffe != "" {
		u, _ := url.Parse(spiffe)
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func TestClientCertificates(t *testing.T) {
	ca, other := newCA(t, "test CA"), newCA(t, "other CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthenticator(&Config{ClientCAFile: caFile, Clients: []ClientConfig{
		{Subject: "CN=kube-apiserver,O=sovereign-test", Roles: []string{"webhook"}},
		{SPIFFEID: "spiffe://example.org/ns/audit/sa/auditor", Roles: []string{"auditor"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !a.RequestsClientCertificates() {
		t.Fatal("clients configured but certificates not requested")
	}
	future := time.Now().Add(time.Hour)
	tests := []struct {
		name string
		cert tls.Certificate
		want string
	}{
		{"by subject", ca.issue(t, "kube-apiserver", "", future), "CN=kube-apiserver,O=sovereign-test"},
		{"by SPIFFE ID", ca.issue(t, "whatever", "spiffe://example.org/ns/audit/sa/auditor", future), "spiffe://example.org/ns/audit/sa/auditor"},
		{"expired", ca.issue(t, "kube-apiserver", "", time.Now().Add(-time.Hour)), ReasonCertificate},
		{"other CA", other.issue(t, "kube-apiserver", "", future), ReasonCertificate},
		{"unknown subject", ca.issue(t, "intruder", "", future), ReasonUnknown},
		{"unknown SPIFFE ID", ca.issue(t, "kube-apiserver", "spiffe://example.org/ns/x/sa/y", future), ReasonUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{tt.cert.Leaf}}
			id, err := a.Authenticate(r)
			got := ""
			if err != nil {
				got = err.(*AuthError).Reason
				if tt.name == "expired" && !strings.Contains(err.Error(), "expired") {
					t.Errorf("message %q does not say expired", err)
				}
			} else {
				got = id.ID
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAnonymous: with anonymous configured, a request without credentials is
// that principal; bad credentials are still refused, not downgraded.
func TestAnonymous(t *testing.T) {
	a, err := NewAuthenticator(&Config{
		Tokens:    []TokenConfig{{Principal: "root", Roles: []string{"admin"}, SHA256: tokenHash("root-secret-token")}},
		Anonymous: &AnonymousConfig{Principal: "kube-apiserver", Roles: []string{"webhook"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	id, err := a.Authenticate(r)
	if err != nil || id.ID != "kube-apiserver" || id.Method != "anonymous" {
		t.Fatalf("no credentials: %+v %v", id, err)
	}
	r.Header.Set("Authorization", "Bearer wrong")
	if _, err := a.Authenticate(r); err == nil {
		t.Fatal("an unknown token fell back to the anonymous principal")
	}
}
