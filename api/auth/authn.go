package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
)

// Identity is an authenticated caller.
type Identity struct {
	// ID is the principal's name (the token's principal, a SPIFFE ID or a
	// certificate subject).
	ID string
	// Tenant scopes the caller to one tenant's datasets and workloads; empty
	// for service-wide callers (auditors, administrators, the webhook).
	Tenant string
	Roles  []string
	// Site binds a site's credential to its site id (fleet status reports);
	// empty for a credential of no one site.
	Site string
	// Method is "token", "certificate" or "anonymous".
	Method string

	// entity is the Cedar entity, built once by NewAuthenticator (an
	// Identity made elsewhere has it built per authorization).
	entity *cedar.Entity
	name   string // String(), built with entity
}

// withEntity returns id with its Cedar entity and its name built once.
func (id *Identity) withEntity() *Identity {
	e := principalEntity(id)
	id.entity = &e
	id.name = id.String()
	return id
}

// UID is the caller's Cedar entity.
func (id *Identity) UID() cedar.EntityUID {
	return cedar.NewEntityUID(TypePrincipal, cedar.String(id.ID))
}

// String names the caller in audit records: its Cedar principal, followed for
// a tenant-scoped caller by its tenant (`Sovereign::Principal::"ci" in
// Sovereign::Tenant::"acme"`), which reports use to attribute records.
func (id *Identity) String() string {
	if id.name != "" {
		return id.name
	}
	s := id.UID().String()
	if id.Tenant != "" {
		s += " in " + cedar.NewEntityUID(TypeTenant, cedar.String(id.Tenant)).String()
	}
	return s
}

// Reasons an authentication fails; each is a 401.
const (
	ReasonMissing     = "missing_credentials"
	ReasonMalformed   = "malformed_credentials"
	ReasonUnknown     = "unknown_credentials"
	ReasonCertificate = "invalid_certificate"
)

// AuthError is a failed authentication: answered 401, with Reason as a stable
// code and Message for people (never the token).
type AuthError struct {
	Reason  string
	Message string
}

func (e *AuthError) Error() string { return e.Message }

// maxTokenLen bounds a bearer token; longer is malformed.
const maxTokenLen = 4096

type tokenEntry struct {
	sum [sha256.Size]byte
	id  *Identity
}

// Authenticator maps credentials to identities. It is immutable.
type Authenticator struct {
	tokens  []tokenEntry
	subject map[string]*Identity
	spiffe  map[string]*Identity
	roots   *x509.CertPool
	anon    *Identity
	now     func() time.Time
}

// NewAuthenticator builds an authenticator from a checked configuration.
func NewAuthenticator(c *Config) (*Authenticator, error) {
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("auth config: %w", err)
	}
	a := &Authenticator{subject: map[string]*Identity{}, spiffe: map[string]*Identity{}, now: time.Now}
	for _, t := range c.Tokens {
		var e tokenEntry
		b, _ := hex.DecodeString(t.SHA256) // checked
		copy(e.sum[:], b)
		e.id = (&Identity{ID: t.Principal, Tenant: t.Tenant, Site: t.Site, Roles: slices.Clone(t.Roles), Method: "token"}).withEntity()
		a.tokens = append(a.tokens, e)
	}
	for _, cl := range c.Clients {
		id := (&Identity{ID: cl.principal(), Tenant: cl.Tenant, Site: cl.Site, Roles: slices.Clone(cl.Roles), Method: "certificate"}).withEntity()
		if cl.SPIFFEID != "" {
			a.spiffe[cl.SPIFFEID] = id
		} else {
			a.subject[cl.Subject] = id
		}
	}
	if an := c.Anonymous; an != nil {
		a.anon = (&Identity{ID: an.Principal, Tenant: an.Tenant, Roles: slices.Clone(an.Roles), Method: "anonymous"}).withEntity()
	}
	if len(c.Clients) > 0 {
		roots, err := c.ClientCAs()
		if err != nil {
			return nil, fmt.Errorf("auth config: client_ca_file: %w", err)
		}
		a.roots = roots
	}
	return a, nil
}

// RequestsClientCertificates reports whether the TLS listener should ask for
// client certificates.
func (a *Authenticator) RequestsClientCertificates() bool { return a.roots != nil }

// Authenticate identifies the caller of r: by its bearer token if it sends an
// Authorization header, else by its verified client certificate. Any failure
// is an *AuthError.
func (a *Authenticator) Authenticate(r *http.Request) (*Identity, error) {
	if hs := r.Header.Values("Authorization"); len(hs) > 0 {
		if len(hs) > 1 {
			return nil, &AuthError{ReasonMalformed, "more than one Authorization header"}
		}
		return a.token(hs[0])
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return a.certificate(r.TLS.PeerCertificates)
	}
	if a.anon != nil {
		return a.anon, nil
	}
	return nil, &AuthError{ReasonMissing, "authentication required: send Authorization: Bearer <token> or a client certificate"}
}

func (a *Authenticator) token(h string) (*Identity, error) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, &AuthError{ReasonMalformed, "Authorization header must be \"Bearer <token>\""}
	}
	if tok == "" || len(tok) > maxTokenLen {
		return nil, &AuthError{ReasonMalformed, "bearer token is empty or longer than " + strconv.Itoa(maxTokenLen) + " bytes"}
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c > '~' {
			return nil, &AuthError{ReasonMalformed, "bearer token holds a space, control or non-ASCII character"}
		}
	}
	sum := sha256.Sum256([]byte(tok))
	// Compare with every configured hash, without stopping at a match, so the
	// time taken says nothing about which or how many tokens are configured.
	found := 0
	for i := range a.tokens {
		eq := subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:])
		found = subtle.ConstantTimeSelect(eq, i+1, found)
	}
	if found == 0 {
		return nil, &AuthError{ReasonUnknown, "unknown bearer token"}
	}
	return a.tokens[found-1].id, nil
}

func (a *Authenticator) certificate(chain []*x509.Certificate) (*Identity, error) {
	if a.roots == nil {
		return nil, &AuthError{ReasonCertificate, "client certificates are not accepted: no client is configured"}
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: a.roots, Intermediates: inter, CurrentTime: a.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, &AuthError{ReasonCertificate, "client certificate rejected: " + err.Error()}
	}
	var spiffe []string
	for _, u := range leaf.URIs {
		if u.Scheme == "spiffe" {
			spiffe = append(spiffe, u.String())
		}
	}
	switch len(spiffe) {
	case 0:
	case 1:
		if id, ok := a.spiffe[spiffe[0]]; ok {
			return id, nil
		}
		return nil, &AuthError{ReasonUnknown, "client certificate's SPIFFE ID " + strconv.Quote(spiffe[0]) + " is not configured"}
	default:
		// A SPIFFE SVID carries exactly one SPIFFE ID.
		return nil, &AuthError{ReasonCertificate, "client certificate holds more than one SPIFFE ID"}
	}
	if id, ok := a.subject[leaf.Subject.String()]; ok {
		return id, nil
	}
	return nil, &AuthError{ReasonUnknown, "client certificate subject " + strconv.Quote(leaf.Subject.String()) + " is not configured"}
}
