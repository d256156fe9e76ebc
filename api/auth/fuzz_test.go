package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The auth configuration is read at start from a file an operator controls,
// but a mistake in it must be a clear refusal, not a crash or a half-loaded
// set of credentials: any bytes end in a config or an error naming the file.
func FuzzLoadConfig(f *testing.F) {
	hash := strings.Repeat("3f", 32)
	for _, s := range []string{
		"tokens:\n  - principal: acme-ci\n    tenant: acme\n    roles: [tenant]\n    sha256: " + hash + "\n",
		"tokens:\n  - principal: kpmg\n    roles: [auditor]\n    sha256: " + hash + "\nanonymous: {principal: apiserver, roles: [webhook]}\n",
		"clients:\n  - subject: CN=kube-apiserver\n    roles: [webhook]\n  - spiffe_id: spiffe://example.org/ns/x/sa/y\n    principal: site-fra-1\n    roles: [site]\n",
		"tokens: [{principal: a, roles: [admin], sha256: " + hash + "}, {principal: a, roles: [admin], sha256: " + hash + "}]\n",
		"tokens:\n  - principal: \"\\x00\"\n    roles: [\"\"]\n    sha256: zz\n",
		"client_ca_file: /nonexistent/ca.pem\n",
		"unknown: 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "auth.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(path)
		if (c == nil) == (err == nil) {
			t.Fatalf("config %v and error %v: want exactly one", c, err)
		}
		if err != nil && !strings.Contains(err.Error(), "auth config") {
			t.Fatalf("error does not say what it is about: %v", err)
		}
	})
}
