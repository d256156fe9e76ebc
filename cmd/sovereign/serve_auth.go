package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/sovereign-engine/sovereign/api/auth"
)

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
	return a, nil
}

func isLoopbackAddr(addr net.Addr) bool {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a --addr names a loopback host: a loopback IP
// or "localhost". An empty host (":8181") means every interface.
func loopbackHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
