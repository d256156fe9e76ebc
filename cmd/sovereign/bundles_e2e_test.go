package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type bundleStatus struct {
	ActiveRevision string `json:"active_revision"`
	ActiveDigest   string `json:"active_digest"`
	LastError      string `json:"last_error"`
	Refusals       int    `json:"refusals"`
	Activations    int    `json:"activations"`
}

func getStatus(t *testing.T, addr string) bundleStatus {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/bundles/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st bundleStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// One control plane serves signed bundles to two sites, as processes on
// 127.0.0.1. A new bundle reaches both within the poll interval; a tampered one
// is refused by both, which keep deciding on the last good bundle; no decision
// fails or mixes bundles during the swaps.
func TestControlPlaneDistributesSignedBundles(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	dir := t.TempDir()
	pub, published, publish := newBundlePublisher(t, dir)
	publish("r1", false)

	cp := startServer(t, t.TempDir(), "--serve-bundles", published)
	url := "http://" + cp.addr + "/v1/bundles/policy.tar.gz"
	siteArgs := []string{"--bundle", url, "--bundle-public-key", pub, "--bundle-poll-interval", "200ms", "--bundle-long-poll", "2s"}
	sites := []*server{startServer(t, t.TempDir(), siteArgs...), startServer(t, t.TempDir(), siteArgs...)}
	for _, s := range sites {
		if st := getStatus(t, s.addr); st.ActiveRevision != "r1" {
			t.Fatalf("site starts on %+v, want r1", st)
		}
	}

	// Load on both sites throughout the swaps.
	var failures atomic.Int64
	var mu sync.Mutex
	seen := map[string]string{} // revision -> digest, to catch a mix
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range sites {
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(addr string) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := http.Post("http://"+addr+"/v1/decisions/placement", "application/json",
						strings.NewReader(`{"dataset": "customer-pii-eu", "operation": "store", "candidates": ["fra-1", "us-east-1"]}`))
					if err != nil {
						failures.Add(1)
						continue
					}
					var d struct {
						Bundle struct{ Revision, Digest string } `json:"bundle"`
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || json.Unmarshal(b, &d) != nil {
						failures.Add(1)
						continue
					}
					// Steady load, not saturation: the point is that no request
					// fails or mixes bundles during swaps.
					time.Sleep(5 * time.Millisecond)
					mu.Lock()
					if prev, ok := seen[d.Bundle.Revision]; ok && prev != d.Bundle.Digest {
						t.Errorf("revision %s answered with two digests", d.Bundle.Revision)
					}
					seen[d.Bundle.Revision] = d.Bundle.Digest
					mu.Unlock()
				}
			}(s.addr)
		}
	}

	waitFor := func(what string, ok func(bundleStatus) bool) {
		t.Helper()
		// A bound on a hang, not a measure: each site runs the bundle's own
		// tests (about 8 s of CPU) at nice 10 while both sites are under load.
		deadline := time.Now().Add(3 * time.Minute)
		for _, s := range sites {
			for {
				st := getStatus(t, s.addr)
				if ok(st) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: site %s status %+v\n%s", what, s.addr, st, s.stderr)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	start := time.Now()
	publish("r2", false)
	waitFor("new bundle", func(st bundleStatus) bool { return st.ActiveRevision == "r2" })
	t.Logf("both sites on r2 %v after publishing", time.Since(start))

	publish("r3-tampered", true)
	waitFor("tampered bundle refused", func(st bundleStatus) bool { return st.Refusals > 0 && st.LastError != "" })
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	for _, s := range sites {
		if st := getStatus(t, s.addr); st.ActiveRevision != "r2" {
			t.Errorf("site %s left the last good bundle: %+v", s.addr, st)
		}
	}
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d decisions failed during the swaps", n)
	}
	if _, ok := seen["r3-tampered"]; ok {
		t.Fatal("a decision was made on the tampered bundle")
	}
	if _, ok := seen["r2"]; !ok {
		t.Fatalf("no decision on r2: %v", seen)
	}
}

// tamperTarball appends a comment to one module after signing.
func tamperTarball(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	changed := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if !changed && strings.HasSuffix(h.Name, "placement.rego") {
			b = append(b, []byte("\n# tampered after signing\n")...)
			changed = true
		}
		h.Size = int64(len(b))
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	gw.Close()
	if !changed {
		t.Fatal("nothing to tamper with")
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newBundlePublisher makes an ECDSA signing key in dir and returns its public
// key file, the directory a control plane serves (--serve-bundles), and
// publish, which builds the built-in policy signed at revision (tampered
// after signing if asked) into that directory as policy.tar.gz.
func newBundlePublisher(t *testing.T, dir string) (pub, published string, publish func(revision string, tamper bool)) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(k)
	pubDER, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	priv := filepath.Join(dir, "k.pem")
	pub = filepath.Join(dir, "k.pub")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
	published = filepath.Join(dir, "published")
	os.MkdirAll(published, 0o755)
	publish = func(revision string, tamper bool) {
		t.Helper()
		tmp := filepath.Join(dir, revision+".tar.gz")
		if code, out, errs := runCLI(t, "", "bundle", "build", "../../policies", "-o", tmp, "--revision", revision, "--signing-key", priv); code != 0 {
			t.Fatalf("bundle build: %s%s", out, errs)
		}
		if tamper {
			tamperTarball(t, tmp)
		}
		// Rename, so a site never reads half a file.
		if err := os.Rename(tmp, filepath.Join(published, "policy.tar.gz")); err != nil {
			t.Fatal(err)
		}
	}
	return pub, published, publish
}
