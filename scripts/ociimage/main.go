// Command ociimage writes an OCI image layout holding Sovereign's static
// binary, built from scratch: no base image is pulled and no container engine
// runs (neither is available where Sovereign is built and tested). `make
// image` calls it:
//
//	ociimage -binary bin/sovereign-linux-amd64 -out bin/image -tag sovereign:dev
//
// The image has one layer: /sovereign, /etc/passwd and /etc/group naming the
// unprivileged user 65532 (nonroot) it runs as, the build machine's CA bundle
// at /etc/ssl/certs/ca-certificates.crt (for https bundle sources and KMS),
// and /var/lib/sovereign, owned by that user, for the data directory. Every
// file has a fixed time, so the same binary gives the same image digest.
// `crane push bin/image REGISTRY/sovereign:TAG` (or skopeo copy
// oci:bin/image docker://...) publishes it.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const uid = 65532

// epoch is every file's time and the image's creation time: fixed, so that
// building twice gives one digest.
var epoch = time.Unix(0, 0).UTC()

func main() {
	binary := flag.String("binary", "bin/sovereign-linux-amd64", "the static linux binary to put in the image")
	out := flag.String("out", "bin/image", "the OCI image layout directory to write (replaced)")
	tag := flag.String("tag", "sovereign:dev", "the image's reference name (org.opencontainers.image.ref.name)")
	caBundle := flag.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "the CA certificates to include")
	arch := flag.String("arch", "amd64", "the binary's architecture")
	version := flag.String("version", "dev", "the version label")
	flag.Parse()
	digest, err := build(*binary, *caBundle, *out, *tag, *arch, *version)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s\n", *out, digest)
}

// build writes the layout and returns the image's manifest digest.
func build(binary, caBundle, out, tag, arch, version string) (v1.Hash, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return v1.Hash{}, err
	}
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("CA bundle: %w", err)
	}
	layerTar, err := rootfs(bin, ca)
	if err != nil {
		return v1.Hash{}, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return v1.Hash{}, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = arch, "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
		Entrypoint: []string{"/sovereign"},
		Cmd:        []string{"serve"},
		User:       fmt.Sprintf("%d:%d", uid, uid),
		WorkingDir: "/var/lib/sovereign",
		Env:        []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "SOVEREIGN_DATA_DIR=/var/lib/sovereign"},
		Labels: map[string]string{
			"org.opencontainers.image.title":   "sovereign",
			"org.opencontainers.image.version": version,
			"org.opencontainers.image.source":  "https://github.com/sovereign-engine/sovereign",
		},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return v1.Hash{}, err
	}
	if err := os.RemoveAll(out); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag}),
		layout.WithPlatform(v1.Platform{OS: "linux", Architecture: arch})); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

// rootfs is the image's one layer, gzipped.
func rootfs(bin, ca []byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.ModTime = epoch
	tw := tar.NewWriter(gz)
	dir := func(name string, owner int, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: owner, Gid: owner, ModTime: epoch, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []error{
		dir("etc/", 0, 0o755), dir("etc/ssl/", 0, 0o755), dir("etc/ssl/certs/", 0, 0o755),
		dir("tmp/", 0, 0o1777), dir("var/", 0, 0o755), dir("var/lib/", 0, 0o755),
		dir("var/lib/sovereign/", uid, 0o700),
		file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/var/lib/sovereign:/sbin/nologin\n", uid, uid)),
		file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", uid)),
		file("etc/ssl/certs/ca-certificates.crt", 0o644, ca),
		file("sovereign", 0o755, bin),
	}
	for _, err := range steps {
		if err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
