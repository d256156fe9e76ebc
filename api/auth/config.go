// Package auth says who is calling and what they may do: it authenticates
// callers by bearer token or mTLS client certificate (authn.go) and authorizes
// their actions with a Cedar policy set validated against its schema
// (authz.go). The api package applies it to every endpoint.
package auth

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"

	"github.com/sovereign-engine/sovereign/internal/yamlfile"
)

// Config is the --auth-config file: who may authenticate, and as which
// principal, tenant and roles. Tokens are stored as the hex SHA-256 of the
// token, never the token itself.
//
//	tokens:
//	  - principal: acme-ci
//	    tenant: acme
//	    roles: [tenant]
//	    sha256: 9f86d0…            # printf %s "$TOKEN" | sha256sum
//	client_ca_file: /etc/sovereign/client-ca.pem
//	clients:
//	  - principal: kube-apiserver
//	    subject: CN=kube-apiserver,O=system:masters
//	    roles: [webhook]
//	  - spiffe_id: spiffe://example.org/ns/audit/sa/auditor
//	    roles: [auditor]
type Config struct {
	Tokens []TokenConfig `json:"tokens,omitempty"`
	// ClientCAFile holds the PEM CA certificates client certificates must
	// chain to; required when Clients is not empty.
	ClientCAFile string         `json:"client_ca_file,omitempty"`
	Clients      []ClientConfig `json:"clients,omitempty"`
	// Anonymous, when set, is who a request without any credential is:
	// for a Kubernetes API server that cannot be given credentials for its
	// webhooks (managed clusters), map it to a principal with the webhook
	// role, which the policies let only admit. Unset: such a request is a 401.
	Anonymous *AnonymousConfig `json:"anonymous,omitempty"`
}

// AnonymousConfig is the identity of callers that send no credential.
type AnonymousConfig struct {
	Principal string   `json:"principal"`
	Tenant    string   `json:"tenant,omitempty"`
	Roles     []string `json:"roles"`
}

// TokenConfig is one bearer token.
type TokenConfig struct {
	Principal string `json:"principal"`
	Tenant    string `json:"tenant,omitempty"`
	// Site binds a site's credential to its site id: it may report the
	// status of that site only (POST /v1/status).
	Site   string   `json:"site,omitempty"`
	Roles  []string `json:"roles"`
	SHA256 string   `json:"sha256"`
}

// ClientConfig maps a client certificate to a principal: by its SPIFFE ID
// (a spiffe:// URI SAN) or, failing that, by its subject distinguished name
// as Go prints it (pkix.Name.String, e.g. "CN=kube-apiserver,O=system:masters").
type ClientConfig struct {
	// Principal defaults to the SPIFFE ID or the subject.
	Principal string   `json:"principal,omitempty"`
	Subject   string   `json:"subject,omitempty"`
	SPIFFEID  string   `json:"spiffe_id,omitempty"`
	Tenant    string   `json:"tenant,omitempty"`
	Site      string   `json:"site,omitempty"` // as TokenConfig.Site
	Roles     []string `json:"roles"`
}

var (
	// nameRE bounds principal, tenant and role names: printable, no quotes or
	// backslashes, so they read unambiguously in audit records.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:/=,+ -]{0,252}$`)
	roleRE = regexp.MustCompile(`^[a-z][a-z0-9.-]{0,62}$`)
	// siteRE is fleet.SiteIDPattern (a site's labels.id).
	siteRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

// LoadConfig reads the file strictly (unknown fields are errors) and checks
// it; every problem is reported at once, each as file:line:column: field
// path: message.
func LoadConfig(path string) (*Config, error) {
	doc, err := yamlfile.Read(path, yamlfile.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("auth config: %w", err)
	}
	var c Config
	if err := doc.Decode(&c); err != nil {
		return nil, fmt.Errorf("auth config:\n%w", err)
	}
	if ps := c.problems(); len(ps) > 0 {
		errs := make(yamlfile.Errors, len(ps))
		for i, p := range ps {
			errs[i] = doc.At(p.path, "%s", p.message)
		}
		return nil, fmt.Errorf("auth config:\n%w", errs)
	}
	return &c, nil
}

// problem is one thing wrong with a configuration, at a field path.
type problem struct{ path, message string }

// check reports every problem of a configuration built in code.
func (c *Config) check() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, fmt.Errorf("%s: %s", p.path, p.message))
	}
	return errors.Join(errs...)
}

// Empty reports whether no caller is configured at all.
func (c *Config) Empty() bool {
	return c == nil || (len(c.Tokens)+len(c.Clients) == 0 && c.Anonymous == nil)
}

