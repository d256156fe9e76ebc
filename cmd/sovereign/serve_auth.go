package main

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/api/auth"
	"github.com/sovereign-engine/sovereign/policies"
)

// builtinAuthz is the built-in Cedar policy set (policies/authz), in force for
// bundles that carry none; compiled once.
var builtinAuthz = sync.OnceValues(func() (*auth.PolicySet, error) {
	sub, err := fs.Sub(policies.Authz, "authz")
	if err != nil {
		return nil, err
	}
	set, err := auth.CompileFS(sub, "builtin")
	if err != nil {
		return nil, fmt.Errorf("built-in authz policies: %w", err)
	}
	return set, nil
})

// loadAuth reads --auth-config. Without it, or with a file that configures no
// credential, the service runs unauthenticated, which serve allows on loopback
// only; it says so at start-up.
func loadAuth(path string, logger *slog.Logger) (*auth.Authenticator, error) {
	if path == "" {
		logger.Warn("no credentials configured (--auth-config): every caller is anonymous and may do anything; listening on loopback only")
		return nil, nil
	}
	c, err := auth.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if c.Empty() {
		return nil, fmt.Errorf("auth config %s configures no token and no client: remove --auth-config to run unauthenticated on loopback", path)
	}
	a, err := auth.NewAuthenticator(c)
	if err != nil {
		return nil, err
	}
	logger.Info("authentication on", "auth", c)
	if c.Anonymous != nil {
		logger.Warn("callers without credentials are authenticated as the anonymous principal of --auth-config; the Cedar policies decide what it may do",
			"principal", c.Anonymous.Principal, "roles", c.Anonymous.Roles)
	}
	return a, nil
}

// bundleClient is the HTTP client of an http(s) --bundle: nil (the default
// client) without a token file; with one, a client that sends the token, over
// https or to a loopback address only (a token in clear on a network is a
// token given away).
func bundleClient(location, tokenFile string, longPoll time.Duration) (*http.Client, error) {
	if tokenFile == "" {
		return nil, nil
	}
	return tokenClient("--bundle-token-file", location, tokenFile, 30*time.Second+longPoll)
}

// tokenClient is a client that sends the token in tokenFile (the flag
// named flag) to location: over https, or to a loopback address only.
func tokenClient(flag, location, tokenFile string, timeout time.Duration) (*http.Client, error) {
	u, err := url.Parse(location)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%s applies to an http(s) URL", flag)
	}
	if u.Scheme == "http" && !api.IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%s: refusing to send a token over plain http to %s: use https", flag, u.Host)
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return nil, fmt.Errorf("%s %s is empty", flag, tokenFile)
	}
	return &http.Client{Timeout: timeout, Transport: bearerTransport{token: tok, base: http.DefaultTransport}}, nil
}

// bearerTransport adds the Authorization header to every request.
type bearerTransport struct {
	token string
	base  http.RoundTripper
}

func (t bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r)
}
