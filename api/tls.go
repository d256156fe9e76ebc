package api

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// certCheckInterval bounds how often the certificate files are looked at: at
// most one stat pair per second, whatever the handshake rate.
const certCheckInterval = time.Second

// CertReloader serves a TLS certificate from a PEM certificate and key file and
// loads them again when either changes (modification time or size), as when
// cert-manager renews a Secret mounted into the pod. A pair that fails to load
// (a half-written renewal) is logged and the last good one is kept.
type CertReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	interval          time.Duration

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     [2]fileStamp
	lastCheck time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// NewCertReloader loads the pair once; an error here is a start-up error.
func NewCertReloader(certFile, keyFile string, logger *slog.Logger) (*CertReloader, error) {
	if logger == nil {
		logger = slog.Default()
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, logger: logger, interval: certCheckInterval}
	stamp, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	r.cert, r.stamp, r.lastCheck = &cert, stamp, time.Now()
	return r, nil
}

func (r *CertReloader) stat() ([2]fileStamp, error) {
	var s [2]fileStamp
	for i, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f) // follows the symlinks of a mounted Secret
		if err != nil {
			return s, fmt.Errorf("tls: %w", err)
		}
		s[i] = fileStamp{mod: fi.ModTime(), size: fi.Size()}
	}
	return s, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.lastCheck) >= r.interval {
		r.lastCheck = now
		r.reloadLocked()
	}
	return r.cert, nil
}

func (r *CertReloader) reloadLocked() {
	stamp, err := r.stat()
	if err != nil {
		r.logger.Error("tls certificate files unreadable; keeping the loaded certificate", "err", err)
		return
	}
	if stamp == r.stamp {
		return
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		// Leave the stamp: the next check tries again (the key may be next).
		r.logger.Error("tls certificate changed but does not load; keeping the loaded certificate", "err", err)
		return
	}
	r.cert, r.stamp = &cert, stamp
	r.logger.Info("tls certificate reloaded", "cert", r.certFile)
}

// ListenTLS wraps the server's listener (every route: decisions, admission,
// the audit API) in TLS with a reloading certificate when certFile and keyFile
// are given; with neither it returns ln as it is.
func ListenTLS(ln net.Listener, certFile, keyFile string, logger *slog.Logger) (net.Listener, error) {
	return ListenTLSClientAuth(ln, certFile, keyFile, false, logger)
}

// ListenTLSClientAuth is ListenTLS that, with requestClientCerts, asks clients
// for a certificate. The handshake does not verify it: the authenticator does,
// per request (auth.Authenticator), so that a missing, expired or unknown
// certificate gets a 401 that says why, and an access record, rather than a
// bare TLS alert.
func ListenTLSClientAuth(ln net.Listener, certFile, keyFile string, requestClientCerts bool, logger *slog.Logger) (net.Listener, error) {
	if requestClientCerts && (certFile == "" || keyFile == "") {
		return nil, errors.New("tls: client certificates (clients in --auth-config) need --tls-cert and --tls-key")
	}
	switch {
	case certFile == "" && keyFile == "":
		return ln, nil
	case certFile == "" || keyFile == "":
		return nil, errors.New("tls: give both --tls-cert and --tls-key, or neither")
	}
	r, err := NewCertReloader(certFile, keyFile, logger)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}
	if requestClientCerts {
		cfg.ClientAuth = tls.RequestClientCert
	}
	return tls.NewListener(ln, cfg), nil
}
