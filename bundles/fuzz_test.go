package bundles_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/sovereign-engine/sovereign/bundles"
)

// tinyBundle is a gzipped tar of the given files.
func tinyBundle(files map[string]string) []byte {
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gw)
	for name, body := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = gw.Close()
	return buf.Bytes()
}

// Whoever controls a bundle source or the path to it can send any bytes as a
// bundle. Reading them (the tarball loader within its limits, then OPA's
// reader over it, unsigned) ends in a bundle or an error, never a panic; the
// signature check that runs first with keys configured refuses anything the
// fuzzer makes (it cannot sign), and both stay within the limits.
func FuzzTarballBundle(f *testing.F) {
	f.Add(tinyBundle(map[string]string{
		".manifest":   `{"revision": "r1", "roots": ["sovereign"]}`,
		"policy.rego": "package sovereign\n\nallow if input.x == 1\n",
		"data.json":   `{"sovereign": {"limit": 3}}`,
	}))
	f.Add(tinyBundle(map[string]string{".signatures.json": `{"signatures": ["e30.e30.e30"]}`, "x.rego": "package x"}))
	f.Add(tinyBundle(map[string]string{"../escape.rego": "package x", "/abs/data.json": "[]"}))
	var built bytes.Buffer
	if err := bundles.Build(context.Background(), policyDir, &built, bundles.BuildOptions{Revision: "fuzz-seed"}); err == nil {
		f.Add(built.Bytes())
	}
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	pub := bundles.PublicKey{ID: bundles.DefaultKeyID, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
	limits := bundles.Limits{MaxFileBytes: 1 << 20, MaxTotalBytes: 4 << 20, MaxFiles: 1000}
	f.Fuzz(func(t *testing.T, tarball []byte) {
		if err := bundles.CheckSignature(tarball, []bundles.PublicKey{pub}, limits); err == nil {
			t.Fatal("a fuzzed bundle passed the signature check")
		}
		b, err := bundles.ReadCached(bundles.NewTarballLoader(bytes.NewReader(tarball), limits), nil, bundles.NewModuleCache())
		if err != nil {
			if b != nil {
				t.Fatalf("a bundle and an error: %v", err)
			}
			return
		}
		var size int64
		for _, m := range b.Modules {
			size += int64(len(m.Raw))
		}
		if size > limits.MaxTotalBytes {
			t.Fatalf("read %d bytes of modules past the %d limit", size, limits.MaxTotalBytes)
		}
	})
}