func (c *Config) problems() []problem {
	var ps []problem
	bad := func(path, format string, args ...any) {
		ps = append(ps, problem{path, fmt.Sprintf(format, args...)})
	}
	checkSite := func(path, site string) {
		if site != "" && !siteRE.MatchString(site) {
			bad(path+".site", "%q is not a site id (letters, digits and ._:- ; up to 128)", site)
		}
	}
	checkIdentity := func(path, principal, tenant string, roles []string) {
		if principal != "" && !nameRE.MatchString(principal) {
			bad(path+".principal", "%q is not a valid name (letters, digits and ._@:/=,+ - ; up to 253)", principal)
		}
		if tenant != "" && !nameRE.MatchString(tenant) {
			bad(path+".tenant", "%q is not a valid name", tenant)
		}
		if len(roles) == 0 {
			bad(path+".roles", "at least one role is required")
		}
		for i, r := range roles {
			if !roleRE.MatchString(r) {
				bad(fmt.Sprintf("%s.roles[%d]", path, i), "%q is not a valid role (lower case letters, digits, . and -)", r)
			}
		}
	}
	seenHash := map[string]int{}
	principals := map[string]string{}
	samePrincipal := func(path, principal, tenant string) {
		if prev, ok := principals[principal]; ok && prev != tenant {
			bad(path+".principal", "%q is configured again with another tenant", principal)
		}
		principals[principal] = tenant
	}
	for i, t := range c.Tokens {
		path := fmt.Sprintf("tokens[%d]", i)
		if t.Principal == "" {
			bad(path+".principal", "is required")
		}
		checkIdentity(path, t.Principal, t.Tenant, t.Roles)
		checkSite(path, t.Site)
		if sum, err := hex.DecodeString(t.SHA256); err != nil || len(sum) != 32 {
			bad(path+".sha256", "must be the 64 hex digits of the token's SHA-256")
		} else if j, dup := seenHash[t.SHA256]; dup {
			bad(path+".sha256", "same token as tokens[%d]", j)
		} else {
			seenHash[t.SHA256] = i
		}
		samePrincipal(path, t.Principal, t.Tenant)
	}
	seenClient := map[string]int{}
	for i, cl := range c.Clients {
		path := fmt.Sprintf("clients[%d]", i)
		switch {
		case cl.Subject == "" && cl.SPIFFEID == "":
			bad(path, "give subject or spiffe_id")
		case cl.Subject != "" && cl.SPIFFEID != "":
			bad(path, "give subject or spiffe_id, not both")
		case cl.SPIFFEID != "":
			if u, err := url.Parse(cl.SPIFFEID); err != nil || u.Scheme != "spiffe" || u.Host == "" {
				bad(path+".spiffe_id", "%q is not a spiffe://trust-domain/path URI", cl.SPIFFEID)
			}
		}
		key := "s:" + cl.Subject
		if cl.SPIFFEID != "" {
			key = "u:" + cl.SPIFFEID
		}
		if j, dup := seenClient[key]; dup {
			bad(path, "same certificate identity as clients[%d]", j)
		}
		seenClient[key] = i
		checkIdentity(path, cl.Principal, cl.Tenant, cl.Roles)
		checkSite(path, cl.Site)
		samePrincipal(path, cl.principal(), cl.Tenant)
	}
	if a := c.Anonymous; a != nil {
		if a.Principal == "" {
			bad("anonymous.principal", "is required")
		}
		checkIdentity("anonymous", a.Principal, a.Tenant, a.Roles)
		samePrincipal("anonymous", a.Principal, a.Tenant)
	}
	if len(c.Clients) > 0 {
		if c.ClientCAFile == "" {
			bad("client_ca_file", "is required when clients are configured")
		} else if _, err := c.ClientCAs(); err != nil {
			bad("client_ca_file", "%v", err)
		}
	} else if c.ClientCAFile != "" {
		bad("clients", "client_ca_file is set but no client is configured")
	}
	return ps
}

func (cl ClientConfig) principal() string {
	switch {
	case cl.Principal != "":
		return cl.Principal
	case cl.SPIFFEID != "":
		return cl.SPIFFEID
	default:
		return cl.Subject
	}
}

// ClientCAs reads the CA pool client certificates are verified against.
func (c *Config) ClientCAs() (*x509.CertPool, error) {
	b, err := os.ReadFile(c.ClientCAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", c.ClientCAFile)
	}
	return pool, nil
}

// LogValue logs the configuration without token hashes.
func (c *Config) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("none")
	}
	return slog.GroupValue(
		slog.Int("tokens", len(c.Tokens)),
		slog.Int("clients", len(c.Clients)),
		slog.String("client_ca_file", c.ClientCAFile),
		slog.Bool("anonymous", c.Anonymous != nil),
	)
}
