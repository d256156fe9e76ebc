package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

type options struct {
	cfg            Config
	json           bool
	findSaturation bool
	levels         []int
}

// listFlag collects a repeatable string flag (-body a.json -body b.json).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var bodies, headers listFlag
	var levels, caCert, clientCert, clientKey string
	fs.StringVar(&o.cfg.URL, "url", "", "target URL (required)")
	fs.StringVar(&o.cfg.Method, "method", http.MethodPost, "HTTP method")
	fs.Var(&bodies, "body", "request body file; repeat for several bodies, sent round-robin")
	fs.Var(&headers, "H", "extra header 'Name: value'; repeatable (Content-Type defaults to application/json)")
	fs.IntVar(&o.cfg.Concurrency, "concurrency", 4, "closed loop: number of workers, each with one request in flight")
	fs.Float64Var(&o.cfg.Rate, "rate", 0, "open loop: requests per second on a fixed schedule (0: closed loop)")
	fs.IntVar(&o.cfg.Workers, "workers", 0, "open loop: most requests in flight (0: rate/20, at least 16, at most 512)")
	fs.DurationVar(&o.cfg.Duration, "duration", 5*time.Second, "how long to send (per level with -find-saturation)")
	fs.DurationVar(&o.cfg.Warmup, "warmup", 0, "unrecorded load before the measured run (once, before a -find-saturation sweep)")
	fs.DurationVar(&o.cfg.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.DurationVar(&o.cfg.Drain, "drain", 2*time.Second, "open loop: after -duration, how long queued requests may still start")
	fs.Int64Var(&o.cfg.MaxRequests, "max-requests", 2_000_000, "stop after this many requests (bounds time and memory)")
	fs.StringVar(&o.cfg.CheckJSONField, "check-json-field", "", "count a 200 as an error unless its body is a JSON object with this field (dotted path: result.violations)")
	fs.StringVar(&o.cfg.Label, "label", "", "name of the target, copied into the report")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per run instead of a table")
	fs.BoolVar(&o.findSaturation, "find-saturation", false, "closed loop at each -levels concurrency; report the best throughput")
	fs.StringVar(&levels, "levels", "1,2,4,8,16,32,64", "concurrency levels for -find-saturation")
	fs.StringVar(&caCert, "cacert", "", "https: PEM CA certificate(s) to trust instead of the system's (e.g. the webhook's CA)")
	fs.StringVar(&clientCert, "cert", "", "https: PEM client certificate for mTLS (with -key)")
	fs.StringVar(&clientKey, "key", "", "https: PEM private key of -cert")
	if err := fs.Parse(args[1:]); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.cfg.URL == "" {
		return o, errors.New("-url is required")
	}
	for _, p := range bodies {
		b, err := os.ReadFile(p)
		if err != nil {
			return o, fmt.Errorf("read body: %w", err)
		}
		o.cfg.Bodies = append(o.cfg.Bodies, b)
	}
	tlsCfg, err := tlsConfig(caCert, clientCert, clientKey)
	if err != nil {
		return o, err
	}
	o.cfg.TLS = tlsCfg
	o.cfg.Header = http.Header{}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return o, fmt.Errorf("-H %q: want 'Name: value'", h)
		}
		o.cfg.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if o.findSaturation {
		if o.cfg.Rate > 0 {
			return o, errors.New("-find-saturation is closed loop: drop -rate")
		}
		for _, f := range strings.Split(levels, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return o, fmt.Errorf("-levels: bad level %q", f)
			}
			o.levels = append(o.levels, n)
		}
	}
	if err := o.cfg.valid(); err != nil {
		return o, err
	}
	return o, nil
}

// tlsConfig builds the client's TLS settings from the flags; nil means Go's
// defaults (the system's roots, no client certificate).
func tlsConfig(caCert, clientCert, clientKey string) (*tls.Config, error) {
	if caCert == "" && clientCert == "" && clientKey == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caCert != "" {
		pemBytes, err := os.ReadFile(caCert)
		if err != nil {
			return nil, fmt.Errorf("-cacert: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("-cacert %s: no PEM certificate in it", caCert)
		}
	}
	if (clientCert == "") != (clientKey == "") {
		return nil, errors.New("-cert and -key go together")
	}
	if clientCert != "" {
		pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
		if err != nil {
			return nil, fmt.Errorf("-cert/-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
